"""Reads of locations, stations, their EVSEs and connectors, and faults, for the API and other edges."""

from datetime import datetime

from django.db.models import Count, QuerySet

from apps.stations.models import Connector, Evse, Fault, Location, MessageLogEntry, Station


def location_list() -> QuerySet[Location]:
    return Location.objects.all()


def station_list(
    *, online: bool | None = None, location_id: int | None = None, identity: str | None = None
) -> QuerySet[Station]:
    stations = Station.objects.prefetch_related("evses__connectors")
    if identity is not None:
        stations = stations.filter(identity=identity)
    if online is not None:
        stations = stations.filter(is_online=online)
    if location_id is not None:
        stations = stations.filter(location_id=location_id)
    return stations


def station_get(*, station_id: int) -> Station | None:
    """The station alone, without its EVSEs: for commands and nested lookups."""
    return Station.objects.filter(pk=station_id).first()


def evse_list(*, station_id: int) -> QuerySet[Evse]:
    return Evse.objects.filter(station_id=station_id).prefetch_related("connectors")


def connector_list(
    *,
    status: str | None = None,
    station_id: int | None = None,
    online: bool | None = None,
    power_type: str | None = None,
) -> QuerySet[Connector]:
    """Connectors across the network with their station; `status` is the last one the station reported."""
    connectors = Connector.objects.select_related("evse__station")
    if status is not None:
        connectors = connectors.filter(status=status)
    if station_id is not None:
        connectors = connectors.filter(evse__station_id=station_id)
    if online is not None:
        connectors = connectors.filter(evse__station__is_online=online)
    if power_type is not None:
        connectors = connectors.filter(power_type=power_type)
    return connectors


def fault_list(
    *,
    is_open: bool | None = None,
    station_id: int | None = None,
    severity: str | None = None,
    fault_class: str | None = None,
    code: str | None = None,
    opened_after: datetime | None = None,
    opened_before: datetime | None = None,
) -> QuerySet[Fault]:
    faults = Fault.objects.all()
    if is_open is not None:
        faults = faults.filter(closed_at__isnull=is_open)
    if station_id is not None:
        faults = faults.filter(station_id=station_id)
    if severity is not None:
        faults = faults.filter(severity=severity)
    if fault_class is not None:
        faults = faults.filter(fault_class=fault_class)
    if code is not None:
        faults = faults.filter(code=code)
    if opened_after is not None:
        faults = faults.filter(opened_at__gte=opened_after)
    if opened_before is not None:
        faults = faults.filter(opened_at__lt=opened_before)
    return faults


def connector_status_counts(*, connectors: QuerySet[Connector]) -> dict[str, int]:
    """How many of `connectors` are in each status they last reported, counted in SQL."""
    rows = connectors.order_by().values_list("status").annotate(count=Count("pk"))
    return {status or "Unknown": count for status, count in rows}


def message_log_list(*, station_id: int) -> QuerySet[MessageLogEntry]:
    """The station's frames in and out, newest first (the index on station and time serves it)."""
    return MessageLogEntry.objects.filter(station_id=station_id)
