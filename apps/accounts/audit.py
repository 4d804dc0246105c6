"""The audit log's one write, `audit_record`, and how it learns who acts: the request being served (a person in the
admin or portal, an API client, a person through an OAuth application) or, outside any request, the system.

Services call `audit_record` inside their own transaction, so an action rolled back leaves no entry and an entry
never describes an action that did not happen. The actor comes from the request the middleware remembers for the
duration of the call (a context variable: it follows the request into `sync_to_async` threads and never leaks into
the next request); a service may pass `actor=` where it knows better (a Celery task acting for a user).
"""

import json
from contextvars import ContextVar
from dataclasses import dataclass

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection
from django_tenants.utils import get_public_schema_name, schema_context

from apps.accounts.models import AuditEntry

_current_request: ContextVar = ContextVar("audit_request", default=None)


@dataclass(frozen=True)
class Actor:
    kind: str
    user_id: int | None = None
    client_id: str = ""
    label: str = ""

    @staticmethod
    def kind_of(name: str) -> str:
        """For an actor known by name only: "system" is the platform, anything else a person."""
        return AuditEntry.ActorKind.SYSTEM if name in ("", "system") else AuditEntry.ActorKind.USER


SYSTEM = Actor(kind=AuditEntry.ActorKind.SYSTEM, label="system")


def actor_of(principal) -> Actor:
    """The actor for a request's user: a User, an API client (with the person who authorized it), or nobody."""
    if principal is None or not getattr(principal, "is_authenticated", False):
        return SYSTEM
    client_id = getattr(principal, "client_id", None)
    if client_id is not None:  # apps.api.authentication.ApiClient
        person = principal.user
        if person is not None:
            label = f"{_person_label(person)} via {principal.name}"
            return Actor(kind=AuditEntry.ActorKind.API_CLIENT, user_id=person.pk, client_id=client_id, label=label)
        return Actor(kind=AuditEntry.ActorKind.API_CLIENT, client_id=client_id, label=principal.name)
    return Actor(kind=AuditEntry.ActorKind.USER, user_id=principal.pk, label=_person_label(principal))


def _person_label(user) -> str:
    return user.email or user.get_username()


def _request_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def audit_record(
    *,
    action: str,
    target=None,
    target_type: str = "",
    target_id: str | int = "",
    target_label: str = "",
    changes: dict | None = None,
    actor=None,
    default_actor=None,
    ip_address: str | None = None,
    public: bool = False,
) -> AuditEntry:
    """Write one entry in the current schema (`public=True`: in the public schema, for the platform's actions).

    `target` (a model instance) fills the target's type, id and label unless they are given; `actor` is a User or
    an ApiClient, else the request's signed-in user or client, else `default_actor` (who asked a background job),
    else the system. `changes` is {"field": [before, after]} or any JSON.
    """
    request = _current_request.get()
    if actor is None and request is not None:
        principal = getattr(request, "user", None)
        if principal is not None and principal.is_authenticated:
            actor = principal
    if actor is None:
        actor = default_actor
    who = actor if isinstance(actor, Actor) else actor_of(actor)
    if ip_address is None and request is not None:
        ip_address = _request_ip(request)
    if target is not None:
        target_type = target_type or target._meta.label_lower
        target_id = target_id or target.pk
        target_label = target_label or str(target)
    entry = AuditEntry(
        actor_kind=who.kind,
        actor_user_id=who.user_id,
        actor_client_id=who.client_id,
        actor_label=who.label[:200],
        action=action,
        target_type=target_type,
        target_id="" if target_id is None else str(target_id),
        target_label=str(target_label)[:200],
        changes=changes or {},
        ip_address=ip_address,
    )
    if public and connection.schema_name != get_public_schema_name():
        with schema_context(get_public_schema_name()):
            entry.save()
    else:
        entry.save()
    return entry


def changes_between(before: dict, after: dict) -> dict:
    """{"field": [before, after]} for the fields whose value differs, compared and kept as JSON values (a price
    read back from the database as a Decimal equals the same price given as text)."""
    before, after = _plain(before), _plain(after)
    return {
        name: [before.get(name), after.get(name)]
        for name in sorted(set(before) | set(after))
        if before.get(name) != after.get(name)
    }


def _plain(values: dict) -> dict:
    return json.loads(json.dumps(values, cls=DjangoJSONEncoder))


class AuditActorMiddleware:
    """Remembers the request being served so that `audit_record` can name its actor and IP address. The user is
    read when an entry is written, after authentication: DRF sets an API client on the underlying request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _current_request.set(request)
        try:
            return self.get_response(request)
        finally:
            _current_request.reset(token)


def audit_prune(*, before) -> int:
    """Delete the entries of the current schema recorded before `before`; how many. The retention task's only
    writer besides `audit_record` (nothing else changes or deletes an entry)."""
    deleted, _ = AuditEntry.objects.filter(at__lt=before).delete()
    return deleted
