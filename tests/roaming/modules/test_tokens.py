"""The tokens module: our drivers' tokens as a CPO partner sees them (list, real-time authorization, pushes), an eMSP
partner's tokens stored on our CPO side, and their drivers authorized at our stations through id_token_authorize."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.ocpp.v16 import handlers as v16
from apps.ocpp.v201 import handlers as v201
from apps.roaming.models import OutboxMessage, PartnerToken
from apps.roaming.modules.tokens import partner_token_find
from apps.roaming.pull import partner_pull
from apps.sessions.models import IdToken
from apps.sessions.selectors import local_list_entries
from apps.sessions.services import guest_token_create, id_token_authorize
from apps.stations.models import Evse
from tests.accounts.factories import DriverFactory
from tests.roaming.conftest import ocpi, partner_as, roles_set
from tests.sessions.factories import IdTokenFactory
from tests.stations.factories import LocationFactory, StationFactory

TOKENS = "/ocpi/2.2.1/emsp/tokens"


@pytest.fixture
def emsp(alpha, partner):
    """Alpha as an eMSP; Bravo as a CPO with receiver endpoints (it takes our token pushes)."""
    roles_set(alpha, ["EMSP"])
    with schema_context(alpha.schema_name):
        partner_as(partner, role="CPO", country_code="DE", party_id="BRV", endpoints_role="RECEIVER")
    return partner


@pytest.fixture
def emsp_partner(alpha, partner):
    """Alpha as a CPO (the default); Bravo an eMSP whose tokens SENDER we call for real-time authorization."""
    with schema_context(alpha.schema_name):
        partner_as(partner, role="EMSP", country_code="DE", party_id="BRV", endpoints_role="SENDER")
    return partner


def their_token(uid="CARD-1", **fields) -> dict:
    return {
        "country_code": "DE",
        "party_id": "BRV",
        "uid": uid,
        "type": "RFID",
        "contract_id": "DE-BRV-C12345678-X",
        "issuer": "Bravo",
        "valid": True,
        "whitelist": "ALLOWED",
        "last_updated": "2026-12-01T10:00:00Z",
    } | fields


# --- eMSP, sender -------------------------------------------------------------------------------------------------


def test_the_list_has_our_drivers_tokens_as_ocpi_tokens_without_guests_or_no_authorization(alpha, emsp):
    with schema_context(alpha.schema_name):
        fleet = IdTokenFactory(uid="FLEET-1")
        driver = DriverFactory(locale="de")
        card = IdTokenFactory(uid="04AABBCC", label="Blue card", group=fleet, owner=driver)
        app = IdTokenFactory(uid="APP-1", type=IdToken.Type.CENTRAL)
        expired = IdTokenFactory(uid="OLD-1", expires_at=timezone.now() - timedelta(days=1))
        IdTokenFactory(uid="FREE", type=IdToken.Type.NO_AUTHORIZATION)
        guest_token_create()

    response = ocpi("GET", TOKENS)

    assert response.status_code == 200 and response.json()["status_code"] == 1000
    by_uid = {token["uid"]: token for token in response.json()["data"]}
    assert set(by_uid) == {"FLEET-1", "04AABBCC", "APP-1", "OLD-1"}
    assert by_uid["04AABBCC"] == {
        "country_code": "NL",
        "party_id": "ALP",
        "uid": "04AABBCC",
        "type": "RFID",
        "contract_id": "NL-ALP-C04AABBCC",
        "issuer": "Alpha Charge",
        "valid": True,
        "whitelist": "ALLOWED",
        "visual_number": "Blue card",
        "group_id": "FLEET-1",
        "language": "de",
        "last_updated": card.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    assert by_uid["APP-1"]["type"] == "APP_USER" and app.uid == "APP-1"
    assert by_uid["OLD-1"]["valid"] is False and expired.uid == "OLD-1"
    assert response["X-Total-Count"] == "4"


def test_the_list_pages_and_its_dates_filter_on_the_tokens_last_edit(alpha, emsp):
    with schema_context(alpha.schema_name):
        for day in (1, 2, 3):
            token = IdTokenFactory(uid=f"DAY-{day}")
            IdToken.objects.filter(pk=token.pk).update(updated_at=datetime(2026, 1, day, tzinfo=UTC))
        # created inside the window but last edited before it: the edit counts
        IdToken.objects.filter(uid="DAY-1").update(created_at=datetime(2026, 1, 2, 12, tzinfo=UTC))

    first = ocpi("GET", TOKENS, limit=1, date_from="2026-01-02T00:00:00Z")
    dated = ocpi("GET", TOKENS, date_from="2026-01-02T00:00:00Z", date_to="2026-01-03T00:00:00Z")

    assert [t["uid"] for t in first.json()["data"]] == ["DAY-2"]
    assert first["X-Total-Count"] == "2" and "offset=1" in first["Link"] and "date_from=" in first["Link"]
    assert [t["uid"] for t in dated.json()["data"]] == ["DAY-2"]


def test_a_cpo_brand_has_no_emsp_tokens_interface(alpha, partner):
    response = ocpi("GET", TOKENS)

    assert response.status_code == 404 and response.json()["status_code"] == 2000


def test_an_unknown_bearer_token_is_401(alpha, emsp):
    assert ocpi("GET", TOKENS, token="nobody").status_code == 401


@pytest.mark.parametrize(
    ("status", "expires_in", "allowed"),
    [
        ("Accepted", None, "ALLOWED"),
        ("Blocked", None, "BLOCKED"),
        ("Accepted", timedelta(days=-1), "EXPIRED"),
        ("Invalid", None, "NOT_ALLOWED"),
    ],
)
def test_real_time_authorization_follows_our_own_rules(alpha, emsp, status, expires_in, allowed):
    with schema_context(alpha.schema_name):
        IdTokenFactory(uid="04AABBCC", status=status, expires_at=timezone.now() + expires_in if expires_in else None)

    response = ocpi("POST", f"{TOKENS}/04aabbcc/authorize?type=RFID", {"location_id": "LOC1", "evse_uids": ["EVSE1"]})

    data = response.json()["data"]
    assert response.status_code == 200 and data["allowed"] == allowed
    assert data["token"]["uid"] == "04AABBCC" and 0 < len(data["authorization_reference"]) <= 36


def test_a_token_charging_elsewhere_is_not_allowed_with_a_reason(alpha, emsp):
    from tests.sessions.factories import ChargingSessionFactory

    with schema_context(alpha.schema_name):
        token = IdTokenFactory(uid="04AABBCC")
        ChargingSessionFactory(id_token=token, id_token_uid=token.uid)

    data = ocpi("POST", f"{TOKENS}/04AABBCC/authorize").json()["data"]

    assert data["allowed"] == "NOT_ALLOWED" and data["info"]["text"]


def test_authorizing_an_unknown_token_or_another_type_is_404_2004(alpha, emsp):
    with schema_context(alpha.schema_name):
        IdTokenFactory(uid="04AABBCC")
        guest, _ = guest_token_create()

    unknown = ocpi("POST", f"{TOKENS}/NOPE/authorize")
    other_type = ocpi("POST", f"{TOKENS}/04AABBCC/authorize?type=APP_USER")
    of_a_guest = ocpi("POST", f"{TOKENS}/{guest.uid}/authorize?type=APP_USER")

    for response in (unknown, other_type, of_a_guest):
        assert response.status_code == 404 and response.json()["status_code"] == 2004


def test_authorization_refuses_a_bad_type_or_location_references(alpha, emsp):
    with schema_context(alpha.schema_name):
        IdTokenFactory(uid="04AABBCC")

    bad_type = ocpi("POST", f"{TOKENS}/04AABBCC/authorize?type=CARD")
    no_location = ocpi("POST", f"{TOKENS}/04AABBCC/authorize", {"evse_uids": ["E1"]})
    not_json = ocpi("POST", f"{TOKENS}/04AABBCC/authorize", "[")

    assert bad_type.json()["status_code"] == 2001 and "type" in bad_type.json()["status_message"]
    assert no_location.json()["status_code"] == 2001 and "location_id" in no_location.json()["status_message"]
    assert not_json.status_code == 400 and not_json.json()["status_code"] == 2001


def test_a_token_created_or_changed_is_put_to_cpo_partners(
    alpha, emsp, partner_server, django_capture_on_commit_callbacks
):
    with schema_context(alpha.schema_name):
        with django_capture_on_commit_callbacks(execute=True):
            token = IdTokenFactory(uid="04AABBCC")
        with django_capture_on_commit_callbacks(execute=True):
            token.status = IdToken.Status.BLOCKED
            token.save()
        with django_capture_on_commit_callbacks(execute=True):
            guest_token_create()

    puts = partner_server.of("PUT", "/ocpi/2.2.1/tokens/")
    assert [p.path for p in puts] == ["/ocpi/2.2.1/tokens/NL/ALP/04AABBCC"] * 2
    assert puts[0].query == {"type": ["RFID"]}
    assert [p.body["valid"] for p in puts] == [True, False]
    assert puts[1].body["uid"] == "04AABBCC" and puts[1].body["contract_id"] == "NL-ALP-C04AABBCC"


def test_a_deleted_or_renamed_token_is_withdrawn_under_its_old_uid(
    alpha, emsp, partner_server, django_capture_on_commit_callbacks
):
    with schema_context(alpha.schema_name):
        lost, renamed = IdTokenFactory(uid="04LOST"), IdTokenFactory(uid="04OLD")
        with django_capture_on_commit_callbacks(execute=True):
            lost.delete()
        with django_capture_on_commit_callbacks(execute=True):
            renamed.uid = "04NEW"
            renamed.save()

    puts = {put.path.rsplit("/", 1)[1]: put.body for put in partner_server.of("PUT", "/ocpi/2.2.1/tokens/")}
    assert set(puts) == {"04LOST", "04OLD", "04NEW"}
    assert puts["04LOST"]["valid"] is False and puts["04OLD"]["valid"] is False
    assert puts["04NEW"]["valid"] is True and puts["04NEW"]["contract_id"] == "NL-ALP-C04NEW"


def test_blocking_a_group_withdraws_its_members_too(alpha, emsp, partner_server, django_capture_on_commit_callbacks):
    with schema_context(alpha.schema_name):
        fleet = IdTokenFactory(uid="FLEET-9")
        member = IdTokenFactory(uid="04MEMBER", group=fleet)
        with django_capture_on_commit_callbacks(execute=True):
            fleet.status = IdToken.Status.BLOCKED
            fleet.save()

    puts = {put.path.rsplit("/", 1)[1]: put.body for put in partner_server.of("PUT", "/ocpi/2.2.1/tokens/")}
    assert puts["FLEET-9"]["valid"] is False
    assert puts[member.uid]["valid"] is False and puts[member.uid]["group_id"] == "FLEET-9"


def test_a_guests_token_deleted_is_not_pushed(alpha, emsp, partner_server, django_capture_on_commit_callbacks):
    with schema_context(alpha.schema_name):
        with django_capture_on_commit_callbacks(execute=True):
            guest, _ = guest_token_create()
        with django_capture_on_commit_callbacks(execute=True):
            IdToken.objects.get(pk=guest.pk).delete()

    assert partner_server.of("PUT") == []


def test_no_push_without_partners_playing_cpo(alpha, partner, django_capture_on_commit_callbacks):
    roles_set(alpha, ["EMSP"])  # Bravo stays an eMSP: it has no use for our tokens
    with schema_context(alpha.schema_name):
        with django_capture_on_commit_callbacks(execute=True):
            IdTokenFactory(uid="04AABBCC")
        assert not OutboxMessage.objects.exists()


# --- CPO, receiver ------------------------------------------------------------------------------------------------

THEIRS = "/ocpi/2.2.1/cpo/tokens/DE/BRV"


def test_a_partner_puts_gets_and_patches_its_token(alpha, partner):
    put = ocpi("PUT", f"{THEIRS}/CARD-1?type=RFID", their_token(group_id="FLEET"))
    got = ocpi("GET", f"{THEIRS}/CARD-1", type="RFID")
    patched = ocpi("PATCH", f"{THEIRS}/CARD-1", {"valid": False, "last_updated": "2026-12-02T10:00:00Z"})

    assert put.json()["status_code"] == 1000 and got.json()["data"] == their_token(group_id="FLEET")
    assert patched.json()["status_code"] == 1000
    with schema_context(alpha.schema_name):
        stored = PartnerToken.objects.get()
        assert (stored.object_id, stored.type, stored.valid, stored.whitelist, stored.group_id) == (
            "CARD-1",
            "RFID",
            False,
            "ALLOWED",
            "FLEET",
        )
        assert stored.data["contract_id"] == "DE-BRV-C12345678-X" and stored.last_updated.day == 2
        assert partner_token_find(uid="card-1") == stored


def test_an_unknown_token_is_404_2004(alpha, partner):
    for response in (
        ocpi("GET", f"{THEIRS}/NOPE"),
        ocpi("PATCH", f"{THEIRS}/NOPE", {"valid": False, "last_updated": "2026-12-02T10:00:00Z"}),
    ):
        assert response.status_code == 404 and response.json()["status_code"] == 2004


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (their_token(contract_id=None), "contract_id"),
        (their_token(whitelist="SOMETIMES"), "whitelist"),
        (their_token(valid="yes"), "valid"),
        (their_token(last_updated="later"), "last_updated"),
        (their_token(uid="CARD-2"), "uid"),
        (their_token(type="APP_USER"), "type"),
    ],
)
def test_a_token_that_breaks_the_rules_is_2001_naming_the_field(alpha, partner, body, field):
    response = ocpi("PUT", f"{THEIRS}/CARD-1", body)

    assert response.status_code == 200 and response.json()["status_code"] == 2001
    assert field in response.json()["status_message"]


def test_a_partner_writes_only_its_own_tokens_and_patches_carry_last_updated(alpha, partner):
    ocpi("PUT", f"{THEIRS}/CARD-1", their_token())

    foreign = ocpi("PUT", "/ocpi/2.2.1/cpo/tokens/FR/XYZ/CARD-1", their_token(country_code="FR", party_id="XYZ"))
    undated = ocpi("PATCH", f"{THEIRS}/CARD-1", {"valid": False})

    assert foreign.json()["status_code"] == 2001 and "party" in foreign.json()["status_message"]
    assert undated.json()["status_code"] == 2001 and "last_updated" in undated.json()["status_message"]


def test_a_pull_stores_the_partners_tokens(alpha, emsp_partner, partner_server):
    partner_server.answer("GET", "/ocpi/2.2.1/tokens", [their_token("A"), their_token("B"), {"uid": "C"}])

    with schema_context(alpha.schema_name):
        result = partner_pull(partner=emsp_partner, module="tokens")
        assert result.stored == 2 and len(result.refused) == 1
        assert sorted(PartnerToken.objects.values_list("object_id", flat=True)) == ["A", "B"]


# --- CPO: their drivers at our stations ---------------------------------------------------------------------------


def station_with_evses():
    location = LocationFactory(latitude="52.090000", longitude="5.120000")
    station = StationFactory(location=location, protocol="ocpp1.6")
    Evse.objects.create(station=station, evse_id=1)
    return station


def authorization_info(allowed: str, **token_fields) -> dict:
    return {"allowed": allowed, "token": their_token(**token_fields), "authorization_reference": "REF-1"}


def test_their_driver_allowed_in_real_time_charges_and_the_answer_serves_the_start(alpha, emsp_partner, partner_server):
    partner_server.answer("POST", "/ocpi/2.2.1/tokens/CARD-1/authorize", authorization_info("ALLOWED"))
    with schema_context(alpha.schema_name):
        station = station_with_evses()

        answer = v16.authorize(station.pk, {"idTag": "CARD-1"})
        again = id_token_authorize(uid="CARD-1", type="", station_id=station.pk)

        stored = PartnerToken.objects.get()
        assert (stored.authorization_reference, stored.authorized_at is not None) == ("REF-1", True)
    assert answer == {"idTagInfo": {"status": "Accepted"}} and again.status == "Accepted"
    (call,) = partner_server.of("POST", "/ocpi/2.2.1/tokens/")  # the start reused the answer
    assert call.query == {"type": ["RFID"]}
    assert call.body == {"location_id": str(station.location_id), "evse_uids": [f"{station.identity}*1"]}


def test_their_driver_not_allowed_is_refused_and_asked_again_next_time(alpha, emsp_partner, partner_server):
    partner_server.answer("POST", "/ocpi/2.2.1/tokens/CARD-1/authorize", authorization_info("NOT_ALLOWED"))
    with schema_context(alpha.schema_name):
        station = station_with_evses()

        first = v16.authorize(station.pk, {"idTag": "CARD-1"})
        second = v201.authorize(station.pk, {"idToken": {"idToken": "CARD-1", "type": "ISO14443"}})

    assert first == {"idTagInfo": {"status": "Invalid"}}
    assert second == {"idTokenInfo": {"status": "Invalid"}}
    assert len(partner_server.of("POST", "/ocpi/2.2.1/tokens/")) == 2


def test_a_token_no_partner_knows_stays_unknown(alpha, emsp_partner, partner_server):
    partner_server.answer("POST", "/ocpi/2.2.1/tokens/", status_code=2004, http_status=404)
    with schema_context(alpha.schema_name):
        station = station_with_evses()

        answer = v201.authorize(station.pk, {"idToken": {"idToken": "NOPE", "type": "ISO14443"}})

        assert answer == {"idTokenInfo": {"status": "Unknown"}} and not PartnerToken.objects.exists()


@pytest.mark.parametrize(
    ("whitelist", "valid", "status"),
    [
        ("ALLOWED_OFFLINE", True, "Accepted"),
        ("ALLOWED", True, "Accepted"),
        ("ALLOWED_OFFLINE", False, "Invalid"),
        ("NEVER", True, "Invalid"),
    ],
)
def test_when_the_emsp_is_down_the_cached_token_decides(alpha, emsp_partner, partner_server, whitelist, valid, status):
    ocpi("PUT", f"{THEIRS}/CARD-1", their_token(whitelist=whitelist, valid=valid))
    partner_server.down = True
    with schema_context(alpha.schema_name):
        station = station_with_evses()

        authorization = id_token_authorize(uid="CARD-1", type="ISO14443", station_id=station.pk)

    assert authorization.status == status
    assert len(partner_server.of("POST", "/ocpi/2.2.1/tokens/")) == 1


def test_a_whitelisted_token_is_accepted_without_asking(alpha, emsp_partner, partner_server):
    ocpi("PUT", f"{THEIRS}/CARD-1", their_token(whitelist="ALWAYS", group_id="FLEET"))
    with schema_context(alpha.schema_name):
        station = station_with_evses()

        answer = v16.authorize(station.pk, {"idTag": "card-1"})

    assert answer == {"idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET"}}
    assert not partner_server.of("POST", "/ocpi/2.2.1/tokens/")


def test_a_running_sessions_later_messages_do_not_ask_again(alpha, emsp_partner, partner_server):
    ocpi("PUT", f"{THEIRS}/CARD-1", their_token())
    with schema_context(alpha.schema_name):
        from tests.sessions.factories import ChargingSessionFactory

        station = station_with_evses()
        session = ChargingSessionFactory(station=station, id_token_uid="CARD-1")

        authorization = id_token_authorize(uid="CARD-1", type="ISO14443", station_id=station.pk, session=session)

    assert authorization.status == "Accepted" and not partner_server.of("POST", "/ocpi/2.2.1/tokens/")


def test_a_local_token_never_asks_a_partner(alpha, emsp_partner, partner_server):
    with schema_context(alpha.schema_name):
        IdTokenFactory(uid="CARD-1")
        station = station_with_evses()

        assert id_token_authorize(uid="CARD-1", type="", station_id=station.pk).status == "Accepted"
    assert not partner_server.requests


def test_offline_whitelisted_partner_tokens_feed_the_stations_local_lists(alpha, partner):
    for uid, whitelist, valid in (
        ("ALWAYS-1", "ALWAYS", True),
        ("OFFLINE-1", "ALLOWED_OFFLINE", True),
        ("OFFLINE-2", "ALLOWED_OFFLINE", False),
        ("ASK-1", "ALLOWED", True),
        ("NEVER-1", "NEVER", True),
        ("LOCAL-1", "ALWAYS", True),
    ):
        ocpi("PUT", f"{THEIRS}/{uid}", their_token(uid, whitelist=whitelist, valid=valid, group_id="FLEET"))
    with schema_context(alpha.schema_name):
        IdTokenFactory(uid="LOCAL-1", status=IdToken.Status.BLOCKED)  # ours wins over a partner's of that uid

        full = local_list_entries()
        differential = local_list_entries(uids=["OFFLINE-1", "OFFLINE-2"])

    assert [(e.uid, e.type, e.status, e.group_uid) for e in full] == [
        ("LOCAL-1", "ISO14443", "Blocked", ""),
        ("ALWAYS-1", "ISO14443", "Accepted", "FLEET"),
        ("OFFLINE-1", "ISO14443", "Accepted", "FLEET"),
    ]
    assert [(e.uid, e.status) for e in differential] == [("OFFLINE-1", "Accepted"), ("OFFLINE-2", None)]
