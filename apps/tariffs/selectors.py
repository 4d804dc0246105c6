"""Reads: tariffs, which tariff applies to a connector (or a session) at a moment for a customer group, and what a
session costs so far, and the price a driver is told before starting."""

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import partial

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from apps.groups.models import StationGroup
from apps.sessions.metering import ACTIVE_POWER, DELIVERY_LOCATIONS, ENERGY_REGISTER
from apps.sessions.models import ChargingSession, MeterSample
from apps.stations.models import Connector, Station
from apps.tariffs.currencies import minor_units, money_display
from apps.tariffs.definition import Dimension, PriceComponent
from apps.tariffs.models import Tariff, TariffAssignment
from apps.tariffs.rating import MeterReading, Rating, Timeline, components_at_start, rate, round_amount

CURRENT_IMPORT = "Current.Import"
_BASE_UNITS = {ENERGY_REGISTER: "Wh", ACTIVE_POWER: "W", CURRENT_IMPORT: "A"}
_UNITS = {  # what a stored unit may be for its value_normalised to be in the base unit
    ENERGY_REGISTER: {"", "wh", "kwh", "mwh"},
    ACTIVE_POWER: {"", "w", "kw", "mw"},
    CURRENT_IMPORT: {"", "a"},
}


@dataclass(frozen=True)
class CustomerGroup:
    """Who is charging, as far as tariffs care: a plan, fleet or roaming partner, by reference."""

    type: str  # TariffAssignment.CustomerGroupType, not ALL
    ref: str


def tariff_list(*, code: str | None = None, currency: str | None = None, type: str | None = None) -> QuerySet[Tariff]:
    tariffs = Tariff.objects.all()
    if code is not None:
        tariffs = tariffs.filter(code=code)
    if currency is not None:
        tariffs = tariffs.filter(currency=currency.upper())
    if type is not None:
        tariffs = tariffs.filter(type=type)
    return tariffs


def tariff_get(*, code: str) -> Tariff | None:
    return Tariff.objects.filter(code=code).first()


def tariff_assignment_list(
    *,
    tariff_id: int | None = None,
    location_id: int | None = None,
    station_group_id: int | None = None,
    station_id: int | None = None,
    evse_id: int | None = None,
    connector_id: int | None = None,
    customer_group_type: str | None = None,
    customer_group_ref: str | None = None,
    active_at: datetime | None = None,
) -> QuerySet[TariffAssignment]:
    """Assignments as stored (not which one wins: `tariff_for_station`). `station_id`, `evse_id`, `connector_id`
    (the station's own numbering) narrow to connector assignments; `active_at`: valid at that instant
    (valid_from <= active_at < valid_until), whatever the tariff's own validity."""
    assignments = TariffAssignment.objects.select_related(
        "tariff", "location", "station_group", "connector__evse__station"
    )
    if tariff_id is not None:
        assignments = assignments.filter(tariff_id=tariff_id)
    if location_id is not None:
        assignments = assignments.filter(location_id=location_id)
    if station_group_id is not None:
        assignments = assignments.filter(station_group_id=station_group_id)
    if station_id is not None:
        assignments = assignments.filter(connector__evse__station_id=station_id)
    if evse_id is not None:
        assignments = assignments.filter(connector__evse__evse_id=evse_id)
    if connector_id is not None:
        assignments = assignments.filter(connector__connector_id=connector_id)
    if customer_group_type is not None:
        assignments = assignments.filter(customer_group_type=customer_group_type)
    if customer_group_ref is not None:
        assignments = assignments.filter(customer_group_ref=customer_group_ref)
    if active_at is not None:
        assignments = assignments.filter(
            Q(valid_from__isnull=True) | Q(valid_from__lte=active_at),
            Q(valid_until__isnull=True) | Q(valid_until__gt=active_at),
        )
    return assignments


def tariff_for_connector(
    connector: Connector, *, at: datetime, customer_group: CustomerGroup | None = None
) -> Tariff | None:
    return tariff_for_station(connector.evse.station, connector=connector, at=at, customer_group=customer_group)


def tariff_for_station(
    station: Station,
    *,
    connector: Connector | None = None,
    at: datetime,
    customer_group: CustomerGroup | None = None,
) -> Tariff | None:
    """The tariff of the most specific assignment valid at `at` whose tariff is valid then too: one for the customer
    group beats one for all customers; then connector beats station group beats location; then the higher
    priority, the later valid_from, the newer assignment. None when nothing applies."""
    return tariffs_for_places([(station, connector)], at=at, customer_group=customer_group)[0]


def tariffs_for_places(
    places: list[tuple[Station, Connector | None]], *, at: datetime, customer_group: CustomerGroup | None = None
) -> list[Tariff | None]:
    """`tariff_for_station` for many (station, connector) places at once, in two queries whatever their number:
    the station groups of the stations, then every assignment that could apply, ranked per place in Python."""
    if not places:
        return []
    station_ids = {station.pk for station, _ in places}
    location_ids = {station.location_id for station, _ in places if station.location_id is not None}
    groups_of_station: dict[int, set[int]] = {pk: set() for pk in station_ids}
    memberships = StationGroup.objects.filter(
        Q(kind=StationGroup.Kind.CUSTOM, stations__in=station_ids)
        | Q(kind=StationGroup.Kind.LOCATION, locations__in=location_ids)
    ).values_list("pk", "kind", "stations", "locations")
    by_location: dict[int, set[int]] = {}
    for group_id, kind, station_id, location_id in memberships:
        if kind == StationGroup.Kind.CUSTOM and station_id in station_ids:
            groups_of_station[station_id].add(group_id)
        if kind == StationGroup.Kind.LOCATION and location_id in location_ids:
            by_location.setdefault(location_id, set()).add(group_id)
    for station, _ in places:
        groups_of_station[station.pk] |= by_location.get(station.location_id, set())
    group_ids = set().union(*groups_of_station.values())
    connector_ids = {connector.pk for _, connector in places if connector is not None}

    audience = Q(customer_group_type=TariffAssignment.CustomerGroupType.ALL)
    if customer_group is not None:
        audience |= Q(customer_group_type=customer_group.type, customer_group_ref=customer_group.ref)
    assignments = list(
        TariffAssignment.objects.filter(
            Q(station_group__in=group_ids) | Q(connector__in=connector_ids) | Q(location__in=location_ids), audience
        )
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=at), Q(valid_until__isnull=True) | Q(valid_until__gt=at))
        .filter(
            Q(tariff__start_date_time__isnull=True) | Q(tariff__start_date_time__lte=at),
            Q(tariff__end_date_time__isnull=True) | Q(tariff__end_date_time__gt=at),
        )
        .select_related("tariff")
    )
    assignments.sort(key=_assignment_rank, reverse=True)

    tariffs = []
    for station, connector in places:
        groups = groups_of_station[station.pk]
        best = next(
            (
                assignment
                for assignment in assignments
                if (connector is not None and assignment.connector_id == connector.pk)
                or (assignment.station_group_id is not None and assignment.station_group_id in groups)
                or (assignment.location_id is not None and assignment.location_id == station.location_id)
            ),
            None,
        )
        tariffs.append(best.tariff if best else None)
    return tariffs


def _assignment_rank(assignment: TariffAssignment) -> tuple:
    """Higher wins: a customer group's over all customers', connector over station group over location, then
    priority, the later valid_from (none is earliest), the newer assignment."""
    audience = 0 if assignment.customer_group_type == TariffAssignment.CustomerGroupType.ALL else 1
    scope = 3 if assignment.connector_id else 2 if assignment.station_group_id else 1
    valid_from = assignment.valid_from.timestamp() if assignment.valid_from else float("-inf")
    return (audience, scope, assignment.priority, valid_from, assignment.pk)


def session_connector(session: ChargingSession) -> Connector | None:
    """The connector a session used, when the station reported enough to tell."""
    connectors = Connector.objects.filter(evse__station_id=session.station_id)
    if session.evse_id is not None:
        connectors = connectors.filter(evse__evse_id=session.evse_id)
    if session.connector_id is not None:
        connectors = connectors.filter(connector_id=session.connector_id)
    found = list(connectors.select_related("evse")[:2])
    return found[0] if len(found) == 1 else None


def tariff_for_session(session: ChargingSession, *, customer_group: CustomerGroup | None = None) -> Tariff | None:
    """The tariff valid when the session started (a tariff changing mid-session does not apply to it)."""
    return tariff_for_station(
        session.station,
        connector=session_connector(session),
        at=session.started_at or session.created_at,
        customer_group=customer_group,
    )


def session_timeline(session: ChargingSession, *, until: datetime | None = None) -> tuple[Timeline, list[str]]:
    """The session's meter readings for rating (registers, power, current summed over phases), and the problems
    found in them. Ends at the stop, or at `until` (now) for a running session."""
    problems: list[str] = []
    start = session.started_at or session.created_at
    end = session.stopped_at or until or timezone.now()
    rows = (
        MeterSample.objects.filter(session=session, measurand__in=list(_BASE_UNITS))
        .order_by("sampled_at", "id")
        .values_list("sampled_at", "measurand", "phase", "location", "unit", "value_normalised")
    )
    by_time: dict[datetime, dict[str, dict]] = {}
    skipped = 0
    for sampled_at, measurand, phase, location, unit, value in rows:
        if location not in DELIVERY_LOCATIONS:
            continue
        if (unit or "").lower() not in _UNITS[measurand] or value is None:
            skipped += 1
            continue
        if measurand == ENERGY_REGISTER and value < 0:
            skipped += 1
            continue
        slot = by_time.setdefault(sampled_at, {}).setdefault(measurand, {"total": None, "phases": Decimal(0)})
        if phase in ("", "N"):
            slot["total"] = value
        else:
            slot["phases"] += value
    if skipped:
        problems.append(f"{skipped} meter sample(s) with an unexpected unit or value were ignored.")
    readings = []
    if session.meter_start_wh is not None and start not in by_time:
        readings.append(MeterReading(at=start, energy_wh=session.meter_start_wh))
    for sampled_at, values in sorted(by_time.items()):

        def value(measurand: str, values=values) -> Decimal | None:
            slot = values.get(measurand)
            if slot is None:
                return None
            return slot["total"] if slot["total"] is not None else slot["phases"]

        power = value(ACTIVE_POWER)
        readings.append(
            MeterReading(
                at=sampled_at,
                energy_wh=value(ENERGY_REGISTER),
                power_w=power,
                current_a=value(CURRENT_IMPORT),
                charging=None if power is None else power > 0,
            )
        )
    if session.stopped_at and session.meter_stop_wh is not None and session.stopped_at not in by_time:
        readings.append(MeterReading(at=session.stopped_at, energy_wh=session.meter_stop_wh))
    return Timeline(start=start, end=max(end, start), readings=tuple(readings)), problems


def session_cost_running(
    session: ChargingSession, *, at: datetime | None = None, customer_group: CustomerGroup | None = None
) -> Rating | None:
    """What the session costs so far (or in total, once stopped) under its tariff: for the 2.0.1
    TransactionEventResponse totalCost and the live views. None when no tariff applies. Missing or garbled meter
    data never raises: the rating `needs_review`, with the reasons."""
    tariff = tariff_for_session(session, customer_group=customer_group)
    if tariff is None:
        return None
    timeline, problems = session_timeline(session, until=at)
    location = session.station.location
    rating = rate(tariff.terms(), timeline, time_zone=location.timezone if location else "UTC")
    if location is None:
        problems.append("The station has no location: restrictions were read in UTC.")
    if session.register_anomaly:
        problems.append("The station reported a register anomaly for this session.")
    rating.review_reasons[:0] = problems
    return rating


# --- the price a driver is told before starting -----------------------------------------------------------------


@dataclass(frozen=True)
class Price:
    """What charging at a connector costs a driver without a plan, incl. VAT, as the app states it up front.
    Amounts are None where the tariff has no such component (or prices it at zero)."""

    currency: str
    tariff_code: str
    per_kwh: Decimal | None
    per_minute: Decimal | None
    per_session: Decimal | None
    idle_per_minute: Decimal | None
    idle_grace_minutes: int | None
    vat_percent: Decimal | None
    minimum: Decimal | None
    varies_by_time: bool
    varies_in_session: bool

    @property
    def summary(self) -> str:
        money = partial(money_display, code=self.currency)
        parts = []
        if self.per_kwh is not None:
            parts.append(gettext("%(amount)s per kWh") % {"amount": money(self.per_kwh)})
        if self.per_minute is not None:
            parts.append(gettext("%(amount)s per minute") % {"amount": money(self.per_minute)})
        if self.idle_per_minute is not None:
            if self.idle_grace_minutes:
                parts.append(
                    gettext("%(amount)s per minute after %(minutes)s min idle")
                    % {"amount": money(self.idle_per_minute), "minutes": self.idle_grace_minutes}
                )
            else:
                parts.append(gettext("%(amount)s per minute idle") % {"amount": money(self.idle_per_minute)})
        if self.per_session is not None:
            parts.append(gettext("%(amount)s per session") % {"amount": money(self.per_session)})
        if self.minimum is not None:
            parts.append(gettext("minimum %(amount)s") % {"amount": money(self.minimum)})
        sentence = ", ".join(parts) if parts else gettext("Free")
        sentence = sentence[:1].upper() + sentence[1:]
        if self.varies_by_time:
            sentence = gettext("%(price)s now; prices vary by time") % {"price": sentence}
        elif self.varies_in_session:
            sentence = gettext("%(price)s at the start; prices vary during the session") % {"price": sentence}
        return sentence + "."

    def as_dict(self) -> dict:
        def text(amount: Decimal | None) -> str | None:
            return None if amount is None else _decimal_text(amount, self.currency)

        return {
            "currency": self.currency,
            "tariff_code": self.tariff_code,
            "per_kwh": text(self.per_kwh),
            "per_minute": text(self.per_minute),
            "per_session": text(self.per_session),
            "idle_per_minute": text(self.idle_per_minute),
            "idle_grace_minutes": self.idle_grace_minutes,
            "vat_percent": None if self.vat_percent is None else format(self.vat_percent.normalize(), "f"),
            "includes_vat": True,
            "summary": self.summary,
        }


PRICE_PLACES = Decimal("0.0001")


def _decimal_text(amount: Decimal, currency: str) -> str:
    """At least the currency's minor units, up to four places: "0.39", "0.0525"."""
    amount = amount.quantize(PRICE_PLACES, rounding=ROUND_HALF_UP)
    places = max(minor_units(currency), -amount.normalize().as_tuple().exponent)
    return f"{amount:.{places}f}"


def _incl_vat(component: PriceComponent | None, per: Decimal = Decimal(1)) -> Decimal | None:
    if component is None or component.price == 0:
        return None
    return (component.with_vat(component.price) / per).quantize(PRICE_PLACES, rounding=ROUND_HALF_UP)


def _flat_incl_vat(component: PriceComponent | None, currency: str) -> Decimal | None:
    # A fee is charged as one amount, rounded to the currency like every line of a bill.
    amount = _incl_vat(component)
    return None if amount is None else round_amount(amount, currency)


TIME_RESTRICTIONS = ("start_time", "end_time", "start_date", "end_date", "day_of_week")
USE_RESTRICTIONS = ("min_kwh", "max_kwh", "min_current", "max_current", "min_power", "max_power")
USE_RESTRICTIONS += ("min_duration", "max_duration")


def price_of(connector: Connector, *, at: datetime | None = None, tariff: Tariff | None = None) -> Price | None:
    """The price a driver without a plan pays at `connector` for a session starting now (or `at`), from the tariff
    that applies there (`tariff_for_connector`; pass `tariff` when already resolved). None when no tariff applies.
    Restrictions are read in the location's timezone; a tariff whose price depends on the time says so."""
    at = at or timezone.now()
    if tariff is None:
        tariff = tariff_for_connector(connector, at=at)
    if tariff is None:
        return None
    terms = tariff.terms()
    location = connector.evse.station.location
    components = components_at_start(terms, at, time_zone=location.timezone if location else "UTC")
    session_elements = [element for element in terms.elements if element.restrictions.reservation is None]
    vat = next(
        (
            c.vat
            for c in (components.get(d) for d in (Dimension.ENERGY, Dimension.TIME, Dimension.FLAT))
            if c is not None and c.vat is not None
        ),
        None,
    )
    idle = _incl_vat(components.get(Dimension.PARKING_TIME), per=Decimal(60))
    minimum = None
    if terms.min_price is not None:
        minimum = terms.min_price.incl_vat
        if minimum is None and vat is not None:
            minimum = terms.min_price.excl_vat * (1 + vat / 100)
        minimum = minimum.quantize(PRICE_PLACES) if minimum else None
    return Price(
        currency=terms.currency,
        tariff_code=terms.id,
        per_kwh=_incl_vat(components.get(Dimension.ENERGY)),
        per_minute=_incl_vat(components.get(Dimension.TIME), per=Decimal(60)),
        per_session=_flat_incl_vat(components.get(Dimension.FLAT), terms.currency),
        idle_per_minute=idle,
        idle_grace_minutes=tariff.parking_grace_minutes if idle is not None else None,
        vat_percent=vat,
        minimum=minimum,
        varies_by_time=any(
            getattr(element.restrictions, name) for element in session_elements for name in TIME_RESTRICTIONS
        ),
        varies_in_session=any(
            getattr(element.restrictions, name) is not None for element in session_elements for name in USE_RESTRICTIONS
        ),
    )


def prices_of(connectors: list[Connector], *, at: datetime | None = None) -> dict[int, Price | None]:
    """`price_of` for many connectors (with their EVSE, station and location loaded), by connector pk, in the
    queries of one tariff resolution."""
    at = at or timezone.now()
    tariffs = tariffs_for_places([(c.evse.station, c) for c in connectors], at=at)
    return {
        c.pk: price_of(c, at=at, tariff=t) if t is not None else None for c, t in zip(connectors, tariffs, strict=True)
    }
