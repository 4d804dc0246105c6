from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "apps.billing"
    label = "billing"
    verbose_name = "Billing"

    def ready(self) -> None:
        from apps.billing import receivers  # noqa: F401  (connects the session lifecycle receivers)
