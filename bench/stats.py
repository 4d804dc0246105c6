"""Percentiles of latencies, shared by every scenario's report."""

import math


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `share` of the values at or below it
    (p50 of 1..100 is 50, p99 is 99); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered), max(1, math.ceil(share * len(ordered) - 1e-9))) - 1]


def ms(value: float) -> str:
    return "—" if value != value else f"{value * 1000:.1f}"  # NaN → dash
