"""The version adapters' translations, without a connection: values, units, id-token answers, faults."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from types import SimpleNamespace

import pytest

from apps.ocpp.datatypes import default_unit, format_timestamp, parse_decimal, parse_timestamp
from apps.ocpp.events import notify_event_fault
from apps.ocpp.framing import RpcError
from apps.ocpp.v16.handlers import evse_and_connector, id_tag_info
from apps.ocpp.v16.meter_values import meter_values_from_payload as v16_meter_values
from apps.ocpp.v201.handlers import id_token_info
from apps.ocpp.v201.meter_values import meter_values_from_payload as v201_meter_values

NOON = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def test_timestamps_are_read_into_utc():
    assert parse_timestamp("2025-06-01T12:00:00Z", "t") == NOON
    assert parse_timestamp("2025-06-01T14:00:00+02:00", "t") == NOON
    assert parse_timestamp("2025-06-01T12:00:00.250Z", "t") == NOON + timedelta(milliseconds=250)
    assert parse_timestamp("2025-06-01T12:00:00", "t") == NOON  # no zone: UTC, as OCPP requires anyway
    with pytest.raises(RpcError) as caught:
        parse_timestamp("01/06/2025", "meterValue[0].timestamp")
    assert caught.value.code("ocpp2.0.1") == "TypeConstraintViolation"
    assert "meterValue[0].timestamp" in caught.value.description


def test_timestamps_are_answered_in_utc_with_z():
    assert format_timestamp(NOON) == "2025-06-01T12:00:00.000Z"
    assert format_timestamp(datetime(2025, 6, 1, 14, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))) == (
        "2025-06-01T12:00:00.123Z"
    )


def test_decimals_keep_the_digits_that_were_sent():
    assert parse_decimal(0.1, "v") == Decimal("0.1")
    assert parse_decimal("12.345", "v") == Decimal("12.345")
    assert parse_decimal(7, "v") == Decimal(7)
    for bad in ("", "abc", "NaN", True):
        with pytest.raises(RpcError):
            parse_decimal(bad, "v")


def test_a_missing_unit_is_the_measurands_base_unit():
    assert default_unit("Energy.Active.Import.Register") == "Wh"
    assert default_unit("Energy.Reactive.Export.Interval") == "varh"
    assert default_unit("Power.Active.Import") == "W"
    assert default_unit("Power.Reactive.Import") == "var"
    assert default_unit("Current.Import") == "A"
    assert default_unit("SoC") == "Percent"
    assert default_unit("Frequency") == ""


def test_v16_meter_values_keep_every_attribute_and_leave_out_unreadable_values():
    items = [
        {
            "timestamp": "2025-06-01T12:00:00Z",
            "sampledValue": [
                {"value": "12.5", "unit": "kWh", "context": "Sample.Clock", "location": "Inlet", "phase": "L1"},
                {"value": "3600", "measurand": "Power.Active.Import"},
                {"value": "abc"},
                {"value": "3045022100ab", "format": "SignedData"},
            ],
        },
        {"timestamp": "not a time", "sampledValue": [{"value": "1"}]},
    ]

    [meter_value] = v16_meter_values(items, station_id=1, field="meterValue")

    assert meter_value.timestamp == NOON
    first, second = meter_value.sampled_values
    assert (first.value, first.unit, first.measurand, first.context, first.location, first.phase) == (
        Decimal("12.5"),
        "kWh",
        "Energy.Active.Import.Register",
        "Sample.Clock",
        "Inlet",
        "L1",
    )
    assert (second.value, second.unit, second.context, second.location) == (
        Decimal(3600),
        "W",
        "Sample.Periodic",
        "Outlet",
    )


def test_v201_meter_values_apply_the_multiplier_and_keep_signed_data():
    items = [
        {
            "timestamp": "2025-06-01T12:00:00Z",
            "sampledValue": [
                {"value": 1.5, "unitOfMeasure": {"unit": "kWh", "multiplier": 1}},
                {"value": 22, "measurand": "Power.Active.Import", "unitOfMeasure": {"multiplier": 3}},
                {"value": 0.1, "measurand": "Current.Import", "phase": "L2"},
                {
                    "value": 10,
                    "signedMeterValue": {
                        "signedMeterData": "c2lnbmVk",
                        "signingMethod": "ECDSA",
                        "encodingMethod": "OCMF",
                        "publicKey": "a2V5",
                    },
                },
            ],
        }
    ]

    [meter_value] = v201_meter_values(items, station_id=1)

    energy, power, current, signed = meter_value.sampled_values
    assert (energy.value, energy.unit) == (Decimal(15), "kWh")
    assert (power.value, power.unit) == (Decimal(22000), "W")
    assert (current.value, current.unit, current.phase) == (Decimal("0.1"), "A", "L2")
    assert signed.signed_data == "c2lnbmVk"


def _authorization(status: str, expires_at=None, group_uid: str = ""):
    return SimpleNamespace(status=status, expires_at=expires_at, group_uid=group_uid)


def test_v16_knows_no_unknown_status():
    assert id_tag_info(_authorization("Unknown")) == {"status": "Invalid"}
    assert id_tag_info(_authorization("Accepted", NOON, "GROUP-1")) == {
        "status": "Accepted",
        "expiryDate": "2025-06-01T12:00:00.000Z",
        "parentIdTag": "GROUP-1",
    }
    assert id_tag_info(_authorization("ConcurrentTx")) == {"status": "ConcurrentTx"}


def test_v201_answers_unknown_and_the_group_token():
    assert id_token_info(_authorization("Unknown")) == {"status": "Unknown"}
    assert id_token_info(_authorization("Blocked", NOON, "FLEET-7")) == {
        "status": "Blocked",
        "cacheExpiryDateTime": "2025-06-01T12:00:00.000Z",
        "groupIdToken": {"idToken": "FLEET-7", "type": "Central"},
    }


def test_v16_connector_zero_is_the_station():
    assert evse_and_connector(0) == (0, 0)
    assert evse_and_connector(2) == (2, 1)


def _event(component: dict, variable: str, value: str, **extra) -> dict:
    return {
        "eventId": 1,
        "timestamp": "2025-06-01T12:00:00Z",
        "trigger": "Alerting",
        "actualValue": value,
        "eventNotificationType": "HardWiredNotification",
        "component": component,
        "variable": {"name": variable},
        **extra,
    }


def test_a_tripped_rcd_opens_a_critical_ground_fault_and_its_reset_closes_it():
    rcd = {"name": "RCD", "evse": {"id": 1, "connectorId": 2}}

    opened = notify_event_fault(_event(rcd, "Tripped", "true", techCode="RCD-30mA"))
    closed = notify_event_fault(_event(rcd, "Tripped", "false"))

    assert (opened.fault_class, opened.severity, opened.code, opened.cleared) == (
        "ground_fault",
        "critical",
        "RCD.Tripped",
        False,
    )
    assert (opened.evse_id, opened.connector_id, opened.description) == (1, 2, "RCD-30mA")
    assert closed.cleared and closed.code == opened.code


def test_faulted_availability_and_problem_flags_are_faults_other_variables_are_not():
    connector = {"name": "Connector", "evse": {"id": 2, "connectorId": 1}}
    sensor = {"name": "TemperatureSensor", "instance": "Cable"}

    faulted = notify_event_fault(_event(connector, "AvailabilityState", "Faulted"))
    available = notify_event_fault(_event(connector, "AvailabilityState", "Available"))
    hot = notify_event_fault(_event(sensor, "Problem", "true"))
    cleared = notify_event_fault(_event(sensor, "Problem", "true", cleared=True))
    reading = notify_event_fault(_event(sensor, "Temperature", "41.5"))
    mystery = notify_event_fault(_event({"name": "VendorWidget"}, "Problem", "true"))

    assert (faulted.fault_class, faulted.cleared, faulted.evse_id) == ("connector", False, 2)
    assert available.cleared
    assert (hot.fault_class, hot.code) == ("over_temperature", "TemperatureSensor[Cable].Problem")
    assert cleared.cleared
    assert reading is None
    assert (mystery.fault_class, mystery.severity) == ("other", "error")
