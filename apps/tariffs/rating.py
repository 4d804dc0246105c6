"""The rating engine: what a session costs under a tariff, computed as OCPI 2.2.1 defines it. Pure Python and Decimal,
no database: `session_cost_running` in selectors.py builds the timeline from stored meter samples.

How it works (docs/tariffs.md has a worked example):
1. The session is cut into slices in which nothing a restriction looks at changes: between meter readings, and at
   local times of day and midnights (DST transitions included), at duration limits, and where the energy crosses a
   kWh limit (interpolated between readings).
2. In each slice, for each dimension, the first element whose restrictions match prices its volume (energy,
   charging time, parking time); FLAT is charged once, by the first element that has one and matches.
3. Per dimension, the total volume is rounded up once to the step_size of the last element that priced it, the
   extra volume priced at that element's price. When that last TIME element also prices PARKING_TIME, the extra
   charging time covers parking that follows the charging (OCPI's step_size example #1): it is not billed twice.
4. Platform extensions: the first `parking_grace_seconds` of parking are free, the parking fee is capped.
5. min_price and max_price bound the total, excl. and incl. VAT separately.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apps.tariffs.currencies import minor_units
from apps.tariffs.definition import Dimension, PriceComponent, Reservation, Restrictions, TariffElement
from apps.tariffs.exceptions import CurrencyMismatchError

ZERO = Decimal(0)
HOUR = Decimal(3600)


@dataclass(frozen=True)
class Money:
    """An amount in one currency; adding or comparing two currencies raises CurrencyMismatchError."""

    currency: str
    amount: Decimal

    def _same(self, other: Money) -> None:
        if not isinstance(other, Money) or other.currency != self.currency:
            raise CurrencyMismatchError(f"{self.currency} and {getattr(other, 'currency', other)!r}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.currency, self.amount + other.amount)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.currency, self.amount - other.amount)

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def rounded(self) -> Money:
        return Money(self.currency, round_amount(self.amount, self.currency))

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}"


def round_amount(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-minor_units(currency)), rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Price:
    """OCPI Price: excl. VAT, and incl. VAT when known."""

    excl_vat: Decimal
    incl_vat: Decimal | None = None


@dataclass(frozen=True)
class TariffTerms:
    """What the engine needs of a tariff."""

    id: str
    currency: str
    elements: tuple[TariffElement, ...]
    min_price: Price | None = None
    max_price: Price | None = None
    parking_grace_seconds: int = 0  # platform extension: parking not billed at first
    parking_fee_cap: Decimal | None = None  # platform extension: most the parking fee costs, excl. VAT


@dataclass(frozen=True)
class MeterReading:
    """What the meter said at `at`. `charging` None: worked out from power (> 0 W) or a rising register."""

    at: datetime
    energy_wh: Decimal | None = None  # the cumulative register
    power_w: Decimal | None = None
    current_a: Decimal | None = None  # summed over phases
    charging: bool | None = None


@dataclass(frozen=True)
class ReservationPeriod:
    """A reservation from `reserved_at` until the session started, or until it expired (`expired`: no session)."""

    reserved_at: datetime
    ended_at: datetime
    expired: bool = False


@dataclass(frozen=True)
class Timeline:
    start: datetime | None
    end: datetime | None
    readings: tuple[MeterReading, ...] = ()
    reservation: ReservationPeriod | None = None


@dataclass(frozen=True)
class DimensionCost:
    dimension: str  # ENERGY, TIME, PARKING_TIME, FLAT or RESERVATION (its time and fee)
    volume: Decimal  # billed: kWh, hours, or 1 for a fee
    excl_vat: Money
    incl_vat: Money


@dataclass
class Rating:
    tariff_id: str
    currency: str
    costs: dict[str, DimensionCost]
    total_excl_vat: Money
    total_incl_vat: Money
    price_limit_excl_vat: Money  # what min_price/max_price added (+) or took off (-)
    price_limit_incl_vat: Money
    total_energy_kwh: Decimal
    total_time_hours: Decimal
    total_parking_time_hours: Decimal
    charging_periods: list[dict]
    review_reasons: list[str] = field(default_factory=list)

    @property
    def needs_review(self) -> bool:
        return bool(self.review_reasons)

    def as_dict(self) -> dict:
        return {
            "tariff_id": self.tariff_id,
            "currency": self.currency,
            "costs": {
                name: {"volume": cost.volume, "excl_vat": cost.excl_vat.amount, "incl_vat": cost.incl_vat.amount}
                for name, cost in self.costs.items()
            },
            "total_cost": {"excl_vat": self.total_excl_vat.amount, "incl_vat": self.total_incl_vat.amount},
            "total_energy": self.total_energy_kwh,
            "total_time": self.total_time_hours,
            "total_parking_time": self.total_parking_time_hours,
            "charging_periods": self.charging_periods,
            "needs_review": self.needs_review,
            "review_reasons": self.review_reasons,
        }


# --- slicing -------------------------------------------------------------------------------------------------------

SESSION, RESERVED, RESERVATION_EXPIRED = "session", "reserved", "reservation_expired"


@dataclass
class _Slice:
    start: datetime
    end: datetime
    phase: str
    charging: bool = False
    energy_at_start_wh: Decimal = ZERO  # since the session started
    energy_wh: Decimal = ZERO
    power_w: Decimal | None = None
    current_a: Decimal | None = None
    # Filled in while pricing: dimension -> (element index, volume in Wh or seconds).
    priced: dict = field(default_factory=dict)

    @property
    def seconds(self) -> Decimal:
        return seconds_between(self.start, self.end)


def seconds_between(start: datetime, end: datetime) -> Decimal:
    delta = end - start
    return Decimal(delta.days * 86400 + delta.seconds) + Decimal(delta.microseconds) / 1_000_000


def _after(start: datetime, seconds: Decimal) -> datetime:
    return start + timedelta(microseconds=int((seconds * 1_000_000).to_integral_value()))


def _wall_clock_instants(elements, zone: ZoneInfo, start: datetime, end: datetime) -> set[datetime]:
    """Every instant in (start, end) at which a time or date restriction may change its answer: the local times of
    day the elements name and each local midnight (both folds of an ambiguous hour), and each UTC offset change."""
    if start >= end:
        return set()
    times = {time(0, 0)}
    for element in elements:
        times.update(t for t in (element.restrictions.start_time, element.restrictions.end_time) if t is not None)
    instants = set()
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        for wall in times:
            for fold in (0, 1):
                instants.add(datetime.combine(day, wall, tzinfo=zone).replace(fold=fold).astimezone(UTC))
        midnight = datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)
        next_midnight = midnight + timedelta(days=1, hours=1)
        if midnight.astimezone(zone).utcoffset() != next_midnight.astimezone(zone).utcoffset():
            instants.add(_offset_change(zone, midnight, next_midnight))
        day += timedelta(days=1)
    return {instant for instant in instants if start < instant < end}


def _offset_change(zone: ZoneInfo, low: datetime, high: datetime) -> datetime:
    """The first instant in (low, high] with high's UTC offset (one change in between), to the second."""
    target = high.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        middle = middle.replace(microsecond=0)
        if middle <= low:
            break
        if middle.astimezone(zone).utcoffset() == target:
            high = middle
        else:
            low = middle
    return high


def _session_slices(
    tariff: TariffTerms, timeline: Timeline, zone: ZoneInfo, review: list[str]
) -> tuple[list[_Slice], datetime | None, datetime | None]:
    readings = sorted((r for r in timeline.readings if r.at is not None), key=lambda r: r.at)
    start = timeline.start or (readings[0].at if readings else None)
    end = timeline.end or (readings[-1].at if readings else None)
    if start is None or end is None:
        return [], start, end
    if end < start:
        review.append(f"The session ends ({end.isoformat()}) before it starts ({start.isoformat()}).")
        end = start
    outside = [r for r in readings if not start <= r.at <= end]
    if outside:
        review.append(f"{len(outside)} meter reading(s) outside the session were ignored.")
        readings = [r for r in readings if start <= r.at <= end]
    if not any(r.energy_wh is not None for r in readings):
        review.append("No energy register readings: energy is not billed.")

    # Piecewise-constant intervals between readings; the state of each is that of the reading opening it.
    points = [start] + [r.at for r in readings] + [end]
    by_time: dict[datetime, MeterReading] = {}
    for reading in readings:
        by_time[reading.at] = _merge(by_time.get(reading.at), reading)
    first = readings[0] if readings else MeterReading(at=start)
    register = [r for r in readings if r.energy_wh is not None]
    backwards = False
    cuts = _wall_clock_instants(tariff.elements, zone, start, end)
    for element in tariff.elements:
        for limit in (element.restrictions.min_duration, element.restrictions.max_duration):
            if limit is not None:
                cuts.add(start + timedelta(seconds=limit))
    kwh_limits = sorted(
        {
            limit * 1000
            for element in tariff.elements
            for limit in (element.restrictions.min_kwh, element.restrictions.max_kwh)
            if limit is not None
        }
    )

    slices: list[_Slice] = []
    energy_so_far = ZERO
    previous_charging = True
    unique_points = sorted(set(points))
    for a, b in zip(unique_points, unique_points[1:], strict=False):
        state = by_time.get(a) or _state_before(readings, a) or first
        energy = _register_delta(register, a, b)
        if energy is not None and energy < 0:
            backwards = True
            energy = ZERO
        energy = energy or ZERO
        seconds = seconds_between(a, b)
        power = state.power_w
        if power is None and seconds > 0 and any(r.energy_wh is not None for r in register):
            power = energy * HOUR / seconds
        if state.charging is not None:
            charging = state.charging
        elif state.power_w is not None:
            charging = state.power_w > 0
        elif register:
            charging = energy > 0 or (seconds == 0 and previous_charging)
        else:
            charging = True  # nothing says otherwise: bill as charging time, flagged above
        previous_charging = charging

        # Split at cuts and where the energy crosses a kWh limit (linear between readings).
        splits = {c: None for c in cuts if a < c < b}
        for limit in kwh_limits:
            if energy > 0 and energy_so_far < limit < energy_so_far + energy:
                fraction = (limit - energy_so_far) / energy
                at = _after(a, seconds * fraction)
                if a < at < b:
                    splits[at] = limit - energy_so_far
        edges = [a, *sorted(splits), b]
        done = ZERO
        for s, e in zip(edges, edges[1:], strict=False):
            if e == b:
                part = energy - done
            elif splits[e] is not None:
                part = splits[e] - done
            else:
                part = energy * seconds_between(a, e) / seconds - done if seconds else ZERO
            part = max(part, ZERO)
            slices.append(
                _Slice(
                    start=s,
                    end=e,
                    phase=SESSION,
                    charging=charging,
                    energy_at_start_wh=energy_so_far + done,
                    energy_wh=part,
                    power_w=power,
                    current_a=state.current_a,
                )
            )
            done += part
        energy_so_far += energy
    if backwards:
        review.append("The energy register went backwards (meter reset or replacement): that drop was not billed.")
    return slices, start, end


def _merge(earlier: MeterReading | None, reading: MeterReading) -> MeterReading:
    if earlier is None:
        return reading
    return MeterReading(
        at=reading.at,
        energy_wh=reading.energy_wh if reading.energy_wh is not None else earlier.energy_wh,
        power_w=reading.power_w if reading.power_w is not None else earlier.power_w,
        current_a=reading.current_a if reading.current_a is not None else earlier.current_a,
        charging=reading.charging if reading.charging is not None else earlier.charging,
    )


def _state_before(readings: list[MeterReading], at: datetime) -> MeterReading | None:
    before = [r for r in readings if r.at <= at]
    return before[-1] if before else None


def _register_delta(register: list[MeterReading], a: datetime, b: datetime) -> Decimal | None:
    """Energy between two instants from the register, linear between its readings; flat outside them."""
    if not register:
        return None
    return _register_at(register, b) - _register_at(register, a)


def _register_at(register: list[MeterReading], at: datetime) -> Decimal:
    if at <= register[0].at:
        return register[0].energy_wh
    for low, high in zip(register, register[1:], strict=False):
        if low.at <= at <= high.at:
            span = seconds_between(low.at, high.at)
            if span == 0 or at == high.at:
                return high.energy_wh
            return low.energy_wh + (high.energy_wh - low.energy_wh) * seconds_between(low.at, at) / span
    return register[-1].energy_wh


def _reservation_slices(tariff: TariffTerms, reservation: ReservationPeriod | None, zone: ZoneInfo) -> list[_Slice]:
    if reservation is None or reservation.ended_at <= reservation.reserved_at:
        return []
    phase = RESERVATION_EXPIRED if reservation.expired else RESERVED
    start, end = reservation.reserved_at, reservation.ended_at
    cuts = _wall_clock_instants(tariff.elements, zone, start, end)
    for element in tariff.elements:
        for limit in (element.restrictions.min_duration, element.restrictions.max_duration):
            if limit is not None and start < start + timedelta(seconds=limit) < end:
                cuts.add(start + timedelta(seconds=limit))
    edges = [start, *sorted(cuts), end]
    return [_Slice(start=s, end=e, phase=phase) for s, e in zip(edges, edges[1:], strict=False)]


# --- matching --------------------------------------------------------------------------------------------------------


def _matches(restrictions: Restrictions, piece: _Slice, origin: datetime, zone: ZoneInfo, unknown: set[str]) -> bool:
    """Whether an element applies throughout the slice (its state is constant: it was cut where that changes)."""
    r = restrictions
    local = piece.start.astimezone(zone)
    now = local.time()
    if r.start_time is not None and r.end_time is not None:
        if r.start_time < r.end_time:
            if not r.start_time <= now < r.end_time:
                return False
        elif r.end_time <= now < r.start_time:  # crosses midnight
            return False
    elif r.start_time is not None and now < r.start_time:
        return False
    elif r.end_time is not None and now >= r.end_time:
        return False
    if r.start_date is not None and local.date() < r.start_date:
        return False
    if r.end_date is not None and local.date() >= r.end_date:
        return False
    if r.day_of_week and local.weekday() not in r.weekdays:
        return False
    duration = seconds_between(origin, piece.start)
    if r.min_duration is not None and duration < r.min_duration:
        return False
    if r.max_duration is not None and duration >= r.max_duration:
        return False
    kwh = piece.energy_at_start_wh / 1000
    if r.min_kwh is not None and kwh < r.min_kwh:
        return False
    if r.max_kwh is not None and kwh >= r.max_kwh:
        return False
    for low, high, value, name in (
        (r.min_power, r.max_power, None if piece.power_w is None else piece.power_w / 1000, "power"),
        (r.min_current, r.max_current, piece.current_a, "current"),
    ):
        if low is None and high is None:
            continue
        if value is None:
            unknown.add(name)
            return False
        if low is not None and value < low:
            return False
        if high is not None and value >= high:
            return False
    return True


def _candidates(elements, phase: str) -> list[tuple[int, TariffElement]]:
    indexed = list(enumerate(elements))
    if phase == SESSION:
        return [(i, e) for i, e in indexed if e.restrictions.reservation is None]
    reserved = [(i, e) for i, e in indexed if e.restrictions.reservation == Reservation.RESERVATION]
    if phase == RESERVED:
        return reserved
    # An expired reservation is priced by RESERVATION_EXPIRES elements first, RESERVATION ones otherwise.
    expires = [(i, e) for i, e in indexed if e.restrictions.reservation == Reservation.RESERVATION_EXPIRES]
    return expires + reserved


def _first_match(candidates, dimension, piece, origin, zone, unknown) -> int | None:
    for index, element in candidates:
        if element.component(dimension) is not None and _matches(element.restrictions, piece, origin, zone, unknown):
            return index
    return None


# --- pricing ---------------------------------------------------------------------------------------------------------


def rate(tariff: TariffTerms, timeline: Timeline, *, time_zone: str = "UTC") -> Rating:
    """The cost of `timeline` under `tariff`, restrictions read in `time_zone` (the location's). Never raises on
    poor meter data: the rating then lists `review_reasons`."""
    review: list[str] = []
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        review.append(f"Unknown time zone {time_zone!r}: restrictions were read in UTC.")
        zone = ZoneInfo("UTC")
    session, start, _ = _session_slices(tariff, timeline, zone, review)
    if start is not None and not session:
        session = [_Slice(start=start, end=start, phase=SESSION)]  # an empty session still pays its FLAT fee
    reserved = _reservation_slices(tariff, timeline.reservation, zone)
    unknown: set[str] = set()
    fees: dict[str, int] = {}  # "FLAT" / "RESERVATION_FLAT" -> element index

    for pieces, origin in ((reserved, reserved[0].start if reserved else None), (session, start)):
        for piece in pieces:
            candidates = _candidates(tariff.elements, piece.phase)
            if piece.phase == SESSION:
                time_dimension = Dimension.TIME if piece.charging else Dimension.PARKING_TIME
                wanted = [(Dimension.ENERGY, piece.energy_wh), (time_dimension, piece.seconds)]
                fee_key = "FLAT"
            else:
                wanted = [(Dimension.TIME, piece.seconds)]
                fee_key = "RESERVATION_FLAT"
            for dimension, volume in wanted:
                index = _first_match(candidates, dimension, piece, origin, zone, unknown)
                if index is not None:
                    key = "RESERVATION_TIME" if piece.phase != SESSION else str(dimension)
                    piece.priced[key] = (index, volume)
            if fee_key not in fees:
                index = _first_match(candidates, Dimension.FLAT, piece, origin, zone, unknown)
                if index is not None:
                    fees[fee_key] = index
    for name in sorted(unknown):
        review.append(f"Some elements restrict the {name}, which the meter data does not give: they were skipped.")

    _apply_parking_grace(session, tariff.parking_grace_seconds)
    volumes, last = _volumes(reserved + session)
    _round_steps(tariff, volumes, last, session)

    currency = tariff.currency
    costs: dict[str, DimensionCost] = {}
    for key, per_element in volumes.items():
        if key == "RESERVATION_TIME":
            continue
        costs[key] = _dimension_cost(tariff, key, per_element, currency)
    if "PARKING_TIME" in costs and tariff.parking_fee_cap is not None:
        costs["PARKING_TIME"] = _capped(costs["PARKING_TIME"], tariff.parking_fee_cap)
    if "FLAT" in fees:
        costs["FLAT"] = _fee_cost(tariff, "FLAT", fees["FLAT"], currency)
    reservation_parts = []
    if "RESERVATION_TIME" in volumes:
        reservation_parts.append(_dimension_cost(tariff, "RESERVATION_TIME", volumes["RESERVATION_TIME"], currency))
    if "RESERVATION_FLAT" in fees:
        reservation_parts.append(_fee_cost(tariff, "RESERVATION_FLAT", fees["RESERVATION_FLAT"], currency))
    if reservation_parts:
        costs["RESERVATION"] = DimensionCost(
            "RESERVATION",
            sum((p.volume for p in reservation_parts if p.dimension == "RESERVATION_TIME"), ZERO),
            sum((p.excl_vat for p in reservation_parts[1:]), reservation_parts[0].excl_vat),
            sum((p.incl_vat for p in reservation_parts[1:]), reservation_parts[0].incl_vat),
        )
    order = ["FLAT", "ENERGY", "TIME", "PARKING_TIME", "RESERVATION"]
    costs = {name: costs[name] for name in order if name in costs}

    # Lines are rounded for display, the total is the rounded sum of the exact lines (as OCPI's examples count).
    nothing = Money(currency, ZERO)
    excl = sum((c.excl_vat for c in costs.values()), nothing).rounded()
    incl = sum((c.incl_vat for c in costs.values()), nothing).rounded()
    costs = {
        name: DimensionCost(name, c.volume, c.excl_vat.rounded(), c.incl_vat.rounded()) for name, c in costs.items()
    }
    limited_excl, limited_incl = excl, incl
    if session or start is not None:
        limited_excl = _bounded(excl, tariff.min_price, tariff.max_price, "excl_vat")
        limited_incl = _bounded(incl, tariff.min_price, tariff.max_price, "incl_vat")

    return Rating(
        tariff_id=tariff.id,
        currency=currency,
        costs=costs,
        total_excl_vat=limited_excl,
        total_incl_vat=limited_incl,
        price_limit_excl_vat=limited_excl - excl,
        price_limit_incl_vat=limited_incl - incl,
        total_energy_kwh=_kwh(sum((p.energy_wh for p in session), ZERO)),
        total_time_hours=_hours(sum((p.seconds for p in session if p.charging), ZERO)),
        total_parking_time_hours=_hours(sum((p.seconds for p in session if not p.charging), ZERO)),
        charging_periods=_charging_periods(tariff, reserved, session, fees),
        review_reasons=review,
    )


def _apply_parking_grace(session: list[_Slice], grace_seconds: int) -> None:
    """The first `grace_seconds` of parking in the session are not billed (platform extension)."""
    left = Decimal(grace_seconds)
    for piece in session:
        if left <= 0:
            return
        if "PARKING_TIME" in piece.priced:
            index, volume = piece.priced["PARKING_TIME"]
            free = min(left, volume)
            piece.priced["PARKING_TIME"] = (index, volume - free)
            left -= free
        elif not piece.charging:
            left -= min(left, piece.seconds)  # unpriced parking uses up the grace too


def _volumes(pieces: list[_Slice]) -> tuple[dict[str, dict[int, Decimal]], dict[str, int]]:
    """dimension -> element index -> volume (Wh or seconds); and dimension -> the element that priced it last."""
    volumes: dict[str, dict[int, Decimal]] = {}
    last: dict[str, int] = {}
    for piece in pieces:
        for key, (index, volume) in piece.priced.items():
            if volume <= 0:
                continue
            per_element = volumes.setdefault(key, {})
            per_element[index] = per_element.get(index, ZERO) + volume
            last[key] = index
    return volumes, last


def _round_steps(tariff: TariffTerms, volumes: dict, last: dict[str, int], session: list[_Slice]) -> None:
    """Round each dimension's total up once, to the step_size of the last element that priced it; the extra goes
    to that element. Extra charging time covers the parking after the charging when that element prices both."""
    for key in ("ENERGY", "TIME", "RESERVATION_TIME", "PARKING_TIME"):
        if key not in volumes:
            continue
        element = tariff.elements[last[key]]
        component = element.component(Dimension.TIME if key == "RESERVATION_TIME" else Dimension(key))
        total = sum(volumes[key].values(), ZERO)
        step = Decimal(component.step_size)
        rounded = (total / step).to_integral_value(rounding=ROUND_CEILING) * step
        extra = rounded - total
        volumes[key][last[key]] += extra
        if key == "TIME" and extra > 0 and element.component(Dimension.PARKING_TIME) is not None:
            _parking_absorb(volumes, session, extra)


def _parking_absorb(volumes: dict, session: list[_Slice], extra: Decimal) -> None:
    charging = [i for i, piece in enumerate(session) if piece.charging]
    if not charging or "PARKING_TIME" not in volumes:
        return
    for piece in session[charging[-1] + 1 :]:
        if extra <= 0:
            break
        if "PARKING_TIME" in piece.priced:
            index, volume = piece.priced["PARKING_TIME"]
            covered = min(extra, volume)
            volumes["PARKING_TIME"][index] -= covered
            extra -= covered
    if sum(volumes["PARKING_TIME"].values(), ZERO) <= 0:
        del volumes["PARKING_TIME"]


def _dimension_cost(tariff: TariffTerms, key: str, per_element: dict[int, Decimal], currency: str) -> DimensionCost:
    dimension = Dimension.TIME if key == "RESERVATION_TIME" else Dimension(key)
    divisor = Decimal(1000) if dimension == Dimension.ENERGY else HOUR
    excl = incl = ZERO
    for index, volume in per_element.items():
        component = tariff.elements[index].component(dimension)
        amount = volume * component.price / divisor
        excl += amount
        incl += component.with_vat(amount)
    volume = sum(per_element.values(), ZERO)
    billed = _kwh(volume) if dimension == Dimension.ENERGY else _hours(volume)
    return DimensionCost(key, billed, Money(currency, excl), Money(currency, incl))


def _fee_cost(tariff: TariffTerms, key: str, index: int, currency: str) -> DimensionCost:
    component = tariff.elements[index].component(Dimension.FLAT)
    return DimensionCost(
        key,
        Decimal(1),
        Money(currency, component.price),
        Money(currency, component.with_vat(component.price)),
    )


def _capped(cost: DimensionCost, cap: Decimal) -> DimensionCost:
    if cost.excl_vat.amount <= cap:
        return cost
    ratio = cap / cost.excl_vat.amount
    incl = Money(cost.incl_vat.currency, cost.incl_vat.amount * ratio)
    return DimensionCost(cost.dimension, cost.volume, Money(cost.excl_vat.currency, cap), incl)


def _bounded(total: Money, low: Price | None, high: Price | None, side: str) -> Money:
    def bound(price: Price | None) -> Decimal | None:
        if price is None:
            return None
        return getattr(price, side)

    amount = total.amount
    if (minimum := bound(low)) is not None and amount < minimum:
        amount = minimum
    if (maximum := bound(high)) is not None and amount > maximum:
        amount = maximum
    return Money(total.currency, amount).rounded()


def _kwh(wh: Decimal) -> Decimal:
    return (wh / 1000).quantize(Decimal("0.0001")).normalize() + 0


def _hours(seconds: Decimal) -> Decimal:
    return (seconds / HOUR).quantize(Decimal("0.000001")).normalize() + 0


# --- charging periods ------------------------------------------------------------------------------------------------


def _charging_periods(tariff: TariffTerms, reserved: list[_Slice], session: list[_Slice], fees: dict) -> list[dict]:
    """OCPI ChargingPeriods (measured volumes): a new period whenever the charging state or an applying element
    changes."""
    periods: list[dict] = []
    groups: list[tuple[tuple, list[_Slice]]] = []
    for piece in reserved + session:
        key = (piece.phase, piece.charging, tuple(sorted((k, v[0]) for k, v in piece.priced.items())))
        if groups and groups[-1][0] == key and groups[-1][1][-1].end == piece.start:
            groups[-1][1].append(piece)
        else:
            groups.append((key, [piece]))
    flat_done = reservation_flat_done = False
    for (phase, charging, _), pieces in groups:
        seconds = sum((p.seconds for p in pieces), ZERO)
        dimensions = []
        if phase != SESSION:
            if not reservation_flat_done and "RESERVATION_FLAT" in fees:
                dimensions.append({"type": "FLAT", "volume": Decimal(1)})
                reservation_flat_done = True
            dimensions.append({"type": "RESERVATION_TIME", "volume": _hours(seconds)})
        else:
            if not flat_done and "FLAT" in fees:
                dimensions.append({"type": "FLAT", "volume": Decimal(1)})
                flat_done = True
            energy = sum((p.energy_wh for p in pieces), ZERO)
            if energy > 0:
                dimensions.append({"type": "ENERGY", "volume": _kwh(energy)})
            dimensions.append({"type": "TIME" if charging else "PARKING_TIME", "volume": _hours(seconds)})
            powers = [p.power_w for p in pieces if p.power_w is not None]
            if powers and charging:
                dimensions.append({"type": "MAX_POWER", "volume": _kw(max(powers))})
                dimensions.append({"type": "MIN_POWER", "volume": _kw(min(powers))})
            currents = [p.current_a for p in pieces if p.current_a is not None]
            if currents and charging:
                dimensions.append({"type": "MAX_CURRENT", "volume": max(currents)})
                dimensions.append({"type": "MIN_CURRENT", "volume": min(currents)})
        periods.append({"start_date_time": pieces[0].start, "dimensions": dimensions, "tariff_id": tariff.id})
    return periods


def _kw(watts: Decimal) -> Decimal:
    return (watts / 1000).quantize(Decimal("0.001")).normalize() + 0


def components_at_start(
    tariff: TariffTerms, at: datetime, *, time_zone: str = "UTC"
) -> dict[Dimension, PriceComponent]:
    """The price component of each dimension that would price a session starting at `at`, as the engine matches
    them at the first instant (nothing delivered yet, power and current unknown): what a driver is told up front."""
    try:
        zone = ZoneInfo(time_zone or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    piece = _Slice(start=at, end=at, phase=SESSION)
    candidates = _candidates(tariff.elements, SESSION)
    found = {}
    for dimension in Dimension:
        index = _first_match(candidates, dimension, piece, at, zone, set())
        if index is not None:
            found[dimension] = tariff.elements[index].component(dimension)
    return found
