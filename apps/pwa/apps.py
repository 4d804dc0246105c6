from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PwaConfig(AppConfig):
    name = "apps.pwa"
    verbose_name = _("Driver app")

    def ready(self) -> None:
        from apps.pwa import push  # noqa: F401  (connects the end-of-session push to sessions' signal)
