"""Authenticates API requests: by API key (`Authorization: Bearer evk_…` or `X-Api-Key: evk_…`) or by OAuth 2.0
access token (`Authorization: Bearer <token>`, any bearer value without the key's `evk_` mark)."""

import hashlib
import hmac

from django.utils import timezone
from oauth2_provider.models import get_access_token_model
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed

from apps.api.models import ApiKey, secret_hash_of
from apps.api.selectors import api_key_get_by_prefix
from apps.api.services import KEY_MARK, PREFIX_LENGTH, api_key_mark_used


class ApiClient:
    """The caller of an API request, whatever its credential: stands in for request.user (a person elsewhere).

    `client_id` names the partner application for rate limits and usage analytics: `key:<prefix>` for an API key,
    `oauth:<client_id>` for an OAuth 2.0 application. `scopes` is what the credential may do. `user` is the person
    who authorized an OAuth application (authorization code grant), None for API keys and client credentials.
    `rate_limit_per_minute` overrides the platform's default limit for this client (apps.api.throttling): the API
    key's or the OAuth application's own, None for the default.
    """

    is_authenticated = True
    is_anonymous = False

    def __init__(self, *, client_id: str, name: str, scopes, credential, user=None, rate_limit_per_minute=None):
        self.client_id = client_id
        self.pk = client_id
        self.name = name
        self.scopes = frozenset(scopes)
        self.credential = credential
        self.user = user
        self.rate_limit_per_minute = rate_limit_per_minute

    @classmethod
    def of_api_key(cls, api_key: ApiKey) -> "ApiClient":
        return cls(
            client_id=f"key:{api_key.prefix}",
            name=api_key.name,
            scopes=api_key.scopes,
            credential=api_key,
            rate_limit_per_minute=api_key.rate_limit_per_minute,
        )

    @classmethod
    def of_access_token(cls, token) -> "ApiClient":
        application = token.application
        allowed = getattr(application, "api_scopes", None)
        # An operator who narrows an application's scopes narrows its live tokens too.
        scopes = set(token.scope.split()) & set(allowed.scopes if allowed is not None else ())
        return cls(
            client_id=f"oauth:{application.client_id}",
            name=application.name,
            scopes=scopes,
            credential=token,
            user=token.user,
            rate_limit_per_minute=allowed.rate_limit_per_minute if allowed is not None else None,
        )

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
            key = bearer_of(request)
            # Any other bearer value is an OAuth 2.0 access token (OAuthTokenAuthentication).
            return key if key.startswith(KEY_MARK) else None
        key = request.META.get("HTTP_X_API_KEY", "").strip()
        return key or None


def bearer_of(request) -> str | None:
    """The value of `Authorization: Bearer <value>`, None without the header; 401 for any other scheme."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise AuthenticationFailed(
            "Send the API key or access token as 'Authorization: Bearer <value>'.", code="authorization_header_invalid"
        )
    return value.strip()


class OAuthTokenAuthentication(BaseAuthentication):
    """An OAuth 2.0 access token issued on this brand's /oauth/token/, found by its SHA-256 in the brand's schema:
    another brand's token is unknown here. A revoked token is deleted by the toolkit, so it is unknown too."""

    def authenticate(self, request):
        token_value = bearer_of(request)
        if token_value is None or token_value.startswith(KEY_MARK):
            return None
        checksum = hashlib.sha256(token_value.encode()).hexdigest()
        token = (
            get_access_token_model()
            .objects.select_related("application__api_scopes", "user")
            .filter(token_checksum=checksum, application__isnull=False)
            .first()
        )
        if token is None:
            raise AuthenticationFailed("Unknown or revoked access token.", code="token_unknown")
        if token.is_expired():
            raise AuthenticationFailed("This access token has expired.", code="token_expired")
        if token.user is not None and not token.user.is_active:
            raise AuthenticationFailed("The user who authorized this token is deactivated.", code="token_unknown")
        return ApiClient.of_access_token(token), token

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'
