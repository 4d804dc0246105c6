"""The API's models, one module per concern."""

from apps.api.models.keys import ApiKey, Scope, secret_hash_of
from apps.api.models.oauth import OAuthApplicationScopes
from apps.api.models.rate_limits import RateLimitCounter

__all__ = ["ApiKey", "OAuthApplicationScopes", "RateLimitCounter", "Scope", "secret_hash_of"]
