"""Writes of users. Call inside the schema the user belongs to."""

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.audit import audit_record, changes_between
from apps.accounts.models import User
from apps.accounts.roles import STAFF_ROLES, Role
from apps.whitelabel.exceptions import TenantLimitReachedError
from apps.whitelabel.services import user_limit_check

EMAIL_TAKEN = "Another user of this brand has this email address."
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
) -> User:
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
