"""Celery tasks of webhooks: one delivery attempt (queued when an event is recorded, by the due sweep and by a
replay or ping); beat tasks that claim due retries and prune old events in every brand; and the beat task that
forgets old usage analytics. They take the schema name and ids."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from apps.api.services.usage import api_usage_prune
from apps.api.services.webhooks import (
    EVENT_RETENTION,
    webhook_deliveries_due,
    webhook_delivery_attempt,
    webhook_events_prune,
)
from apps.whitelabel.selectors import tenant_list
from apps.whitelabel.tenancy import tenant_task


@tenant_task()
def webhook_delivery_attempt_task(delivery_id: int, manual: bool = False) -> int | None:
    """The attempt's HTTP status (None: no response, or no attempt was due). A failure is not retried by Celery:
    the delivery records when its next attempt is due, and the due sweep queues it then."""
    attempt = webhook_delivery_attempt(delivery_id=delivery_id, manual=manual)
    return attempt.status_code if attempt else None


@shared_task(name="apps.api.tasks.webhook_deliveries_due")
def webhook_deliveries_due_all() -> None:
    for schema_name in tenant_list().values_list("schema_name", flat=True):
        webhook_deliveries_due_task.delay(schema_name)


@tenant_task()
def webhook_deliveries_due_task() -> int:
    return len(webhook_deliveries_due())


@shared_task(name="apps.api.tasks.webhook_events_prune_all")
def webhook_events_prune_all() -> None:
    for schema_name in tenant_list().values_list("schema_name", flat=True):
        webhook_events_prune_task.delay(schema_name)


@tenant_task()
def webhook_events_prune_task() -> int:
    return webhook_events_prune(before=timezone.now() - EVENT_RETENTION)


@shared_task(name="apps.api.tasks.api_usage_prune_all")
def api_usage_prune_all() -> None:
    for schema_name in tenant_list().values_list("schema_name", flat=True):
        api_usage_prune_task.delay(schema_name)


@tenant_task()
def api_usage_prune_task() -> int:
    return api_usage_prune(before=timezone.now().date() - timedelta(days=settings.API_USAGE_RETENTION_DAYS))
