"""Reads of users: the people of the schema the request is in (a brand's staff and drivers)."""

from django.db.models import QuerySet

from apps.accounts.models import User


def user_list(*, role: str | None = None, is_active: bool | None = None, email: str | None = None) -> QuerySet[User]:
    users = User.objects.all()
    if role is not None:
        users = users.filter(role=role)
    if is_active is not None:
        users = users.filter(is_active=is_active)
    if email is not None:
        users = users.filter(email__iexact=email)
    return users
