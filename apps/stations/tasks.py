"""Housekeeping run by beat for every tenant: presence of stations whose server vanished, message-log retention."""

import logging

from celery import shared_task

from apps.stations.services import message_log_prune, station_presence_sweep
from apps.whitelabel.selectors import tenant_list
from apps.whitelabel.tenancy import tenant_task

logger = logging.getLogger(__name__)


@tenant_task()
def message_log_prune_task() -> int:
    deleted = message_log_prune()
    logger.info("message log: %s entries past retention deleted", deleted)
    return deleted


@shared_task(name="apps.stations.tasks.message_log_prune_all")
def message_log_prune_all() -> None:
    """One task per tenant, so one large tenant does not hold up the others."""
    for schema_name in tenant_list().values_list("schema_name", flat=True):
        message_log_prune_task.delay(schema_name)


@tenant_task()
def station_presence_sweep_task() -> int:
    swept = station_presence_sweep()
    if swept:
        logger.info("presence: %s stations silent past every limit marked offline", swept)
    return swept


@shared_task(name="apps.stations.tasks.station_presence_sweep_all")
def station_presence_sweep_all() -> None:
    for schema_name in tenant_list().values_list("schema_name", flat=True):
        station_presence_sweep_task.delay(schema_name)
