from django.apps import AppConfig


class WhitelabelConfig(AppConfig):
    name = "apps.whitelabel"
    label = "whitelabel"
    verbose_name = "White label"
