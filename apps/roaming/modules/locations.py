"""OCPI 2.2.1 locations module. CPO, sender: our locations as Location, EVSE and Connector objects, listed and
fetched at /ocpi/2.2.1/cpo/locations.

Choices (see docs/roaming.md): only locations with coordinates are published (OCPI requires them); only accepted
stations give EVSEs; an EVSE's uid is "<station identity>*<evse id>"; an offline station's EVSEs are UNKNOWN.
Our models have no "updated at": last_updated is the newest of the location's and its stations' creation and
their connectors' last status report, so edits of names or addresses alone do not move it."""

from datetime import datetime

from django.db.models import Max, Prefetch, QuerySet
from django.db.models.functions import Greatest
from django.http import HttpRequest, HttpResponse
from django.urls import path

from apps.billing.ocpi import COUNTRY_ALPHA3
from apps.roaming.models import Partner, RoamingSettings
from apps.roaming.pagination import page_from, page_headers
from apps.roaming.transport import UNKNOWN_LOCATION, envelope, ocpi_module_view
from apps.stations.models import Connector, Evse, Location, Station

# OCPP 1.6 / 2.0.1 connector statuses → OCPI 2.2.1 EVSE statuses; anything else is UNKNOWN.
STATUS = {
    "Available": "AVAILABLE",
    "Preparing": "CHARGING",
    "Charging": "CHARGING",
    "SuspendedEV": "CHARGING",
    "SuspendedEVSE": "CHARGING",
    "Finishing": "CHARGING",
    "Occupied": "CHARGING",
    "Reserved": "RESERVED",
    "Unavailable": "INOPERATIVE",
    "Faulted": "OUTOFORDER",
}
# An EVSE with several connectors shows the first of these that one of its connectors has.
STATUS_PRIORITY = ["CHARGING", "RESERVED", "AVAILABLE", "BLOCKED", "INOPERATIVE", "OUTOFORDER", "UNKNOWN"]

# Nominal voltages to derive max_amperage from max_power_w: AC is line to neutral (OCPI), DC an assumed 400 V.
VOLTAGE = {Connector.PowerType.AC_1_PHASE: 230, Connector.PowerType.AC_3_PHASE: 230, Connector.PowerType.DC: 400}
PHASES = {Connector.PowerType.AC_1_PHASE: 1, Connector.PowerType.AC_3_PHASE: 3, Connector.PowerType.DC: 1}


def country_alpha_3(alpha_2: str) -> str:
    # An unknown code is sent as it is (documented): add it to the table.
    return COUNTRY_ALPHA3.get(alpha_2.upper(), alpha_2.upper())


def ocpi_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def published_locations() -> QuerySet[Location]:
    """The locations we publish, each with `last_updated` computed in the database (for date filters)."""
    return (
        Location.objects.exclude(latitude=None)
        .exclude(longitude=None)
        .annotate(
            last_updated=Greatest(
                "created_at",
                Max("stations__created_at"),
                Max("stations__evses__connectors__status_reported_at"),
            )
        )
        .prefetch_related(
            Prefetch(
                "stations",
                queryset=Station.objects.filter(registration_status=Station.Registration.ACCEPTED).prefetch_related(
                    "evses__connectors"
                ),
                to_attr="accepted_stations",
            )
        )
        .order_by("pk")
    )


def _stations(location: Location) -> list[Station]:
    """The location's accepted stations (prefetched by `published_locations`), with their EVSEs and connectors."""
    return location.accepted_stations


def connector_status(connector: Connector, station: Station) -> str:
    if not station.is_online:
        return "UNKNOWN"
    return STATUS.get(connector.status, "UNKNOWN")


def connector_updated(connector: Connector, station: Station) -> datetime:
    return max(filter(None, [connector.status_reported_at, station.created_at]))


def connector_object(connector: Connector, station: Station) -> dict:
    voltage = VOLTAGE[connector.power_type]
    return {
        "id": str(connector.connector_id),
        "standard": connector.standard,
        "format": connector.format,
        "power_type": connector.power_type,
        "max_voltage": voltage,
        "max_amperage": round(connector.max_power_w / (voltage * PHASES[connector.power_type])),
        "max_electric_power": connector.max_power_w,
        "last_updated": ocpi_time(connector_updated(connector, station)),
    }


def evse_uid(evse: Evse, station: Station) -> str:
    return f"{station.identity}*{evse.evse_id}"


def evse_object(evse: Evse, station: Station) -> dict:
    connectors = list(evse.connectors.all())
    statuses = {connector_status(connector, station) for connector in connectors}
    status = next((s for s in STATUS_PRIORITY if s in statuses), "UNKNOWN")
    updated = max([station.created_at] + [connector_updated(c, station) for c in connectors])
    return {
        "uid": evse_uid(evse, station),
        "status": status,
        "connectors": [connector_object(connector, station) for connector in connectors],
        "last_updated": ocpi_time(updated),
    }


def location_object(location: Location, *, roaming_settings: RoamingSettings) -> dict:
    stations = _stations(location)
    evses = [evse_object(evse, station) for station in stations for evse in station.evses.all()]
    updated = max([location.created_at] + [station.created_at for station in stations])
    updated = max([ocpi_time(updated)] + [evse["last_updated"] for evse in evses])
    location_data = {
        "country_code": roaming_settings.country_code,
        "party_id": roaming_settings.party_id,
        "id": str(location.pk),
        "publish": True,
        "name": location.name,
        "address": location.address,
        "city": location.city,
        "postal_code": location.postal_code,
        "country": country_alpha_3(location.country),
        "coordinates": {"latitude": f"{location.latitude:.6f}", "longitude": f"{location.longitude:.6f}"},
        "evses": evses,
        "time_zone": location.timezone,
        "last_updated": updated,
    }
    if location.opening_hours:
        # Stored in the OCPI Hours shape already.
        location_data["opening_times"] = location.opening_hours
    return location_data


def evse_find(location: Location, uid: str) -> tuple[Evse, Station] | None:
    for station in _stations(location):
        for evse in station.evses.all():
            if evse_uid(evse, station) == uid:
                return evse, station
    return None


# --- CPO, sender interface ----------------------------------------------------------------------------------------


def _unknown_location() -> HttpResponse:
    # GET on a resource that does not exist: HTTP 404 (status codes §), 2003 in the envelope.
    return envelope(status_code=UNKNOWN_LOCATION, status_message="Unknown location", http_status=404)


@ocpi_module_view(role="CPO", methods=("GET",))
def locations_get(
    request: HttpRequest, partner: Partner, roaming_settings: RoamingSettings, **ids: str
) -> HttpResponse:
    """GET the list (paginated), a location, an EVSE or a connector; unknown objects are 2003 with HTTP 404."""
    parts = [ids[name] for name in ("location_id", "evse_uid", "connector_id") if name in ids]
    published = published_locations()
    if not parts:
        page = page_from(request)
        if page.date_from:
            published = published.filter(last_updated__gte=page.date_from)
        if page.date_to:
            published = published.filter(last_updated__lt=page.date_to)
        total = published.count()
        data = [
            location_object(location, roaming_settings=roaming_settings)
            for location in published[page.offset : page.offset + page.limit]
        ]
        return page_headers(envelope(data), request=request, page=page, total=total)
    location = published.filter(pk=int(parts[0])).first() if parts[0].isdigit() else None
    if location is None:
        return _unknown_location()
    if len(parts) == 1:
        return envelope(location_object(location, roaming_settings=roaming_settings))
    found = evse_find(location, parts[1])
    if found is None:
        return _unknown_location()
    evse, station = found
    if len(parts) == 2:
        return envelope(evse_object(evse, station))
    connector = next((c for c in evse.connectors.all() if str(c.connector_id) == parts[2]), None)
    if connector is None:
        return _unknown_location()
    return envelope(connector_object(connector, station))


urlpatterns = [
    path("cpo/locations", locations_get, name="cpo-locations"),
    path("cpo/locations/<str:location_id>", locations_get, name="cpo-location"),
    path("cpo/locations/<str:location_id>/<str:evse_uid>", locations_get, name="cpo-evse"),
    path("cpo/locations/<str:location_id>/<str:evse_uid>/<str:connector_id>", locations_get, name="cpo-connector"),
]
