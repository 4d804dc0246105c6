"""Rate limits per API client, counted in a store every web process shares: Redis when REDIS_URL is set, otherwise
PostgreSQL. Fixed windows (docs/decisions/0012-rate-limit-store.md); a store that fails lets requests through."""

import abc
import functools
import logging
import math
import time

import redis
from django.conf import settings
from django.db import connection
from redis.backoff import NoBackoff
from redis.retry import Retry
from rest_framework.throttling import BaseThrottle

from apps.api.authentication import ApiClient
from apps.api.counters import counter_statement_run

logger = logging.getLogger(__name__)

WINDOW_SECONDS = 60
# After a failure the store is left alone for this long: requests go through without waiting for a dead store.
STORE_RETRY_SECONDS = 5.0
# Redis answers in well under a millisecond; a limiter that waits longer than this slows every request.
REDIS_TIMEOUT_SECONDS = 0.25
# Attribute of the Django request that carries (limit, remaining) to RateLimitHeadersMiddleware.
REQUEST_ATTRIBUTE = "api_rate_limit"


class CounterStore(abc.ABC):
    """Counts a client's requests per window; `hit` answers the count including this request, None if it failed."""

    def __init__(self):
        self._down_until = 0.0

    def hit(self, *, schema: str, client_id: str, window_start: int) -> int | None:
        if time.monotonic() < self._down_until:
            return None
        try:
            return self._increment(schema=schema, client_id=client_id, window_start=window_start)
        except Exception:  # Any failure of the store: a limiter never takes the API down with it.
            self._down_until = time.monotonic() + STORE_RETRY_SECONDS
            logger.exception("rate limit store %s failed; requests are not limited for %ss", self, STORE_RETRY_SECONDS)
            return None

    @abc.abstractmethod
    def _increment(self, *, schema: str, client_id: str, window_start: int) -> int:
        """The store's count for this client and window, this request included."""


class RedisCounterStore(CounterStore):
    """INCR and EXPIRE in one MULTI: one round trip; the key outlives its window a little, then Redis drops it."""

    def __init__(self, url: str):
        super().__init__()
        # Explicit timeouts and one retry (a pooled connection the server closed): redis-py 8 would otherwise wait
        # 5 s per attempt and retry three times with backoff on a hung server, holding the request all along.
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
            retry=Retry(NoBackoff(), 1),
        )

    def _increment(self, *, schema: str, client_id: str, window_start: int) -> int:
        key = f"api-rate:{schema}:{client_id}:{window_start}"
        pipeline = self.client.pipeline(transaction=True)
        pipeline.incr(key)
        pipeline.expire(key, WINDOW_SECONDS * 2)
        count, _ = pipeline.execute()
        return int(count)

    def __str__(self) -> str:
        return "redis"


# One statement: count this request, and drop the tenant's finished windows on the way (index on window_start).
UPSERT = """
WITH pruned AS (DELETE FROM api_ratelimitcounter WHERE window_start < %(window_start)s)
INSERT INTO api_ratelimitcounter (client_id, window_start, count) VALUES (%(client_id)s, %(window_start)s, 1)
ON CONFLICT (client_id, window_start) DO UPDATE SET count = api_ratelimitcounter.count + 1
RETURNING count
"""


class PostgresCounterStore(CounterStore):
    """An UNLOGGED table in the tenant's schema (apps.api.models.RateLimitCounter), one upsert per request."""

    def _increment(self, *, schema: str, client_id: str, window_start: int) -> int:
        # `schema` is the connection's search_path already: the table is the tenant's own.
        return counter_statement_run(UPSERT, {"client_id": client_id, "window_start": window_start}, returns=True)

    def __str__(self) -> str:
        return "postgresql"


@functools.cache
def _redis_store(url: str) -> RedisCounterStore:
    return RedisCounterStore(url)


_postgres_store = PostgresCounterStore()


def counter_store() -> CounterStore:
    """The process's store: one Redis connection pool per URL, shared by every request thread."""
    return _redis_store(settings.REDIS_URL) if settings.REDIS_URL else _postgres_store


def _bucket_of(client: ApiClient) -> str:
    """What a limit counts: the client, except that a public OAuth client (a browser or phone app, such as a brand's
    driver app, used by every driver at once) counts per person who authorized it, or one busy brand would throttle
    all of its drivers together."""
    application = getattr(client.credential, "application", None)
    if client.user is not None and getattr(application, "client_type", None) == "public":
        return f"{client.client_id}:user:{client.user.pk}"
    return client.client_id


class WindowThrottle(BaseThrottle):
    """Counts a request in its bucket's current window of the shared store; over the limit: 429 with Retry-After."""

    clock = staticmethod(time.time)

    def allowed(self, request, *, bucket: str, limit: int) -> bool:
        now = self.clock()
        window_start = int(now // WINDOW_SECONDS) * WINDOW_SECONDS
        count = counter_store().hit(schema=connection.schema_name, client_id=bucket, window_start=window_start)
        if count is None:
            return True
        setattr(request._request, REQUEST_ATTRIBUTE, (limit, max(limit - count, 0)))
        self._wait = window_start + WINDOW_SECONDS - now
        return count <= limit

    def wait(self) -> float:
        return max(math.ceil(self._wait), 1)


class ApiClientRateThrottle(WindowThrottle):
    """At most `API_RATE_LIMIT_PER_MINUTE` requests a minute per API client (`request.user.client_id`), or the
    client's own limit (the `rate_limit_per_minute` of its API key or OAuth application). Over it: 429 with
    Retry-After."""

    def allow_request(self, request, view) -> bool:
        client = request.user
        if not isinstance(client, ApiClient):
            return True  # No credential: the request is answered 401 before it could cost anything.
        limit = client.rate_limit_per_minute or settings.API_RATE_LIMIT_PER_MINUTE
        return self.allowed(request, bucket=_bucket_of(client), limit=limit)


class RateLimitHeadersMiddleware:
    """Adds X-RateLimit-Limit and X-RateLimit-Remaining to the responses of throttled API requests (429s too)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        rate_limit = getattr(request, REQUEST_ATTRIBUTE, None)
        if rate_limit is not None:
            limit, remaining = rate_limit
            response["X-RateLimit-Limit"] = str(limit)
            response["X-RateLimit-Remaining"] = str(remaining)
        return response


class AnonymousRateThrottle(WindowThrottle):
    """The driver app's public endpoints without a credential: at most `API_ANONYMOUS_RATE_LIMIT_PER_MINUTE`
    requests a minute per client address, in the same store and windows as API clients (`ip:<address>`), so that
    the public network can be browsed but not scraped flat out. Requests with a credential are left to
    ApiClientRateThrottle. The address is REMOTE_ADDR: behind a proxy, the server must set it from the proxy's
    header (daphne --proxy-headers)."""

    limit_setting = "API_ANONYMOUS_RATE_LIMIT_PER_MINUTE"
    bucket = "ip"

    def allow_request(self, request, view) -> bool:
        if isinstance(request.user, ApiClient):
            return True
        address = request.META.get("REMOTE_ADDR") or "unknown"
        return self.allowed(request, bucket=f"{self.bucket}:{address}", limit=getattr(settings, self.limit_setting))


class GuestStartRateThrottle(AnonymousRateThrottle):
    """Guest starts without an account: each makes a customer at the payment provider and places a hold, so an
    address gets at most `DRIVER_APP_GUEST_STARTS_PER_MINUTE` of them a minute, counted apart from its reads."""

    limit_setting = "DRIVER_APP_GUEST_STARTS_PER_MINUTE"
    bucket = "guest-start:ip"
