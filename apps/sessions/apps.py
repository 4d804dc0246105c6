from django.apps import AppConfig


class ChargingSessionsConfig(AppConfig):
    name = "apps.sessions"
    # Not "sessions": that label belongs to django.contrib.sessions.
    label = "charging"
    verbose_name = "Charging sessions"
