"""Writes of users and staff invitations. Call inside the schema the user belongs to (invitation_create enters the
brand's schema itself, so that a reseller can invite a new customer brand's first owner)."""

import hashlib
import secrets
from datetime import timedelta

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.audit import Actor, audit_record, changes_between
from apps.accounts.emails import branded_email_render, email_language
from apps.accounts.exceptions import InvitationUnusableError, RoleNotGrantableError
from apps.accounts.models import AuditEntry, Invitation, User
from apps.accounts.roles import STAFF_ROLES, Role, role_grantable
from apps.whitelabel.exceptions import TenantLimitReachedError
from apps.whitelabel.models import Tenant
from apps.whitelabel.services import user_limit_check

EMAIL_TAKEN = "Another user of this brand has this email address."
LAST_OWNER = "The brand's last active owner stays: make someone else owner first."
_USER_UPDATE_FIELDS = frozenset({"email", "first_name", "last_name", "is_active", "locale", "role"})
# Changes of these are privileged and audited (apps/accounts/audit.py).
AUDITED_USER_FIELDS = ("role", "is_active", "is_staff", "is_superuser")


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None,
    role: str = Role.DRIVER,
    username: str | None = None,
    first_name: str = "",
    last_name: str = "",
    locale: str = "",
    is_superuser: bool = False,
    email_verified: bool = False,
) -> User:
    """`email_verified`: the person proved the address is theirs (they followed an emailed link), or the caller
    vouches for it; otherwise the first sign-in sends a verification email (docs/authentication.md)."""
    email = email.strip().lower()
    user = User(
        username=username or email,
        email=email,
        role=role,
        first_name=first_name,
        last_name=last_name,
        locale=locale,
        is_staff=is_superuser or role in STAFF_ROLES,
        is_superuser=is_superuser,
    )
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    _email_free_check(user)
    user.full_clean()
    try:
        user_limit_check()
    except TenantLimitReachedError as error:  # a refusal like any other: the API answers 400, forms show it
        raise ValidationError(str(error)) from error
    user.save()
    EmailAddress.objects.create(user=user, email=email, primary=True, verified=email_verified)
    return user


@transaction.atomic
def user_update(*, user: User, **fields) -> User:
    """Change some of email, first_name, last_name, is_active, locale, role. A user who logs in with their email (the
    username is the email, as `user_create` makes it) logs in with the new one. A new role brings its admin access
    (`is_staff`) with it; role and active changes are audited."""
    unknown = set(fields) - _USER_UPDATE_FIELDS
    if unknown:
        raise TypeError(f"Unknown user fields: {', '.join(sorted(unknown))}")
    user = User.objects.select_for_update().get(pk=user.pk)
    before = {name: getattr(user, name) for name in AUDITED_USER_FIELDS}
    if "role" in fields and not user.is_superuser:
        user.is_staff = fields["role"] in STAFF_ROLES
    if "email" in fields:
        fields["email"] = fields["email"].strip().lower()
        if user.username == user.email:
            user.username = fields["email"]
    for name, value in fields.items():
        setattr(user, name, value)
    _email_free_check(user)
    user.full_clean()
    user.save()
    if "email" in fields and not EmailAddress.objects.filter(user=user, email__iexact=user.email).exists():
        # A new address is unproven until its owner follows the verification link.
        EmailAddress.objects.filter(user=user).delete()
        EmailAddress.objects.create(user=user, email=user.email, primary=True, verified=False)
    user_changes_audit(user=user, before=before)
    return user


def user_changes_audit(*, user: User, before: dict) -> None:
    """Audit what changed in the user's role and access since `before` (their values of AUDITED_USER_FIELDS):
    `user.role_changed` for the role, `user.access_changed` for being active, staff or superuser."""
    after = {name: getattr(user, name) for name in AUDITED_USER_FIELDS}
    changed = changes_between(before, after)
    if "role" in changed:
        audit_record(action="user.role_changed", target=user, changes={"role": changed.pop("role")})
    if changed:
        audit_record(action="user.access_changed", target=user, changes=changed)


def _email_free_check(user: User) -> None:
    # The unique index compares exact text; addresses differing only in case are one mailbox.
    if User.objects.filter(email__iexact=user.email).exclude(pk=user.pk).exists():
        raise ValidationError({"email": [EMAIL_TAKEN]})


def user_locale_set(*, user: User, locale: str) -> None:
    """The language the user chose with the switcher; pages follow it wherever they sign in."""
    if user.locale != locale:
        User.objects.filter(pk=user.pk).update(locale=locale)
        user.locale = locale


@transaction.atomic
def user_role_change(*, user: User, role: str, changed_by: User) -> User:
    """Give a staff member another staff role; nobody gives a role above their own, nor changes someone whose role is
    above their own."""
    if role not in STAFF_ROLES:
        raise ValidationError({"role": ["Choose a staff role."]})
    if not (role_grantable(changed_by, role) and role_grantable(changed_by, user.role)):
        raise RoleNotGrantableError(role)
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.pk == changed_by.pk:
        raise ValidationError("You cannot change your own role.")
    if role != Role.OWNER:
        _last_owner_check(user)
    before = {name: getattr(user, name) for name in AUDITED_USER_FIELDS}
    user.role = role
    user.is_staff = True
    user.full_clean()
    user.save(update_fields=["role", "is_staff"])
    user_changes_audit(user=user, before=before)
    return user


@transaction.atomic
def user_deactivate(*, user: User, deactivated_by: User) -> User:
    """Sign a staff member out for good: they can no longer log in; their history stays."""
    if user.pk == deactivated_by.pk:
        raise ValidationError("You cannot deactivate your own account.")
    if not role_grantable(deactivated_by, user.role):
        raise RoleNotGrantableError(user.role)
    user = User.objects.select_for_update().get(pk=user.pk)
    _last_owner_check(user)
    before = {name: getattr(user, name) for name in AUDITED_USER_FIELDS}
    user.is_active = False
    user.save(update_fields=["is_active"])
    user_changes_audit(user=user, before=before)
    return user


def _last_owner_check(user: User) -> None:
    """A brand keeps at least one active owner: nobody else could then give the owner role."""
    if user.role != Role.OWNER or not user.is_active:
        return
    owners = User.objects.select_for_update().filter(role=Role.OWNER, is_active=True)
    if not owners.exclude(pk=user.pk).exists():
        raise ValidationError(LAST_OWNER)


# --- staff invitations --------------------------------------------------------------------------------------------

INVITATION_EMAIL = "accounts/email/invitation"
INVITATION_TAKEN = "This person is already a member of the brand."


def invitation_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def brand_site_url(tenant: Tenant) -> str:
    """The brand's primary domain as TENANT_SITE_URL says, e.g. https://charge.example.com."""
    domain = tenant.domains.order_by("-is_primary", "domain").values_list("domain", flat=True).first()
    return settings.TENANT_SITE_URL.format(domain=domain).rstrip("/")


def invitation_accept_url(*, tenant: Tenant, token: str) -> str:
    """The accept link on the brand's primary domain."""
    return brand_site_url(tenant) + reverse("invitation-accept", kwargs={"token": token}, urlconf=settings.ROOT_URLCONF)


@transaction.atomic
def invitation_create(
    *, tenant: Tenant, email: str, role: str, invited_by: User | None, inviter_name: str = ""
) -> Invitation:
    """Invite `email` to join `tenant`'s staff as `role` and email them the accept link in the brand's look.

    `invited_by` is a user of the brand, held to the escalation rule (apps.accounts.roles.role_grantable); None when
    the platform invites, such as a reseller creating a customer brand and inviting its first owner. A pending
    invitation to the same address is replaced. The email leaves after commit."""
    email = email.strip().lower()
    try:
        validate_email(email)
    except ValidationError as error:
        raise ValidationError({"email": error.messages}) from error
    if role not in STAFF_ROLES:
        raise ValidationError({"role": ["Choose a staff role."]})
    if invited_by is not None and not role_grantable(invited_by, role):
        raise RoleNotGrantableError(role)
    with schema_context(tenant.schema_name):
        if User.objects.filter(email__iexact=email).exists():
            raise ValidationError({"email": [INVITATION_TAKEN]})
        now = timezone.now()
        Invitation.objects.filter(
            email=email, accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=now
        ).update(revoked_at=now)
        token = secrets.token_urlsafe(32)
        invitation = Invitation.objects.create(
            email=email,
            role=role,
            token_hash=invitation_token_hash(token),
            invited_by=invited_by,
            inviter_name=inviter_name or (invited_by.get_full_name() or invited_by.email if invited_by else ""),
            expires_at=now + timedelta(days=settings.INVITATION_VALID_DAYS),
        )
        audit_record(
            action="invitation.created",
            target=invitation,
            changes={"role": role},
            actor=invited_by,
            default_actor=Actor(kind=AuditEntry.ActorKind.SYSTEM, label=invitation.inviter_name or "system"),
        )
    accept_url = invitation_accept_url(tenant=tenant, token=token)
    message = branded_email_render(
        tenant=tenant,
        template_prefix=INVITATION_EMAIL,
        to=[email],
        context={"invitation": invitation, "accept_url": accept_url, "role_label": Role(role).label},
        language=email_language(tenant=tenant),
        site_url=brand_site_url(tenant),
    )
    transaction.on_commit(message.send)
    return invitation


def invitation_for_token(token: str, *, lock: bool = False) -> Invitation:
    """The invitation of a link in the current schema, if it can still be accepted."""
    invitations = Invitation.objects.select_for_update() if lock else Invitation.objects
    invitation = invitations.filter(token_hash=invitation_token_hash(token)).first()
    if invitation is None:
        raise InvitationUnusableError(InvitationUnusableError.UNKNOWN)
    if invitation.accepted_at is not None:
        raise InvitationUnusableError(InvitationUnusableError.ACCEPTED)
    if invitation.revoked_at is not None:
        raise InvitationUnusableError(InvitationUnusableError.REVOKED)
    if invitation.expires_at <= timezone.now():
        raise InvitationUnusableError(InvitationUnusableError.EXPIRED)
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """Create the invited staff member with the invitation's role, a verified email (the link came to that mailbox)
    and `password`. Call in the brand's schema (a request on its host); the caller signs the user in."""
    invitation = invitation_for_token(token, lock=True)
    validate_password(password, User(email=invitation.email, first_name=first_name, last_name=last_name))
    if User.objects.filter(email__iexact=invitation.email).exists():
        raise ValidationError(INVITATION_TAKEN)
    user = user_create(
        email=invitation.email,
        password=password,
        role=invitation.role,
        first_name=first_name,
        last_name=last_name,
        email_verified=True,
    )
    invitation.accepted_at = timezone.now()
    invitation.user = user
    invitation.save(update_fields=["accepted_at", "user"])
    audit_record(action="invitation.accepted", target=invitation, changes={"role": invitation.role}, actor=user)
    return user


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, revoked_by: User) -> Invitation:
    """Make a pending invitation's link worthless; one already accepted stays (deactivate the user instead)."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.accepted_at is not None:
        raise InvitationUnusableError(InvitationUnusableError.ACCEPTED)
    if not role_grantable(revoked_by, invitation.role):
        raise RoleNotGrantableError(invitation.role)
    if invitation.revoked_at is None:
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        audit_record(action="invitation.revoked", target=invitation, actor=revoked_by)
    return invitation
