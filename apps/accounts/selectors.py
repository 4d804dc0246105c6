"""Reads of users and invitations: the people of the schema the request is in (a brand's staff and drivers)."""

from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import Invitation, User
from apps.accounts.roles import Role


def user_list(*, role: str | None = None, is_active: bool | None = None, email: str | None = None) -> QuerySet[User]:
    users = User.objects.all()
    if role is not None:
        users = users.filter(role=role)
    if is_active is not None:
        users = users.filter(is_active=is_active)
    if email is not None:
        users = users.filter(email__iexact=email)
    return users


def staff_list() -> QuerySet[User]:
    """The brand's staff (everyone but drivers), active ones first."""
    return User.objects.exclude(role=Role.DRIVER).order_by("-is_active", "email")


def invitation_pending_list() -> QuerySet[Invitation]:
    """Invitations whose link can still be accepted, newest first."""
    return Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).select_related("invited_by")
