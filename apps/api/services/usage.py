"""Writes on usage analytics beyond the per-request counting (apps/api/usage.py): forgetting old days."""

from datetime import date

from apps.api.models import ApiUsageDay


def api_usage_prune(*, before: date) -> int:
    """Forget the usage rows of days before `before`; returns how many went. One row per day, client, method and
    route pattern, so even a busy brand has few rows per day: one statement is enough."""
    deleted, _ = ApiUsageDay.objects.filter(day__lt=before).delete()
    return deleted
