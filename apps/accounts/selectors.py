"""Reads of users and invitations: the people of the schema the request is in (a brand's staff and drivers)."""

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.accounts.models import AuditEntry, Invitation, User
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


def audit_entry_list(
    *,
    action: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    search: str | None = None,
) -> QuerySet[AuditEntry]:
    """The current schema's audit log. `action`: one code, or a prefix ending in "." ("tariff." for every tariff
    action). `actor`: a user id, an API client id (key:…, oauth:…) or "system". `since` included, `until` not."""
    entries = AuditEntry.objects.all()
    if action is not None:
        entries = entries.filter(action__startswith=action) if action.endswith(".") else entries.filter(action=action)
    if actor is not None:
        if actor == AuditEntry.ActorKind.SYSTEM:
            entries = entries.filter(actor_kind=AuditEntry.ActorKind.SYSTEM)
        elif actor.isdigit():
            entries = entries.filter(actor_user_id=int(actor))
        else:
            entries = entries.filter(actor_client_id=actor)
    if since is not None:
        entries = entries.filter(at__gte=since)
    if until is not None:
        entries = entries.filter(at__lt=until)
    if search:
        entries = entries.filter(
            Q(target_label__icontains=search) | Q(actor_label__icontains=search) | Q(target_id=search)
        )
    return entries
