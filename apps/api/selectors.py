"""Reads of API keys and webhooks."""

import time
from datetime import UTC, datetime

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.db.models.functions import TruncDate
from django_tenants.utils import schema_context

from apps.api.models import ApiKey, WebhookAttempt, WebhookDelivery, WebhookSubscription


def api_key_get_by_prefix(*, prefix: str) -> ApiKey | None:
    return ApiKey.objects.filter(prefix=prefix).first()


# --- webhooks -----------------------------------------------------------------------------------------------------

# Every live event asks whether its brand subscribes to its kind, and session.updated comes with every MeterValues:
# the answer is cached per process and brand. A change in this process forgets it when it commits
# (services/webhooks.py); other processes see it within KINDS_TTL_S.
KINDS_TTL_S = 10.0
_kinds_by_schema: dict[str, tuple[float, frozenset[str]]] = {}


def webhook_kinds_subscribed(*, schema_name: str) -> frozenset[str]:
    """The event kinds the brand's active subscriptions want ("*" for all): no query while cached."""
    now = time.monotonic()
    cached = _kinds_by_schema.get(schema_name)
    if cached is not None and cached[0] > now:
        return cached[1]
    with schema_context(schema_name):
        lists = WebhookSubscription.objects.filter(is_active=True).values_list("event_kinds", flat=True)
        kinds = frozenset(kind for kinds in lists for kind in kinds)
    _kinds_by_schema[schema_name] = (now + KINDS_TTL_S, kinds)
    return kinds


def webhook_kinds_forget(*, schema_name: str | None = None) -> None:
    """Forget the cached kinds of one brand (or of all)."""
    if schema_name is None:
        _kinds_by_schema.clear()
    else:
        _kinds_by_schema.pop(schema_name, None)


def webhook_subscription_list() -> QuerySet[WebhookSubscription]:
    return WebhookSubscription.objects.all()


def webhook_delivery_list(*, subscription: WebhookSubscription, status: str | None = None) -> QuerySet:
    deliveries = (
        WebhookDelivery.objects.filter(subscription=subscription)
        .select_related("event")
        .prefetch_related(Prefetch("attempts", queryset=WebhookAttempt.objects.order_by("id")))
    )
    if status:
        deliveries = deliveries.filter(status=status)
    return deliveries


def webhook_delivery_stats(*, since: datetime, until: datetime) -> list[dict]:
    """Per API client and day (UTC) of creation in [since, until): how many deliveries succeeded and failed (pending
    ones are not counted yet). Rows {"client_id", "day", "succeeded", "failed"}, by client and day; "" is the admin.
    """
    status = WebhookDelivery.Status
    return list(
        WebhookDelivery.objects.filter(created_at__gte=since, created_at__lt=until)
        .annotate(day=TruncDate("created_at", tzinfo=UTC), client_id=F("subscription__client_id"))
        .values("client_id", "day")
        .annotate(
            succeeded=Count("id", filter=Q(status=status.SUCCEEDED)),
            failed=Count("id", filter=Q(status=status.FAILED)),
        )
        .order_by("client_id", "day")
    )
