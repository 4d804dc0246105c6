"""The public network as a driver sees it: locations with what is free, what fits and what it costs, opening hours,
and each EVSE with whether it can be started. Reads only; the driver app's API serializes these."""

from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db.models import Exists, F, FloatField, OuterRef, Prefetch, Value
from django.db.models.functions import ASin, Cast, Cos, Least, Power, Radians, Sin, Sqrt
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.dates import WEEKDAYS_ABBR
from django.utils.translation import gettext

from apps.stations.models import Connector, Evse, Location, Station
from apps.stations.selectors import CONNECTOR_FREE, EvseAvailability, evse_availabilities

if TYPE_CHECKING:
    from apps.tariffs.selectors import Price

# The most locations one answer lists: a brand's whole public network for a map, but never an unbounded dump.
LOCATION_LIMIT = 500
EARTH_RADIUS_M = 6_371_000


@dataclass
class NetworkLocation:
    location: Location
    distance_m: int | None
    open_now: bool | None
    evses: list[Evse]
    evses_available: int
    connector_types: list[str]
    max_power_kw: Decimal | None
    price: "Price | None"
    prices: dict[int, "Price | None"] = field(default_factory=dict)  # by connector pk
    availability: dict[int, EvseAvailability] = field(default_factory=dict)  # by EVSE pk (detail only)


def public_stations():
    """Stations a driver may see: accepted ones (pending or rejected stations are not part of the network)."""
    return Station.objects.filter(registration_status=Station.Registration.ACCEPTED)


def evse_is_free(evse: Evse) -> bool:
    """For counts and the `available` filter: a connector Available at an online station (evse_availability has
    the full rules for starting)."""
    return evse.station.is_online and any(c.status in CONNECTOR_FREE for c in evse.connectors.all())


def network_location_list(
    *,
    lat: float | None = None,
    lon: float | None = None,
    connector_type: str | None = None,
    min_power_kw: Decimal | None = None,
    available: bool = False,
    max_price_per_kwh: Decimal | None = None,
    open_now: bool = False,
    at: datetime | None = None,
    limit: int = LOCATION_LIMIT,
) -> list[NetworkLocation]:
    """Locations with at least one public station, filtered and sorted by distance from (lat, lon) when given (in
    SQL, haversine), else by name. Connector filters (type, power, free) must hold for one and the same connector.
    `open_now` and `max_price_per_kwh` are judged in Python (opening hours are JSON in each location's timezone,
    prices come from the tariff rules) over at most `limit` * 4 candidates, still sorted."""
    at = at or timezone.now()
    connectors = Connector.objects.filter(
        evse__station__location=OuterRef("pk"),
        evse__station__registration_status=Station.Registration.ACCEPTED,
    )
    if connector_type:
        connectors = connectors.filter(standard=connector_type)
    if min_power_kw is not None:
        connectors = connectors.filter(max_power_w__gte=min_power_kw * 1000)
    if available:
        connectors = connectors.filter(status__in=CONNECTOR_FREE, evse__station__is_online=True)
    locations = Location.objects.filter(Exists(connectors))
    if lat is not None and lon is not None:
        locations = locations.annotate(distance=_haversine_m(lat, lon)).order_by(
            F("distance").asc(nulls_last=True), "name", "pk"
        )
    else:
        locations = locations.order_by("name", "pk")
    python_filters = open_now or max_price_per_kwh is not None
    candidates = list(_with_network(locations)[: limit * 4 if python_filters else limit])

    results = []
    opened = [(location, location_open_now(location, at)) for location in candidates]
    if open_now:
        opened = [(location, is_open) for location, is_open in opened if is_open]
    summaries = _summarise(opened, at=at, connector_type=connector_type, min_power_kw=min_power_kw, available=available)
    for summary in summaries:
        if max_price_per_kwh is not None and not _within(summary.price, max_price_per_kwh):
            continue
        results.append(summary)
        if len(results) >= limit:
            break
    return results


def network_location_get(location_id: int, *, at: datetime | None = None) -> NetworkLocation | None:
    """One public location with its EVSEs, their prices and whether each can be started now."""
    at = at or timezone.now()
    location = _with_network(Location.objects.filter(pk=location_id)).first()
    if location is None or not location.public_stations:
        return None
    (summary,) = _summarise([(location, location_open_now(location, at))], at=at)
    summary.availability = evse_availabilities(summary.evses, now=at)
    return summary


def _with_network(locations):
    stations = public_stations().prefetch_related("evses__connectors").order_by("identity")
    return locations.prefetch_related(Prefetch("stations", queryset=stations, to_attr="public_stations"))


def _haversine_m(lat: float, lon: float):
    latitude = Radians(Cast("latitude", FloatField()))
    longitude = Radians(Cast("longitude", FloatField()))
    here_lat, here_lon = Value(float(lat), output_field=FloatField()), Value(float(lon), output_field=FloatField())
    a = Power(Sin((latitude - Radians(here_lat)) / 2), 2) + Cos(Radians(here_lat)) * Cos(latitude) * Power(
        Sin((longitude - Radians(here_lon)) / 2), 2
    )
    # Least: rounding can push `a` a hair above 1, out of asin's domain.
    return Value(2.0 * EARTH_RADIUS_M, output_field=FloatField()) * ASin(Sqrt(Least(a, Value(1.0))))


def _summarise(
    opened: list[tuple[Location, bool | None]],
    *,
    at: datetime,
    connector_type: str | None = None,
    min_power_kw: Decimal | None = None,
    available: bool = False,
) -> list[NetworkLocation]:
    from apps.tariffs.selectors import prices_of

    evses_of = {
        location.pk: [evse for s in location.public_stations for evse in s.evses.all()] for location, _ in opened
    }
    connectors = [c for evses in evses_of.values() for evse in evses for c in evse.connectors.all()]
    prices = prices_of(connectors, at=at)
    summaries = []
    for location, is_open in opened:
        evses = evses_of[location.pk]
        all_connectors = [c for evse in evses for c in evse.connectors.all()]
        matching = [
            c
            for c in all_connectors
            if (not connector_type or c.standard == connector_type)
            and (min_power_kw is None or c.max_power_w >= min_power_kw * 1000)
            and (not available or (c.status in CONNECTOR_FREE and c.evse.station.is_online))
        ]
        priced = [prices[c.pk] for c in matching or all_connectors if prices.get(c.pk) is not None]
        max_power_w = max((c.max_power_w for c in all_connectors), default=None)
        distance = getattr(location, "distance", None)
        summaries.append(
            NetworkLocation(
                location=location,
                distance_m=None if distance is None else round(distance),
                open_now=is_open,
                evses=evses,
                evses_available=sum(evse_is_free(evse) for evse in evses),
                connector_types=sorted({c.standard for c in all_connectors}),
                max_power_kw=None if max_power_w is None else Decimal(max_power_w) / 1000,
                price=min(priced, key=_per_kwh_or_zero, default=None),
                prices=prices,
            )
        )
    return summaries


def _per_kwh_or_zero(price) -> Decimal:
    return price.per_kwh or Decimal(0)


def _within(price, most: Decimal) -> bool:
    return price is not None and _per_kwh_or_zero(price) <= most


# --- opening hours (OCPI Hours) ----------------------------------------------------------------------------------


def _zone(location: Location) -> ZoneInfo:
    try:
        return ZoneInfo(location.timezone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _clock(text) -> time | None:
    """ "HH:MM" as a time; "24:00" as the end of the day (time.max)."""
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        return None
    if text == "24:00":
        return time.max
    try:
        return time.fromisoformat(text)
    except ValueError:
        return None


def _regular_periods(hours: dict) -> list[tuple[int, time, time]]:
    """(weekday 0 = Monday, begin, end) of the well-formed regular hours."""
    periods = []
    for item in hours.get("regular_hours") or []:
        if not isinstance(item, dict):
            continue
        weekday, begin, end = item.get("weekday"), _clock(item.get("period_begin")), _clock(item.get("period_end"))
        if isinstance(weekday, int) and not isinstance(weekday, bool) and 1 <= weekday <= 7 and begin and end:
            periods.append((weekday - 1, begin, end))
    return periods


def _in_exceptions(items, now: datetime, zone: ZoneInfo) -> bool:
    for item in items or []:
        if not isinstance(item, dict):
            continue
        try:
            begin, end = parse_datetime(str(item.get("period_begin"))), parse_datetime(str(item.get("period_end")))
        except ValueError:
            continue
        if begin is None or end is None:
            continue
        begin = begin if timezone.is_aware(begin) else begin.replace(tzinfo=zone)
        end = end if timezone.is_aware(end) else end.replace(tzinfo=zone)
        if begin <= now < end:
            return True
    return False


def location_open_now(location: Location, at: datetime | None = None) -> bool | None:
    """Whether the location is open at `at` by its OCPI opening hours, read in its own timezone: exceptional
    closings, then exceptional openings, then 24/7 or the regular hours. None when it states no hours."""
    hours = location.opening_hours if isinstance(location.opening_hours, dict) else {}
    zone = _zone(location)
    now = (at or timezone.now()).astimezone(zone)
    if _in_exceptions(hours.get("exceptional_closings"), now, zone):
        return False
    if _in_exceptions(hours.get("exceptional_openings"), now, zone):
        return True
    if hours.get("twentyfourseven") is True:
        return True
    periods = _regular_periods(hours)
    if not periods:
        return None if "twentyfourseven" not in hours else False
    clock, today = now.time(), now.weekday()
    yesterday = (today - 1) % 7
    for weekday, begin, end in periods:
        if begin < end:
            if weekday == today and begin <= clock < end:
                return True
        elif (weekday == today and clock >= begin) or (weekday == yesterday and clock < end):
            return True  # a period across midnight
    return False


def opening_times_text(location: Location) -> str:
    """The regular opening hours in a line for people: "Open 24/7", "Mon–Fri 07:00–22:00; Sat 09:00–18:00"."""
    hours = location.opening_hours if isinstance(location.opening_hours, dict) else {}
    if hours.get("twentyfourseven") is True:
        return gettext("Open 24/7")
    periods = _regular_periods(hours)
    if not periods:
        return ""
    by_day: dict[int, list[str]] = {}
    for weekday, begin, end in sorted(periods, key=lambda p: (p[0], p[1])):
        end_text = "24:00" if end == time.max else end.strftime("%H:%M")
        by_day.setdefault(weekday, []).append(f"{begin:%H:%M}–{end_text}")
    groups: list[tuple[int, int, str]] = []  # first day, last day, hours
    for weekday in range(7):
        text = ", ".join(by_day.get(weekday, [])) or gettext("closed")
        if groups and groups[-1][2] == text and groups[-1][1] == weekday - 1:
            groups[-1] = (groups[-1][0], weekday, text)
        else:
            groups.append((weekday, weekday, text))
    parts = []
    for first, last, text in groups:
        days = str(WEEKDAYS_ABBR[first]) if first == last else f"{WEEKDAYS_ABBR[first]}–{WEEKDAYS_ABBR[last]}"
        parts.append(f"{days} {text}")
    return "; ".join(parts)
