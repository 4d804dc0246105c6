"""Celery tasks of accounts: the audit log's retention (beat, daily), in every brand's schema and the public one."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from apps.accounts.audit import audit_prune
from apps.whitelabel.selectors import tenant_list
from apps.whitelabel.tenancy import tenant_task


@shared_task(name="apps.accounts.tasks.audit_prune_all")
def audit_prune_all() -> None:
    """Forget audit entries older than AUDIT_LOG_RETENTION_DAYS (0 keeps them for ever): the platform's own entries
    here, each brand's in a task of its own."""
    if not settings.AUDIT_LOG_RETENTION_DAYS:
        return
    with schema_context(get_public_schema_name()):
        audit_prune(before=_cutoff())
    for schema_name in tenant_list().values_list("schema_name", flat=True):
        audit_prune_task.delay(schema_name)


@tenant_task()
def audit_prune_task() -> int:
    return audit_prune(before=_cutoff())


def _cutoff():
    return timezone.now() - timedelta(days=settings.AUDIT_LOG_RETENTION_DAYS)
