"""Unit conversion and register/power extraction, as properties over many generated readings."""

from datetime import UTC, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from apps.sessions.metering import MeterValue, SampledValue, active_power_w, energy_register_wh, normalise

T0 = datetime(2025, 1, 1, tzinfo=UTC)
readings = st.decimals(min_value=0, max_value=10**9, places=3, allow_nan=False, allow_infinity=False)
phases = st.lists(readings, min_size=1, max_size=3)


@given(readings)
def test_kilo_units_are_a_thousand_base_units_exactly(value):
    assert normalise(value, "kWh") == (value * 1000, "Wh")
    assert normalise(value, "kW") == (value * 1000, "W")
    assert normalise(value, "kvarh") == (value * 1000, "varh")
    assert normalise(value, "Wh") == (value, "Wh")
    assert normalise(value, "KWH") == (value * 1000, "Wh")  # stations are not careful about case


@given(readings)
def test_a_register_reads_the_same_in_wh_and_kwh(value):
    in_wh = MeterValue(T0, [SampledValue(value * 1000, unit="Wh")])
    in_kwh = MeterValue(T0, [SampledValue(value, unit="kWh")])

    assert energy_register_wh(in_wh) == energy_register_wh(in_kwh) == value * 1000


@given(phases, st.sampled_from(["W", "kW"]))
def test_power_without_a_total_is_the_sum_of_its_phases(values, unit):
    factor = 1000 if unit == "kW" else 1
    samples = [
        SampledValue(value, measurand="Power.Active.Import", phase=f"L{index}", unit=unit)
        for index, value in enumerate(values, 1)
    ]

    assert active_power_w(MeterValue(T0, samples)) == sum(values) * factor


@given(readings, phases)
def test_a_total_wins_over_phases_and_ev_side_readings_are_ignored(total, values):
    samples = [
        *(SampledValue(value, phase=f"L{index}", unit="Wh") for index, value in enumerate(values, 1)),
        SampledValue(total, unit="Wh"),
        SampledValue(total + 1, unit="Wh", location="EV"),
    ]

    assert energy_register_wh(MeterValue(T0, samples)) == total


def test_temperatures_are_celsius_and_unknown_units_pass_through():
    assert normalise(Decimal("300.15"), "K") == (Decimal("27.00"), "Celsius")
    assert normalise(Decimal(212), "Fahrenheit") == (Decimal(100), "Celsius")
    assert normalise(Decimal(5), "furlong") == (Decimal(5), "furlong")
