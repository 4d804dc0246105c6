"""A staff member signs in through the brand's real login page, served by a real daphne, and lands on the portal."""

import pytest
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.whitelabel.models import Branding
from tests.accounts.factories import PASSWORD, UserFactory
from tests.browser import ARTIFACTS


@pytest.mark.django_db(transaction=True)
def test_staff_sign_in_on_the_brands_host_and_land_on_the_portal(tenant, ocpp_server, page):
    Branding.objects.filter(tenant=tenant).update(primary_colour="#5a2d82", support_email="help@alpha.test")
    with schema_context(tenant.schema_name):
        UserFactory(email="ann@alpha.test", role=Role.OPERATOR, first_name="Ann", last_name="Operator")
    base = f"http://alpha.localhost:{ocpp_server.port}"

    page.goto(f"{base}/portal/")  # signed out: sent to the login page, which remembers where to go next
    assert "/accounts/login/" in page.url
    assert page.get_by_role("heading", name="Sign in to Alpha Charge").is_visible()
    assert page.locator(".auth-top").evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(90, 45, 130)"
    assert page.get_by_role("link", name="help@alpha.test").is_visible()

    page.get_by_label("Email address").fill("ann@alpha.test")
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    assert page.get_by_role("alert").inner_text().strip() == "Please enter the correct email address and password."
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "accounts_login_page_refused.png"), full_page=True)  # the branded page too

    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{base}/portal/")

    assert page.get_by_role("heading", name="Overview").is_visible()
    assert page.locator(".who").inner_text() == "Ann Operator"
