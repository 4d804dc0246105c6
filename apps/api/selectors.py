"""Reads of API keys."""

from apps.api.models import ApiKey


def api_key_get_by_prefix(*, prefix: str) -> ApiKey | None:
    return ApiKey.objects.filter(prefix=prefix).first()
