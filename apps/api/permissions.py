"""Scopes: a view names the scopes it needs in `required_scopes`; the caller's credential must hold all of them."""

from rest_framework.permissions import BasePermission

from apps.api.authentication import ApiClient


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
