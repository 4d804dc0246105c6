"""A reseller manager's customer pages in a real browser on a real server: sign in, read the figures, open a
customer, create one with a mistake first. The screenshot (test-artifacts/screenshots/) shows the last page."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.whitelabel.customers import customer_create
from apps.whitelabel.models import Tenant, TenantEvent
from apps.whitelabel.services import tenant_create
from tests.accounts.factories import PASSWORD, UserFactory
from tests.whitelabel.resellers import charge


@pytest.fixture
def reseller(transactional_db, platform_tenant):
    """Committed for the server process to see; dropped afterwards with every customer a test made."""
    reseller = tenant_create(
        slug="wlb-volt", name="Volt Resale", kind=Tenant.Kind.RESELLER, domains=["wlb-volt.localhost"], actor="test"
    )
    try:
        yield reseller
    finally:
        for customer in Tenant.objects.filter(reseller=reseller):
            customer.delete(force_drop=True)
        Tenant.objects.get(pk=reseller.pk).delete(force_drop=True)
        TenantEvent.objects.filter(tenant_slug__startswith="wlb-").delete()


def test_a_reseller_manager_reads_the_figures_and_creates_a_customer(reseller, ocpp_server, page):
    north, _ = customer_create(
        reseller=reseller, name="North Charging", slug="wlb-north", owner_email="o@north.example", actor="test"
    )
    yesterday = timezone.now() - timedelta(days=1)
    charge(north, started_at=yesterday, energy_wh=18_400, total="12.88")
    charge(north, started_at=yesterday - timedelta(days=3), energy_wh=7_300, total="5.11")
    with schema_context(reseller.schema_name):
        manager = UserFactory(role=Role.RESELLER_MANAGER, email="manon@volt.example")
    base = f"http://wlb-volt.localhost:{ocpp_server.port}"

    page.goto(f"{base}/portal/customers/")  # signed out: the brand's sign-in page, then back here
    page.get_by_label("Email address").fill(manager.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/portal/customers/")
    table = page.locator("table.figures").inner_text()
    assert "North Charging" in table and "25.7" in table and "17.99 EUR" in table

    page.goto(f"{base}/portal/customers/new/")
    page.fill("input[name=name]", "South Charging")
    page.fill("input[name=slug]", "wlb-north")  # taken
    page.fill("input[name=owner_email]", "owner@south.example")
    page.get_by_role("button", name="Create customer").click()
    assert "Another brand has this slug." in page.locator(".field.invalid").inner_text()
    page.fill("input[name=slug]", "wlb-south")
    page.get_by_role("button", name="Create customer").click()
    page.wait_for_url(f"{base}/portal/customers/*/")
    assert "South Charging is ready at wlb-south.localhost" in page.locator(".messages").inner_text()
    assert Tenant.objects.get(slug="wlb-south").reseller_id == reseller.pk

    page.get_by_role("link", name="All customers").click()
    page.get_by_role("link", name="North Charging").click()
    page.locator("figure.chart svg").wait_for()
    assert page.locator("svg rect").count() == 30  # one bar per day of the last 30
    assert "18.4" in page.locator("table").last.inner_text()  # the latest session, in the recent sessions
