"""Domain errors of API keys; the API edge and the admin turn them into responses."""


class ApiKeyInvalidScopeError(ValueError):
    def __init__(self, scopes: list[str]):
        self.scopes = scopes
        super().__init__(f"Unknown scope(s): {', '.join(scopes)}")
