"""Writes of users. Call inside the schema the user belongs to."""

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import User
from apps.accounts.roles import STAFF_ROLES, Role
from apps.whitelabel.exceptions import TenantLimitReachedError
from apps.whitelabel.services import user_limit_check

EMAIL_TAKEN = "Another user of this brand has this email address."
_USER_UPDATE_FIELDS = frozenset({"email", "first_name", "last_name", "is_active", "locale"})


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
    """Change some of email, first_name, last_name, is_active, locale. A user who logs in with their email (the
    username is the email, as `user_create` makes it) logs in with the new one."""
    unknown = set(fields) - _USER_UPDATE_FIELDS
    if unknown:
        raise TypeError(f"Unknown user fields: {', '.join(sorted(unknown))}")
    user = User.objects.select_for_update().get(pk=user.pk)
    if "email" in fields:
        fields["email"] = fields["email"].strip().lower()
        if user.username == user.email:
            user.username = fields["email"]
    for name, value in fields.items():
        setattr(user, name, value)
    _email_free_check(user)
    user.full_clean()
    user.save()
    return user


def _email_free_check(user: User) -> None:
    # The unique index compares exact text; addresses differing only in case are one mailbox.
    if User.objects.filter(email__iexact=user.email).exclude(pk=user.pk).exists():
        raise ValidationError({"email": [EMAIL_TAKEN]})


def user_locale_set(*, user: User, locale: str) -> None:
    """The language the user chose with the switcher; pages follow it wherever they sign in."""
    if user.locale != locale:
        User.objects.filter(pk=user.pk).update(locale=locale)
        user.locale = locale
