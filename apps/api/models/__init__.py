"""The API's models, one module per concern."""

from apps.api.models.keys import ApiKey, Scope, secret_hash_of

__all__ = ["ApiKey", "Scope", "secret_hash_of"]
