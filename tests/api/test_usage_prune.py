"""Usage analytics forget days older than API_USAGE_RETENTION_DAYS, in every brand, by the daily beat task."""

from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import schema_context

from apps.api.models import ApiUsageDay
from apps.api.tasks import api_usage_prune_all


def _days(tenant) -> list:
    with schema_context(tenant.schema_name):
        return sorted(ApiUsageDay.objects.values_list("day", flat=True))


def test_the_beat_task_forgets_days_past_the_retention_in_every_brand(tenant, outsider, settings):
    settings.API_USAGE_RETENTION_DAYS = 30
    today = timezone.now().date()
    kept, last_kept, forgotten = today, today - timedelta(days=30), today - timedelta(days=31)
    for brand in (tenant, outsider):
        with schema_context(brand.schema_name):
            for day in (kept, last_kept, forgotten):
                ApiUsageDay.objects.create(day=day, client_id="key:evk_test", method="GET", endpoint="/api/v1/x/")

    api_usage_prune_all.delay()

    assert _days(tenant) == [last_kept, kept]
    assert _days(outsider) == [last_kept, kept]
