from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoamingConfig(AppConfig):
    name = "apps.roaming"
    verbose_name = _("Roaming (OCPI)")

    def ready(self) -> None:
        from importlib import import_module

        from apps.roaming import receivers  # noqa: F401  (connects the live-event receiver)
        from apps.roaming.modules import MODULE_NAMES

        for name in MODULE_NAMES:  # modules may connect their own signal receivers
            import_module(f"apps.roaming.modules.{name}")
