from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoamingConfig(AppConfig):
    name = "apps.roaming"
    verbose_name = _("Roaming (OCPI)")
