from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChargingSessionsConfig(AppConfig):
    name = "apps.sessions"
    # Not "sessions": that label belongs to django.contrib.sessions.
    label = "charging"
    verbose_name = _("Charging sessions")
