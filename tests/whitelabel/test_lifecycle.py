"""A brand's lifecycle through the services and the platform admin: create, suspend, resume, export, delete, limits."""

import asyncio
import csv
import io
import json
import zipfile

import pytest
from channels.testing import WebsocketCommunicator
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context, schema_exists
from websockets.exceptions import ConnectionClosed, InvalidStatus

from apps.stations.admin import StationForm
from apps.stations.models import NetworkSettings, Station
from apps.stations.services import station_authenticate, station_create
from apps.whitelabel.asgi import TenantWebsocketMiddleware
from apps.whitelabel.exceptions import TenantError, TenantLimitReachedError
from apps.whitelabel.models import Branding, Domain, Tenant, TenantEvent
from apps.whitelabel.services import tenant_delete, tenant_export, tenant_resume, tenant_suspend
from tests.accounts.factories import UserFactory
from tests.ocpp.client import open_station, station_url
from tests.ocpp.server import eventually
from tests.stations.factories import StationFactory
from tests.whitelabel.factories import TenantFactory

PLATFORM_HOST = "localhost"


@pytest.fixture
def platform_staff(platform_tenant) -> Client:
    """A platform superuser logged in to the platform admin."""
    user = UserFactory(email="ops@platform.test", is_superuser=True)
    client = Client(HTTP_HOST=PLATFORM_HOST)
    client.force_login(user)
    return client


def _suspended(tenant: Tenant, reason: str = "invoices unpaid") -> Tenant:
    return tenant_suspend(tenant=tenant, actor="ops@platform.test", reason=reason)


def _export(tenant: Tenant, tmp_path) -> tuple[dict, dict[str, list[list[str]]]]:
    """(the manifest, every table's CSV rows without the header) of a fresh export."""
    path = tmp_path / f"{tenant.slug}.zip"
    returned = tenant_export(tenant=tenant, output=path, actor="ops@platform.test")
    with zipfile.ZipFile(path) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        tables = {
            entry["name"]: list(csv.reader(io.TextIOWrapper(archive.open(entry["file"]), encoding="utf-8")))[1:]
            for entry in manifest["tables"]
        }
    assert returned == manifest
    return manifest, tables


# --- create -------------------------------------------------------------------------------------------------------


def test_the_platform_admin_creates_a_brand_whose_hosts_answer_at_once(platform_staff):
    form = platform_staff.get("/admin/whitelabel/tenant/add/")
    assert form.status_code == 200
    assert b'name="custom_domains"' in form.content and b'name="email_sender_name"' in form.content
    assert b'value="platform"' not in form.content  # a brand is never a second platform

    response = platform_staff.post(
        "/admin/whitelabel/tenant/add/",
        {
            "slug": "volt",
            "name": "Volt City",
            "kind": "operator",
            "reseller": "",
            "custom_domains": "charge.volt.example\n",
            "default_locale": "nl",
            "currency": "EUR",
            "timezone": "Europe/Amsterdam",
            "plan": "starter",
            "max_stations": "10",
            "max_users": "",
            "display_name": "Volt",
            "primary_colour": "#112233",
            "accent_colour": "#445566",
            "email_sender_name": "Volt Support",
            "email_sender": "hello@volt.example",
            "support_email": "help@volt.example",
            "support_phone": "+31 20 123 4567",
            "terms_url": "https://volt.example/terms",
            "privacy_url": "https://volt.example/privacy",
        },
    )

    assert response.status_code == 302, response.content
    volt = Tenant.objects.get(slug="volt")
    assert schema_exists("volt")
    assert (volt.plan, volt.max_stations, volt.max_users, volt.timezone) == ("starter", 10, None, "Europe/Amsterdam")
    assert list(volt.domains.order_by("-is_primary").values_list("domain", "is_primary")) == [
        ("volt.localhost", True),
        ("charge.volt.example", False),
    ]
    assert volt.branding.email_sender_name == "Volt Support"
    assert volt.branding.privacy_url == "https://volt.example/privacy"
    assert TenantEvent.objects.get(tenant=volt).actor == "ops@platform.test"
    for host in ("volt.localhost", "charge.volt.example"):
        page = Client(HTTP_HOST=host).get("/admin/login/")
        assert page.status_code == 200
        assert b"Volt" in page.content and b"#112233" in page.content


def test_the_platform_admin_refuses_a_brand_on_a_taken_domain_and_leaves_nothing(platform_staff, tenant):
    response = platform_staff.post(
        "/admin/whitelabel/tenant/add/",
        {
            "slug": "copycat",
            "name": "Copycat",
            "kind": "operator",
            "custom_domains": "alpha.localhost",
            "default_locale": "en",
            "currency": "EUR",
            "timezone": "UTC",
            "primary_colour": "#112233",
            "accent_colour": "#445566",
        },
    )

    assert response.status_code == 200
    assert b"alpha.localhost: Domain with this Domain already exists." in response.content
    assert not Tenant.objects.filter(slug="copycat").exists()
    assert not schema_exists("copycat")


def test_the_platform_admin_shows_usage_against_limits(platform_staff, tenant, outsider):
    Tenant.objects.filter(pk=tenant.pk).update(max_stations=3, plan="starter")
    with schema_context(tenant.schema_name):
        StationFactory(identity="ALPHA-1")
    Tenant.objects.filter(pk=outsider.pk).update(max_stations=0)

    page = platform_staff.get("/admin/whitelabel/tenant/").content.decode()

    assert "1 / 3" in page  # alpha: one station of three
    assert '<strong style="color: var(--error-fg, #ba2121)">0 / 0</strong>' in page  # bravo is at its limit


# --- suspend and resume -------------------------------------------------------------------------------------------


def test_a_suspended_brand_answers_503_for_pages_and_the_api_and_resume_restores_it(tenant, outsider):
    _suspended(tenant)

    page = Client(HTTP_HOST="alpha.localhost").get("/admin/login/")
    api = Client(HTTP_HOST="alpha.localhost").get("/api/v1/stations/", HTTP_AUTHORIZATION="Bearer whatever")
    assert page.status_code == 503
    assert page["Content-Type"].startswith("text/html")
    assert b"Alpha Charge is not available at the moment" in page.content
    assert api.status_code == 503
    assert api.json() == {
        "error": {"code": "tenant_suspended", "message": "The service of Alpha Charge is suspended.", "fields": {}}
    }
    assert Client(HTTP_HOST="bravo.localhost").get("/admin/login/").status_code == 200
    assert Client().get("/healthz", HTTP_HOST="alpha.localhost").status_code == 200  # probes answer before tenancy

    tenant_resume(tenant=tenant, actor="ops@platform.test", reason="paid")

    assert Client(HTTP_HOST="alpha.localhost").get("/admin/login/").status_code == 200
    assert Client(HTTP_HOST="alpha.localhost").get("/api/v1/stations/").status_code == 401  # the API's own answer


def test_suspend_and_resume_record_who_when_and_why_and_keep_the_data(tenant_schema):
    StationFactory(identity="KEPT-1")
    suspended = _suspended(tenant_schema, reason="  contract ended  ")
    assert (suspended.suspended_by, suspended.suspension_reason) == ("ops@platform.test", "contract ended")
    assert suspended.suspended_at is not None

    resumed = tenant_resume(tenant=tenant_schema, actor="lead@platform.test")

    assert (resumed.suspended_at, resumed.suspended_by, resumed.suspension_reason) == (None, "", "")
    # The tenant's history may start with its creation, depending on how the test session made it.
    events = TenantEvent.objects.filter(tenant=tenant_schema, action__in=["suspended", "resumed"])
    assert list(events.values_list("action", "actor", "reason")) == [
        ("resumed", "lead@platform.test", ""),
        ("suspended", "ops@platform.test", "contract ended"),
    ]
    assert TenantEvent.objects.get(action="resumed").detail["suspension_reason"] == "contract ended"
    connection.set_tenant(tenant_schema)
    assert Station.objects.filter(identity="KEPT-1").exists()


@pytest.mark.parametrize(
    ("step", "message"),
    [
        (lambda t, p: tenant_suspend(tenant=t, actor="ops", reason=" "), "Say why"),
        (lambda t, p: tenant_resume(tenant=t, actor="ops"), "is not suspended"),
        (lambda t, p: tenant_suspend(tenant=_suspended(t), actor="ops", reason="again"), "already suspended"),
        (lambda t, p: tenant_suspend(tenant=p, actor="ops", reason="why not"), "platform's own tenant"),
    ],
)
def test_suspend_and_resume_refuse_what_makes_no_sense(tenant, platform_tenant, step, message):
    with pytest.raises(TenantError, match=message):
        step(tenant, platform_tenant)


def test_the_platform_admin_suspends_and_resumes_a_brand(platform_staff, tenant):
    form = platform_staff.get(f"/admin/whitelabel/tenant/{tenant.pk}/change/")
    assert f"/admin/whitelabel/tenant/{tenant.pk}/suspend/".encode() in form.content

    refused = platform_staff.post(f"/admin/whitelabel/tenant/{tenant.pk}/suspend/", {"reason": ""})
    done = platform_staff.post(f"/admin/whitelabel/tenant/{tenant.pk}/suspend/", {"reason": "fraud check"})

    assert refused.status_code == 200 and b"This field is required" in refused.content
    assert done.status_code == 302
    tenant.refresh_from_db()
    assert (tenant.suspended_by, tenant.suspension_reason) == ("ops@platform.test", "fraud check")
    assert Client(HTTP_HOST="alpha.localhost").get("/admin/").status_code == 503
    page = platform_staff.get(f"/admin/whitelabel/tenant/{tenant.pk}/change/").content
    assert b"Suspended</strong> since" in page and b"fraud check" in page

    resumed = platform_staff.post(f"/admin/whitelabel/tenant/{tenant.pk}/resume/", {"reason": "cleared"})
    assert resumed.status_code == 302
    tenant.refresh_from_db()
    assert tenant.suspended_at is None
    assert Client(HTTP_HOST="alpha.localhost").get("/admin/login/").status_code == 200


async def _handshake(path: str, host: str | None) -> tuple[bool, int | None]:
    async def accept(scope, receive, send):
        await receive()
        await send({"type": "websocket.accept"})

    headers = [(b"host", host.encode())] if host else []
    communicator = WebsocketCommunicator(TenantWebsocketMiddleware(accept), path, headers=headers)
    connected, code = await communicator.connect()
    await communicator.disconnect()
    return connected, code


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_a_suspended_brands_stations_are_refused_at_the_handshake(tenant, outsider):
    await asyncio.to_thread(_suspended, tenant)

    assert await _handshake("/ocpp/CP-1", "alpha.localhost") == (False, 4404)
    assert await _handshake("/ocpp/alpha/CP-1", "localhost") == (False, 4404)
    assert (await _handshake("/ocpp/CP-1", "bravo.localhost"))[0]

    await asyncio.to_thread(tenant_resume, tenant=tenant, actor="ops")

    assert (await _handshake("/ocpp/CP-1", "alpha.localhost"))[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("settled", "same_channel_layer")
def test_suspension_closes_connected_stations_and_refuses_them_until_resumed(ocpp_server, station_make, tenant):
    password = "a-station-password-of-some-length"
    station_make("CP-SUSP", password=password)
    url = station_url(ocpp_server.port, "CP-SUSP")

    async def scenario():
        async with open_station(url, identity="CP-SUSP", password=password) as station:
            await station.call("Heartbeat", {})
            await asyncio.to_thread(_suspended, tenant)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(station.connection.recv(), 10)
        try:
            async with open_station(url, identity="CP-SUSP", password=password):
                refused = None
        except InvalidStatus as error:
            refused = error.response.status_code
        await asyncio.to_thread(tenant_resume, tenant=tenant, actor="ops")
        async with open_station(url, identity="CP-SUSP", password=password) as station:
            heartbeat = await station.call("Heartbeat", {})
        return closed.value.rcvd.code, refused, heartbeat

    close_code, refused, heartbeat = asyncio.run(scenario())

    assert close_code == 4002
    assert refused == 403
    assert "currentTime" in heartbeat
    assert "websocket refused: tenant 'alpha' is suspended" in eventually(lambda: ocpp_server.log)


# --- export -------------------------------------------------------------------------------------------------------


def test_an_export_holds_every_table_of_the_brand_with_exact_counts_and_nothing_of_another(tenant, outsider, tmp_path):
    with schema_context(tenant.schema_name):
        StationFactory(identity="ALPHA-1")
        StationFactory(identity="ALPHA-2")
        UserFactory(email="ann@alpha.test", first_name='Ann "the, operator"\nSmith')
    with schema_context(outsider.schema_name):
        StationFactory(identity="BRAVO-SECRET")
        UserFactory(email="bob@bravo.test")

    manifest, tables = _export(tenant, tmp_path)

    assert manifest["format"] == "ev-platform tenant export"
    assert manifest["tenant"]["slug"] == "alpha"
    assert manifest["tenant"]["domains"] == [{"domain": "alpha.localhost", "is_primary": True}]
    assert manifest["tenant"]["branding"]["display_name"] == "Alpha Charge"
    assert manifest["exported_by"] == "ops@platform.test"
    assert manifest["versions"]["ev-platform"] and manifest["versions"]["django"]
    assert manifest["migrations"]["stations"] and manifest["migrations"]["accounts"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'alpha'")
        assert set(tables) == {row[0] for row in cursor.fetchall()}
        for entry in manifest["tables"]:
            cursor.execute(f'SELECT count(*) FROM alpha."{entry["name"]}"')
            assert entry["rows"] == len(tables[entry["name"]]) == cursor.fetchone()[0], entry
    assert sorted(row[1] for row in tables["stations_station"]) == ["ALPHA-1", "ALPHA-2"]
    assert 'Ann "the, operator"\nSmith' in {cell for row in tables["accounts_user"] for cell in row}
    everything = json.dumps(tables) + json.dumps(manifest)
    assert "BRAVO-SECRET" not in everything and "bob@bravo.test" not in everything and "bravo" not in everything
    assert TenantEvent.objects.get(tenant=tenant, action="exported").detail["rows"] == sum(
        entry["rows"] for entry in manifest["tables"]
    )


def test_the_platform_admin_downloads_an_export(platform_staff, tenant):
    with schema_context(tenant.schema_name):
        StationFactory(identity="ALPHA-DL")

    page = platform_staff.get(f"/admin/whitelabel/tenant/{tenant.pk}/export/")
    response = platform_staff.post(f"/admin/whitelabel/tenant/{tenant.pk}/export/")

    assert page.status_code == 200 and b"one CSV file per table" in page.content
    assert response.status_code == 200
    assert response["Content-Type"] == "application/zip"
    assert response["Content-Disposition"].startswith('attachment; filename="alpha-export-')
    with zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content))) as archive:
        manifest = json.loads(archive.read("manifest.json"))
        stations = archive.read("tables/stations_station.csv").decode()
    assert {t["name"]: t["rows"] for t in manifest["tables"]}["stations_station"] == 1
    assert "ALPHA-DL" in stations


# --- delete -------------------------------------------------------------------------------------------------------


def test_deleting_a_suspended_brand_drops_its_schema_and_public_rows_and_keeps_the_history(db):
    brand = TenantFactory(slug="leaving", domains=["leaving.example.test", "ev.leaving.example"])
    _suspended(brand, reason="customer left")

    tenant_delete(tenant=brand, confirm_slug="leaving", actor="ops@platform.test", reason="contract over")

    assert not schema_exists("leaving")
    assert not Tenant.objects.filter(slug="leaving").exists()
    assert not Domain.objects.filter(domain__in=["leaving.example.test", "ev.leaving.example"]).exists()
    assert not Branding.objects.filter(tenant_id=brand.pk).exists()
    history = TenantEvent.objects.filter(tenant_slug="leaving").values_list("action", "tenant_id")
    assert list(history) == [("deleted", None), ("suspended", None), ("created", None)]
    assert Client(HTTP_HOST="leaving.example.test").get("/admin/login/").status_code == 404


@pytest.mark.parametrize(
    ("suspend", "confirm", "message"),
    [(False, "staying", "not suspended"), (True, "", "Type the brand's slug"), (True, "Staying", "Type the brand's")],
)
def test_deletion_is_refused_unless_suspended_and_confirmed(db, suspend, confirm, message):
    brand = TenantFactory(slug="staying")
    if suspend:
        _suspended(brand)

    with pytest.raises(TenantError, match=message):
        tenant_delete(tenant=brand, confirm_slug=confirm, actor="ops")

    assert schema_exists("staying")
    assert Tenant.objects.filter(slug="staying").exists()


def test_a_reseller_with_customer_brands_cannot_be_deleted(db):
    reseller = TenantFactory(slug="resells", kind=Tenant.Kind.RESELLER)
    TenantFactory(slug="customer", reseller=reseller)
    _suspended(reseller)

    with pytest.raises(TenantError, match="reseller of customer"):
        tenant_delete(tenant=reseller, confirm_slug="resells", actor="ops")
    assert schema_exists("resells")


def test_the_platform_admin_deletes_only_a_suspended_brand_with_its_slug_typed_again(platform_staff, db):
    brand = TenantFactory(slug="goner")
    url = f"/admin/whitelabel/tenant/{brand.pk}/delete/"

    active = platform_staff.get(url, follow=True)
    assert b"is not suspended: suspend it before deleting it" in active.content
    _suspended(brand)
    page = platform_staff.get(url)
    wrong = platform_staff.post(url, {"confirm": "gone"})
    done = platform_staff.post(url, {"confirm": "goner", "reason": "asked to"})

    assert page.status_code == 200
    assert b"Download an export first" in page.content and b"drops the schema goner" in page.content
    assert wrong.status_code == 200 and b"Type the brand&#x27;s slug (goner)" in wrong.content
    assert done.status_code == 302
    assert not schema_exists("goner")
    assert not Tenant.objects.filter(slug="goner").exists()
    assert TenantEvent.objects.get(tenant_slug="goner", action="deleted").actor == "ops@platform.test"


# --- limits -------------------------------------------------------------------------------------------------------


def test_the_station_limit_is_enforced_wherever_a_station_is_created(tenant_schema):
    Tenant.objects.filter(pk=tenant_schema.pk).update(max_stations=1)
    NetworkSettings.objects.update_or_create(defaults={"onboarding_policy": NetworkSettings.OnboardingPolicy.ACCEPT})
    station_create(identity="FIRST")

    with pytest.raises(TenantLimitReachedError, match="Alpha Charge's plan allows 1 stations and it has 1"):
        station_create(identity="SECOND")
    admission = station_authenticate(identity="NEWCOMER", password="a" * 20, tls=False, client_cert_identity=None)
    form = StationForm(data={"identity": "THIRD", "security_profile": 1, "registration_status": "accepted"})

    assert not admission.allowed and "plan allows 1 stations" in admission.reason
    assert not form.is_valid() and "plan allows 1 stations" in str(form.non_field_errors())
    assert list(Station.objects.values_list("identity", flat=True)) == ["FIRST"]


def test_the_user_limit_is_enforced_when_users_are_created(tenant_schema):
    Tenant.objects.filter(pk=tenant_schema.pk).update(max_users=1)
    UserFactory(email="one@alpha.test")

    with pytest.raises(ValidationError, match="plan allows 1 users"):
        UserFactory(email="two@alpha.test")
