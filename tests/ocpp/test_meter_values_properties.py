"""Meter-value parsing of both versions, as properties: what a station sends is what the domain gets."""

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from apps.ocpp.v16.meter_values import meter_values_from_payload as v16_parse
from apps.ocpp.v201.meter_values import meter_values_from_payload as v201_parse
from apps.sessions.metering import energy_register_wh, normalise

TIMESTAMP = "2025-01-01T00:00:00Z"
# At most 15 significant digits: every such decimal survives a JSON number (a float) unchanged.
values = st.decimals(min_value=0, max_value=10**8, places=4, allow_nan=False, allow_infinity=False)
measurands = st.sampled_from(
    ["Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage", "SoC", "Temperature"]
)
phases = st.sampled_from(["", "L1", "L2", "L3", "N", "L1-N", "L1-L2"])
locations = st.sampled_from(["Outlet", "Inlet", "Body", "Cable", "EV"])
contexts = st.sampled_from(["Sample.Periodic", "Sample.Clock", "Transaction.Begin", "Transaction.End", "Trigger"])


@given(values, measurands, phases, locations, contexts)
def test_v16_keeps_every_attribute_and_the_exact_digits(value, measurand, phase, location, context):
    sample = {"value": str(value), "measurand": measurand, "location": location, "context": context}
    if phase:
        sample["phase"] = phase

    [meter_value] = v16_parse([{"timestamp": TIMESTAMP, "sampledValue": [sample]}], station_id=1, field="meterValue")

    [parsed] = meter_value.sampled_values
    assert (parsed.value, parsed.measurand, parsed.phase) == (value, measurand, phase)
    assert (parsed.location, parsed.context) == (location, context)


@given(values, st.integers(min_value=-3, max_value=3))
def test_v201_applies_the_multiplier_as_a_power_of_ten(value, multiplier):
    sample = {"value": float(value), "unitOfMeasure": {"unit": "Wh", "multiplier": multiplier}}

    [meter_value] = v201_parse([{"timestamp": TIMESTAMP, "sampledValue": [sample]}], station_id=1)

    assert meter_value.sampled_values[0].value == value.scaleb(multiplier)


@given(values, st.sampled_from(["Wh", "kWh"]))
def test_both_versions_read_the_same_register_from_the_same_reading(value, unit):
    v16 = v16_parse(
        [{"timestamp": TIMESTAMP, "sampledValue": [{"value": str(value), "unit": unit}]}],
        station_id=1,
        field="meterValue",
    )
    v201 = v201_parse(
        [{"timestamp": TIMESTAMP, "sampledValue": [{"value": float(value), "unitOfMeasure": {"unit": unit}}]}],
        station_id=1,
    )

    expected, _ = normalise(value, unit)
    assert energy_register_wh(v16[0]) == energy_register_wh(v201[0]) == expected
    assert isinstance(expected, Decimal)
