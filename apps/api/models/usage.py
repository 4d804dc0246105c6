"""Usage of the public API per partner application: one row of counters per day, client, method and route.

Latencies are kept as a histogram of fixed, log-spaced buckets, so days, endpoints and clients add up by summing
their bucket counts, and percentiles come from the summed histogram with a known error bound.
"""

import math
from collections.abc import Sequence

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils.translation import gettext_lazy as _

# Buckets grow by 2^(1/8) (≈ 9 % per bucket) from 1 ms up to 2^16 ms (≈ 65.5 s): bucket 0 holds latencies under
# 1 ms, bucket k (1…128) holds [2^((k-1)/8), 2^(k/8)) ms, the last one everything from 65.5 s on.
BUCKETS_PER_DOUBLING = 8
LATENCY_MAX_EXPONENT = 16
LATENCY_BUCKET_COUNT = BUCKETS_PER_DOUBLING * LATENCY_MAX_EXPONENT + 2
# A percentile is reported as the geometric middle of its bucket, so it is within this factor of the true value
# (2^(1/16) - 1 ≈ 4.4 %); below 1 ms it is reported as 0.5 ms (within 0.5 ms), from 65.5 s on as 65,536 ms.
LATENCY_RELATIVE_ERROR = 2 ** (1 / (2 * BUCKETS_PER_DOUBLING)) - 1


def latency_bucket_of(latency_ms: float) -> int:
    """The 0-based bucket of a latency."""
    if latency_ms < 1:
        return 0
    index = math.floor(math.log2(latency_ms) * BUCKETS_PER_DOUBLING) + 1
    return min(index, LATENCY_BUCKET_COUNT - 1)


def latency_of_bucket(index: int) -> float:
    """The value reported for a latency in bucket `index`: the geometric middle of its bounds."""
    if index == 0:
        return 0.5
    if index == LATENCY_BUCKET_COUNT - 1:
        return float(2**LATENCY_MAX_EXPONENT)
    return 2 ** ((index - 0.5) / BUCKETS_PER_DOUBLING)


def latency_percentile(buckets: Sequence[int], percentile: float) -> float | None:
    """The nearest-rank percentile (0 < percentile ≤ 100) of a histogram, in ms; None when it counts nothing."""
    total = sum(buckets)
    if total == 0:
        return None
    rank = max(1, math.ceil(percentile / 100 * total))
    seen = 0
    for index, count in enumerate(buckets):
        seen += count
        if seen >= rank:
            return round(latency_of_bucket(index), 2)
    raise AssertionError("unreachable: the ranks add up to the total")


def latency_buckets_add(into: list[int], other: Sequence[int]) -> list[int]:
    """Adds `other` into `into` bucket by bucket (a shorter histogram from an older layout adds as far as it goes)."""
    for index, count in enumerate(other[: len(into)]):
        into[index] += count
    return into


def latency_buckets_empty() -> list[int]:
    return [0] * LATENCY_BUCKET_COUNT


class UsageFigures:
    """What a person reads off usage counters: error rates, mean latency and percentiles (None without requests)."""

    requests: int
    responses_4xx: int
    responses_5xx: int
    latency_sum_ms: float
    latency_buckets: Sequence[int]

    @property
    def error_rate_4xx(self) -> float | None:
        return usage_rate(self.responses_4xx, self.requests)

    @property
    def error_rate_5xx(self) -> float | None:
        return usage_rate(self.responses_5xx, self.requests)

    @property
    def latency_mean_ms(self) -> float | None:
        return round(self.latency_sum_ms / self.requests, 2) if self.requests else None

    @property
    def latency_p50_ms(self) -> float | None:
        return latency_percentile(self.latency_buckets, 50)

    @property
    def latency_p95_ms(self) -> float | None:
        return latency_percentile(self.latency_buckets, 95)

    @property
    def latency_p99_ms(self) -> float | None:
        return latency_percentile(self.latency_buckets, 99)


def usage_rate(part: int, whole: int) -> float | None:
    """part / whole to 4 decimals, None when there is no whole."""
    return round(part / whole, 4) if whole else None


class ApiUsageDay(UsageFigures, models.Model):
    """Requests of one API client to one operation on one UTC day. Written by apps.api.usage, never by hand."""

    day = models.DateField(verbose_name=_("day"))
    client_id = models.CharField(
        max_length=200,
        help_text=_("key:<prefix>, oauth:<client id>, or anonymous for a request without a credential"),
        verbose_name=_("client id"),
    )
    method = models.CharField(max_length=8, verbose_name=_("method"))
    endpoint = models.CharField(
        max_length=200,
        help_text=_("The route pattern, e.g. /api/v1/stations/{station_id}/"),
        verbose_name=_("endpoint"),
    )
    requests = models.IntegerField(default=0, verbose_name=_("requests"))
    responses_4xx = models.IntegerField(default=0, verbose_name=_("responses 4xx"))
    responses_5xx = models.IntegerField(default=0, verbose_name=_("responses 5xx"))
    latency_sum_ms = models.FloatField(default=0, verbose_name=_("latency sum ms"))
    latency_buckets = ArrayField(models.IntegerField(), default=latency_buckets_empty)

    class Meta:
        verbose_name = _("API usage")
        verbose_name_plural = _("API usage")
        constraints = [
            models.UniqueConstraint(fields=["day", "client_id", "method", "endpoint"], name="api_usage_day_unique")
        ]
        indexes = [models.Index(fields=["client_id", "day"], name="api_usage_client_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.client_id} {self.method} {self.endpoint}"
