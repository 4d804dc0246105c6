"""Domain errors of API keys and webhooks; the API edge and the admin turn them into responses."""


class ApiKeyInvalidScopeError(ValueError):
    def __init__(self, scopes: list[str]):
        self.scopes = scopes
        super().__init__(f"Unknown scope(s): {', '.join(scopes)}")


class WebhookInvalidError(ValueError):
    """A webhook subscription's field is not acceptable: `field` names it (url, event_kinds)."""

    def __init__(self, field: str, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}")
