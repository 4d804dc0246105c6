"""Every operation as OCPP 1.6 and 2.0.1 would carry it: valid against the official schemas, or refused by name."""

from datetime import UTC, datetime

import pytest

from apps.commands.operations import OPERATIONS
from apps.ocpp.commands import BuildContext, Inexpressible, answer_read, report_variables, request_build
from apps.ocpp.framing import validate_call_payload
from apps.sessions.selectors import LocalListEntry

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
    "update_firmware": [
        {"location": "https://firmware.example.com/ac22-2.4.1.bin"},
        {"location": "https://firmware.example.com/a.bin", "retrieve_at": "2030-01-01T02:00:00Z", "retries": 3},
    ],
    "get_log": [{}, {"since": "2030-01-01T00:00:00Z", "until": "2030-01-02T00:00:00Z", "retries": 2}],
    "send_local_list": [{}, {"update_type": "differential", "id_tokens": ["CARD-1", "GONE-2"]}],
    "get_local_list_version": [{}],
    "reserve_now": [
        {"id_token": "CARD-1", "expires_at": "2099-01-01T10:00:00Z"},
        {"id_token": "CARD-1", "expires_at": "2099-01-01T10:00:00Z", "evse_id": 2, "group_id_token": "FLEET"},
    ],
    "cancel_reservation": [{"reservation_id": 12}],
    "set_charging_profile": [
        {"periods": [{"start_s": 0, "limit": "16"}, {"start_s": 3600, "limit": "7.3", "phases": 1}]},
        {
            "purpose": "station_max",
            "kind": "Absolute",
            "start_at": "2030-01-01T00:00:00Z",
            "unit": "W",
            "periods": [{"start_s": 0, "limit": "11000"}],
            "min_rate": "1380",
            "duration_s": 86400,
        },
        {"purpose": "tx", "transaction_id": "42", "evse_id": 1, "periods": [{"start_s": 0, "limit": "10.5"}]},
    ],
    "clear_charging_profile": [{}, {"profile_id": 3}, {"evse_id": 1, "purpose": "tx_default", "stack_level": 0}],
    "get_composite_schedule": [{}, {"evse_id": 1, "duration_s": 600, "unit": "A"}],
}

CONTEXT = BuildContext(
    command_id=2**31 + 5,
    upload_url="https://alpha.example.com/station-uploads/secret-token",
    list_version=4,
    list_entries=(
        LocalListEntry(uid="CARD-1", expires_at=datetime(2030, 1, 1, tzinfo=UTC), group_uid="FLEET"),
        LocalListEntry(uid="GONE-2", status=None),
    ),
)


def test_every_operation_has_examples():
    assert set(EXAMPLES) == set(OPERATIONS)


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_each_operation_is_a_schema_valid_call_in_every_version_that_has_it(protocol, operation):
    if protocol not in OPERATIONS[operation].protocols:
        with pytest.raises(Inexpressible):
            request_build(protocol, operation, {}, CONTEXT)
        return
    for example in EXAMPLES[operation]:
        params = OPERATIONS[operation].params(data=example)
        assert params.is_valid(), params.errors
        action, payload = request_build(protocol, operation, params.data, CONTEXT)
        validate_call_payload(protocol, action, payload)


def test_what_1_6_cannot_say_is_refused_naming_the_field():
    with pytest.raises(Inexpressible, match="^evse_id: OCPP 1.6 resets the whole station"):
        request_build("ocpp1.6", "reset", {"kind": "soft", "evse_id": 1}, CONTEXT)
    with pytest.raises(Inexpressible, match="^transaction_id: OCPP 1.6 transaction ids are integers"):
        request_build("ocpp1.6", "remote_stop", {"transaction_id": "a-uuid"}, CONTEXT)
    with pytest.raises(Inexpressible, match="^message: OCPP 1.6 cannot trigger transaction_event"):
        request_build("ocpp1.6", "trigger_message", {"message": "transaction_event"}, CONTEXT)


def test_ids_for_the_station_stay_within_its_integer_range():
    _, payload = request_build("ocpp2.0.1", "get_base_report", {"report": "FullInventory"}, CONTEXT)
    assert payload["requestId"] == 6


@pytest.mark.parametrize(("protocol", "field"), [("ocpp1.6", "reservationId"), ("ocpp2.0.1", "id")])
def test_a_reservation_named_again_is_replaced_by_its_id_else_a_new_one_is_made(protocol, field):
    """Both versions: a ReserveNow with the id of a reservation the station holds replaces it."""
    params = {"id_token": "CARD-1", "id_token_type": "ISO14443", "expires_at": "2099-01-01T10:00:00Z", "evse_id": 1}
    _, new = request_build(protocol, "reserve_now", params, CONTEXT)
    _, again = request_build(protocol, "reserve_now", params | {"reservation_id": 77}, CONTEXT)

    assert new[field] == 6 and again[field] == 77


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
