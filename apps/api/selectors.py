"""Reads of API keys, API usage and webhooks."""

import time as clock
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time

from django.db import connection
from django.db.models import Count, F, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django_tenants.utils import schema_context
from oauth2_provider.models import get_application_model

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


def _latency_bucket_sums(rows: QuerySet[ApiUsageDay], *, by: tuple[str, ...] = ("client_id",)) -> list[tuple]:
    """(*the `by` columns, 0-based bucket, count) for the non-empty buckets, summed in the database, not row by row.
    `by` names columns of ApiUsageDay (fixed names from this module, never input)."""
    ids = rows.values("id")
    sql, params = ids.query.sql_with_params()
    table = connection.ops.quote_name(ApiUsageDay._meta.db_table)
    columns = ", ".join(f"u.{connection.ops.quote_name(column)}" for column in by)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns}, b.i - 1, SUM(b.n) FROM {table} AS u "
            "CROSS JOIN LATERAL unnest(u.latency_buckets) WITH ORDINALITY AS b(n, i) "
            f"WHERE u.id IN ({sql}) AND b.n > 0 GROUP BY {columns}, b.i",
            params,
        )
        return cursor.fetchall()


@dataclass
class ApiUsageEndpointTotals(UsageFigures):
    """One operation's usage (method and route pattern) over a period."""

    method: str
    endpoint: str
    requests: int = 0
    responses_4xx: int = 0
    responses_5xx: int = 0
    latency_sum_ms: float = 0.0
    latency_buckets: list[int] = field(default_factory=latency_buckets_empty)


def api_usage_endpoint_totals(
    *, since: date, until: date, client_id: str | None = None
) -> list[ApiUsageEndpointTotals]:
    """Per method and route pattern, the sum of the usage from `since` to `until` (both included), of one client or
    of all; the most requested first."""
    rows = api_usage_day_list(since=since, until=until, client_id=client_id)
    totals: dict[tuple[str, str], ApiUsageEndpointTotals] = {}
    for row in rows.values("method", "endpoint").annotate(
        total_requests=Sum("requests"),
        total_4xx=Sum("responses_4xx"),
        total_5xx=Sum("responses_5xx"),
        total_latency_ms=Sum("latency_sum_ms"),
    ):
        totals[(row["method"], row["endpoint"])] = ApiUsageEndpointTotals(
            method=row["method"],
            endpoint=row["endpoint"],
            requests=row["total_requests"],
            responses_4xx=row["total_4xx"],
            responses_5xx=row["total_5xx"],
            latency_sum_ms=row["total_latency_ms"],
        )
    for method, endpoint, index, count in _latency_bucket_sums(rows, by=("method", "endpoint")):
        totals[(method, endpoint)].latency_buckets[index] += count
    return sorted(totals.values(), key=lambda total: (-total.requests, total.endpoint, total.method))


def api_usage_requests_by_day(*, since: date, until: date, client_id: str | None = None) -> list[tuple[date, int]]:
    """Requests per UTC day from `since` to `until`, every day listed (0 where there were none)."""
    rows = api_usage_day_list(since=since, until=until, client_id=client_id)
    counts = dict(rows.values_list("day").annotate(total=Sum("requests")).order_by())
    days = (until - since).days + 1
    return [(since + timedelta(days=offset), counts.get(since + timedelta(days=offset), 0)) for offset in range(days)]


def api_client_names(client_ids: list[str]) -> dict[str, str]:
    """The name an operator gave each API client: an API key's name ("key:<prefix>"), an OAuth application's
    ("oauth:<client_id>"). Ids of neither kind, or of deleted credentials, are left out."""
    prefixes = [client.removeprefix("key:") for client in client_ids if client.startswith("key:")]
    oauth_ids = [client.removeprefix("oauth:") for client in client_ids if client.startswith("oauth:")]
    names = {
        f"key:{prefix}": name
        for prefix, name in ApiKey.objects.filter(prefix__in=prefixes).values_list("prefix", "name")
    }
    applications = get_application_model().objects.filter(client_id__in=oauth_ids).values_list("client_id", "name")
    names.update({f"oauth:{client_id}": name for client_id, name in applications})
    return names


def api_usage_summary(*, since: date, until: date) -> list[dict]:
    """Every client's totals from `since` to `until` as a person reads them: rates in percent, latencies in ms, the
    client's name. For the admin's usage page and the portal's."""
    totals = api_usage_client_totals(since=since, until=until)
    names = api_client_names([total.client_id for total in totals])

    def percent(rate: float | None) -> float | None:
        return None if rate is None else round(rate * 100, 2)

    return [
        {
            "client_id": total.client_id,
            "name": names.get(total.client_id, ""),
            "requests": total.requests,
            "percent_4xx": percent(total.error_rate_4xx),
            "percent_5xx": percent(total.error_rate_5xx),
            "mean_ms": total.latency_mean_ms,
            "p50_ms": total.latency_p50_ms,
            "p95_ms": total.latency_p95_ms,
            "p99_ms": total.latency_p99_ms,
            "webhooks": total.webhooks_succeeded + total.webhooks_failed,
            "webhook_success_percent": percent(total.webhook_success_rate),
        }
        for total in totals
    ]


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
