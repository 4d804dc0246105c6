"""Records every request to /api/v1/ in the tenant's daily usage counters (ApiUsageDay), in one statement.

A failed write is logged and the request goes on: usage analytics must never cost a partner a response.
"""

import logging
import re
from time import perf_counter

from django.db import DatabaseError, connection
from django.utils import timezone
from django.utils.functional import LazyObject
from django_tenants.utils import get_public_schema_name

from apps.api.authentication import ApiClient
from apps.api.counters import counter_statement_run
from apps.api.models import ApiKey, ApiUsageDay
from apps.api.models.usage import LATENCY_BUCKET_COUNT, latency_bucket_of
from apps.api.services import KEY_MARK, PREFIX_LENGTH

logger = logging.getLogger(__name__)

API_PATH = "/api/v1/"
ANONYMOUS = "anonymous"
# Paths under /api/v1/ that name no operation share one row, so probing random paths adds no rows.
UNMATCHED = "(unmatched)"
UNMATCHED_VIEW_NAMES = frozenset({"api:unknown"})
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "OTHER"
# Documentation views (the schema, Swagger UI, ReDoc) are not API usage, wherever they are mounted.
UNRECORDED_VIEW_MODULES = ("drf_spectacular",)

_PATH_CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")
_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")

_TABLE = connection.ops.quote_name(ApiUsageDay._meta.db_table)
_KEY_TABLE = connection.ops.quote_name(ApiKey._meta.db_table)
# Increments the day's counters and one histogram bucket (PostgreSQL arrays count from 1), or starts the row.
_UPSERT = f"""
INSERT INTO {_TABLE} AS counted
    (day, client_id, method, endpoint, requests, responses_4xx, responses_5xx, latency_sum_ms, latency_buckets)
VALUES (%(day)s, {{client_id}}, %(method)s, %(endpoint)s, 1, %(is_4xx)s, %(is_5xx)s, %(latency_ms)s,
        %(buckets)s::integer[])
ON CONFLICT (day, client_id, method, endpoint) DO UPDATE SET
    requests = counted.requests + 1,
    responses_4xx = counted.responses_4xx + EXCLUDED.responses_4xx,
    responses_5xx = counted.responses_5xx + EXCLUDED.responses_5xx,
    latency_sum_ms = counted.latency_sum_ms + EXCLUDED.latency_sum_ms,
    latency_buckets[%(bucket)s::integer] = counted.latency_buckets[%(bucket)s::integer] + 1
"""
_UPSERT_FOR_CLIENT = _UPSERT.format(client_id="%(client_id)s")
# A request whose credential was refused is counted for the key it claims, if that key exists in this brand (a
# wrong secret, a revoked or expired key): partners see their own failures, and made-up keys add no rows.
_UPSERT_FOR_CLAIMED_KEY = _UPSERT.format(
    client_id=f"COALESCE((SELECT 'key:' || prefix FROM {_KEY_TABLE} WHERE prefix = %(prefix)s), %(client_id)s)"
)


class ApiUsageMiddleware:
    """Times each request under /api/v1/ and counts it for its client and route pattern. Goes after the tenant
    middleware, so the write lands in the brand's schema and the time covers every middleware after it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PATH):
            return self.get_response(request)
        started = perf_counter()
        response = self.get_response(request)
        latency_ms = (perf_counter() - started) * 1000
        try:
            usage_record(request=request, status=response.status_code, latency_ms=latency_ms)
        except Exception:  # a bug in counting must not cost the partner its answer
            logger.exception("Could not record API usage of %s %s", request.method, request.path)
        return response


def usage_record(*, request, status: int, latency_ms: float) -> None:
    """Counts one answered request. A failed write is logged, not raised."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == get_public_schema_name():
        return
    match = getattr(request, "resolver_match", None)
    view_class = getattr(getattr(match, "func", None), "view_class", None)
    if view_class is not None and view_class.__module__.startswith(UNRECORDED_VIEW_MODULES):
        return
    bucket = latency_bucket_of(latency_ms)
    buckets = [0] * LATENCY_BUCKET_COUNT
    buckets[bucket] = 1
    params = {
        "day": timezone.now().date(),
        "client_id": ANONYMOUS,
        "method": request.method if request.method in METHODS else OTHER_METHOD,
        "endpoint": endpoint_of(match),
        "is_4xx": int(400 <= status < 500),
        "is_5xx": int(500 <= status < 600),
        "latency_ms": latency_ms,
        "buckets": buckets,
        "bucket": bucket + 1,
    }
    client = _client_of(request)
    if client is not None:
        params["client_id"] = client.client_id[:200]
        sql = _UPSERT_FOR_CLIENT
    else:
        params["prefix"] = _claimed_key_prefix(request)
        sql = _UPSERT_FOR_CLAIMED_KEY if params["prefix"] else _UPSERT_FOR_CLIENT
    try:
        counter_statement_run(sql, params)
    except DatabaseError:
        logger.warning("Could not record API usage of %s %s", request.method, request.path, exc_info=True)


def endpoint_of(match) -> str:
    """The route pattern of a resolved request, `/api/v1/stations/{station_id}/`, so ids do not split the counts."""
    if match is None or match.view_name in UNMATCHED_VIEW_NAMES:
        return UNMATCHED
    route = _REGEX_GROUP.sub(r"{\1}", _PATH_CONVERTER.sub(r"{\1}", match.route))
    return ("/" + route.replace("^", "").replace("$", "").lstrip("/"))[:200]


def _client_of(request) -> ApiClient | None:
    # DRF puts the authenticated ApiClient on the Django request. An untouched lazy session user means DRF never
    # ran; evaluating it would cost a query for nothing.
    user = request.__dict__.get("user")
    if isinstance(user, LazyObject) or not isinstance(user, ApiClient):
        return None
    return user


def _claimed_key_prefix(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, key = header.partition(" ")
    key = key.strip() if scheme.lower() == "bearer" else request.META.get("HTTP_X_API_KEY", "").strip()
    if key.startswith(KEY_MARK) and len(key) > PREFIX_LENGTH:
        return key[:PREFIX_LENGTH]
    return None
