from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "apps.api"
    label = "api"
    verbose_name = "Public API"

    def ready(self) -> None:
        from apps.api import receivers  # noqa: F401 - connects webhooks to live events
