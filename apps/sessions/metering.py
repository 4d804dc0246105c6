"""Meter readings in neutral form, and their conversion to base units (Wh, W, varh, var, A, V, %, °C).

The edge turns each protocol's meterValue lists into `MeterValue`s; everything after that (storage, energy,
live power) works on these and on `normalise`.
"""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

ENERGY_REGISTER = "Energy.Active.Import.Register"
ACTIVE_POWER = "Power.Active.Import"
# Where an energy register reading means the energy delivered to the vehicle (not the EV's own or the grid's meter).
DELIVERY_LOCATIONS = {"Outlet", "Inlet", "Cable", ""}

# unit → (base unit, factor). Units are the OCPP UnitOfMeasure values; comparisons ignore case because stations
# send "kwh" and "KWh" as well.
_UNITS = {
    "wh": ("Wh", Decimal(1)),
    "kwh": ("Wh", Decimal(1000)),
    "mwh": ("Wh", Decimal(1_000_000)),
    "w": ("W", Decimal(1)),
    "kw": ("W", Decimal(1000)),
    "mw": ("W", Decimal(1_000_000)),
    "varh": ("varh", Decimal(1)),
    "kvarh": ("varh", Decimal(1000)),
    "var": ("var", Decimal(1)),
    "kvar": ("var", Decimal(1000)),
    "va": ("VA", Decimal(1)),
    "kva": ("VA", Decimal(1000)),
    "a": ("A", Decimal(1)),
    "v": ("V", Decimal(1)),
    "percent": ("Percent", Decimal(1)),
    "celsius": ("Celsius", Decimal(1)),
    "hz": ("Hz", Decimal(1)),
    "k": ("Celsius", None),
    "fahrenheit": ("Celsius", None),
}


@dataclass(frozen=True)
class SampledValue:
    value: Decimal
    measurand: str = ENERGY_REGISTER
    phase: str = ""
    unit: str = "Wh"
    context: str = "Sample.Periodic"
    location: str = "Outlet"
    signed_data: str = ""


@dataclass(frozen=True)
class MeterValue:
    timestamp: datetime
    sampled_values: list[SampledValue] = field(default_factory=list)


def normalise(value: Decimal, unit: str) -> tuple[Decimal, str]:
    """`value` in `unit` as (value, base unit). Unknown units are passed through unchanged."""
    known = _UNITS.get(unit.lower())
    if known is None:
        return value, unit
    base, factor = known
    if factor is not None:
        return value * factor, base
    if unit.lower() == "k":
        return value - Decimal("273.15"), base
    return (value - 32) * 5 / 9, base


def _total(meter_value: MeterValue, measurand: str, base_unit: str) -> Decimal | None:
    """A measurand of a reading in `base_unit`: the value without phase, else the sum of the per-phase values."""
    total = None
    phases = []
    for sample in meter_value.sampled_values:
        if sample.measurand != measurand or sample.location not in DELIVERY_LOCATIONS:
            continue
        value, unit = normalise(sample.value, sample.unit)
        if unit != base_unit:
            continue
        if sample.phase in ("", "N"):
            total = value
        else:
            phases.append(value)
    if total is not None:
        return total
    return sum(phases) if phases else None


def energy_register_wh(meter_value: MeterValue) -> Decimal | None:
    """The delivered-energy register of a reading in Wh, or None when the reading has none."""
    return _total(meter_value, ENERGY_REGISTER, "Wh")


def active_power_w(meter_value: MeterValue) -> Decimal | None:
    """The power being delivered at the time of a reading in W, or None."""
    return _total(meter_value, ACTIVE_POWER, "W")
