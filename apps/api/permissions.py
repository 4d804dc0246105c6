"""Scopes: a view names the scopes it needs in `required_scopes`; the caller's API key must hold all of them."""

from rest_framework.permissions import BasePermission

from apps.api.models import ApiKey


class HasRequiredScopes(BasePermission):
    code = "scope_missing"

    def has_permission(self, request, view) -> bool:
        api_key = request.auth
        if not isinstance(api_key, ApiKey):
            return False  # DRF answers 401: no credentials were sent.
        required = getattr(view, "required_scopes", None)
        if required is None:
            self.message = "This endpoint is not open to API keys."
            return False
        missing = sorted(set(required) - set(api_key.scopes))
        if missing:
            self.message = f"This API key lacks the scope(s): {', '.join(missing)}."
            return False
        return True
