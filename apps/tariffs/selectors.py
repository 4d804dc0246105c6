"""Reads: tariffs, which tariff applies to a connector (or a session) at a moment for a customer group, and what a
session costs so far."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from apps.groups.models import StationGroup
from apps.sessions.metering import ACTIVE_POWER, DELIVERY_LOCATIONS, ENERGY_REGISTER
from apps.sessions.models import ChargingSession, MeterSample
from apps.stations.models import Connector, Station
from apps.tariffs.models import Tariff, TariffAssignment
from apps.tariffs.rating import MeterReading, Rating, Timeline, rate

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
    groups = StationGroup.objects.filter(
        Q(kind=StationGroup.Kind.CUSTOM, stations=station)
        | Q(kind=StationGroup.Kind.LOCATION, locations=station.location_id)
    ).values("pk")
    scope = Q(station_group__in=groups)
    if connector is not None:
        scope |= Q(connector=connector)
    if station.location_id is not None:
        scope |= Q(location_id=station.location_id)
    audience = Q(customer_group_type=TariffAssignment.CustomerGroupType.ALL)
    if customer_group is not None:
        audience |= Q(customer_group_type=customer_group.type, customer_group_ref=customer_group.ref)
    assignment = (
        TariffAssignment.objects.filter(scope, audience)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=at), Q(valid_until__isnull=True) | Q(valid_until__gt=at))
        .filter(
            Q(tariff__start_date_time__isnull=True) | Q(tariff__start_date_time__lte=at),
            Q(tariff__end_date_time__isnull=True) | Q(tariff__end_date_time__gt=at),
        )
        .annotate(
            audience_rank=Case(
                When(customer_group_type=TariffAssignment.CustomerGroupType.ALL, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
            scope_rank=Case(
                When(connector__isnull=False, then=Value(3)),
                When(station_group__isnull=False, then=Value(2)),
                default=Value(1),
                output_field=IntegerField(),
            ),
        )
        .order_by("-audience_rank", "-scope_rank", "-priority", F("valid_from").desc(nulls_last=True), "-id")
        .select_related("tariff")
        .first()
    )
    return assignment.tariff if assignment else None


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
