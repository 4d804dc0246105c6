"""The customer endpoints of a reseller's API: its customers with their figures, creating, suspending and resuming."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.models import Invitation
from apps.accounts.roles import Role
from apps.api.models import Scope
from apps.whitelabel.models import Tenant
from tests.api.conftest import api_client, key_in
from tests.whitelabel.resellers import charge, reseller_network

HOST = "wla-volt.localhost"
AMS = ZoneInfo("Europe/Amsterdam")
NOVEMBER = "start=2026-11-01&end=2026-11-30"


@pytest.fixture(scope="module")
def network(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), reseller_network("wla") as network:
        yield network


@pytest.fixture
def volt(network) -> Client:
    return api_client(HOST, key_in(network.reseller, [Scope.CUSTOMERS_READ, Scope.CUSTOMERS_WRITE]))


def post(client: Client, path: str, body: dict):
    return client.post(path, body, content_type="application/json")


@pytest.mark.django_db
def test_the_list_gives_each_customer_its_figures_currencies_apart(network, volt):
    charge(network.north, started_at=datetime(2026, 11, 3, 12, tzinfo=AMS), energy_wh=12_345, total="8.64")
    charge(network.south, started_at=datetime(2026, 11, 4, 9, tzinfo=AMS), energy_wh=500, total="0.9", currency="GBP")
    charge(network.rival_customer, started_at=datetime(2026, 11, 4, 9, tzinfo=AMS), energy_wh=9_000, total="5")

    response = volt.get(f"/api/v1/customers/?{NOVEMBER}")

    assert response.status_code == 200
    results = response.json()["results"]
    assert [customer["slug"] for customer in results] == ["wla-north", "wla-south"]
    north, south = results
    assert north["domains"] == ["wla-north.localhost"] and north["status"] == "active"
    assert north["period"] == {"start": "2026-11-01", "end": "2026-11-30", "time_zone": "Europe/Amsterdam"}
    assert north["figures"]["sessions"] == 1 and north["figures"]["energy_kwh"] == "12.345"
    assert north["figures"]["revenue"] == [{"currency": "EUR", "amount": "8.6400"}]
    assert south["figures"]["revenue"] == [{"currency": "GBP", "amount": "0.9000"}]
    assert north["figures"]["uptime_percent"] is None


@pytest.mark.django_db
def test_the_totals_add_up_every_customer_with_currencies_apart(network, volt):
    charge(network.north, started_at=datetime(2026, 11, 3, 12, tzinfo=AMS), energy_wh=1_500, total="1.05")
    charge(network.north, started_at=datetime(2026, 11, 5, 12, tzinfo=AMS), energy_wh=2_500, total="1.75")
    charge(network.south, started_at=datetime(2026, 11, 4, 9, tzinfo=AMS), energy_wh=500, total="0.9", currency="GBP")
    charge(network.rival_customer, started_at=datetime(2026, 11, 4, 9, tzinfo=AMS), energy_wh=9_000, total="5")

    body = volt.get(f"/api/v1/customers/totals/?{NOVEMBER}").json()

    assert body["customers"] == 2
    assert body["figures"]["sessions"] == 3 and body["figures"]["energy_kwh"] == "4.500"
    assert body["figures"]["revenue"] == [
        {"currency": "EUR", "amount": "2.8000"},
        {"currency": "GBP", "amount": "0.9000"},
    ]


@pytest.mark.django_db
def test_the_list_pages_by_cursor(network, volt):
    first = volt.get("/api/v1/customers/?page_size=1").json()
    assert len(first["results"]) == 1 and first["next"]
    second = volt.get(first["next"]).json()
    assert [c["slug"] for c in first["results"] + second["results"]] == ["wla-north", "wla-south"]


@pytest.mark.django_db
def test_the_detail_has_the_figures_per_day(network, volt):
    charge(network.north, started_at=datetime(2026, 11, 3, 12, tzinfo=AMS), energy_wh=2_000, total="1.40")
    response = volt.get(f"/api/v1/customers/{network.north.pk}/?start=2026-11-02&end=2026-11-04")
    assert response.status_code == 200
    days = response.json()["days"]
    assert [(d["day"], d["sessions"], d["energy_kwh"]) for d in days] == [
        ("2026-11-02", 0, "0.000"),
        ("2026-11-03", 1, "2.000"),
        ("2026-11-04", 0, "0.000"),
    ]


@pytest.mark.django_db
def test_a_reseller_creates_suspends_and_resumes_a_customer(network, volt):
    created = post(volt, "/api/v1/customers/", {"name": "East", "slug": "wla-east", "owner_email": "boss@east.example"})
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["domains"] == ["wla-east.localhost"] and body["currency"] == "EUR"
    east = Tenant.objects.get(slug="wla-east")
    assert east.reseller_id == network.reseller.pk
    with schema_context(east.schema_name):
        invitation = Invitation.objects.get()
        assert (invitation.email, invitation.role) == ("boss@east.example", Role.OWNER)

    suspended = post(volt, f"/api/v1/customers/{east.pk}/suspend/", {"reason": "unpaid"})
    assert suspended.status_code == 200 and suspended.json()["status"] == "suspended"
    assert Tenant.objects.get(pk=east.pk).suspended_by.startswith("api:key:")
    again = post(volt, f"/api/v1/customers/{east.pk}/suspend/", {"reason": "unpaid"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "customer_state"

    resumed = post(volt, f"/api/v1/customers/{east.pk}/resume/", {})
    assert resumed.status_code == 200 and resumed.json()["status"] == "active"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"slug": "wla-north"}, "slug"),
        ({"slug": "Bad Slug"}, "slug"),
        ({"owner_email": "nobody"}, "owner_email"),
        ({"currency": "euro"}, "currency"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"default_locale": "xx"}, "default_locale"),
        ({"max_users": -1}, "max_users"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(network, volt, body, field):
    brands = Tenant.objects.count()
    response = post(volt, "/api/v1/customers/", {"name": "East", "slug": "wla-east", "owner_email": "o@e.ex", **body})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid" and field in error["fields"]
    assert Tenant.objects.count() == brands


@pytest.mark.django_db
def test_a_bad_period_is_a_400(network, volt):
    response = volt.get("/api/v1/customers/?start=2026-11-30&end=2026-11-01")
    assert response.status_code == 400 and "end" in response.json()["error"]["fields"]
    assert volt.get("/api/v1/customers/?period=forever").status_code == 400


@pytest.mark.django_db
def test_suspending_needs_a_reason(network, volt):
    response = post(volt, f"/api/v1/customers/{network.north.pk}/suspend/", {})
    assert response.status_code == 400 and "reason" in response.json()["error"]["fields"]
    assert not Tenant.objects.get(pk=network.north.pk).is_suspended


@pytest.mark.django_db
def test_another_resellers_customer_is_not_found(network, volt):
    rival = network.rival_customer.pk
    assert volt.get(f"/api/v1/customers/{rival}/").status_code == 404
    assert post(volt, f"/api/v1/customers/{rival}/suspend/", {"reason": "x"}).status_code == 404
    assert not Tenant.objects.get(pk=rival).is_suspended


@pytest.mark.django_db
def test_an_outsider_key_is_unknown_here(network, outsider):
    client = api_client(HOST, key_in(outsider))
    response = client.get("/api/v1/customers/")
    assert response.status_code == 401 and response.json()["error"]["code"] == "api_key_unknown"
    rival = api_client(HOST, key_in(network.rival))
    assert rival.get("/api/v1/customers/").status_code == 401


@pytest.mark.django_db
def test_the_endpoints_do_not_exist_on_an_operator_brand(network, tenant):
    client = api_client("alpha.localhost", key_in(tenant))
    assert client.get("/api/v1/customers/").status_code == 404
    assert client.get("/api/v1/customers/totals/").status_code == 404
    customer = api_client("wla-north.localhost", key_in(network.north))
    assert customer.get(f"/api/v1/customers/{network.north.pk}/").status_code == 404
    assert post(customer, f"/api/v1/customers/{network.north.pk}/suspend/", {"reason": "x"}).status_code == 404
    assert not Tenant.objects.get(pk=network.north.pk).is_suspended


@pytest.mark.django_db
def test_a_key_without_the_scope_is_refused(network):
    reader = api_client(HOST, key_in(network.reseller, [Scope.CUSTOMERS_READ]))
    assert reader.get("/api/v1/customers/").status_code == 200
    refused = post(reader, "/api/v1/customers/", {"name": "East", "slug": "wla-east", "owner_email": "o@e.example"})
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "scope_missing"
    assert post(reader, f"/api/v1/customers/{network.north.pk}/suspend/", {"reason": "x"}).status_code == 403
    other = api_client(HOST, key_in(network.reseller, [Scope.STATIONS_READ]))
    assert other.get("/api/v1/customers/").status_code == 403
    assert other.get("/api/v1/customers/totals/").status_code == 403
    assert other.get(f"/api/v1/customers/{network.north.pk}/").status_code == 403
    assert not Tenant.objects.filter(slug="wla-east").exists()


@pytest.mark.django_db
def test_the_schema_describes_the_customer_endpoints(network):
    schema = Client(HTTP_HOST=HOST).get("/api/schema/?format=json").json()
    assert {"/api/v1/customers/", "/api/v1/customers/{customer_id}/suspend/"} <= set(schema["paths"])
    assert (
        "customers:write" in schema["components"]["securitySchemes"]["OAuth2"]["flows"]["clientCredentials"]["scopes"]
    )
