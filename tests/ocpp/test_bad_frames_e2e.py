"""Bad input over a real connection: the protocol's CALLERROR, a log entry, and a connection that carries on."""

import asyncio
import json
import time

import pytest

from apps.stations.models import MessageLogEntry
from tests.ocpp.client import open_station, station_url
from tests.ocpp.server import eventually

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settled")]

PASSWORD = "bad-frames-station-password"
BOOTS = {
    "ocpp1.6": {"chargePointVendor": "Acme", "chargePointModel": "AC-22"},
    "ocpp2.0.1": {"reason": "PowerUp", "chargingStation": {"vendorName": "Acme", "model": "DC-50"}},
}

# (frame, answer's message id, 1.6 code, 2.0.1 code)
BAD_FRAMES = [
    ("{not json", "-1", "FormationViolation", "RpcFrameworkError"),
    ('{"an": "object"}', "-1", "FormationViolation", "RpcFrameworkError"),
    ("[]", "-1", "FormationViolation", "RpcFrameworkError"),
    ('[6, "t-1", "Heartbeat", {}]', "t-1", "FormationViolation", "MessageTypeNotSupported"),
    ('[2, 42, "Heartbeat", {}]', "-1", "FormationViolation", "RpcFrameworkError"),
    ('[2, "p-1", "Heartbeat"]', "p-1", "ProtocolError", "ProtocolError"),
    ('[2, "p-2", "Heartbeat", [1, 2]]', "p-2", "FormationViolation", "FormatViolation"),
    ('[2, "u-1", "MakeCoffee", {}]', "u-1", "NotImplemented", "NotImplemented"),
    ('[2, "r-1", "Reset", {"type": "Hard"}]', "r-1", "NotSupported", "NotSupported"),
    ('[2, "s-1", "StatusNotification", {}]', "s-1", "OccurenceConstraintViolation", "OccurrenceConstraintViolation"),
    ('[2, "h-1", "Heartbeat", {"extra": 1}]', "h-1", "FormationViolation", "FormatViolation"),
]


def _connect(server, identity: str, protocol: str):
    url = station_url(server.port, identity)
    return open_station(url, protocol=protocol, identity=identity, password=PASSWORD)


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
def test_bad_frames_get_the_versions_callerror_and_the_connection_survives(
    protocol, ocpp_server, station_make, in_tenant
):
    station = station_make("CP-BAD", password=PASSWORD)

    async def scenario():
        async with _connect(ocpp_server, "CP-BAD", protocol) as cp:
            await cp.call("BootNotification", BOOTS[protocol])
            answers = [await cp.send_raw(frame) for frame, *_ in BAD_FRAMES]
            # an answer to a CALL the server never sent: logged and ignored, never answered
            await cp.connection.send(json.dumps([3, "never-sent", {"status": "Accepted"}]))
            await cp.connection.send(json.dumps([4, "never-sent-2", "GenericError", "", {}]))
            heartbeat = await cp.call("Heartbeat", {})
            return answers, heartbeat

    answers, heartbeat = asyncio.run(scenario())

    expected = [
        [4, message_id, code_16 if protocol == "ocpp1.6" else code_201]
        for _, message_id, code_16, code_201 in BAD_FRAMES
    ]
    assert [answer[:3] for answer in answers] == expected
    assert all(answer[3] for answer in answers)  # every CALLERROR says what was wrong
    assert "currentTime" in heartbeat
    with in_tenant():
        log = MessageLogEntry.objects.filter(station=station)
        assert log.filter(direction="out", message_type=4).count() == len(BAD_FRAMES)
        unknown = log.get(message_id="never-sent")
        assert (unknown.direction, unknown.message_type) == ("in", 3)
        assert "No CALL with this message id is pending" in unknown.error_description
        assert log.filter(message_id="never-sent-2", message_type=4, direction="in").exists()
        assert log.get(message_id="s-1", direction="in").error_description.startswith("StatusNotification")
    assert "Traceback" not in ocpp_server.log


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
def test_unreadable_timestamp_is_a_type_constraint_violation(protocol, ocpp_server, station_make):
    station_make("CP-TIME", password=PASSWORD)
    payload = (
        {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": "yesterday"}
        if protocol == "ocpp1.6"
        else {"timestamp": "yesterday", "connectorStatus": "Available", "evseId": 1, "connectorId": 1}
    )

    async def scenario():
        async with _connect(ocpp_server, "CP-TIME", protocol) as cp:
            await cp.call("BootNotification", BOOTS[protocol])
            return await cp.call_error("StatusNotification", payload)

    error = asyncio.run(scenario())

    assert error.code == "TypeConstraintViolation"
    assert "yesterday" in error.description


@pytest.mark.parametrize(("protocol", "code"), [("ocpp1.6", "FormationViolation"), ("ocpp2.0.1", "FormatViolation")])
def test_oversized_frame_is_refused_by_the_tenants_limit(protocol, code, ocpp_server, station_make, network_configure):
    network_configure(max_frame_bytes=4096)
    station_make("CP-BIG", password=PASSWORD)
    big = json.dumps([2, "big-1", "DataTransfer", {"vendorId": "Acme", "data": "x" * 5000}])

    async def scenario():
        async with _connect(ocpp_server, "CP-BIG", protocol) as cp:
            await cp.call("BootNotification", BOOTS[protocol])
            answer = await cp.send_raw(big)
            small = await cp.call("DataTransfer", {"vendorId": "Acme", "data": "x" * 100})
            return answer, small

    answer, small = asyncio.run(scenario())

    assert answer[:3] == [4, "big-1", code]
    assert "4096 bytes" in answer[3]
    assert small == {"status": "UnknownVendorId"}


def test_a_flood_is_throttled_with_callerrors_and_logged_later(ocpp_server, station_make, in_tenant):
    station = station_make("CP-FLOOD", password=PASSWORD)
    flood = 1000  # five times the test server's burst of 200

    async def scenario():
        async with _connect(ocpp_server, "CP-FLOOD", "ocpp1.6") as cp:
            await cp.call("BootNotification", BOOTS["ocpp1.6"])
            started = time.monotonic()
            for number in range(flood):  # no waiting for answers: this is what a compliant station never does
                await cp.connection.send(json.dumps([2, f"f-{number}", "Heartbeat", {}]))
            answers = [await cp.receive() for _ in range(flood)]
            elapsed = time.monotonic() - started
            await asyncio.sleep(0.2)  # the bucket refills: a well-paced station is served again
            return answers, elapsed, await cp.call("Heartbeat", {})

    answers, elapsed, after = asyncio.run(scenario())

    refused = [answer for answer in answers if answer[0] == 4]
    assert [answer[1] for answer in answers] == [f"f-{number}" for number in range(flood)]  # in order
    # The bucket lets through its burst plus what refilled while the flood lasted, and not one CALL more.
    served = flood - len(refused)
    assert refused and served <= ocpp_server.rate_limit_burst + ocpp_server.rate_limit_per_s * elapsed + 1
    assert {answer[2] for answer in refused} == {"GenericError"}
    assert "Rate limit" in refused[0][3]
    assert "currentTime" in after
    with in_tenant():
        assert eventually(
            lambda: MessageLogEntry.objects.filter(station=station, error_code="GenericError").count() == len(refused)
        )


def test_pending_station_gets_security_error_for_anything_but_boot(ocpp_server, station_make):
    station_make("CP-WAIT", password=PASSWORD, registration="pending")

    async def scenario():
        async with _connect(ocpp_server, "CP-WAIT", "ocpp2.0.1") as cs:
            before_boot = await cs.call_error("Heartbeat", {})
            boot = await cs.call("BootNotification", BOOTS["ocpp2.0.1"])
            status = await cs.call_error(
                "StatusNotification",
                {"timestamp": "2025-01-01T00:00:00Z", "connectorStatus": "Available", "evseId": 1, "connectorId": 1},
            )
            return before_boot, boot, status

    before_boot, boot, status = asyncio.run(scenario())

    assert before_boot.code == status.code == "SecurityError"
    assert boot["status"] == "Pending"
