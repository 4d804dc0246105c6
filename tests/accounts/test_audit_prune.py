"""The audit log forgets entries older than AUDIT_LOG_RETENTION_DAYS, in every brand and on the platform, by the
daily beat task; with 0 it keeps them for ever."""

from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from apps.accounts.models import AuditEntry
from apps.accounts.tasks import audit_prune_all
from config.settings.celery import CELERY_BEAT_SCHEDULE


def _entries(schema: str) -> list[str]:
    with schema_context(schema):
        return sorted(AuditEntry.objects.values_list("action", flat=True))


def _record(schema: str, action: str, age: timedelta) -> None:
    with schema_context(schema):
        AuditEntry.objects.create(action=action, at=timezone.now() - age)


def test_the_beat_task_forgets_entries_past_the_retention_everywhere(tenant, outsider, settings):
    settings.AUDIT_LOG_RETENTION_DAYS = 30
    schemas = (tenant.schema_name, outsider.schema_name, get_public_schema_name())
    for schema in schemas:
        _record(schema, "user.role_changed", timedelta(days=29, hours=23))
        _record(schema, "api_key.created", timedelta(days=30, hours=1))

    audit_prune_all.delay()  # eager here: one task per brand, each in its schema

    for schema in schemas:
        # (the platform's log also holds the test brands' creation, recent too)
        entries = _entries(schema)
        assert "user.role_changed" in entries and "api_key.created" not in entries, schema
    assert CELERY_BEAT_SCHEDULE["audit-log-prune"]["task"] == audit_prune_all.name


def test_a_retention_of_0_keeps_everything(tenant, settings):
    settings.AUDIT_LOG_RETENTION_DAYS = 0
    _record(tenant.schema_name, "api_key.created", timedelta(days=4000))

    audit_prune_all.delay()

    assert _entries(tenant.schema_name) == ["api_key.created"]
