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
