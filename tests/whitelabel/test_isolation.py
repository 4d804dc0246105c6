"""One brand's data is never visible to another: in the database, in the admin, across sessions."""

from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.models import User
from apps.accounts.roles import Role
from tests.accounts.factories import PASSWORD, UserFactory


def _operator(tenant, email):
    with schema_context(tenant.schema_name):
        return UserFactory(email=email, role=Role.OPERATOR)


def _logged_in_client(host: str, email: str) -> Client:
    client = Client(HTTP_HOST=host)
    response = client.post("/admin/login/?next=/admin/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def test_a_user_exists_only_in_the_schema_of_its_brand(tenant, outsider):
    _operator(tenant, "ann@alpha.test")

    with schema_context(tenant.schema_name):
        assert User.objects.filter(email="ann@alpha.test").exists()
    with schema_context(outsider.schema_name):
        assert not User.objects.filter(email="ann@alpha.test").exists()
    assert not User.objects.filter(email="ann@alpha.test").exists()  # nor among platform staff


def test_operator_sees_only_their_brands_users_in_the_admin(tenant, outsider):
    _operator(tenant, "ann@alpha.test")
    _operator(outsider, "bob@bravo.test")

    client = _logged_in_client("alpha.localhost", "ann@alpha.test")
    page = client.get("/admin/accounts/user/")

    assert page.status_code == 200
    assert b"ann@alpha.test" in page.content
    assert b"bob@bravo.test" not in page.content


def test_operator_of_one_brand_cannot_log_in_on_another(tenant, outsider):
    _operator(tenant, "ann@alpha.test")

    response = Client(HTTP_HOST="bravo.localhost").post(
        "/admin/login/?next=/admin/", {"username": "ann@alpha.test", "password": PASSWORD}
    )

    assert response.status_code == 200  # the form again, with an error
    assert b"Please enter the correct" in response.content


def test_a_session_of_one_brand_is_worthless_on_another(tenant, outsider):
    _operator(tenant, "ann@alpha.test")
    session_cookie = _logged_in_client("alpha.localhost", "ann@alpha.test").cookies["sessionid"].value

    intruder = Client(HTTP_HOST="bravo.localhost")
    intruder.cookies["sessionid"] = session_cookie
    response = intruder.get("/admin/accounts/user/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_operator_edits_their_own_branding_and_cannot_reach_another(tenant, outsider):
    _operator(tenant, "ann@alpha.test")
    client = _logged_in_client("alpha.localhost", "ann@alpha.test")

    listing = client.get("/admin/whitelabel/branding/")
    assert listing.status_code == 200
    assert b"Alpha Charge" in listing.content
    assert b"Bravo Power" not in listing.content

    other = client.get(f"/admin/whitelabel/branding/{outsider.branding.pk}/change/")
    assert other.status_code == 302  # the admin's "does not exist" redirect, not the form
    assert b"Bravo Power" not in client.get(other["Location"]).content


def test_brand_admin_pages_carry_the_brands_name_and_colour(tenant):
    tenant.branding.primary_colour = "#abcdef"
    tenant.branding.save()
    _operator(tenant, "ann@alpha.test")

    page = _logged_in_client("alpha.localhost", "ann@alpha.test").get("/admin/")

    assert b"Alpha Charge" in page.content
    assert b"#abcdef" in page.content


def test_platform_admin_lists_brands_and_refuses_brand_staff(platform_tenant, tenant, outsider):
    _operator(tenant, "ann@alpha.test")
    from apps.accounts.services import user_create

    user_create(email="root@platform.test", password=PASSWORD, role=Role.OWNER, is_superuser=True, email_verified=True)

    platform = _logged_in_client("localhost", "root@platform.test")
    brands = platform.get("/admin/whitelabel/tenant/")
    assert brands.status_code == 200
    assert b"Alpha Charge" in brands.content and b"Bravo Power" in brands.content

    refused = Client(HTTP_HOST="localhost").post(
        "/admin/login/?next=/admin/", {"username": "ann@alpha.test", "password": PASSWORD}
    )
    assert refused.status_code == 200
    assert b"Please enter the correct" in refused.content
