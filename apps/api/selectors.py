"""Reads of API keys, API usage and webhooks."""

import time as clock
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from datetime import time as day_time

from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django_tenants.utils import schema_context

from apps.api.models import ApiKey, ApiUsageDay, WebhookAttempt, WebhookDelivery, WebhookSubscription
from apps.api.models.usage import UsageFigures, latency_buckets_empty, usage_rate


def api_key_get_by_prefix(*, prefix: str) -> ApiKey | None:
    return ApiKey.objects.filter(prefix=prefix).first()


def api_usage_day_list(
    *, since: date, until: date, client_id: str | None = None, endpoint: str | None = None
) -> QuerySet[ApiUsageDay]:
    """Daily usage rows per client, method and route pattern, from `since` to `until` (both included)."""
    rows = ApiUsageDay.objects.filter(day__gte=since, day__lte=until)
    if client_id is not None:
        rows = rows.filter(client_id=client_id)
    if endpoint is not None:
        rows = rows.filter(endpoint=endpoint)
    return rows


@dataclass
class ApiUsageTotals(UsageFigures):
    """One client's usage over a period: counters, the summed latency histogram, and its webhook deliveries."""

    client_id: str
    requests: int = 0
    responses_4xx: int = 0
    responses_5xx: int = 0
    latency_sum_ms: float = 0.0
    latency_buckets: list[int] = field(default_factory=latency_buckets_empty)
    webhooks_succeeded: int = 0
    webhooks_failed: int = 0

    @property
    def webhook_success_rate(self) -> float | None:
        return usage_rate(self.webhooks_succeeded, self.webhooks_succeeded + self.webhooks_failed)


def api_usage_client_totals(
    *, since: date, until: date, client_id: str | None = None, endpoint: str | None = None
) -> list[ApiUsageTotals]:
    """Per client, the sum of its usage from `since` to `until` (both included), ordered by client_id.

    Webhook deliveries are merged in from `webhook_delivery_stats` where that selector exists; with an `endpoint`
    filter, only clients that called that endpoint are listed.
    """
    rows = api_usage_day_list(since=since, until=until, client_id=client_id, endpoint=endpoint)
    totals: dict[str, ApiUsageTotals] = {}
    counters = rows.values("client_id").annotate(
        total_requests=Sum("requests"),
        total_4xx=Sum("responses_4xx"),
        total_5xx=Sum("responses_5xx"),
        total_latency_ms=Sum("latency_sum_ms"),
    )
    for row in counters:
        totals[row["client_id"]] = ApiUsageTotals(
            client_id=row["client_id"],
            requests=row["total_requests"],
            responses_4xx=row["total_4xx"],
            responses_5xx=row["total_5xx"],
            latency_sum_ms=row["total_latency_ms"],
        )
    for client, index, count in _latency_bucket_sums(rows):
        totals[client].latency_buckets[index] += count
    for stats in _webhook_stats_of(since=since, until=until):
        client = stats["client_id"]
        if (client_id is not None and client != client_id) or (endpoint is not None and client not in totals):
            continue
        total = totals.setdefault(client, ApiUsageTotals(client_id=client))
        total.webhooks_succeeded += stats["succeeded"]
        total.webhooks_failed += stats["failed"]
    return [totals[client] for client in sorted(totals)]


def _latency_bucket_sums(rows: QuerySet[ApiUsageDay]) -> list[tuple[str, int, int]]:
    """(client_id, 0-based bucket, count) for the non-empty buckets, summed in the database, not row by row."""
    ids = rows.values("id")
    sql, params = ids.query.sql_with_params()
    table = connection.ops.quote_name(ApiUsageDay._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT u.client_id, b.i - 1, SUM(b.n) FROM {table} AS u "
            "CROSS JOIN LATERAL unnest(u.latency_buckets) WITH ORDINALITY AS b(n, i) "
            f"WHERE u.id IN ({sql}) AND b.n > 0 GROUP BY u.client_id, b.i",
            params,
        )
        return cursor.fetchall()


def _webhook_stats_of(*, since: date, until: date) -> list[dict]:
    """Webhook deliveries per client and UTC day, from `since` to `until` (both days included)."""
    start = datetime.combine(since, day_time.min, tzinfo=UTC)
    end = datetime.combine(until, day_time.max, tzinfo=UTC)
    return webhook_delivery_stats(since=start, until=end)


# --- webhooks -----------------------------------------------------------------------------------------------------

# Every live event asks whether its brand subscribes to its kind, and session.updated comes with every MeterValues:
# the answer is cached per process and brand. A change in this process forgets it when it commits
# (services/webhooks.py); other processes see it within KINDS_TTL_S.
KINDS_TTL_S = 10.0
_kinds_by_schema: dict[str, tuple[float, frozenset[str]]] = {}


def webhook_kinds_subscribed(*, schema_name: str) -> frozenset[str]:
    """The event kinds the brand's active subscriptions want ("*" for all): no query while cached."""
    now = clock.monotonic()
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
