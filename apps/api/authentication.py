"""Authenticates API requests by key: `Authorization: Bearer <key>` or `X-Api-Key: <key>`."""

import hmac

from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from apps.api.models import ApiKey, secret_hash_of
from apps.api.selectors import api_key_get_by_prefix
from apps.api.services import PREFIX_LENGTH, api_key_mark_used


class ApiClient:
    """The caller of an API request, whatever its credential: stands in for request.user (a person elsewhere).

    `client_id` names the partner application for rate limits and usage analytics: `key:<prefix>` for an API key,
    `oauth:<client_id>` for an OAuth 2.0 application. `scopes` is what the credential may do.
    """

    is_authenticated = True
    is_anonymous = False

    def __init__(self, *, client_id: str, name: str, scopes, credential):
        self.client_id = client_id
        self.pk = client_id
        self.name = name
        self.scopes = frozenset(scopes)
        self.credential = credential

    @classmethod
    def of_api_key(cls, api_key: ApiKey) -> "ApiClient":
        return cls(client_id=f"key:{api_key.prefix}", name=api_key.name, scopes=api_key.scopes, credential=api_key)

    def __str__(self) -> str:
        return f"{self.name} ({self.client_id})"


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        key = self._key_of(request)
        if key is None:
            return None
        # The key is looked up in the schema of the request's host: another brand's key does not exist here.
        api_key = api_key_get_by_prefix(prefix=key[:PREFIX_LENGTH]) if len(key) > PREFIX_LENGTH else None
        if api_key is None or not hmac.compare_digest(api_key.secret_hash, secret_hash_of(key)):
            raise AuthenticationFailed("Unknown API key.", code="api_key_unknown")
        now = timezone.now()
        if api_key.revoked_at is not None:
            raise AuthenticationFailed("This API key has been revoked.", code="api_key_revoked")
        if api_key.is_expired(now):
            raise AuthenticationFailed("This API key has expired.", code="api_key_expired")
        api_key_mark_used(api_key=api_key, now=now)
        return ApiClient.of_api_key(api_key), api_key

    def authenticate_header(self, request) -> str:
        # Makes DRF answer 401 (not 403) to a request without credentials.
        return 'Bearer realm="api"'

    @staticmethod
    def _key_of(request) -> str | None:
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if header:
            scheme, _, key = header.partition(" ")
            if scheme.lower() != "bearer" or not key.strip():
                raise AuthenticationFailed(
                    "Send the API key as 'Authorization: Bearer <key>'.", code="authorization_header_invalid"
                )
            return key.strip()
        key = request.META.get("HTTP_X_API_KEY", "").strip()
        return key or None
