"""`make run` seeds the demo; running it again changes nothing."""

from io import StringIO

from django.core.management import call_command
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.models import User
from apps.billing.services.drivers import driver_payment_method_list
from apps.roaming.models import Partner, RoamingSettings, token_hash
from apps.sessions.models import IdToken
from apps.stations.models import Station
from apps.whitelabel.models import Domain, Tenant


def _counts() -> dict:
    counts = {"tenants": Tenant.objects.count(), "domains": Domain.objects.count(), "staff": User.objects.count()}
    for slug in ("demo", "acme"):
        with schema_context(slug):
            counts[slug] = list(User.objects.values_list("email", "role"))
            counts[f"{slug} stations"] = sorted(Station.objects.values_list("identity", "registration_status"))
            counts[f"{slug} cards"] = IdToken.objects.count()
    return counts


def test_seed_demo_is_idempotent_and_each_operator_sees_only_their_brand(db, tmp_path):
    key_file = tmp_path / "demo-api-key"
    first_output = StringIO()
    call_command("seed_demo", stdout=first_output, api_key_file=key_file)
    after_first = _counts()
    first_key = key_file.read_text().strip()
    second_output = StringIO()
    call_command("seed_demo", stdout=second_output, api_key_file=key_file)

    assert _counts() == after_first
    assert after_first["demo"] == [
        ("admin@demo.localhost", "admin"),
        ("driver@demo.localhost", "driver"),
        ("finance@demo.localhost", "finance"),
        ("operator@demo.localhost", "operator"),
        ("owner@demo.localhost", "owner"),
        ("readonly@demo.localhost", "read_only"),
        ("support@demo.localhost", "support"),
        ("technician@demo.localhost", "technician"),
    ]
    assert after_first["acme"] == [("operator@acme.localhost", "operator")]
    assert after_first["demo stations"] == [("DEMO-16-01", "accepted"), ("DEMO-201-01", "accepted")]
    assert after_first["acme stations"] == [("ACME-01", "accepted")]
    assert after_first["demo cards"] == 4  # one per EVSE of the simulated stations
    assert "Demo data created." in first_output.getvalue()
    assert "nothing changed" in second_output.getvalue()
    assert key_file.read_text().strip() == first_key  # the key the README's curl examples use stays valid
    api = Client(HTTP_HOST="demo.localhost:8000", HTTP_AUTHORIZATION=f"Bearer {first_key}")
    assert {s["identity"] for s in api.get("/api/v1/stations/").json()["results"]} == {"DEMO-16-01", "DEMO-201-01"}
    assert (
        Client(HTTP_HOST="acme.localhost", HTTP_AUTHORIZATION=f"Bearer {first_key}")
        .get("/api/v1/stations/")
        .status_code
        == 401
    )
    assert "http://demo.localhost:8000/admin/  operator@demo.localhost / demo-operator-pass" in second_output.getvalue()
    # The reseller manages both demo brands and sees them in its customer pages.
    volt = Tenant.objects.get(slug="volt")
    assert volt.kind == Tenant.Kind.RESELLER
    assert set(Tenant.objects.filter(reseller=volt).values_list("slug", flat=True)) == {"demo", "acme"}
    manager = Client(HTTP_HOST="volt.localhost")
    signed_in = manager.post("/accounts/login/", {"login": "manager@volt.localhost", "password": "volt-reseller-pass"})
    assert signed_in.status_code == 302
    customers_page = manager.get("/portal/customers/").content.decode()
    assert "Demo Charging" in customers_page and "ACME Energy" in customers_page
    assert "http://volt.localhost:8000/portal/customers/  manager@volt.localhost" in second_output.getvalue()

    demo = Client(HTTP_HOST="demo.localhost:8000")
    response = demo.post(
        "/admin/login/?next=/admin/", {"username": "operator@demo.localhost", "password": "demo-operator-pass"}
    )
    assert response.status_code == 302
    users = demo.get("/admin/accounts/user/").content
    assert b"operator@demo.localhost" in users and b"operator@acme.localhost" not in users
    assert b"ACME" not in demo.get("/admin/whitelabel/branding/").content
    # Every seeded login works at once on the real login page: their addresses are verified.
    for email in ("owner@demo.localhost", "technician@demo.localhost"):
        signed_in = Client(HTTP_HOST="demo.localhost:8000").post(
            "/accounts/login/", {"login": email, "password": "demo-operator-pass"}
        )
        assert signed_in.status_code == 302 and signed_in["Location"] == "/portal/", email
    # The demo driver signs in to the driver app and has a test card on file, so a start from the app is held.
    driver = Client(HTTP_HOST="demo.localhost:8000")
    signed_in = driver.post("/accounts/login/", {"login": "driver@demo.localhost", "password": "demo-driver-pass"})
    assert signed_in.status_code == 302 and signed_in["Location"] == "/app/"
    with schema_context("demo"):
        [card] = driver_payment_method_list(user=User.objects.get(email="driver@demo.localhost"))
        assert (card.is_default, card.customer.account.offline_sandbox) == (True, True)
    assert "driver driver@demo.localhost / demo-driver-pass" in second_output.getvalue()
    platform = Client(HTTP_HOST="localhost:8000").post(
        "/accounts/login/", {"login": "admin@platform.localhost", "password": "platform-admin-pass"}
    )
    assert platform.status_code == 302 and platform["Location"] == "/admin/"
    stations = demo.get("/admin/stations/station/").content
    assert b"DEMO-16-01" in stations and b"ACME-01" not in stations

    # Roaming: demo (CPO) holds the token A acme (eMSP) issued, so demo's "Register" works on the first try.
    with schema_context("demo"):
        demo_party = RoamingSettings.objects.get()
        acme_at_demo = Partner.objects.get()
    with schema_context("acme"):
        acme_party = RoamingSettings.objects.get()
        demo_at_acme = Partner.objects.get()
    assert (demo_party.country_code, demo_party.party_id, demo_party.roles) == ("NL", "DMO", ["CPO"])
    assert (acme_party.country_code, acme_party.party_id, acme_party.roles) == ("GB", "ACM", ["EMSP"])
    assert acme_at_demo.name == "ACME Energy" and acme_at_demo.status == Partner.Status.PENDING
    assert acme_at_demo.versions_url == "http://acme.localhost:8000/ocpi/versions"
    assert demo_at_acme.name == "Demo Charging" and demo_at_acme.token_a_hash == token_hash(acme_at_demo.token_b)


def test_the_demo_network_shows_prices_and_opening_hours_in_the_driver_app(db, tmp_path):
    call_command("seed_demo", stdout=StringIO(), api_key_file=tmp_path / "demo-api-key")

    demo = Client(HTTP_HOST="demo.localhost").get("/api/v1/network/locations/", {"lat": "52.09", "lon": "5.11"})
    acme = Client(HTTP_HOST="acme.localhost").get("/api/v1/network/locations/")
    evse = Client(HTTP_HOST="demo.localhost").get("/api/v1/network/evses/DEMO*DEMO-16-01*1/")

    (site,) = demo.json()["results"]
    assert site["name"] == "Demo Park & Charge" and site["distance_m"] < 1000 and site["open_now"] is True
    assert site["price"]["per_kwh"] == "0.4235"  # 0.35 + 21 % VAT
    assert acme.json()["results"][0]["price"]["summary"] == "£0.48 per kWh."
    assert evse.status_code == 200 and evse.json()["price"]["tariff_code"] == "DEMO-AC"
