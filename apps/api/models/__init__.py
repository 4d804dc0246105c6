"""The API's models, one module per concern."""

from apps.api.models.keys import ApiKey, Scope, secret_hash_of
from apps.api.models.usage import ApiUsageDay

__all__ = ["ApiKey", "ApiUsageDay", "Scope", "secret_hash_of"]
