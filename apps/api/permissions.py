"""Who may call an endpoint: the credential's scopes (every client), and for a person's token also the person's role
and object scope, so that the API applies the same rules as the admin and the portal (apps/accounts/roles.py).

A view names the scopes it needs in `required_scopes`; the caller's credential must hold all of them. When the
credential is an OAuth token a person authorized (authorization code grant: `ApiClient.user` is set), each scope
also maps to a Django permission the person's role must grant: viewing the scope's model for a read, adding,
changing or deleting it for a write by method, adding a command for `commands:write`. API keys and client
credentials act for the brand and are governed by their scopes only.
"""

from django.shortcuts import get_object_or_404
from rest_framework.permissions import BasePermission

from apps.accounts.models import AUDIT_READ
from apps.accounts.scoping import queryset_filter
from apps.api.authentication import ApiClient

# The model behind each scope's resource ("stations" in "stations:read"), as "app_label.model".
SCOPE_MODELS: dict[str, str] = {
    "locations": "stations.location",
    "stations": "stations.station",
    "groups": "groups.stationgroup",
    "faults": "stations.fault",
    "commands": "commands.command",
    "sessions": "charging.chargingsession",
    "cdrs": "billing.cdr",
    "tariffs": "tariffs.tariff",
    "tokens": "charging.idtoken",
    "users": "accounts.user",
    "invoices": "billing.invoice",
    "webhooks": "api.webhooksubscription",
    "analytics": "api.apiusageday",
}
# Scopes whose permission does not follow the model rule.
SCOPE_PERMISSIONS: dict[str, str] = {
    "commands:write": "commands.add_command",
    "audit:read": AUDIT_READ,
}
WRITE_ACTIONS = {"POST": "add", "PUT": "change", "PATCH": "change", "DELETE": "delete"}
# Scopes that act for the person who authorized the token (the driver app's "me" endpoints): no API key or client
# credentials token may use them, and they need no role permission (every person owns their own account).
PERSON_SCOPES = frozenset({"me:read", "me:write"})


def person_permission(scope: str, method: str, model: str | None = None) -> str:
    """The permission a person's role needs to use `scope` with `method`; `model` overrides the scope's model
    (the tariff-assignment endpoints share the tariff scopes)."""
    if scope in SCOPE_PERMISSIONS:
        return SCOPE_PERMISSIONS[scope]
    resource, _, kind = scope.partition(":")
    model = model or SCOPE_MODELS.get(resource)
    if model is None:
        # A scope nobody mapped yet: only the roles granted everything ("*") pass.
        return f"api.use_{resource}_{kind}"
    app_label, model_name = model.split(".")
    action = "view" if kind == "read" or method not in WRITE_ACTIONS else WRITE_ACTIONS[method]
    return f"{app_label}.{action}_{model_name}"


class HasRequiredScopes(BasePermission):
    code = "scope_missing"

    def has_permission(self, request, view) -> bool:
        client = request.user
        if not isinstance(client, ApiClient):
            return False  # DRF answers 401: no credentials were sent.
        required = getattr(view, "required_scopes", None)
        if required is None:
            self.message = "This endpoint is not open to API clients."
            return False
        missing = sorted(set(required) - client.scopes)
        if missing:
            self.message = f"This credential lacks the scope(s): {', '.join(missing)}."
            return False
        if client.user is None and PERSON_SCOPES.intersection(required):
            self.message = "This endpoint acts for a signed-in person: use a token a person authorized."
            return False
        if client.user is not None:
            method = request.method.upper()
            model = getattr(view, "permission_model", None)
            denied = sorted(
                {
                    permission
                    for permission in (
                        person_permission(scope, method, model) for scope in required if scope not in PERSON_SCOPES
                    )
                    if not client.user.has_perm(permission)
                }
            )
            if denied:
                self.code = "permission_denied"
                self.message = f"Your role does not allow this: {', '.join(denied)}."
                return False
        return True


class ScopesByMethod:
    """For a view serving several operations on one path (GET and POST on a collection; GET, PATCH and DELETE on an
    item): `scopes_by_method` names each method's scopes; HEAD and OPTIONS need what GET needs."""

    scopes_by_method: dict[str, list[str]] = {}

    @property
    def required_scopes(self) -> list[str] | None:
        method = self.request.method.upper()
        if method in ("HEAD", "OPTIONS"):
            method = "GET"
        if method not in self.scopes_by_method and not hasattr(self, method.lower()):
            return []  # no such operation here: the authenticated caller gets a 405, not a 403
        return self.scopes_by_method.get(method)


def scoped(request, queryset):
    """`queryset` narrowed to what the caller may see: for a person's token, the person's object scope (their
    locations and groups); API keys and client credentials see the whole brand. Lists get this in `paginated`."""
    return queryset_filter(request.user, queryset)


def object_or_404(request, queryset, **lookup):
    """The one object of `queryset` matching `lookup` within the caller's scope, else 404: a station outside a
    person's scope is as unknown to them as another brand's."""
    return get_object_or_404(scoped(request, queryset), **lookup)
