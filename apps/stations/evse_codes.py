"""STOPGAP until the "network" part lands: minimal EVSE codes and availability with the names and signatures of
`apps.stations.selectors` (evse_by_code, evse_code, evse_availability, code_brand, evse_deep_link). When it is on
main, point the imports of apps/billing/services/driver_charges.py and apps/api/driver_charging.py there and delete
this module."""

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from django.db import connection
from django.utils import timezone

from apps.stations.models import Evse, Station

if TYPE_CHECKING:
    from apps.whitelabel.models import Tenant

SEPARATOR = "*"
BUSY = frozenset({"Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"})
STARTABLE = frozenset({"Available", "Preparing", "Occupied"})


@dataclass(frozen=True)
class EvseAvailability:
    startable: bool
    reason: str  # "", offline, faulted, occupied, reserved, unavailable


def _parts(code: str) -> tuple[str, str, int] | None:
    brand, _, rest = code.strip().partition(SEPARATOR)
    identity, _, evse_id = rest.rpartition(SEPARATOR)
    if not brand or not identity or not evse_id.isdigit() or len(evse_id) > 9:
        return None
    return brand.lower(), identity, int(evse_id)


def evse_code(evse: Evse, tenant: "Tenant | None" = None) -> str:
    tenant = tenant or connection.tenant
    return SEPARATOR.join((tenant.slug.upper(), evse.station.identity, str(evse.evse_id)))


def evse_by_code(code: str) -> Evse | None:
    parts = _parts(code)
    if parts is None or parts[0] != connection.tenant.slug:
        return None
    return (
        Evse.objects.select_related("station__location")
        .prefetch_related("connectors")
        .filter(station__identity=parts[1], evse_id=parts[2])
        .first()
    )


def code_brand(code: str) -> "Tenant | None":
    from apps.whitelabel.selectors import tenant_get_by_slug

    parts = _parts(code)
    tenant = tenant_get_by_slug(parts[0]) if parts else None
    return None if tenant is None or tenant.is_suspended else tenant


def evse_deep_link(evse: Evse, tenant: "Tenant | None" = None, *, code: str | None = None) -> str:
    from apps.accounts.services import brand_site_url

    tenant = tenant or connection.tenant
    return f"{brand_site_url(tenant)}/app/e/{quote(code or evse_code(evse, tenant), safe='')}"


def evse_availability(evse: Evse, *, now=None) -> EvseAvailability:
    from apps.sessions.models import ChargingSession, Reservation

    now = now or timezone.now()
    station = evse.station
    statuses = {connector.status or "Unknown" for connector in evse.connectors.all()}
    if not station.is_online:
        return EvseAvailability(False, "offline")
    if "Faulted" in statuses or station.status == "Faulted":
        return EvseAvailability(False, "faulted")
    in_session = ChargingSession.objects.filter(
        station=station, evse_id=evse.evse_id, status=ChargingSession.Status.ACTIVE
    ).exists()
    if in_session or statuses & BUSY:
        return EvseAvailability(False, "occupied")
    reserved = Reservation.objects.filter(
        station=station, evse_id__in=[0, evse.evse_id], status=Reservation.Status.ACCEPTED, expires_at__gt=now
    ).exists()
    if reserved or "Reserved" in statuses:
        return EvseAvailability(False, "reserved")
    if station.registration_status != Station.Registration.ACCEPTED or not statuses & STARTABLE:
        return EvseAvailability(False, "unavailable")
    return EvseAvailability(True, "")
