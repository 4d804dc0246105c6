from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ApiConfig(AppConfig):
    name = "apps.api"
    label = "api"
    verbose_name = _("Public API")

    def ready(self) -> None:
        from apps.api import receivers  # noqa: F401 - connects webhooks to live events
