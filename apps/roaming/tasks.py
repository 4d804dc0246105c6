"""Celery tasks of roaming: flush one partner's outbox (queued after a push commits), the beat sweep that flushes
partners with messages due, and a pull from a partner."""

from celery import shared_task
from django.utils.dateparse import parse_datetime

from apps.roaming.models import Partner
from apps.roaming.outbox import outbox_due, outbox_flush
from apps.roaming.pull import partner_pull
from apps.whitelabel.selectors import tenant_list
from apps.whitelabel.tenancy import tenant_task


@tenant_task()
def outbox_flush_task(partner_id: int) -> int:
    return outbox_flush(partner_id=partner_id)


@shared_task(name="apps.roaming.tasks.outbox_due_all")
def outbox_due_all() -> None:
    for schema_name in tenant_list().values_list("schema_name", flat=True):
        outbox_due_task.delay(schema_name)


@tenant_task()
def outbox_due_task() -> int:
    return len(outbox_due())


@tenant_task()
def active_profiles_refresh_task(station_id: int) -> int:
    from apps.roaming.modules.chargingprofiles import active_profiles_refresh

    return active_profiles_refresh(station_id=station_id)


@tenant_task()
def partner_cdr_bill_task(partner_cdr_id: int) -> int | None:
    from apps.roaming.receipts import partner_cdr_bill

    invoice = partner_cdr_bill(partner_cdr_id=partner_cdr_id)
    return invoice.pk if invoice else None


@tenant_task()
def partner_pull_task(partner_id: int, module: str, date_from: str | None = None) -> int:
    partner = Partner.objects.get(pk=partner_id)
    return partner_pull(
        partner=partner, module=module, date_from=parse_datetime(date_from) if date_from else None
    ).stored
