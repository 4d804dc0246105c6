"""OCPI 2.2.1 locations module. CPO, sender: our locations as Location, EVSE and Connector objects, listed and
fetched at /ocpi/2.2.1/cpo/locations, and pushed to eMSP partners (EVSE status PATCHes on live events, full PUTs by
`location_push`). eMSP, receiver: a CPO partner's locations at /ocpi/2.2.1/emsp/locations, stored as PartnerLocation.

Choices (see docs/roaming.md): only locations with coordinates are published (OCPI requires them); only accepted
stations give EVSEs; an EVSE's uid is "<station identity>*<evse id>"; an offline station's EVSEs are UNKNOWN.
last_updated is the newest of the location's, its accepted stations' and their connectors' `updated_at` (edits)
and the connectors' last status report. An edit is PUT to every eMSP partner: of the location, of a station (its
location, and the one it left), of a connector."""

from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Max, Prefetch, Q, QuerySet
from django.db.models.functions import Greatest
from django.db.models.signals import post_save
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_tenants.utils import get_public_schema_name

from apps.billing.ocpi import COUNTRY_ALPHA3, ocpi_datetime
from apps.roaming.exceptions import RoamingError
from apps.roaming.models import Partner, PartnerLocation, RoamingSettings
from apps.roaming.outbox import outbox_push
from apps.roaming.pagination import page_answer
from apps.roaming.receivers import has_registered_partners
from apps.roaming.selectors import cpo_roaming_settings, push_partners
from apps.roaming.services import partner_object_save
from apps.roaming.transport import (
    INVALID_PARAMETERS,
    UNKNOWN_LOCATION,
    envelope,
    ocpi_datetime_parse,
    ocpi_module_view,
    partner_is_party,
    request_json,
)
from apps.stations.models import Connector, Evse, Location, Station
from apps.tariffs.selectors import tariffs_for_places

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


ACCEPTED = Q(stations__registration_status=Station.Registration.ACCEPTED)


def published_locations() -> QuerySet[Location]:
    """The locations we publish, each with `last_updated` computed in the database (for date filters)."""
    return (
        Location.objects.exclude(latitude=None)
        .exclude(longitude=None)
        .annotate(
            last_updated=Greatest(
                "updated_at",
                Max("stations__updated_at", filter=ACCEPTED),
                Max("stations__evses__connectors__updated_at", filter=ACCEPTED),
                Max("stations__evses__connectors__status_reported_at", filter=ACCEPTED),
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
    return max(filter(None, [connector.status_reported_at, connector.updated_at, station.updated_at]))


def location_tariff_ids(locations: list[Location]) -> dict[int, list[str]]:
    """The codes of the tariff a driver without a plan pays at each connector of `locations` now (the one
    `price_of` uses), by connector pk; connectors without a tariff are left out. Two queries for any number."""
    places = [
        (station, connector)
        for location in locations
        for station in _stations(location)
        for evse in station.evses.all()
        for connector in evse.connectors.all()
    ]
    tariffs = tariffs_for_places(places, at=timezone.now())
    return {
        connector.pk: [tariff.code]
        for (_, connector), tariff in zip(places, tariffs, strict=True)
        if tariff is not None
    }


def connector_object(connector: Connector, station: Station, *, tariff_ids: dict[int, list[str]] | None = None) -> dict:
    voltage = VOLTAGE[connector.power_type]
    connector_data = {
        "id": str(connector.connector_id),
        "standard": connector.standard,
        "format": connector.format,
        "power_type": connector.power_type,
        "max_voltage": voltage,
        "max_amperage": round(connector.max_power_w / (voltage * PHASES[connector.power_type])),
        "max_electric_power": connector.max_power_w,
        "last_updated": ocpi_datetime(connector_updated(connector, station)),
    }
    if tariff_ids and connector.pk in tariff_ids:
        connector_data["tariff_ids"] = tariff_ids[connector.pk]
    return connector_data


def evse_uid(evse: Evse, station: Station) -> str:
    return f"{station.identity}*{evse.evse_id}"


def evse_object(evse: Evse, station: Station, *, tariff_ids: dict[int, list[str]] | None = None) -> dict:
    connectors = list(evse.connectors.all())
    statuses = {connector_status(connector, station) for connector in connectors}
    status = next((s for s in STATUS_PRIORITY if s in statuses), "UNKNOWN")
    updated = max([station.updated_at] + [connector_updated(c, station) for c in connectors])
    return {
        "uid": evse_uid(evse, station),
        "status": status,
        "connectors": [connector_object(connector, station, tariff_ids=tariff_ids) for connector in connectors],
        "last_updated": ocpi_datetime(updated),
    }


def location_object(
    location: Location, *, roaming_settings: RoamingSettings, tariff_ids: dict[int, list[str]] | None = None
) -> dict:
    """The OCPI Location; `tariff_ids` from `location_tariff_ids` (resolved here when not given)."""
    stations = _stations(location)
    if tariff_ids is None:
        tariff_ids = location_tariff_ids([location])
    evses = [evse_object(evse, station, tariff_ids=tariff_ids) for station in stations for evse in station.evses.all()]
    updated = max([location.updated_at] + [station.updated_at for station in stations])
    updated = max([ocpi_datetime(updated)] + [evse["last_updated"] for evse in evses])
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

        def render(locations: list[Location]) -> list[dict]:
            tariff_ids = location_tariff_ids(locations)  # one look-up for the page
            return [
                location_object(location, roaming_settings=roaming_settings, tariff_ids=tariff_ids)
                for location in locations
            ]

        return page_answer(request, published, date_field="last_updated", render=render)
    location = published.filter(pk=int(parts[0])).first() if parts[0].isdigit() else None
    if location is None:
        return _unknown_location()
    if len(parts) == 1:
        return envelope(location_object(location, roaming_settings=roaming_settings))
    found = evse_find(location, parts[1])
    if found is None:
        return _unknown_location()
    evse, station = found
    tariff_ids = location_tariff_ids([location])
    if len(parts) == 2:
        return envelope(evse_object(evse, station, tariff_ids=tariff_ids))
    connector = next((c for c in evse.connectors.all() if str(c.connector_id) == parts[2]), None)
    if connector is None:
        return _unknown_location()
    return envelope(connector_object(connector, station, tariff_ids=tariff_ids))


# --- CPO, pushes to eMSP partners (through the outbox) --------------------------------------------------------


def _station_location(station_id: int) -> Location | None:
    """The published location of an accepted station (with what `location_object` needs), or None."""
    station = Station.objects.filter(pk=station_id, registration_status=Station.Registration.ACCEPTED).first()
    if station is None or station.location_id is None:
        return None
    return published_locations().filter(pk=station.location_id).first()


def _evse_patches(location: Location, station_id: int, evse_ids: set[int] | None, at: str | None) -> list[tuple]:
    """(EVSE uid, PATCH body) for the station's EVSEs (all, or `evse_ids`), statuses computed as the GET does."""
    patches = []
    for station in _stations(location):
        if station.pk != station_id:
            continue
        for evse in station.evses.all():
            if evse_ids is not None and evse.evse_id not in evse_ids:
                continue
            evse_data = evse_object(evse, station, tariff_ids={})
            last_updated = max(evse_data["last_updated"], at) if at else evse_data["last_updated"]
            patches.append((evse_data["uid"], {"status": evse_data["status"], "last_updated": last_updated}))
    return patches


def _patch_evses(*, station_id: int, evse_ids: set[int] | None, at: str | None) -> int:
    roaming_settings = cpo_roaming_settings()
    if roaming_settings is None:
        return 0
    partners = push_partners("locations")
    if not partners:
        return 0
    location = _station_location(station_id)
    if location is None:
        return 0
    base = f"/{roaming_settings.country_code}/{roaming_settings.party_id}/{location.pk}"
    pushed = 0
    for uid, body in _evse_patches(location, station_id, evse_ids, at):
        for partner in partners:
            outbox_push(partner=partner, module="locations", method="PATCH", path=f"{base}/{uid}", body=body)
            pushed += 1
    return pushed


def _event_time(at: str) -> str | None:
    moment = parse_datetime(at) if at else None
    return ocpi_datetime(moment.astimezone(UTC)) if moment else None


def status_changed_push(*, station_id: int, at: str, data: dict) -> int:
    """A connector's status changed: PATCH its EVSE's status (for the whole EVSE, as the GET shows it) to every eMSP
    partner. A station-wide report (EVSE 0) changes no EVSE status we publish."""
    evse_id = data.get("evse_id")
    if not evse_id:
        return 0
    return _patch_evses(station_id=station_id, evse_ids={int(evse_id)}, at=None)


def presence_changed_push(*, station_id: int, at: str, data: dict) -> int:
    """A station went offline (its EVSEs become UNKNOWN) or came back (their real statuses): PATCH every EVSE of
    the station; last_updated is the event's time, since no connector report moved."""
    return _patch_evses(station_id=station_id, evse_ids=None, at=_event_time(at))


def location_push(*, location: Location, partners: list[Partner] | None = None) -> int:
    """PUT the whole location to every eMSP partner (after a station is accepted), or to those of `partners` that
    take it (an operator's full push); how many pushes were recorded. A location we do not publish (no
    coordinates) is not pushed."""
    roaming_settings = cpo_roaming_settings()
    if roaming_settings is None:
        return 0
    partners = push_partners("locations", among=partners)
    published = published_locations().filter(pk=location.pk).first()
    if not partners or published is None:
        return 0
    body = location_object(published, roaming_settings=roaming_settings)
    for partner in partners:
        outbox_push(
            partner=partner,
            module="locations",
            method="PUT",
            path=f"/{roaming_settings.country_code}/{roaming_settings.party_id}/{published.pk}",
            body=body,
        )
    return len(partners)


def locations_push_to(*, partner: Partner) -> int:
    """PUT every location we publish to one partner (after it registered, or to resync it); how many."""
    return sum(location_push(location=location, partners=[partner]) for location in published_locations())


STATION_FIELDS_PUBLISHED = {"registration_status", "location", "location_id"}


def _location_push_on_commit(location_id: int | None) -> None:
    """PUT the location to every eMSP partner once the change commits (a rollback pushes nothing). Cheap for a brand
    without partners: a cached look-up."""
    schema_name = connection.schema_name
    if location_id is None or schema_name == get_public_schema_name() or not has_registered_partners(schema_name):
        return
    transaction.on_commit(lambda: _location_push_by_id(location_id))


@receiver(post_save, sender=Location, dispatch_uid="roaming.locations.location_saved")
def location_saved_push(sender, instance: Location, **kwargs) -> None:
    """A location created or edited (its name, address, hours…; or a station left it)."""
    _location_push_on_commit(instance.pk)


@receiver(post_save, sender=Station, dispatch_uid="roaming.locations.station_saved")
def station_saved_push(sender, instance: Station, created: bool, update_fields=None, **kwargs) -> None:
    """A station created, edited, accepted or moved changes its location's EVSEs. What a station reports of itself
    (boot, heartbeat, status) saves other named fields and pushes nothing here; status goes as EVSE PATCHes."""
    if update_fields is not None and not STATION_FIELDS_PUBLISHED & set(update_fields):
        return
    if not created or instance.registration_status == Station.Registration.ACCEPTED:
        _location_push_on_commit(instance.location_id)


@receiver(post_save, sender=Connector, dispatch_uid="roaming.locations.connector_saved")
def connector_saved_push(sender, instance: Connector, update_fields=None, **kwargs) -> None:
    """A connector created or edited (standard, format, power); its status reports save named fields and go as
    EVSE PATCHes instead."""
    if update_fields is not None:
        return
    if not has_registered_partners(connection.schema_name):
        return
    location_id = Station.objects.filter(evses__connectors=instance).values_list("location_id", flat=True).first()
    _location_push_on_commit(location_id)


def _location_push_by_id(location_id: int) -> None:
    location = Location.objects.filter(pk=location_id).first()
    if location is not None:
        location_push(location=location)


# --- eMSP, receiver interface: a CPO partner's locations ------------------------------------------------------

LOCATION_REQUIRED = ("country_code", "party_id", "id", "publish", "address", "city", "country", "coordinates")
LOCATION_REQUIRED += ("time_zone", "last_updated")
EVSE_REQUIRED = ("uid", "status", "last_updated")
CONNECTOR_REQUIRED = ("id", "standard", "format", "power_type", "max_voltage", "max_amperage", "last_updated")


def _invalid(message: str) -> RoamingError:
    return RoamingError(message, status_code=INVALID_PARAMETERS)


def _require(data, fields: tuple[str, ...], prefix: str) -> None:
    if not isinstance(data, dict):
        raise _invalid(f"{prefix.rstrip('.') or 'the body'} must be an object")
    for name in fields:
        if data.get(name) in (None, ""):
            raise _invalid(f"{prefix}{name} is required")
    ocpi_datetime_parse(data["last_updated"], f"{prefix}last_updated")


# OCPI 2.2.1's enums (mod_locations), and SAE_J3400 (OCPI 2.3's NACS), which we publish ourselves.
CONNECTOR_TYPES = frozenset(
    {"CHADEMO", "CHAOJI", "GBT_AC", "GBT_DC", "PANTOGRAPH_BOTTOM_UP", "PANTOGRAPH_TOP_DOWN", "TESLA_R", "TESLA_S"}
    | {f"DOMESTIC_{letter}" for letter in "ABCDEFGHIJKLMNO"}
    | {"IEC_60309_2_single_16", "IEC_60309_2_three_16", "IEC_60309_2_three_32", "IEC_60309_2_three_64"}
    | {"IEC_62196_T1", "IEC_62196_T1_COMBO", "IEC_62196_T2", "IEC_62196_T2_COMBO", "IEC_62196_T3A", "IEC_62196_T3C"}
    | {"NEMA_5_20", "NEMA_6_30", "NEMA_6_50", "NEMA_10_30", "NEMA_10_50", "NEMA_14_30", "NEMA_14_50"}
    | {"SAE_J3400"}
)
CONNECTOR_FORMATS = frozenset({"SOCKET", "CABLE"})
POWER_TYPES = frozenset({"AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"})
EVSE_STATUSES = frozenset(
    {"AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED", "REMOVED", "RESERVED", "UNKNOWN"}
)
CAPABILITIES = frozenset(
    {"CHARGING_PROFILE_CAPABLE", "CHARGING_PREFERENCES_CAPABLE", "CHIP_CARD_SUPPORT", "CONTACTLESS_CARD_SUPPORT"}
    | {"CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE", "PED_TERMINAL", "REMOTE_START_STOP_CAPABLE", "RESERVABLE"}
    | {"RFID_READER", "START_SESSION_CONNECTOR_REQUIRED", "TOKEN_GROUP_CAPABLE", "UNLOCK_CAPABLE"}
)
PARKING_TYPES = frozenset(
    {"ALONG_MOTORWAY", "PARKING_GARAGE", "PARKING_LOT", "ON_DRIVEWAY", "ON_STREET", "UNDERGROUND_GARAGE"}
)


def _one_of(data: dict, name: str, allowed: frozenset[str], prefix: str) -> None:
    if name in data and data[name] not in allowed:
        raise _invalid(f"{prefix}{name} {data[name]!r} is not one of OCPI's values")


def _whole_number(data: dict, name: str, prefix: str) -> None:
    value = data.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise _invalid(f"{prefix}{name} must be a whole number, 0 or more")


def connector_validate(data, prefix: str = "") -> None:
    _require(data, CONNECTOR_REQUIRED, prefix)
    _one_of(data, "standard", CONNECTOR_TYPES, prefix)
    _one_of(data, "format", CONNECTOR_FORMATS, prefix)
    _one_of(data, "power_type", POWER_TYPES, prefix)
    for name in ("max_voltage", "max_amperage", "max_electric_power"):
        _whole_number(data, name, prefix)


def evse_validate(data, prefix: str = "") -> None:
    _require(data, EVSE_REQUIRED, prefix)
    _one_of(data, "status", EVSE_STATUSES, prefix)
    capabilities = data.get("capabilities", [])
    if not isinstance(capabilities, list):
        raise _invalid(f"{prefix}capabilities must be a list")
    for index, capability in enumerate(capabilities):
        if capability not in CAPABILITIES:
            raise _invalid(f"{prefix}capabilities[{index}] {capability!r} is not one of OCPI's values")
    connectors = data.get("connectors")
    if not isinstance(connectors, list) or not connectors:
        raise _invalid(f"{prefix}connectors is required (one or more)")
    for index, connector in enumerate(connectors):
        connector_validate(connector, f"{prefix}connectors[{index}].")


def location_validate(data, prefix: str = "") -> None:
    _require(data, LOCATION_REQUIRED, prefix)
    _one_of(data, "parking_type", PARKING_TYPES, prefix)
    if not isinstance(data["publish"], bool):
        raise _invalid(f"{prefix}publish must be true or false")
    coordinates = data["coordinates"]
    if not isinstance(coordinates, dict) or not coordinates.get("latitude") or not coordinates.get("longitude"):
        raise _invalid(f"{prefix}coordinates.latitude and coordinates.longitude are required")
    evses = data.get("evses", [])
    if not isinstance(evses, list):
        raise _invalid(f"{prefix}evses must be a list")
    for index, evse in enumerate(evses):
        evse_validate(evse, f"{prefix}evses[{index}].")


def _ids_match(data: dict, expected: dict[str, str]) -> None:
    """The object's ids must be those of the URL (or be left out, for nested objects): 2001 naming the field."""
    for name, value in expected.items():
        if name in data and str(data[name]).upper() != value.upper():
            raise _invalid(f"{name} {data[name]!r} does not match the URL ({value!r})")


def location_store(*, partner: Partner, data: dict) -> PartnerLocation:
    """Store one Location of a partner's SENDER list (pulls): 2001 naming the field when it is not valid or belongs
    to a party the partner is not."""
    location_validate(data)
    if not partner_is_party(partner, str(data["country_code"]), str(data["party_id"])):
        raise _invalid(f"country_code/party_id {data['country_code']}*{data['party_id']} is not the partner's party")
    return partner_object_save(PartnerLocation, partner=partner, data=data)


def _find(items: list, key: str, value: str) -> int | None:
    return next(
        (index for index, item in enumerate(items) if isinstance(item, dict) and str(item.get(key)) == value), None
    )


def _later(*stamps: str) -> str:
    """The latest of OCPI DateTimes (compared as instants, written as sent)."""
    return max(stamps, key=lambda stamp: ocpi_datetime_parse(stamp, "last_updated"))


@ocpi_module_view(role="EMSP", methods=("GET", "PUT", "PATCH"))
@transaction.atomic
def emsp_locations(
    request: HttpRequest,
    partner: Partner,
    roaming_settings: RoamingSettings,
    country_code: str,
    party_id: str,
    location_id: str,
    evse_uid: str | None = None,
    connector_id: str | None = None,
) -> HttpResponse:
    """A CPO partner's Location, EVSE or Connector: GET our copy, PUT a whole object, PATCH some fields."""
    if not partner_is_party(partner, country_code, party_id):
        raise _invalid(f"{country_code}*{party_id} is not one of your parties")
    body = request_json(request) if request.method in ("PUT", "PATCH") else None
    stored = (
        PartnerLocation.objects.select_for_update()
        .filter(partner=partner, country_code=country_code.upper(), party_id=party_id.upper(), object_id=location_id)
        .first()
    )
    if evse_uid is None:
        return _location_level(request, partner, stored, body, country_code, party_id, location_id)
    if stored is None:
        return _unknown_location()
    data = stored.data
    evses = data.setdefault("evses", [])
    evse_index = _find(evses, "uid", evse_uid)
    if connector_id is None:
        target_list, index, key, value, validate = evses, evse_index, "uid", evse_uid, evse_validate
    else:
        if evse_index is None:
            return _unknown_location()
        target_list = evses[evse_index].setdefault("connectors", [])
        index, key, value, validate = _find(target_list, "id", connector_id), "id", connector_id, connector_validate
    if request.method == "GET":
        return _unknown_location() if index is None else envelope(target_list[index])
    if request.method == "PATCH":
        if index is None:
            return _unknown_location()
        if "last_updated" not in body:
            raise _invalid("last_updated is required in a PATCH")
        body = {**target_list[index], **body}
    _ids_match(body, {key: value})
    body[key] = value
    validate(body)
    if index is None:
        target_list.append(body)
    else:
        target_list[index] = body
    if connector_id is not None:
        # A connector's change is a change of its EVSE too.
        evse = evses[evse_index]
        evse["last_updated"] = _later(evse["last_updated"], body["last_updated"])
    data["last_updated"] = _later(data["last_updated"], body["last_updated"])
    stored.data = data
    stored.last_updated = ocpi_datetime_parse(data["last_updated"], "last_updated")
    stored.save(update_fields=["data", "last_updated", "updated_at"])
    return envelope()


def _location_level(
    request: HttpRequest,
    partner: Partner,
    stored: PartnerLocation | None,
    body: dict | None,
    country_code: str,
    party_id: str,
    location_id: str,
) -> HttpResponse:
    if request.method == "GET":
        return _unknown_location() if stored is None else envelope(stored.data)
    if request.method == "PATCH":
        if stored is None:
            return _unknown_location()
        if "last_updated" not in body:
            raise _invalid("last_updated is required in a PATCH")
        body = {**stored.data, **body}
    _ids_match(body, {"country_code": country_code, "party_id": party_id, "id": location_id})
    location_validate(body)
    partner_object_save(PartnerLocation, partner=partner, data=body)
    return envelope()


urlpatterns = [
    path("cpo/locations", locations_get, name="cpo-locations"),
    path("cpo/locations/<str:location_id>", locations_get, name="cpo-location"),
    path("cpo/locations/<str:location_id>/<str:evse_uid>", locations_get, name="cpo-evse"),
    path("cpo/locations/<str:location_id>/<str:evse_uid>/<str:connector_id>", locations_get, name="cpo-connector"),
    path("emsp/locations/<str:country_code>/<str:party_id>/<str:location_id>", emsp_locations, name="emsp-location"),
    path(
        "emsp/locations/<str:country_code>/<str:party_id>/<str:location_id>/<str:evse_uid>",
        emsp_locations,
        name="emsp-evse",
    ),
    path(
        "emsp/locations/<str:country_code>/<str:party_id>/<str:location_id>/<str:evse_uid>/<str:connector_id>",
        emsp_locations,
        name="emsp-connector",
    ),
]
