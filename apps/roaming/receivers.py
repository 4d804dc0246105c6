"""Roaming listens to the platform's live events (apps.stations.live.live_event, sent after commit) and hands them
to the modules that push on them (apps.roaming.modules.EVENT_HANDLERS). Connected in RoamingConfig.ready.

The hot path: a brand without registered partners costs a look-up in a dict refreshed every few seconds, never a
query per station message."""

import logging
import time

from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django_tenants.utils import get_public_schema_name, schema_context

from apps.roaming.models import Partner
from apps.roaming.modules import EVENT_HANDLERS, resolve
from apps.stations.live import live_event

logger = logging.getLogger(__name__)

PARTNERS_CACHE_SECONDS = 5.0
_has_partners: dict[str, tuple[float, bool]] = {}


def has_registered_partners(schema_name: str) -> bool:
    if schema_name == get_public_schema_name():
        return False  # roaming lives in brands' schemas: the platform's own events have no partners (nor tables)
    cached = _has_partners.get(schema_name)
    now = time.monotonic()
    if cached and now - cached[0] < PARTNERS_CACHE_SECONDS:
        return cached[1]
    with schema_context(schema_name):
        found = Partner.objects.filter(status=Partner.Status.REGISTERED).exists()
    _has_partners[schema_name] = (now, found)
    return found


def partners_changed(schema_name: str) -> None:
    """Forget the cached answer (a partner registered or left)."""
    _has_partners.pop(schema_name, None)


@receiver(post_save, sender=Partner, dispatch_uid="roaming.partner_saved")
@receiver(post_delete, sender=Partner, dispatch_uid="roaming.partner_deleted")
def partner_changed(sender, **kwargs) -> None:
    """Any change of a partner row (registration, unregistration, the admin) is seen at once in this process;
    other processes see it within PARTNERS_CACHE_SECONDS."""
    partners_changed(connection.schema_name)


@receiver(live_event, dispatch_uid="roaming.push")
def live_event_to_partners(sender, *, schema_name: str, kind: str, station_id, at: str, data: dict, **kwargs) -> None:
    handlers = EVENT_HANDLERS.get(kind)
    if not handlers or not has_registered_partners(schema_name):
        return
    with schema_context(schema_name):
        for dotted in handlers:
            handler = resolve(dotted)
            if handler is None:
                continue
            try:
                handler(station_id=station_id, at=at, data=data)
            except Exception:
                # A push that cannot be prepared must not fail the station's message; the partner can resync.
                logger.exception("roaming: %s on %s failed", dotted, kind)
