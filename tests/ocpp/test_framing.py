"""Every kind of bad frame gets the CALLERROR its protocol version defines; good frames parse."""

import copy
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema.exceptions import best_match
from ocpp.messages import MessageType

from apps.ocpp.framing import (
    KNOWN_ACTIONS,
    OCPP16,
    OCPP201,
    SCHEMA_VERSIONS,
    Call,
    CallError,
    CallResult,
    ErrorKind,
    RpcError,
    TokenBucket,
    _validator,
    call_error_text,
    call_result_text,
    frame_size_exceeds,
    parse_frame,
    validate_call_payload,
)

MiB = 1024 * 1024


def _error(text: str, max_bytes: int = MiB) -> RpcError:
    with pytest.raises(RpcError) as caught:
        parse_frame(text, max_bytes=max_bytes)
    return caught.value


@pytest.mark.parametrize(
    ("text", "code_16", "code_201", "message_id"),
    [
        ("not json", "FormationViolation", "RpcFrameworkError", "-1"),
        ('[2, "1", "Heartbeat", {}', "FormationViolation", "RpcFrameworkError", "-1"),
        ('{"a": 1}', "FormationViolation", "RpcFrameworkError", "-1"),
        ("[]", "FormationViolation", "RpcFrameworkError", "-1"),
        ('"[2]"', "FormationViolation", "RpcFrameworkError", "-1"),
        ('[2, "1", "Heartbeat", {"x": NaN}]', "FormationViolation", "RpcFrameworkError", "-1"),
        ('[7, "m-7", "Heartbeat", {}]', "FormationViolation", "MessageTypeNotSupported", "m-7"),
        ('["2", "m-8", "Heartbeat", {}]', "FormationViolation", "MessageTypeNotSupported", "m-8"),
        ('[true, "m-9", "Heartbeat", {}]', "FormationViolation", "MessageTypeNotSupported", "m-9"),
        ("[9]", "FormationViolation", "MessageTypeNotSupported", "-1"),
        ('[2, 17, "Heartbeat", {}]', "FormationViolation", "RpcFrameworkError", "-1"),
        ('[2, null, "Heartbeat", {}]', "FormationViolation", "RpcFrameworkError", "-1"),
        ("[2]", "FormationViolation", "RpcFrameworkError", "-1"),
        ('[2, "' + "x" * 37 + '", "Heartbeat", {}]', "FormationViolation", "RpcFrameworkError", "x" * 37),
        ('[2, "c-1", "Heartbeat"]', "ProtocolError", "ProtocolError", "c-1"),
        ('[2, "c-2"]', "FormationViolation", "RpcFrameworkError", "c-2"),
        ('[2, "c-3", "Heartbeat", {}, {}]', "FormationViolation", "RpcFrameworkError", "c-3"),
        ('[2, "c-4", 5, {}]', "FormationViolation", "RpcFrameworkError", "c-4"),
        ('[2, "c-5", "Heartbeat", []]', "FormationViolation", "FormatViolation", "c-5"),
        ('[2, "c-6", "Heartbeat", "payload"]', "FormationViolation", "FormatViolation", "c-6"),
        ('[2, "c-7", "Heartbeat", null]', "FormationViolation", "FormatViolation", "c-7"),
    ],
)
def test_bad_frame_gets_the_versions_error_code(text, code_16, code_201, message_id):
    error = _error(text)

    assert error.answer
    assert error.code(OCPP16) == code_16
    assert error.code(OCPP201) == code_201
    assert error.message_id == message_id
    assert error.description


def test_oversized_frame_is_refused_with_its_call_id_when_readable():
    big = json.dumps([2, "big-1", "DataTransfer", {"vendorId": "v", "data": "x" * 5000}])

    error = _error(big, max_bytes=4096)

    assert (error.code(OCPP16), error.code(OCPP201)) == ("FormationViolation", "FormatViolation")
    assert error.message_id == "big-1"
    assert "4096 bytes" in error.description


def test_oversized_frame_without_a_readable_id_is_answered_with_minus_one():
    assert _error("x" * 5000, max_bytes=4096).message_id == "-1"


def test_frame_size_counts_utf8_bytes_not_characters():
    assert not frame_size_exceeds("é" * 10, 20)
    assert frame_size_exceeds("é" * 11, 20)
    assert frame_size_exceeds("a" * 21, 20)
    assert not frame_size_exceeds("a" * 20, 20)


@pytest.mark.parametrize(
    "text",
    ['[3, "r-1"]', '[3, "r-1", []]', '[3, "r-1", {}, {}]', '[4, "r-1", 5, "x", {}]', '[4, "r-1"]'],
)
def test_broken_answers_from_the_station_are_not_answered(text):
    error = _error(text)

    assert not error.answer
    assert error.message_id == "r-1"


def test_good_frames_parse():
    assert parse_frame('[2,"1","Heartbeat",{}]', max_bytes=MiB) == Call("1", "Heartbeat", {})
    assert parse_frame('[3,"2",{"status":"Accepted"}]', max_bytes=MiB) == CallResult("2", {"status": "Accepted"})
    assert parse_frame('[4,"3","NotSupported","no",{"a":1}]', max_bytes=MiB) == CallError(
        "3", "NotSupported", "no", {"a": 1}
    )
    assert parse_frame('[4,"4","GenericError","no"]', max_bytes=MiB) == CallError("4", "GenericError", "no", {})


@pytest.mark.parametrize(
    ("protocol", "action", "payload", "code", "mentions"),
    [
        (OCPP16, "BootNotification", {"chargePointModel": "M"}, "OccurenceConstraintViolation", "chargePointVendor"),
        (OCPP201, "BootNotification", {"reason": "PowerUp"}, "OccurrenceConstraintViolation", "chargingStation"),
        (
            OCPP16,
            "BootNotification",
            {"chargePointVendor": 5, "chargePointModel": "M"},
            "TypeConstraintViolation",
            "chargePointVendor",
        ),
        (
            OCPP16,
            "BootNotification",
            {"chargePointVendor": "V" * 21, "chargePointModel": "M"},
            "TypeConstraintViolation",
            "too long",
        ),
        (
            OCPP16,
            "BootNotification",
            {"chargePointVendor": "V", "chargePointModel": "M", "colour": "red"},
            "FormationViolation",
            "colour",
        ),
        (
            OCPP201,
            "StatusNotification",
            {"timestamp": "2024-01-01T00:00:00Z", "connectorStatus": "Sleeping", "evseId": 1, "connectorId": 1},
            "PropertyConstraintViolation",
            "Sleeping",
        ),
        (
            OCPP16,
            "MeterValues",
            {"connectorId": 1, "meterValue": []},
            "OccurenceConstraintViolation",
            "meterValue",
        ),
        (
            OCPP201,
            "MeterValues",
            {"evseId": 1, "meterValue": [{"timestamp": "2024-01-01T00:00:00Z", "sampledValue": [{"value": "1"}]}]},
            "TypeConstraintViolation",
            "meterValue[0].sampledValue[0].value",
        ),
    ],
)
def test_schema_violations_map_to_the_versions_error_codes(protocol, action, payload, code, mentions):
    with pytest.raises(RpcError) as caught:
        validate_call_payload(protocol, action, payload)

    assert caught.value.code(protocol) == code
    assert mentions in caught.value.description
    assert len(caught.value.description) <= 255


def test_valid_payloads_pass_validation():
    validate_call_payload(OCPP16, "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"})
    validate_call_payload(
        OCPP201,
        "BootNotification",
        {"reason": "PowerUp", "chargingStation": {"model": "M", "vendorName": "V"}},
    )


def test_known_actions_come_from_each_versions_schemas():
    assert {"StartTransaction", "DiagnosticsStatusNotification", "Reset"} <= KNOWN_ACTIONS[OCPP16]
    assert "TransactionEvent" not in KNOWN_ACTIONS[OCPP16]
    assert {"TransactionEvent", "NotifyEvent", "RequestStartTransaction"} <= KNOWN_ACTIONS[OCPP201]
    assert "StartTransaction" not in KNOWN_ACTIONS[OCPP201]


def test_every_error_kind_has_a_code_in_both_versions():
    for kind in ErrorKind:
        assert RpcError(kind, "x").code(OCPP16)
        assert RpcError(kind, "x").code(OCPP201)


def test_answers_are_compact_json():
    assert call_result_text("1", {"currentTime": "2024-01-01T00:00:00Z"}) == (
        '[3,"1",{"currentTime":"2024-01-01T00:00:00Z"}]'
    )
    assert call_error_text("-1", "RpcFrameworkError", "Frame is not valid JSON") == (
        '[4,"-1","RpcFrameworkError","Frame is not valid JSON",{}]'
    )


def test_token_bucket_allows_a_burst_then_the_rate():
    now = [0.0]
    bucket = TokenBucket(rate=2, burst=3, clock=lambda: now[0])

    assert [bucket.take() for _ in range(4)] == [True, True, True, False]
    now[0] += 0.5
    assert [bucket.take(), bucket.take()] == [True, False]
    now[0] += 100
    assert sum(bucket.take() for _ in range(10)) == 3


@pytest.mark.parametrize(("limit", "valid"), [(3.3, True), (0.3, True), (16, True), (3.33, False)])
def test_multiples_of_a_tenth_are_judged_in_decimal_not_binary_floating_point(limit, valid):
    """1.6 limits are multiples of 0.1: 3.3 is one, although 3.3 / 0.1 is 32.999... in floating point."""
    answer = {
        "status": "Accepted",
        "connectorId": 1,
        "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]},
    }
    if valid:
        validate_call_payload("ocpp1.6", "GetCompositeSchedule", answer, MessageType.CallResult)
    else:
        with pytest.raises(RpcError, match="3.33 is not a multiple of 0.1"):
            validate_call_payload("ocpp1.6", "GetCompositeSchedule", answer, MessageType.CallResult)


# --- the fast validator never lets through what the official schema refuses -----------------------------------------

VALID_PAYLOADS = [
    (OCPP16, "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M", "firmwareVersion": "1.0"}),
    (
        OCPP16,
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": 7,
            "meterValue": [
                {
                    "timestamp": "2026-01-01T00:00:00Z",
                    "sampledValue": [
                        {"value": "12.5", "measurand": "Energy.Active.Import.Register", "unit": "kWh"},
                        {"value": "16", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
                    ],
                }
            ],
        },
    ),
    (OCPP16, "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}),
    (OCPP16, "StartTransaction", {"connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": "2026-01-01T00:00Z"}),
    (
        OCPP201,
        "MeterValues",
        {
            "evseId": 1,
            "meterValue": [
                {
                    "timestamp": "2026-01-01T00:00:00Z",
                    "sampledValue": [{"value": 12.5, "measurand": "Energy.Active.Import.Register"}],
                }
            ],
        },
    ),
    (
        OCPP201,
        "TransactionEvent",
        {
            "eventType": "Started",
            "timestamp": "2026-01-01T00:00:00Z",
            "triggerReason": "CablePluggedIn",
            "seqNo": 0,
            "transactionInfo": {"transactionId": "T-1", "chargingState": "EVConnected"},
            "evse": {"id": 1, "connectorId": 1},
            "idToken": {"idToken": "TAG", "type": "ISO14443"},
        },
    ),
    (
        OCPP201,
        "StatusNotification",
        {"timestamp": "2026-01-01T00:00:00Z", "connectorStatus": "Available", "evseId": 1, "connectorId": 1},
    ),
]

ODD_VALUES = st.sampled_from([1.0, 2.5, -1, 0, True, None, "", "x" * 600, "Sleeping", [], {}, {"x": 1}, 10**12])


def _paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _paths(item, (*path, index))


def _mutated(payload, path, change, odd):
    payload = copy.deepcopy(payload)
    if not path:
        return odd
    *parents, last = path
    target = payload
    for key in parents:
        target = target[key]
    if change == "replace":
        target[last] = odd
    elif change == "delete":
        del target[last]
    elif isinstance(target, dict):
        target["unexpectedProperty"] = odd
    return payload


@settings(max_examples=400, deadline=None)
@given(data=st.data(), change=st.sampled_from(["replace", "delete", "add"]), odd=ODD_VALUES)
def test_a_payload_passes_only_if_the_official_schema_accepts_it(data, change, odd):
    protocol, action, valid = data.draw(st.sampled_from(VALID_PAYLOADS))
    path = data.draw(st.sampled_from(list(_paths(valid))))
    payload = _mutated(valid, path, change, odd)
    official = _validator(MessageType.Call, action, SCHEMA_VERSIONS[protocol])
    officially_valid = best_match(official.iter_errors(payload)) is None

    try:
        validate_call_payload(protocol, action, payload)
        passed = True
    except RpcError:
        passed = False

    assert passed == officially_valid
