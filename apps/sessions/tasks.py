"""Housekeeping of charging sessions run by beat for every tenant: reservations past their expiry."""

import logging

from celery import shared_task

from apps.sessions.services import reservations_expire
from apps.whitelabel.selectors import tenant_list
from apps.whitelabel.tenancy import tenant_task

logger = logging.getLogger(__name__)


@tenant_task()
def reservations_expire_task() -> int:
    expired = reservations_expire()
    if expired:
        logger.info("reservations: %s past their expiry marked expired", expired)
    return expired


@shared_task(name="apps.sessions.tasks.reservations_expire_all")
def reservations_expire_all() -> None:
    for schema_name in tenant_list().values_list("schema_name", flat=True):
        reservations_expire_task.delay(schema_name)
