"""ID tokens: listed for staff (uids masked without the personal-data permission), blocked and unblocked by roles
with charging.change_idtoken."""

import pytest
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.sessions.models import IdToken
from tests.portal.conftest import client_of
from tests.sessions.factories import IdTokenFactory


@pytest.fixture
def token(tenant):
    with schema_context(tenant.schema_name):
        return IdTokenFactory(uid="04AABBCCDD", label="Fleet card")


def status_of(tenant, token) -> str:
    with schema_context(tenant.schema_name):
        return IdToken.objects.get(pk=token.pk).status


@pytest.mark.django_db
def test_staff_see_the_tokens_masked_without_personal_data(token, tenant):
    page = client_of(tenant, Role.READ_ONLY).get("/portal/tokens/").content.decode()
    assert "•••CCDD" in page and "04AABBCCDD" not in page
    assert "F••• c•••" in page and "Fleet card" not in page  # a label may be a driver's name
    assert "04AABBCCDD" in client_of(tenant, Role.SUPPORT).get("/portal/tokens/").content.decode()


@pytest.mark.django_db
def test_support_blocks_and_unblocks_a_token(token, tenant):
    client = client_of(tenant, Role.SUPPORT)
    response = client.post(f"/portal/tokens/{token.pk}/status/", {"status": "Blocked"}, follow=True)
    assert "Token 04AABBCCDD is now Blocked." in response.content.decode()
    assert status_of(tenant, token) == "Blocked"
    assert [t.pk for t in client.get("/portal/tokens/", {"status": "Blocked"}).context["page"]] == [token.pk]
    client.post(f"/portal/tokens/{token.pk}/status/", {"status": "Accepted"})
    assert status_of(tenant, token) == "Accepted"


@pytest.mark.django_db
def test_a_wrong_status_is_refused_and_nothing_changes(token, tenant):
    response = client_of(tenant, Role.SUPPORT).post(
        f"/portal/tokens/{token.pk}/status/", {"status": "Expired"}, follow=True
    )
    assert "choose block or unblock" in response.content.decode()
    assert status_of(tenant, token) == "Accepted"


@pytest.mark.django_db
def test_a_role_without_the_change_permission_gets_no_buttons_and_is_refused(token, tenant):
    client = client_of(tenant, Role.READ_ONLY)
    assert "Block" not in client.get("/portal/tokens/").content.decode().split("<tbody>")[1]
    assert client.post(f"/portal/tokens/{token.pk}/status/", {"status": "Blocked"}).status_code == 403
    assert status_of(tenant, token) == "Accepted"


@pytest.mark.django_db
def test_a_role_without_the_token_permission_is_refused(tenant, role_without):
    assert client_of(tenant, role_without("charging.view_idtoken")).get("/portal/tokens/").status_code == 403


@pytest.mark.django_db
def test_another_brands_token_is_not_found(token, tenant, outsider):
    client = client_of(outsider, Role.SUPPORT)
    assert "04AABBCCDD" not in client.get("/portal/tokens/").content.decode()
    assert client.post(f"/portal/tokens/{token.pk}/status/", {"status": "Blocked"}).status_code == 404
    assert status_of(tenant, token) == "Accepted"
