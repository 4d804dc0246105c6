"""The API's models, one module per concern."""

from apps.api.models.keys import ApiKey, Scope, secret_hash_of
from apps.api.models.webhooks import (
    EventKind,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookSubscription,
)

__all__ = [
    "ApiKey",
    "Scope",
    "secret_hash_of",
    "EventKind",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEvent",
    "WebhookSubscription",
]
