"""Roaming in the brand's admin: every list renders, tokens are never shown in full, a new partner's token A is shown
once, partner actions work against a partner platform on the wire (and are audited), pulls report their counts,
a failed push can be sent again, and roles without the partner change permission only read."""

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.models import AuditEntry
from apps.accounts.roles import Role
from apps.roaming import pull
from apps.roaming.exceptions import RoamingError
from apps.roaming.models import (
    OutboxMessage,
    Partner,
    PartnerCdr,
    PartnerLocation,
    ReceivedCommand,
    RoamingSettings,
    SentCommand,
    token_hash,
)
from tests.accounts.factories import PASSWORD, UserFactory
from tests.roaming.conftest import partner_as


def admin_client(tenant, role=Role.ADMIN) -> Client:
    with schema_context(tenant.schema_name):
        user = UserFactory(role=role)
    client = Client(HTTP_HOST="alpha.localhost")
    assert client.post("/admin/login/", {"username": user.email, "password": PASSWORD}).status_code == 302
    return client


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def action(client, model: str, name: str, ids: list[int]):
    return client.post(f"/admin/roaming/{model}/", {"action": name, "_selected_action": ids}, follow=True)


@pytest.fixture
def partner_platform(partner_server):
    """partner_server answering the credentials module as a registered platform would."""
    details_url = f"{partner_server.url}/ocpi/2.2.1/"
    partner_server.answer("GET", "/ocpi/versions", [{"version": "2.2.1", "url": details_url}])
    partner_server.answer(
        "GET", "/ocpi/2.2.1/", {"version": "2.2.1", "endpoints": partner_server.endpoints("RECEIVER")}
    )
    credentials = {
        "token": "their-new-token",
        "url": f"{partner_server.url}/ocpi/versions",
        "roles": [{"role": "EMSP", "country_code": "DE", "party_id": "BRV", "business_details": {"name": "Bravo"}}],
    }
    for method in ("POST", "PUT"):
        partner_server.answer(method, "/ocpi/2.2.1/credentials", credentials)
    partner_server.answer("DELETE", "/ocpi/2.2.1/credentials", None)
    return partner_server


def test_every_roaming_list_and_page_renders(alpha, partner):
    with schema_context(alpha.schema_name):
        now = timezone.now()
        PartnerLocation.objects.create(
            partner=partner, country_code="DE", party_id="BRV", object_id="L1", data={"id": "L1"}, last_updated=now
        )
        cdr = PartnerCdr.objects.create(
            partner=partner,
            country_code="DE",
            party_id="BRV",
            object_id="C1",
            data={"id": "C1"},
            last_updated=now,
            currency="EUR",
            total_cost_excl_vat="3.50",
            total_energy="10",
            start_date_time=now,
            end_date_time=now,
            disputed=True,
        )
        ReceivedCommand.objects.create(
            partner=partner, module="chargingprofiles", type="SET", request={}, response_url="http://x.example/r"
        )
        SentCommand.objects.create(
            partner=partner,
            uid="6a1f6f1e-0000-4000-8000-000000000001",
            module="commands",
            type="STOP_SESSION",
            request={},
        )
        message = OutboxMessage.objects.create(partner=partner, module="locations", method="PUT", body={"id": "L9"})
    client = admin_client(alpha)

    for model in (
        "roamingsettings",
        "partner",
        "partnerlocation",
        "partnertariff",
        "partnersession",
        "partnercdr",
        "partnertoken",
        "roamingsession",
        "receivedcommand",
        "sentcommand",
        "outboxmessage",
    ):
        assert client.get(f"/admin/roaming/{model}/").status_code == 200, model
    assert client.get(f"/admin/roaming/partnercdr/{cdr.pk}/change/").status_code == 200
    disputed = client.get("/admin/roaming/partnercdr/", {"disputed__exact": "1"}).content.decode()
    assert "C1" in disputed
    assert "L9" in client.get(f"/admin/roaming/outboxmessage/{message.pk}/change/").content.decode()


def test_the_partner_list_masks_tokens_and_counts_the_outbox(alpha, partner):
    with schema_context(alpha.schema_name):
        Partner.objects.filter(pk=partner.pk).update(token_c_prefix="bravo-to")
        for status in ("pending", "pending", "failed", "sent"):
            OutboxMessage.objects.create(partner=partner, module="locations", method="PUT", status=status)
    client = admin_client(alpha)

    page = client.get("/admin/roaming/partner/")
    html = page.content.decode()

    row = page.context["cl"].result_list[0]
    assert (row.pending_count, row.failed_count) == (2, 1)
    assert "bravo-to…" in html and "EMSP DE*BRV" in html
    detail = client.get(f"/admin/roaming/partner/{partner.pk}/change/").content.decode()
    assert "alph…" in detail
    for secret in ("alpha-token", token_hash("bravo-token-c")):
        assert secret not in html and secret not in detail


def test_a_new_partner_gets_a_token_a_shown_once(alpha):
    client = admin_client(alpha)

    response = client.post(
        "/admin/roaming/partner/add/",
        {"name": "Charlie", "versions_url": "", "token": "", "tokens_base64": "on"},
        follow=True,
    )

    [shown] = [m for m in messages_of(response) if "not be shown again" in m]
    token_a = shown.rsplit(" ", 1)[-1]
    with schema_context(alpha.schema_name):
        partner = Partner.objects.get(name="Charlie")
        assert partner.token_a_hash == token_hash(token_a) and partner.status == Partner.Status.PENDING
        assert AuditEntry.objects.filter(action="roaming_partner.created").exists()
    assert token_a not in client.get(f"/admin/roaming/partner/{partner.pk}/change/").content.decode()


def test_a_token_without_versions_url_is_refused(alpha):
    response = admin_client(alpha).post("/admin/roaming/partner/add/", {"name": "Delta", "token": "abc"})

    assert response.status_code == 200 and "versions URL" in response.content.decode()


def test_register_rotate_and_unregister_against_the_partner_platform(alpha, partner_platform):
    client = admin_client(alpha)
    client.post(
        "/admin/roaming/partner/add/",
        {"name": "Bravo", "versions_url": f"{partner_platform.url}/ocpi/versions", "token": "their-token-a"},
    )
    with schema_context(alpha.schema_name):
        partner = Partner.objects.get(name="Bravo")

    registered = action(client, "partner", "register", [partner.pk])

    assert "Bravo: registered" in messages_of(registered)
    [post] = partner_platform.of("POST", "/ocpi/2.2.1/credentials")
    assert post.body["roles"][0]["party_id"] == "ALP"
    with schema_context(alpha.schema_name):
        partner.refresh_from_db()
        assert partner.status == Partner.Status.REGISTERED and partner.token_b == "their-new-token"
        old_hash = partner.token_c_hash

    rotated = action(client, "partner", "rotate_credentials", [partner.pk])

    assert "Bravo: new tokens both ways" in messages_of(rotated)
    with schema_context(alpha.schema_name):
        partner.refresh_from_db()
        assert partner.token_c_hash != old_hash

    unregistered = action(client, "partner", "unregister", [partner.pk])

    assert "Bravo: unregistered" in messages_of(unregistered)
    assert len(partner_platform.of("DELETE", "/ocpi/2.2.1/credentials")) == 1
    with schema_context(alpha.schema_name):
        partner.refresh_from_db()
        assert partner.status == Partner.Status.UNREGISTERED and partner.token_b == ""
        actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {
        "roaming_partner.registered",
        "roaming_partner.credentials_rotated",
        "roaming_partner.unregistered",
    } <= actions


def test_a_failing_registration_shows_the_ocpi_error(alpha, partner_server):
    partner_server.down = True
    client = admin_client(alpha)
    client.post(
        "/admin/roaming/partner/add/",
        {"name": "Bravo", "versions_url": f"{partner_server.url}/ocpi/versions", "token": "their-token-a"},
    )
    with schema_context(alpha.schema_name):
        partner = Partner.objects.get(name="Bravo")

    response = action(client, "partner", "register", [partner.pk])

    assert any("OCPI 3001" in m for m in messages_of(response))
    with schema_context(alpha.schema_name):
        assert Partner.objects.get(pk=partner.pk).status == Partner.Status.PENDING


def test_pull_reports_stored_and_refused_objects(alpha, partner, partner_server, monkeypatch):
    def store(*, partner, data):
        if "name" not in data:
            raise RoamingError("name: missing", status_code=2001)
        PartnerLocation.objects.create(
            partner=partner,
            country_code="DE",
            party_id="BRV",
            object_id=data["id"],
            data=data,
            last_updated=timezone.now(),
        )

    monkeypatch.setattr(pull, "resolve", lambda dotted: store)
    with schema_context(alpha.schema_name):
        partner_as(partner, role="CPO", country_code="DE", party_id="BRV", endpoints_role="SENDER")
    partner_server.answer("GET", "/ocpi/2.2.1/locations", [{"id": "L1", "name": "A"}, {"id": "L2"}])
    client = admin_client(alpha)

    response = action(client, "partner", "pull_locations", [partner.pk])

    [text] = [m for m in messages_of(response) if "Bravo Power" in m]
    assert "1 locations stored from 1 page(s)" in text and "1 refused: L2: name: missing" in text
    with schema_context(alpha.schema_name):
        assert list(PartnerLocation.objects.values_list("object_id", flat=True)) == ["L1"]


def test_send_again_delivers_a_failed_push(alpha, partner, partner_server, django_capture_on_commit_callbacks):
    with schema_context(alpha.schema_name):
        message = OutboxMessage.objects.create(
            partner=partner, module="locations", method="PUT", path="/NL/ALP/1", body={"id": "1"}, status="failed"
        )
    client = admin_client(alpha)

    with django_capture_on_commit_callbacks(execute=True):
        response = action(client, "outboxmessage", "send_again", [message.pk])

    assert "1 message(s) will be sent again." in messages_of(response)
    [put] = partner_server.of("PUT", "/ocpi/2.2.1/locations/NL/ALP/1")
    assert put.body == {"id": "1"}
    with schema_context(alpha.schema_name):
        message.refresh_from_db()
    assert message.status == OutboxMessage.Status.SENT


def test_operators_read_roaming_but_do_not_act_on_partners(alpha, partner, partner_platform):
    with schema_context(alpha.schema_name):
        message = OutboxMessage.objects.create(partner=partner, module="locations", method="PUT", status="failed")
    client = admin_client(alpha, role=Role.OPERATOR)

    assert client.get("/admin/roaming/partner/").status_code == 200
    assert client.get("/admin/roaming/partner/add/").status_code == 403
    action(client, "partner", "unregister", [partner.pk])
    action(client, "outboxmessage", "send_again", [message.pk])

    assert partner_platform.requests == []
    with schema_context(alpha.schema_name):
        assert Partner.objects.get(pk=partner.pk).status == Partner.Status.REGISTERED
        assert OutboxMessage.objects.get(pk=message.pk).status == OutboxMessage.Status.FAILED


def test_one_roaming_identity_per_brand(alpha):
    client = admin_client(alpha)

    assert client.get("/admin/roaming/roamingsettings/add/").status_code == 403
    with schema_context(alpha.schema_name):
        settings = RoamingSettings.objects.get()
    response = client.post(
        f"/admin/roaming/roamingsettings/{settings.pk}/change/",
        {
            "country_code": "nl",
            "party_id": "alp",
            "roles": ["CPO", "EMSP"],
            "business_name": "Alpha Charge",
            "public_url": "https://alpha.example.com",
        },
    )
    assert response.status_code == 302
    with schema_context(alpha.schema_name):
        settings.refresh_from_db()
    assert (settings.country_code, settings.party_id, settings.roles) == ("NL", "ALP", ["CPO", "EMSP"])
    with schema_context(alpha.schema_name):
        entry = AuditEntry.objects.get(action="roaming_settings.changed")
    assert entry.changes["roles"] == [["CPO"], ["CPO", "EMSP"]]


def test_the_partner_list_links_the_settlement_page_which_renders_for_an_admin(alpha, partner):
    client = admin_client(alpha)

    listing = client.get("/admin/roaming/partner/")
    assert 'href="/admin/roaming/partner/settlement/"' in listing.content.decode()
    page = client.get("/admin/roaming/partner/settlement/", {"month": "2026-03"})
    assert page.status_code == 200 and "Bravo Power" in page.content.decode()


def test_send_our_catalogue_queues_every_published_location_and_tariff_for_the_partner(alpha, partner, partner_server):
    from tests.stations.factories import LocationFactory
    from tests.tariffs.factories import TariffFactory

    with schema_context(alpha.schema_name):
        LocationFactory(latitude="52.1", longitude="5.1")
        LocationFactory()  # no coordinates: not published
        TariffFactory()
        OutboxMessage.objects.all().delete()
    client = admin_client(alpha)

    response = action(client, "partner", "push_catalogue", [partner.pk])

    assert "1 location(s) and 1 tariff(s) queued" in " ".join(messages_of(response))
    with schema_context(alpha.schema_name):
        queued = OutboxMessage.objects.filter(partner=partner, status=OutboxMessage.Status.PENDING)
        assert sorted(queued.values_list("method", "module")) == [("PUT", "locations"), ("PUT", "tariffs")]
        assert AuditEntry.objects.filter(action="roaming_partner.catalogue_pushed").count() == 1
