"""Writes of users. Call inside the schema the user belongs to."""

from django.db import transaction

from apps.accounts.models import User
from apps.accounts.roles import STAFF_ROLES, Role


@transaction.atomic
def user_create(
    *,
    email: str,
    password: str | None,
    role: str = Role.DRIVER,
    username: str | None = None,
    first_name: str = "",
    last_name: str = "",
    is_superuser: bool = False,
) -> User:
    user = User(
        username=username or email,
        email=email.lower(),
        role=role,
        first_name=first_name,
        last_name=last_name,
        is_staff=is_superuser or role in STAFF_ROLES,
        is_superuser=is_superuser,
    )
    if password is None:
        user.set_unusable_password()
    else:
        user.set_password(password)
    user.full_clean()
    user.save()
    return user
