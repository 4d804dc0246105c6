"""Live events: state changes published after commit to channel-layer groups per tenant and per station.

Dashboards, the portal and webhook dispatch subscribe to these groups. An event leaves only when the transaction
that made the change commits, so no subscriber ever sees a change that was rolled back.

In-process receivers (webhooks, apps.api.receivers) get the same events through the `live_event` signal, sent from
the same on-commit callback, so domain apps publish once and never know who listens.
"""

import logging
from datetime import datetime
from decimal import Decimal

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone

logger = logging.getLogger(__name__)

# The message type consumers of these groups handle (`live_event` method).
MESSAGE_TYPE = "live.event"

# Sent after commit with schema_name, kind, station_id (None for an event about no station, e.g. a statement),
# at (ISO 8601) and data (JSON-ready). Receivers run in the publishing thread: they must be cheap when they have
# nothing to do (send_robust logs a failing receiver and never fails the publisher).
live_event = Signal()


def tenant_group(schema_name: str) -> str:
    return f"tenant.{schema_name}"


def station_group(schema_name: str, station_id: int) -> str:
    return f"station.{schema_name}.{station_id}"


def connection_group(schema_name: str, station_id: int) -> str:
    """The group of the station's own OCPP connection (on whichever server process holds it): replacements and
    remote operations reach the connection through it. Only the connection joins it."""
    return f"ocpp.{schema_name}.{station_id}"


def _jsonable(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def live_publish(kind: str, *, station_id: int | None, data: dict) -> None:
    """Publish `kind` (e.g. "station.connected", "session.ended") about a station once the transaction commits.
    An event about no station (`station_id=None`) goes to the tenant's group only."""
    schema_name = connection.schema_name
    message = {
        "type": MESSAGE_TYPE,
        "kind": kind,
        "station_id": station_id,
        "at": timezone.now().isoformat(),
        "data": _jsonable(data),
    }

    def send():
        layer = get_channel_layer()
        if layer is not None:
            try:
                async_to_sync(_send_both)(layer, schema_name, station_id, message)
            except Exception:
                # Live views are best effort: a full or unreachable channel layer must not fail the station's message.
                logger.exception("live event %s of station %s not published", kind, station_id)
        live_event.send_robust(  # logs a receiver that fails
            None, schema_name=schema_name, kind=kind, station_id=station_id, at=message["at"], data=message["data"]
        )

    transaction.on_commit(send)


async def _send_both(layer, schema_name: str, station_id: int | None, message: dict) -> None:
    await layer.group_send(tenant_group(schema_name), message)
    if station_id is not None:
        await layer.group_send(station_group(schema_name, station_id), message)
