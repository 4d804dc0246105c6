"""Every operation as OCPP 1.6 and 2.0.1 would carry it: valid against the official schemas, or refused by name."""

import pytest

from apps.commands.operations import OPERATIONS
from apps.ocpp.commands import Inexpressible, answer_read, report_variables, request_build
from apps.ocpp.framing import validate_call_payload

EXAMPLES = {
    "reset": [{"kind": "soft"}, {"kind": "hard"}],
    "remote_start": [{"id_token": "CARD-1", "id_token_type": "ISO14443"}, {"id_token": "CARD-1", "evse_id": 2}],
    "remote_stop": [{"transaction_id": "42"}],
    "unlock_connector": [{"evse_id": 1}],
    "change_availability": [{"operative": False}, {"operative": True, "evse_id": 2, "connector_id": 1}],
    "trigger_message": [{"message": "heartbeat"}, {"message": "status_notification", "evse_id": 1}],
    "clear_cache": [{}],
    "get_configuration": [{}, {"keys": ["HeartbeatInterval"]}],
    "change_configuration": [{"key": "HeartbeatInterval", "value": "60"}],
    "get_variables": [{"variables": [{"component": "EVSE", "variable": "AvailabilityState", "evse_id": 1}]}],
    "set_variables": [{"variables": [{"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval", "value": "60"}]}],
    "get_base_report": [{"report": "FullInventory"}],
    "data_transfer": [{"vendor_id": "com.example", "message_id": "Hello", "data": "{}"}],
}


def test_every_operation_has_examples():
    assert set(EXAMPLES) == set(OPERATIONS)


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_each_operation_is_a_schema_valid_call_in_every_version_that_has_it(protocol, operation):
    if protocol not in OPERATIONS[operation].protocols:
        with pytest.raises(Inexpressible):
            request_build(protocol, operation, {}, command_id=1)
        return
    for example in EXAMPLES[operation]:
        params = OPERATIONS[operation].params(data=example)
        assert params.is_valid(), params.errors
        action, payload = request_build(protocol, operation, params.data, command_id=2**31 + 5)
        validate_call_payload(protocol, action, payload)


def test_what_1_6_cannot_say_is_refused_naming_the_field():
    with pytest.raises(Inexpressible, match="^evse_id: OCPP 1.6 resets the whole station"):
        request_build("ocpp1.6", "reset", {"kind": "soft", "evse_id": 1}, command_id=1)
    with pytest.raises(Inexpressible, match="^transaction_id: OCPP 1.6 transaction ids are integers"):
        request_build("ocpp1.6", "remote_stop", {"transaction_id": "a-uuid"}, command_id=1)
    with pytest.raises(Inexpressible, match="^message: OCPP 1.6 cannot trigger transaction_event"):
        request_build("ocpp1.6", "trigger_message", {"message": "transaction_event"}, command_id=1)


def test_ids_for_the_station_stay_within_its_integer_range():
    _, payload = request_build("ocpp2.0.1", "get_base_report", {"report": "FullInventory"}, command_id=2**31 + 6)
    assert payload["requestId"] == 7


@pytest.mark.parametrize(
    ("status", "accepted"),
    [("Accepted", True), ("Scheduled", True), ("Unlocked", True), ("RebootRequired", True), ("Rejected", False),
     ("UnlockFailed", False), ("NotSupported", False), ("UnknownVendorId", False)],
)  # fmt: skip
def test_a_status_answer_reads_as_accepted_or_rejected(status, accepted):
    reading = answer_read("ocpp2.0.1", "unlock_connector", {}, {"status": status})
    assert (reading.accepted, reading.answer_status) == (accepted, status)


def test_a_device_model_report_becomes_variables_with_their_mutability():
    variables = report_variables(
        [
            {
                "component": {"name": "EVSE", "evse": {"id": 2}},
                "variable": {"name": "Power"},
                "variableAttribute": [
                    {"type": "Actual", "value": "22000"},
                    {"type": "MaxSet", "value": "22000", "mutability": "ReadOnly"},
                ],
            }
        ]
    )
    assert [(v.component, v.evse_id, v.variable, v.attribute, v.value, v.mutability) for v in variables] == [
        ("EVSE", 2, "Power", "Actual", "22000", "ReadWrite"),
        ("EVSE", 2, "Power", "MaxSet", "22000", "ReadOnly"),
    ]
