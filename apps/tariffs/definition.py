"""A tariff's elements in OCPI 2.2.1 shape, as immutable values: parsed and checked from plain data (a stored tariff,
an admin's JSON, a partner's OCPI object), and dumped back. No database here: the rating engine reads these.

Element order matters: for each dimension, the first element whose restrictions match is the one that applies.
"""

import re
from dataclasses import dataclass, field
from datetime import date, time
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from apps.tariffs.exceptions import TariffInvalidError


class Dimension(StrEnum):
    """OCPI TariffDimensionType: what a price component charges for."""

    ENERGY = "ENERGY"  # per kWh, step_size in Wh
    FLAT = "FLAT"  # once per session
    PARKING_TIME = "PARKING_TIME"  # per hour not charging, step_size in seconds
    TIME = "TIME"  # per hour charging (or reserved), step_size in seconds


class Reservation(StrEnum):
    RESERVATION = "RESERVATION"
    RESERVATION_EXPIRES = "RESERVATION_EXPIRES"


DAYS = ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY")  # index = date.weekday()
RESERVATION_DIMENSIONS = frozenset({Dimension.FLAT, Dimension.TIME})

_TIME = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
_DATE = re.compile(r"^[12][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")
_RANGES = (  # (min field, max field, integer?)
    ("min_kwh", "max_kwh", False),
    ("min_current", "max_current", False),
    ("min_power", "max_power", False),
    ("min_duration", "max_duration", True),
)
_RESTRICTION_FIELDS = frozenset(
    {"start_time", "end_time", "start_date", "end_date", "day_of_week", "reservation"}
    | {name for pair in _RANGES for name in pair[:2]}
)


@dataclass(frozen=True)
class PriceComponent:
    type: Dimension
    price: Decimal  # excl. VAT, per kWh / per hour / per session
    step_size: int  # Wh for ENERGY, seconds for TIME and PARKING_TIME; unused for FLAT
    vat: Decimal | None = None  # percent; None: no VAT applies (not the same as 0 %)

    def with_vat(self, amount: Decimal) -> Decimal:
        return amount if self.vat is None else amount * (1 + self.vat / 100)


@dataclass(frozen=True)
class Restrictions:
    """When an element applies. Times and dates are local to the location; min bounds include, max bounds exclude."""

    start_time: time | None = None
    end_time: time | None = None
    start_date: date | None = None
    end_date: date | None = None  # exclusive
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None  # A, summed over phases
    max_current: Decimal | None = None
    min_power: Decimal | None = None  # kW
    max_power: Decimal | None = None
    min_duration: int | None = None  # seconds since the session started
    max_duration: int | None = None
    day_of_week: tuple[str, ...] = ()
    reservation: Reservation | None = None

    @property
    def weekdays(self) -> frozenset[int]:
        return frozenset(DAYS.index(day) for day in self.day_of_week)

    @property
    def is_empty(self) -> bool:
        return self == Restrictions()


@dataclass(frozen=True)
class TariffElement:
    price_components: tuple[PriceComponent, ...]
    restrictions: Restrictions = field(default_factory=Restrictions)

    def component(self, dimension: Dimension) -> PriceComponent | None:
        return next((c for c in self.price_components if c.type == dimension), None)


def elements_parse(raw) -> tuple[TariffElement, ...]:
    """OCPI `elements` (a list of dicts; numbers as Decimal, int, str or float) to values, or TariffInvalidError
    listing every problem: contradictions, impossible restrictions, elements that can never be used."""
    errors: dict[str, list[str]] = {}

    def error(path: str, message: str) -> None:
        errors.setdefault(path, []).append(message)

    if not isinstance(raw, list) or not raw:
        raise TariffInvalidError({"elements": ["A tariff needs a list of at least one element."]})
    elements = []
    for index, item in enumerate(raw):
        path = f"elements[{index}]"
        if not isinstance(item, dict):
            error(path, "An element is an object with price_components and optional restrictions.")
            continue
        for key in set(item) - {"price_components", "restrictions"}:
            error(path, f"Unknown field {key!r}.")
        components = _components_parse(item.get("price_components"), path, error)
        restrictions = _restrictions_parse(item.get("restrictions"), f"{path}.restrictions", error)
        if restrictions.reservation is not None:
            others = sorted({c.type for c in components} - RESERVATION_DIMENSIONS)
            if others:
                error(path, f"A reservation element has only FLAT and TIME components, not {', '.join(others)}.")
        elements.append(TariffElement(tuple(components), restrictions))
    if not errors:
        _shadowed_check(elements, error)
    if errors:
        raise TariffInvalidError(errors)
    return tuple(elements)


def _components_parse(raw, path: str, error) -> list[PriceComponent]:
    if not isinstance(raw, list) or not raw:
        error(f"{path}.price_components", "An element needs at least one price component.")
        return []
    components, seen = [], set()
    for index, item in enumerate(raw):
        where = f"{path}.price_components[{index}]"
        if not isinstance(item, dict):
            error(where, "A price component is an object with type, price, step_size and optional vat.")
            continue
        for key in set(item) - {"type", "price", "vat", "step_size"}:
            error(where, f"Unknown field {key!r}.")
        try:
            dimension = Dimension(item.get("type"))
        except ValueError:
            error(where, f"type must be one of {', '.join(Dimension)}, not {item.get('type')!r}.")
            continue
        if dimension in seen:
            error(where, f"The element already has a {dimension} component: one per dimension.")
        seen.add(dimension)
        price = number_parse(item.get("price"), f"{where}.price", error, required=True)
        if price is not None and price < 0:
            error(f"{where}.price", "A price cannot be negative.")
        vat = number_parse(item.get("vat"), f"{where}.vat", error)
        if vat is not None and not 0 <= vat <= 100:
            error(f"{where}.vat", "VAT is a percentage from 0 to 100.")
        step_size = item.get("step_size", 1 if dimension == Dimension.FLAT else None)
        if isinstance(step_size, bool) or not isinstance(step_size, int):
            error(f"{where}.step_size", "step_size is a whole number (Wh for ENERGY, seconds for TIME).")
        elif step_size <= 0:
            error(f"{where}.step_size", "step_size must be at least 1.")
        if price is not None and isinstance(step_size, int) and step_size > 0:
            components.append(PriceComponent(dimension, price, step_size, vat))
    return components


def _restrictions_parse(raw, path: str, error) -> Restrictions:
    if raw is None:
        return Restrictions()
    if not isinstance(raw, dict):
        error(path, "restrictions is an object.")
        return Restrictions()
    for key in set(raw) - _RESTRICTION_FIELDS:
        error(path, f"Unknown field {key!r}.")
    values = {}
    for name in ("start_time", "end_time"):
        if raw.get(name) is not None:
            text = raw[name]
            if isinstance(text, str) and _TIME.match(text):
                values[name] = time.fromisoformat(text)
            else:
                error(f"{path}.{name}", "A time of day as HH:MM (24 h, leading zeros), e.g. 07:30.")
    for name in ("start_date", "end_date"):
        if raw.get(name) is not None:
            text = raw[name]
            try:
                if not (isinstance(text, str) and _DATE.match(text)):
                    raise ValueError
                values[name] = date.fromisoformat(text)
            except ValueError:
                error(f"{path}.{name}", "A date as YYYY-MM-DD.")
    for low, high, integer in _RANGES:
        for name in (low, high):
            if raw.get(name) is None:
                continue
            if integer:
                value = raw[name]
                if isinstance(value, bool) or not isinstance(value, int):
                    error(f"{path}.{name}", "A whole number of seconds.")
                    continue
            else:
                value = number_parse(raw[name], f"{path}.{name}", error)
                if value is None:
                    continue
            if value < 0:
                error(f"{path}.{name}", "Cannot be negative.")
            values[name] = value
        if values.get(low) is not None and values.get(high) is not None and values[low] >= values[high]:
            error(
                path,
                f"{low} ({values[low]}) must be below {high} ({values[high]}): "
                f"{low} includes and {high} excludes, so the element could never apply.",
            )
    if "start_time" in values and values.get("start_time") == values.get("end_time"):
        error(path, "start_time equals end_time: the element would apply never or always; leave both out for always.")
    if "start_date" in values and "end_date" in values and values["end_date"] <= values["start_date"]:
        error(path, "end_date (exclusive) must be after start_date: the element could never apply.")
    days = raw.get("day_of_week") or []
    if not isinstance(days, list) or any(day not in DAYS for day in days):
        error(f"{path}.day_of_week", f"A list of {', '.join(DAYS)}.")
    elif len(set(days)) != len(days):
        error(f"{path}.day_of_week", "A day is listed twice.")
    else:
        values["day_of_week"] = tuple(sorted(days, key=DAYS.index))
    if raw.get("reservation") is not None:
        try:
            values["reservation"] = Reservation(raw["reservation"])
        except ValueError:
            error(f"{path}.reservation", f"One of {', '.join(Reservation)}.")
    return Restrictions(**values)


def _shadowed_check(elements: list[TariffElement], error) -> None:
    """An element after an unrestricted one of the same dimension is never reached: refuse it, the operator meant
    something else (the fallback element belongs last)."""
    fallback: dict[tuple[Dimension, Reservation | None], int] = {}
    for index, element in enumerate(elements):
        kind = element.restrictions.reservation
        for component in element.price_components:
            earlier = fallback.get((component.type, kind))
            if earlier is not None:
                error(
                    f"elements[{index}]",
                    f"Its {component.type} component is never used: element {earlier} has {component.type} without "
                    "restrictions and comes first. Put the unrestricted element last.",
                )
        bare = element.restrictions.is_empty or element.restrictions == Restrictions(reservation=kind)
        if bare:
            for component in element.price_components:
                fallback.setdefault((component.type, kind), index)


def number_parse(value, path: str, error, *, required: bool = False) -> Decimal | None:
    if value is None:
        if required:
            error(path, "Required.")
        return None
    if isinstance(value, bool):
        error(path, "A number.")
        return None
    if isinstance(value, float):
        value = repr(value)  # the shortest text that reads back as this float: what the sender wrote
    try:
        number = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        error(path, "A number.")
        return None
    if not number.is_finite():
        error(path, "A finite number.")
        return None
    return number


def elements_dump(elements: tuple[TariffElement, ...]) -> list[dict]:
    """Back to OCPI shape (numbers as Decimal; fields left out when unset), in the same order."""
    return [_element_dump(element) for element in elements]


def _element_dump(element: TariffElement) -> dict:
    components = []
    for component in element.price_components:
        item = {"type": str(component.type), "price": component.price}
        if component.vat is not None:
            item["vat"] = component.vat
        item["step_size"] = component.step_size
        components.append(item)
    out: dict = {"price_components": components}
    restrictions = _restrictions_dump(element.restrictions)
    if restrictions:
        out["restrictions"] = restrictions
    return out


def _restrictions_dump(restrictions: Restrictions) -> dict:
    out: dict = {}
    for name in ("start_time", "end_time"):
        value = getattr(restrictions, name)
        if value is not None:
            out[name] = value.strftime("%H:%M")
    for name in ("start_date", "end_date"):
        value = getattr(restrictions, name)
        if value is not None:
            out[name] = value.isoformat()
    for low, high, _ in _RANGES:
        for name in (low, high):
            value = getattr(restrictions, name)
            if value is not None:
                out[name] = value
    if restrictions.day_of_week:
        out["day_of_week"] = list(restrictions.day_of_week)
    if restrictions.reservation is not None:
        out["reservation"] = str(restrictions.reservation)
    return out
