"""The API's models, one module per concern."""

from apps.api.models.keys import ApiKey, Scope, secret_hash_of
from apps.api.models.oauth import OAuthApplicationScopes
from apps.api.models.rate_limits import RateLimitCounter
from apps.api.models.usage import ApiUsageDay

__all__ = ["ApiKey", "ApiUsageDay", "OAuthApplicationScopes", "RateLimitCounter", "Scope", "secret_hash_of"]
