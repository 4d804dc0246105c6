"""Building session timelines for the rating engine tests: a start and a list of segments, each with its duration,
the energy charged in it and what the meter said about power and current."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from apps.tariffs.definition import elements_parse
from apps.tariffs.rating import MeterReading, Price, TariffTerms, Timeline


@dataclass(frozen=True)
class Segment:
    minutes: Decimal | int | str
    kwh: Decimal | int | str = 0
    charging: bool = True
    power_kw: Decimal | int | str | None = None
    current_a: Decimal | int | str | None = None


def charge(minutes, kwh=0, **kwargs) -> Segment:
    return Segment(minutes, kwh, True, **kwargs)


def park(minutes) -> Segment:
    return Segment(minutes, 0, False)


def session(start: datetime, *segments: Segment, reservation=None) -> Timeline:
    """Readings at each segment's start (the register, its power and current, charging or not), and one at the end."""
    readings, at, energy_wh = [], start, Decimal(0)
    for segment in segments:
        power = None if segment.power_kw is None else Decimal(str(segment.power_kw)) * 1000
        current = None if segment.current_a is None else Decimal(str(segment.current_a))
        readings.append(MeterReading(at, energy_wh, power, current, segment.charging))
        at += timedelta(seconds=int(Decimal(str(segment.minutes)) * 60))
        energy_wh += Decimal(str(segment.kwh)) * 1000
    readings.append(MeterReading(at, energy_wh, None, None, segments[-1].charging if segments else False))
    return Timeline(start=start, end=at, readings=tuple(readings), reservation=reservation)


def terms(ocpi: dict, **extra) -> TariffTerms:
    """The engine's view of an OCPI tariff object."""

    def price(raw):
        if raw is None:
            return None
        incl = raw.get("incl_vat")
        return Price(Decimal(str(raw["excl_vat"])), None if incl is None else Decimal(str(incl)))

    return TariffTerms(
        id=ocpi.get("id", "T1"),
        currency=ocpi.get("currency", "EUR"),
        elements=elements_parse(ocpi["elements"]),
        min_price=price(ocpi.get("min_price")),
        max_price=price(ocpi.get("max_price")),
        **extra,
    )
