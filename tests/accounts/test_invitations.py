"""Staff invitations: the branded email with its link, accepting it, and the links that no longer work."""

import re
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.exceptions import InvitationUnusableError, RoleNotGrantableError
from apps.accounts.models import Invitation, User
from apps.accounts.roles import Role
from apps.accounts.services import invitation_accept, invitation_create, invitation_revoke, invitation_token_hash
from apps.whitelabel.models import Branding
from tests.accounts.factories import UserFactory

ALPHA = "alpha.localhost"
NEW_PASSWORD = "welcome-aboard-2030"


def member(tenant, role=Role.ADMIN, **fields) -> User:
    with schema_context(tenant.schema_name):
        return UserFactory(role=role, **fields)


def invite(tenant, inviter, email="new@alpha.test", role=Role.TECHNICIAN, capture=None) -> tuple[Invitation, str]:
    """The invitation and the path of its emailed link."""
    with capture(execute=True):
        invitation = invitation_create(tenant=tenant, email=email, role=role, invited_by=inviter)
    message = mail.outbox[-1]
    url = re.search(r"http://\S+/accounts/invitations/\S+/", message.body).group(0)
    return invitation, url.split(":8000", 1)[1]


def test_the_invitation_email_is_branded_and_links_to_the_brands_primary_domain(
    tenant, django_capture_on_commit_callbacks
):
    Branding.objects.filter(tenant=tenant).update(email_sender="team@alpha.test", primary_colour="#334455")
    inviter = member(tenant, first_name="Ann", last_name="Admin")

    invitation, path = invite(tenant, inviter, capture=django_capture_on_commit_callbacks)

    (message,) = mail.outbox
    assert message.to == ["new@alpha.test"] and message.from_email == "Alpha Charge <team@alpha.test>"
    assert message.subject == "You are invited to join Alpha Charge"
    assert "Ann Admin invites you to join Alpha Charge as Technician." in message.body
    assert f"http://{ALPHA}:8000/accounts/invitations/" in message.body
    html = message.alternatives[0][0]
    assert "#334455" in html and "/accounts/invitations/" in html
    token = path.rstrip("/").rsplit("/", 1)[1]
    with schema_context(tenant.schema_name):
        stored = Invitation.objects.get(pk=invitation.pk)
    assert stored.token_hash == invitation_token_hash(token) and token not in stored.token_hash  # only the hash
    assert stored.expires_at > timezone.now() + timedelta(days=6)


def test_accepting_creates_the_staff_member_verified_and_signed_in(tenant, django_capture_on_commit_callbacks):
    _, path = invite(tenant, member(tenant), capture=django_capture_on_commit_callbacks)
    browser = Client(HTTP_HOST=ALPHA)
    page = browser.get(path)
    assert page.status_code == 200 and "Join Alpha Charge" in page.content.decode()
    assert "new@alpha.test" in page.content.decode() and "Technician" in page.content.decode()

    response = browser.post(
        path, {"first_name": "Tess", "last_name": "Tech", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD}
    )

    assert response.status_code == 302 and response["Location"] == "/portal/"
    assert browser.get("/portal/").status_code == 200
    with schema_context(tenant.schema_name):
        user = User.objects.get(email="new@alpha.test")
        assert (user.role, user.is_staff, user.first_name) == (Role.TECHNICIAN, True, "Tess")
        assert EmailAddress.objects.get(user=user).verified
        assert Invitation.objects.get(email="new@alpha.test").accepted_at is not None
    # And the password works on the login page, without a verification round.
    again = Client(HTTP_HOST=ALPHA)
    signed_in = again.post("/accounts/login/", {"login": "new@alpha.test", "password": NEW_PASSWORD})
    assert signed_in["Location"] == "/portal/"


def test_a_weak_or_mismatched_password_is_refused_and_nothing_is_created(tenant, django_capture_on_commit_callbacks):
    _, path = invite(tenant, member(tenant), capture=django_capture_on_commit_callbacks)
    browser = Client(HTTP_HOST=ALPHA)

    weak = browser.post(path, {"password1": "12345", "password2": "12345"})
    differ = browser.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD + "x"})

    assert weak.status_code == 200 and "too short" in weak.content.decode()
    assert differ.status_code == 200 and "The two passwords differ." in differ.content.decode()
    with schema_context(tenant.schema_name):
        assert not User.objects.filter(email="new@alpha.test").exists()


def test_a_used_link_shows_a_clear_page(tenant, django_capture_on_commit_callbacks):
    _, path = invite(tenant, member(tenant), capture=django_capture_on_commit_callbacks)
    browser = Client(HTTP_HOST=ALPHA)
    browser.post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    page = Client(HTTP_HOST=ALPHA).get(path)

    assert page.status_code == 410 and "already accepted" in page.content.decode()


def test_an_expired_link_shows_a_clear_page(tenant, django_capture_on_commit_callbacks):
    invitation, path = invite(tenant, member(tenant), capture=django_capture_on_commit_callbacks)
    with schema_context(tenant.schema_name):
        Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    page = Client(HTTP_HOST=ALPHA).get(path)
    posted = Client(HTTP_HOST=ALPHA).post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert page.status_code == posted.status_code == 410 and "has expired" in page.content.decode()
    with schema_context(tenant.schema_name):
        assert not User.objects.filter(email="new@alpha.test").exists()


def test_a_revoked_link_shows_a_clear_page(tenant, django_capture_on_commit_callbacks):
    inviter = member(tenant)
    invitation, path = invite(tenant, inviter, capture=django_capture_on_commit_callbacks)
    with schema_context(tenant.schema_name):
        invitation_revoke(invitation=invitation, revoked_by=inviter)

    page = Client(HTTP_HOST=ALPHA).get(path)

    assert page.status_code == 410 and "was withdrawn" in page.content.decode()


def test_an_unknown_link_shows_a_clear_page(tenant):
    page = Client(HTTP_HOST=ALPHA).get("/accounts/invitations/not-a-real-token/")

    assert page.status_code == 410 and "do not know this invitation link" in page.content.decode()


def test_inviting_again_replaces_the_pending_invitation(tenant, django_capture_on_commit_callbacks):
    inviter = member(tenant)
    _, first = invite(tenant, inviter, capture=django_capture_on_commit_callbacks)
    _, second = invite(tenant, inviter, capture=django_capture_on_commit_callbacks)

    assert Client(HTTP_HOST=ALPHA).get(first).status_code == 410
    assert Client(HTTP_HOST=ALPHA).get(second).status_code == 200


@pytest.mark.parametrize(
    ("inviter_role", "role"),
    [
        (Role.OPERATOR, Role.ADMIN),
        (Role.OPERATOR, Role.OWNER),
        (Role.OPERATOR, Role.FINANCE),
        (Role.SUPPORT, Role.OPERATOR),
    ],
)
def test_nobody_invites_a_role_above_their_own(tenant, inviter_role, role):
    inviter = member(tenant, role=inviter_role)

    with pytest.raises(RoleNotGrantableError):
        invitation_create(tenant=tenant, email="new@alpha.test", role=role, invited_by=inviter)

    with schema_context(tenant.schema_name):
        assert not Invitation.objects.exists()
    assert mail.outbox == []


@pytest.mark.parametrize("inviter_role", [Role.OWNER, Role.ADMIN])
def test_owners_and_admins_invite_owners_and_admins(tenant, inviter_role, django_capture_on_commit_callbacks):
    inviter = member(tenant, role=inviter_role)
    invitation, _ = invite(tenant, inviter, role=Role.OWNER, capture=django_capture_on_commit_callbacks)
    assert invitation.role == Role.OWNER


def test_a_member_or_a_driver_role_cannot_be_invited(tenant):
    inviter = member(tenant)
    member(tenant, email="taken@alpha.test")

    with pytest.raises(ValidationError, match="already a member"):
        invitation_create(tenant=tenant, email="Taken@alpha.test", role=Role.SUPPORT, invited_by=inviter)
    with pytest.raises(ValidationError, match="staff role"):
        invitation_create(tenant=tenant, email="d@alpha.test", role=Role.DRIVER, invited_by=inviter)
    with pytest.raises(ValidationError):
        invitation_create(tenant=tenant, email="not-an-address", role=Role.SUPPORT, invited_by=inviter)


def test_the_platform_invites_a_new_brands_first_owner(tenant, outsider, django_capture_on_commit_callbacks):
    """What a reseller's "new customer" flow calls: no inviter of the brand, the invitation lands in its schema."""
    with django_capture_on_commit_callbacks(execute=True):
        invitation_create(
            tenant=outsider, email="boss@bravo.test", role=Role.OWNER, invited_by=None, inviter_name="Alpha Charge"
        )

    assert "Alpha Charge invites you to join Bravo Power as Owner." in mail.outbox[0].body
    assert "http://bravo.localhost:8000/accounts/invitations/" in mail.outbox[0].body
    with schema_context(outsider.schema_name):
        assert Invitation.objects.filter(email="boss@bravo.test").exists()
    with schema_context(tenant.schema_name):
        assert not Invitation.objects.filter(email="boss@bravo.test").exists()


def test_an_invitation_link_is_worthless_on_another_brands_host(tenant, outsider, django_capture_on_commit_callbacks):
    _, path = invite(tenant, member(tenant), capture=django_capture_on_commit_callbacks)

    page = Client(HTTP_HOST="bravo.localhost").post(path, {"password1": NEW_PASSWORD, "password2": NEW_PASSWORD})

    assert page.status_code == 410
    with schema_context(outsider.schema_name):
        assert not User.objects.filter(email="new@alpha.test").exists()


def test_accepting_twice_creates_one_user(tenant, django_capture_on_commit_callbacks):
    _, path = invite(tenant, member(tenant), capture=django_capture_on_commit_callbacks)
    token = path.rstrip("/").rsplit("/", 1)[1]
    with schema_context(tenant.schema_name):
        invitation_accept(token=token, password=NEW_PASSWORD)
        with pytest.raises(InvitationUnusableError) as refused:
            invitation_accept(token=token, password=NEW_PASSWORD)
        assert refused.value.reason == InvitationUnusableError.ACCEPTED
        assert User.objects.filter(email="new@alpha.test").count() == 1


def test_operators_revoke_invitations_in_the_admin(tenant, outsider, django_capture_on_commit_callbacks):
    admin = member(tenant)
    invitation, path = invite(tenant, admin, capture=django_capture_on_commit_callbacks)
    client = Client(HTTP_HOST=ALPHA)
    with schema_context(tenant.schema_name):
        client.force_login(admin)

    listing = client.get("/admin/accounts/invitation/")
    response = client.post(
        "/admin/accounts/invitation/", {"action": "revoke", "_selected_action": [invitation.pk]}, follow=True
    )

    assert listing.status_code == 200 and "new@alpha.test" in listing.content.decode()
    assert "1 invitations revoked." in response.content.decode()
    assert Client(HTTP_HOST=ALPHA).get(path).status_code == 410
    # Another brand's admin does not list them.
    theirs = Client(HTTP_HOST="bravo.localhost")
    with schema_context(outsider.schema_name):
        theirs.force_login(UserFactory(role=Role.ADMIN))
    assert "new@alpha.test" not in theirs.get("/admin/accounts/invitation/").content.decode()
