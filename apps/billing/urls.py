"""Billing URLs of a tenant's hosts, under /billing/."""

from django.urls import path

from apps.billing.webhooks import adyen_webhook, stripe_webhook

app_name = "billing"

urlpatterns = [
    path("webhooks/stripe/", stripe_webhook, name="webhook-stripe"),
    path("webhooks/adyen/", adyen_webhook, name="webhook-adyen"),
]
