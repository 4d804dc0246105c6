"""A reseller's customer pages in its portal: who may see and change them, on which hosts, and what they show."""

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.models import Invitation
from apps.accounts.roles import CUSTOMERS_VIEW, ROLE_PERMISSIONS, VIEW_ALL, Role
from apps.whitelabel.models import Tenant
from tests.accounts.factories import UserFactory
from tests.billing.factories import PaymentCustomerFactory
from tests.sessions.factories import IdTokenFactory
from tests.whitelabel.resellers import charge, reseller_network

HOST = "wlp-volt.localhost"
AMS = ZoneInfo("Europe/Amsterdam")


@pytest.fixture(scope="module")
def network(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock(), reseller_network("wlp") as network:
        yield network


def client_as(tenant: Tenant, role: str | None, host: str | None = None) -> Client:
    client = Client(HTTP_HOST=host or tenant.domains.first().domain)
    if role is not None:
        with schema_context(tenant.schema_name):
            client.force_login(UserFactory(role=role, first_name="Manon"))
    return client


@pytest.fixture
def manager(network) -> Client:
    return client_as(network.reseller, Role.RESELLER_MANAGER)


def pages(network) -> list[str]:
    north = network.north.pk
    return ["/portal/customers/", f"/portal/customers/{north}/", "/portal/customers/new/"]


# --- access -------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_reseller_manager_sees_the_customers_with_their_figures(network, manager):
    charge(network.north, started_at=datetime(2026, 11, 3, 12, tzinfo=AMS), energy_wh=12_345, total="8.64")
    fourth = datetime(2026, 11, 4, 12, tzinfo=AMS)
    charge(network.south, started_at=fourth, energy_wh=1_000, total="0.90", currency="GBP")
    charge(network.rival_customer, started_at=fourth, energy_wh=1_000, total="5")
    response = manager.get("/portal/customers/?start=2026-11-01&end=2026-11-30")
    assert response.status_code == 200
    page = response.content.decode()
    assert "North Charging" in page and "South Charging" in page
    assert "Rival Customer" not in page
    assert "12.3" in page and "8.64 EUR" in page and "0.90 GBP" in page
    assert 'href="/portal/customers/"' in page  # the menu entry


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.OPERATOR, Role.READ_ONLY, Role.FINANCE, Role.DRIVER])
def test_roles_without_the_customer_permission_are_refused(network, role):
    client = client_as(network.reseller, role)
    for page in pages(network):
        assert client.get(page).status_code == 403, page
    assert client.post(f"/portal/customers/{network.north.pk}/suspend/", {"reason": "x"}).status_code == 403
    assert not Tenant.objects.get(pk=network.north.pk).is_suspended


@pytest.mark.django_db
def test_seeing_without_managing_shows_no_changes(network, monkeypatch):
    monkeypatch.setitem(ROLE_PERMISSIONS, Role.READ_ONLY, frozenset({VIEW_ALL, CUSTOMERS_VIEW}))
    client = client_as(network.reseller, Role.READ_ONLY)
    assert client.get("/portal/customers/").status_code == 200
    detail = client.get(f"/portal/customers/{network.north.pk}/")
    assert detail.status_code == 200 and "/suspend/" not in detail.content.decode()
    assert client.get("/portal/customers/new/").status_code == 403
    assert client.post(f"/portal/customers/{network.north.pk}/suspend/", {"reason": "x"}).status_code == 403
    assert not Tenant.objects.get(pk=network.north.pk).is_suspended


@pytest.mark.django_db
def test_an_anonymous_visitor_is_sent_to_log_in(network):
    response = client_as(network.reseller, None).get("/portal/customers/")
    assert response.status_code == 302 and "next=/portal/customers/" in response["Location"]


@pytest.mark.django_db
def test_the_pages_do_not_exist_on_an_operator_brands_host(network, tenant):
    owner = client_as(tenant, Role.OWNER)
    for page in pages(network):
        assert owner.get(page).status_code == 404, page
    customer_owner = client_as(network.north, Role.OWNER)
    assert customer_owner.get("/portal/customers/").status_code == 404
    assert customer_owner.post(f"/portal/customers/{network.north.pk}/suspend/", {"reason": "x"}).status_code == 404
    assert 'href="/portal/customers/"' not in owner.get("/portal/").content.decode()  # nor in its menu


@pytest.mark.django_db
def test_another_resellers_customer_is_not_found(network, manager):
    rival = network.rival_customer.pk
    assert manager.get(f"/portal/customers/{rival}/").status_code == 404
    assert manager.post(f"/portal/customers/{rival}/suspend/", {"reason": "x"}).status_code == 404
    assert not Tenant.objects.get(pk=rival).is_suspended


@pytest.mark.django_db
def test_a_bad_period_is_explained_and_the_default_shown(network, manager):
    response = manager.get("/portal/customers/?start=2026-11-30&end=2026-11-01")
    assert response.status_code == 200
    assert "The last day is before the first." in response.content.decode()
    assert response.context["dashboard"].period.days == 30


# --- a customer's page --------------------------------------------------------------------------------------------


def _paid_session(customer):
    with schema_context(customer.schema_name):
        token = IdTokenFactory(uid="04A1B2C3D4")
        payer = PaymentCustomerFactory(name="Jane Doe", email="jane@example.com")
        payer.id_tokens.create(id_token=token)
    today = datetime.now(AMS).replace(hour=0, minute=5)
    charge(customer, started_at=today, energy_wh=2_000, total="1.40", id_token=token, id_token_uid=token.uid)


@pytest.mark.django_db
def test_the_customer_page_masks_drivers_for_a_manager(network, manager):
    _paid_session(network.north)
    response = manager.get(f"/portal/customers/{network.north.pk}/?period=7d")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Jane Doe" not in page and "jane@example.com" not in page and "04A1B2C3D4" not in page
    assert "J••• D•••" in page and "•••C3D4" in page
    assert "<svg" in page and "<rect" in page  # the per-day chart
    assert response.context["figures"].sessions == 1


@pytest.mark.django_db
def test_the_customer_page_shows_drivers_to_a_role_with_personal_data(network):
    _paid_session(network.north)
    page = client_as(network.reseller, Role.OWNER).get(f"/portal/customers/{network.north.pk}/").content.decode()
    assert "Jane Doe" in page and "jane@example.com" in page and "04A1B2C3D4" in page


# --- changes ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_manager_creates_a_customer(network, manager):
    response = manager.post(
        "/portal/customers/new/",
        {"name": "East Charging", "slug": "wlp-east", "owner_email": "boss@east.example", "max_stations": "10"},
    )
    east = Tenant.objects.get(slug="wlp-east")
    assert response.status_code == 302 and response["Location"] == f"/portal/customers/{east.pk}/"
    assert (east.reseller_id, east.kind, east.max_stations) == (network.reseller.pk, "operator", 10)
    with schema_context(east.schema_name):
        assert Invitation.objects.get().email == "boss@east.example"
    page = manager.get(response["Location"]).content.decode()
    assert "East Charging is ready at wlp-east.localhost" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"slug": "wlp-north"}, "slug", "Another brand has this slug."),
        ({"slug": "Bad Slug"}, "slug", "Lowercase letters, digits and hyphens"),
        ({"owner_email": "nobody"}, "owner_email", "Enter a valid email address."),
        ({"name": ""}, "name", "This field is required."),
        ({"timezone": "Mars/Olympus"}, "timezone", "Unknown time zone."),
        ({"max_stations": "-1"}, "max_stations", "greater than or equal to 0"),
    ],
)
def test_bad_customer_input_is_shown_per_field_and_creates_nothing(network, manager, fields, field, message):
    brands = Tenant.objects.count()
    data = {"name": "East", "slug": "wlp-east", "owner_email": "boss@east.example", **fields}
    response = manager.post("/portal/customers/new/", data)
    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert Tenant.objects.count() == brands


@pytest.mark.django_db
def test_a_manager_suspends_and_resumes_a_customer(network, manager):
    north = network.north.pk
    response = manager.post(f"/portal/customers/{north}/suspend/", {"reason": "Invoices unpaid"})
    assert response.status_code == 302
    suspended = Tenant.objects.get(pk=north)
    assert suspended.is_suspended and suspended.suspension_reason == "Invoices unpaid"
    assert "portal" in suspended.suspended_by
    assert "North Charging is suspended." in manager.get(response["Location"]).content.decode()
    manager.post(f"/portal/customers/{north}/resume/")
    assert not Tenant.objects.get(pk=north).is_suspended


@pytest.mark.django_db
def test_suspending_without_a_reason_changes_nothing(network, manager):
    response = manager.post(f"/portal/customers/{network.north.pk}/suspend/", {"reason": ""}, follow=True)
    assert "Say why the brand is suspended." in response.content.decode()
    assert not Tenant.objects.get(pk=network.north.pk).is_suspended


@pytest.mark.django_db
def test_suspending_needs_a_post_with_the_csrf_token(network):
    client = Client(HTTP_HOST=HOST, enforce_csrf_checks=True)
    with schema_context(network.reseller.schema_name):
        client.force_login(UserFactory(role=Role.RESELLER_MANAGER))
    assert client.get(f"/portal/customers/{network.north.pk}/suspend/").status_code == 405
    assert client.post(f"/portal/customers/{network.north.pk}/suspend/", {"reason": "x"}).status_code == 403
    assert not Tenant.objects.get(pk=network.north.pk).is_suspended
