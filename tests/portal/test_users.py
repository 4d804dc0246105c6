"""The portal's users page: staff managers see the staff, invite, revoke, change roles and deactivate."""

import pytest
from django.core import mail
from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.models import Invitation, User
from apps.accounts.roles import Role
from tests.accounts.factories import PASSWORD, UserFactory

ALPHA = "alpha.localhost"


def signed_in(tenant, role=Role.ADMIN, host=ALPHA, **fields) -> tuple[Client, User]:
    client = Client(HTTP_HOST=host)
    with schema_context(tenant.schema_name):
        user = UserFactory(role=role, **fields)
        client.force_login(user)
    return client, user


def staff(tenant, **fields) -> User:
    with schema_context(tenant.schema_name):
        return UserFactory(**fields)


def test_the_page_lists_staff_with_role_and_status_and_not_drivers(tenant):
    client, _ = signed_in(tenant, email="ann@alpha.test")
    staff(tenant, email="tom@alpha.test", role=Role.TECHNICIAN)
    gone = staff(tenant, email="gone@alpha.test", role=Role.SUPPORT)
    with schema_context(tenant.schema_name):
        User.objects.filter(pk=gone.pk).update(is_active=False)
    staff(tenant, email="dora@alpha.test", role=Role.DRIVER)

    page = client.get("/portal/users/")

    html = page.content.decode()
    assert page.status_code == 200 and "Alpha Charge" in html
    assert "tom@alpha.test" in html and "Technician" in html and "Deactivated" in html
    assert "dora@alpha.test" not in html
    assert 'href="/portal/users/"' in html  # the menu entry


@pytest.mark.parametrize("role", [Role.OPERATOR, Role.TECHNICIAN, Role.FINANCE, Role.SUPPORT, Role.READ_ONLY])
def test_roles_without_the_permission_get_403(tenant, role):
    client, _ = signed_in(tenant, role=role)

    assert client.get("/portal/users/").status_code == 403
    assert client.post("/portal/users/invite/", {"email": "x@alpha.test", "role": Role.SUPPORT}).status_code == 403
    assert 'href="/portal/users/"' not in client.get("/portal/").content.decode()


def test_a_driver_gets_403_and_a_visitor_is_sent_to_sign_in(tenant):
    driver, _ = signed_in(tenant, role=Role.DRIVER)
    assert driver.get("/portal/users/").status_code == 403
    response = Client(HTTP_HOST=ALPHA).get("/portal/users/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/?next=/portal/users/")


def test_an_outsiders_staff_and_ids_are_out_of_reach(tenant, outsider):
    theirs = staff(outsider, email="bob@bravo.test", role=Role.SUPPORT)
    client, _ = signed_in(tenant)

    assert "bob@bravo.test" not in client.get("/portal/users/").content.decode()
    assert client.post(f"/portal/users/{theirs.pk}/deactivate/").status_code == 404
    assert client.post(f"/portal/users/{theirs.pk}/role/", {"role": Role.ADMIN}).status_code == 404
    with schema_context(outsider.schema_name):
        assert User.objects.get(pk=theirs.pk).is_active
    # Nor does a session of one brand open the page on the other's host.
    alpha_admin, _ = signed_in(tenant)
    bravo = Client(HTTP_HOST="bravo.localhost")
    bravo.cookies["sessionid"] = alpha_admin.cookies["sessionid"].value
    assert bravo.get("/portal/users/").status_code == 302


def test_inviting_from_the_page_sends_the_email_and_lists_it_pending(tenant, django_capture_on_commit_callbacks):
    client, _ = signed_in(tenant)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/portal/users/invite/", {"email": "New@Alpha.test", "role": Role.FINANCE})

    assert response.status_code == 302 and response["Location"] == "/portal/users/"
    assert mail.outbox[0].to == ["new@alpha.test"]
    page = client.get("/portal/users/").content.decode()
    assert "Invitation sent to new@alpha.test." in page and 'data-invitation="new@alpha.test"' in page


def test_a_bad_invitation_is_refused_with_a_clear_error_and_nothing_sent(tenant):
    client, _ = signed_in(tenant)
    staff(tenant, email="tom@alpha.test", role=Role.TECHNICIAN)

    bad = client.post("/portal/users/invite/", {"email": "not-an-address", "role": Role.FINANCE})
    taken = client.post("/portal/users/invite/", {"email": "tom@alpha.test", "role": Role.FINANCE})

    assert bad.status_code == 400 and "Enter a valid email address." in bad.content.decode()
    assert taken.status_code == 400 and "already a member" in taken.content.decode()
    with schema_context(tenant.schema_name):
        assert not Invitation.objects.exists()
    assert mail.outbox == []


def test_revoking_from_the_page(tenant, django_capture_on_commit_callbacks):
    client, _ = signed_in(tenant)
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/portal/users/invite/", {"email": "new@alpha.test", "role": Role.SUPPORT})
    with schema_context(tenant.schema_name):
        invitation = Invitation.objects.get(email="new@alpha.test")

    response = client.post(f"/portal/users/invitations/{invitation.pk}/revoke/")

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        assert Invitation.objects.get(pk=invitation.pk).revoked_at is not None
    assert 'data-invitation="new@alpha.test"' not in client.get("/portal/users/").content.decode()


def test_changing_a_role_and_deactivating(tenant):
    client, _ = signed_in(tenant)
    tom = staff(tenant, email="tom@alpha.test", role=Role.TECHNICIAN)

    assert client.post(f"/portal/users/{tom.pk}/role/", {"role": Role.OPERATOR}).status_code == 302
    assert client.post(f"/portal/users/{tom.pk}/deactivate/").status_code == 302

    with schema_context(tenant.schema_name):
        tom.refresh_from_db()
    assert (tom.role, tom.is_active) == (Role.OPERATOR, False)
    refused = Client(HTTP_HOST=ALPHA).post("/accounts/login/", {"login": "tom@alpha.test", "password": PASSWORD})
    assert refused["Location"] == "/accounts/inactive/" and "_auth_user_id" not in refused.wsgi_request.session


def test_nobody_deactivates_themselves_or_changes_their_own_role(tenant):
    client, me = signed_in(tenant)

    client.post(f"/portal/users/{me.pk}/deactivate/")
    client.post(f"/portal/users/{me.pk}/role/", {"role": Role.READ_ONLY})

    with schema_context(tenant.schema_name):
        me.refresh_from_db()
    assert (me.role, me.is_active) == (Role.ADMIN, True)


def test_the_portals_log_out_button_signs_out_to_the_brands_login_page(tenant):
    client, _ = signed_in(tenant)

    response = client.post("/portal/logout/")

    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert client.get("/portal/users/").status_code == 302


def test_the_last_active_owner_cannot_be_demoted_or_deactivated(tenant):
    client, _ = signed_in(tenant, role=Role.ADMIN)
    owner = staff(tenant, email="owner@alpha.test", role=Role.OWNER)

    demoted = client.post(f"/portal/users/{owner.pk}/role/", {"role": Role.SUPPORT}, follow=True)
    client.post(f"/portal/users/{owner.pk}/deactivate/")

    assert "last active owner" in demoted.content.decode()
    with schema_context(tenant.schema_name):
        owner.refresh_from_db()
    assert (owner.role, owner.is_active) == (Role.OWNER, True)
    staff(tenant, email="second@alpha.test", role=Role.OWNER)
    client.post(f"/portal/users/{owner.pk}/deactivate/")
    with schema_context(tenant.schema_name):
        owner.refresh_from_db()
    assert not owner.is_active


def test_an_operator_cannot_demote_or_deactivate_an_administrator(tenant):
    """Operators lack accounts.change_user altogether; the services also refuse for whoever calls them."""
    from apps.accounts.exceptions import RoleNotGrantableError
    from apps.accounts.services import user_deactivate, user_role_change

    admin = staff(tenant, email="admin@alpha.test", role=Role.ADMIN)
    operator = staff(tenant, email="op@alpha.test", role=Role.OPERATOR)

    with schema_context(tenant.schema_name):
        with pytest.raises(RoleNotGrantableError):
            user_role_change(user=admin, role=Role.READ_ONLY, changed_by=operator)
        with pytest.raises(RoleNotGrantableError):
            user_deactivate(user=admin, deactivated_by=operator)
        admin.refresh_from_db()
    assert (admin.role, admin.is_active) == (Role.ADMIN, True)
