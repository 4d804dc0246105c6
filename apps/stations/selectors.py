"""Reads of locations, stations, their EVSEs and connectors, and faults, for the API and other edges."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from django.db import connection
from django.db.models import Count, QuerySet
from django.utils import timezone

from apps.stations.models import Connector, Evse, Fault, Location, MessageLogEntry, Station

if TYPE_CHECKING:
    from apps.whitelabel.models import Tenant


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


# --- what a driver may start, and EVSE codes --------------------------------------------------------------------

# Statuses that mean a vehicle is plugged in or a transaction runs. OCPP 1.6 names each phase of a transaction;
# its Preparing is a connector taken before a transaction (usually the driver plugged in and now starts from the app)
# and 2.0.1 folds everything into Occupied, which it reports as soon as a cable is in. Those two are "occupied" only
# when a session is already running on the EVSE; otherwise they are most likely the driver who is about to start.
CONNECTOR_BUSY = frozenset({"Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"})
CONNECTOR_PLUGGED = frozenset({"Preparing", "Occupied"})
CONNECTOR_FREE = frozenset({"Available"})


class NotStartable:
    """Why a driver cannot start at an EVSE (the API's `not_startable_reason`)."""

    OFFLINE = "offline"
    FAULTED = "faulted"
    OCCUPIED = "occupied"
    RESERVED = "reserved"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class EvseAvailability:
    startable: bool
    reason: str  # "" when startable, else one of NotStartable


def evse_availabilities(evses: Iterable[Evse], *, now: datetime | None = None) -> dict[int, EvseAvailability]:
    """Whether a driver may start at each EVSE now, by EVSE pk: the one rule set for the app and the start endpoint.

    Uses `evse.station` and `evse.connectors.all()` (prefetch them) and two queries for all EVSEs together: the
    active sessions and the reservations held at their stations.
    """
    from apps.sessions.models import ChargingSession, Reservation

    evses = list(evses)
    if not evses:
        return {}
    now = now or timezone.now()
    station_ids = {evse.station_id for evse in evses}
    in_session = set(
        ChargingSession.objects.filter(
            station_id__in=station_ids, status=ChargingSession.Status.ACTIVE, evse_id__isnull=False
        ).values_list("station_id", "evse_id")
    )
    reservations = list(
        Reservation.objects.filter(
            station_id__in=station_ids, status=Reservation.Status.ACCEPTED, expires_at__gt=now
        ).values_list("station_id", "evse_id")
    )
    reserved = {(station_id, evse_id) for station_id, evse_id in reservations if evse_id}
    # A reservation for "any EVSE" holds the station's last free one: the station keeps one for the reserved token.
    reserved_any = {station_id for station_id, evse_id in reservations if not evse_id}
    free_at_station: dict[int, int] = {}
    for evse in evses:
        if evse.station_id in reserved_any and _evse_free(evse, in_session):
            free_at_station[evse.station_id] = free_at_station.get(evse.station_id, 0) + 1
    if reserved_any:
        # EVSEs of those stations not among `evses` count too.
        known = {evse.pk for evse in evses}
        others = (
            Evse.objects.filter(station_id__in=reserved_any)
            .exclude(pk__in=known)
            .filter(connectors__status__in=CONNECTOR_FREE)
            .values_list("station_id", "pk")
            .distinct()
        )
        for station_id, _pk in others:
            free_at_station[station_id] = free_at_station.get(station_id, 0) + 1

    result = {}
    for evse in evses:
        key = (evse.station_id, evse.evse_id)
        station_reserved = evse.station_id in reserved_any and free_at_station.get(evse.station_id, 0) <= 1
        result[evse.pk] = _availability(evse, busy=key in in_session, reserved=key in reserved or station_reserved)
    return result


def evse_availability(evse: Evse, *, now: datetime | None = None) -> EvseAvailability:
    """Whether a driver may start at `evse` now, and if not, why (see `evse_availabilities`)."""
    return evse_availabilities([evse], now=now)[evse.pk]


def _evse_free(evse: Evse, in_session: set) -> bool:
    return _availability(evse, busy=(evse.station_id, evse.evse_id) in in_session, reserved=False).startable


def _availability(evse: Evse, *, busy: bool, reserved: bool) -> EvseAvailability:
    station = evse.station
    statuses = {connector.status or "Unknown" for connector in evse.connectors.all()}
    if not station.is_online:
        return EvseAvailability(False, NotStartable.OFFLINE)
    if "Faulted" in statuses or station.status == "Faulted":
        return EvseAvailability(False, NotStartable.FAULTED)
    if busy or statuses & CONNECTOR_BUSY:
        return EvseAvailability(False, NotStartable.OCCUPIED)
    if reserved or "Reserved" in statuses:
        return EvseAvailability(False, NotStartable.RESERVED)
    if (
        station.registration_status != Station.Registration.ACCEPTED
        or station.status == "Unavailable"
        or not statuses & (CONNECTOR_FREE | CONNECTOR_PLUGGED)
    ):
        return EvseAvailability(False, NotStartable.UNAVAILABLE)
    return EvseAvailability(True, "")


EVSE_CODE_SEPARATOR = "*"


def evse_code(evse: Evse, tenant: "Tenant | None" = None) -> str:
    """The code printed on stickers: `<BRAND SLUG>*<station identity>*<EVSE id>`, e.g. DEMO*DEMO-16-01*1."""
    tenant = tenant or connection.tenant
    return EVSE_CODE_SEPARATOR.join((tenant.slug.upper(), evse.station.identity, str(evse.evse_id)))


def _code_parts(code: str) -> tuple[str, str, int] | None:
    if len(code) > 200 or "\x00" in code:
        return None
    # Station identities may themselves contain "*", so the brand is the first segment and the EVSE id the last.
    brand, _, rest = code.strip().partition(EVSE_CODE_SEPARATOR)
    identity, _, evse_id = rest.rpartition(EVSE_CODE_SEPARATOR)
    if not brand or not identity or not evse_id.isdigit() or len(evse_id) > 9:
        return None
    return brand.lower(), identity, int(evse_id)


def evse_by_code(code: str) -> Evse | None:
    """The EVSE of this brand (the current schema) that `code` names, with its station and connectors; None when
    the code is malformed, names another brand, or no such EVSE exists."""
    parts = _code_parts(code)
    if parts is None or parts[0] != connection.tenant.slug:
        return None
    _, identity, evse_id = parts
    return (
        Evse.objects.select_related("station__location")
        .prefetch_related("connectors")
        .filter(station__identity=identity, evse_id=evse_id)
        .first()
    )


def code_brand(code: str) -> "Tenant | None":
    """The brand (not suspended) whose EVSE code this is, whichever brand is asking; None if none."""
    from apps.whitelabel.selectors import tenant_get_by_slug

    parts = _code_parts(code)
    if parts is None:
        return None
    tenant = tenant_get_by_slug(parts[0])
    if tenant is None or tenant.is_suspended:
        return None
    return tenant


def evse_deep_link(evse: Evse, tenant: "Tenant | None" = None, *, code: str | None = None) -> str:
    """The app's page of this EVSE on the brand's primary domain: what the sticker's QR code opens."""
    tenant = tenant or connection.tenant
    return code_deep_link(code or evse_code(evse, tenant), tenant)


def code_deep_link(code: str, tenant: "Tenant") -> str:
    from apps.accounts.services import brand_site_url

    return f"{brand_site_url(tenant)}/app/e/{quote(code, safe='')}"
