"""Remote operations end to end: this process sends commands through Redis to the daphne that holds the station's
connection; a raw station answers as it likes (accepts, rejects, errs, breaks the schema, says nothing)."""

import asyncio
import json

import pytest

from apps.commands.models import Command
from apps.commands.services import command_send
from apps.stations.models import MessageLogEntry, Station, StationVariable
from tests.ocpp.client import open_station, station_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settled", "same_channel_layer")]

PASSWORD = "a-station-password-of-some-length"
BOOT = {
    "ocpp1.6": ("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "AC-22"}),
    "ocpp2.0.1": ("BootNotification", {"chargingStation": {"vendorName": "Acme", "model": "AC"}, "reason": "PowerUp"}),
}


@pytest.fixture
def command(in_tenant):
    """`await command(identity, operation, params, ...)`: command_send in a thread, as a web request would."""

    def send(identity, operation, params=None, **fields):
        with in_tenant():
            station = Station.objects.get(identity=identity)
            return command_send(station=station, operation=operation, params=params, source="cli", **fields)

    async def run(identity, operation, params=None, **fields):
        return await asyncio.to_thread(send, identity, operation, params, **fields)

    return run


def connect(server, identity, protocol):
    return open_station(station_url(server.port, identity), protocol=protocol, identity=identity, password=PASSWORD)


async def answer(station, payload: dict) -> list:
    """Receive the server's CALL and answer it with `payload` (a list is sent as the whole frame)."""
    call = await station.receive()
    assert call[0] == 2, call
    await station.connection.send(json.dumps([3, call[1], payload]))
    return call


@pytest.mark.parametrize(
    ("protocol", "operation", "params", "action", "request_payload", "reply", "outcome"),
    [
        ("ocpp1.6", "reset", {"kind": "hard"}, "Reset", {"type": "Hard"}, {"status": "Accepted"}, "accepted"),
        ("ocpp2.0.1", "reset", {"kind": "soft"}, "Reset", {"type": "OnIdle"}, {"status": "Scheduled"}, "accepted"),
        (
            "ocpp1.6",
            "remote_start",
            {"id_token": "TAG-1", "evse_id": 2},
            "RemoteStartTransaction",
            {"idTag": "TAG-1", "connectorId": 2},
            {"status": "Rejected"},
            "rejected",
        ),
        (
            "ocpp2.0.1",
            "remote_start",
            {"id_token": "TAG-1", "remote_start_id": 77},
            "RequestStartTransaction",
            {"idToken": {"idToken": "TAG-1", "type": "Central"}, "remoteStartId": 77},
            {"status": "Accepted"},
            "accepted",
        ),
        (
            "ocpp2.0.1",
            "unlock_connector",
            {"evse_id": 1},
            "UnlockConnector",
            {"evseId": 1, "connectorId": 1},
            {"status": "UnlockFailed"},
            "rejected",
        ),
        (
            "ocpp1.6",
            "change_availability",
            {"operative": False},
            "ChangeAvailability",
            {"connectorId": 0, "type": "Inoperative"},
            {"status": "Scheduled"},
            "accepted",
        ),
    ],
)
def test_an_operation_reaches_the_station_in_its_version_and_its_answer_is_the_outcome(
    ocpp_server, station_make, command, in_tenant, protocol, operation, params, action, request_payload, reply, outcome
):
    station_make("CP-CMD", password=PASSWORD)

    async def scenario():
        async with connect(ocpp_server, "CP-CMD", protocol) as cp:
            await cp.call(*BOOT[protocol])
            sending = asyncio.create_task(command("CP-CMD", operation, params))
            call = await answer(cp, reply)
            return call, await sending

    call, result = asyncio.run(scenario())

    assert call[2:] == [action, request_payload]
    assert (result.status, result.answer_status, result.response) == (outcome, reply["status"], reply)
    assert (result.action, result.message_id, result.protocol) == (action, call[1], protocol)
    assert result.sent_at <= result.completed_at
    with in_tenant():
        log = MessageLogEntry.objects.filter(message_id=call[1]).order_by("created_at")
        assert [(e.direction, e.message_type, e.action) for e in log] == [("out", 2, action), ("in", 3, action)]
        assert log[1].latency_ms is not None


def test_the_station_keeps_talking_while_a_command_waits_and_commands_go_one_at_a_time(
    ocpp_server, station_make, command
):
    station_make("CP-BUSY", password=PASSWORD)

    async def scenario():
        async with connect(ocpp_server, "CP-BUSY", "ocpp1.6") as cp:
            await cp.call(*BOOT["ocpp1.6"])
            first = asyncio.create_task(command("CP-BUSY", "clear_cache"))
            second = asyncio.create_task(command("CP-BUSY", "reset", {"kind": "soft"}))
            call = await cp.receive()
            # With a CALL of the server outstanding, the station's own requests are still answered...
            heartbeat = await cp.call("Heartbeat", {})
            # ...and the next command waits until the first is answered.
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(cp.connection.recv(), 0.5)
            await cp.connection.send(json.dumps([3, call[1], {"status": "Accepted"}]))
            next_call = await answer(cp, {"status": "Rejected"})
            return call, heartbeat, next_call, await first, await second

    call, heartbeat, next_call, first, second = asyncio.run(scenario())

    assert "currentTime" in heartbeat
    assert {call[2], next_call[2]} == {"ClearCache", "Reset"}
    assert {first.status, second.status} == {"accepted", "rejected"}


def test_a_station_that_errs_breaks_the_schema_or_says_nothing_gets_the_matching_outcome(
    ocpp_server, station_make, command
):
    station_make("CP-ODD", password=PASSWORD)

    async def scenario():
        async with connect(ocpp_server, "CP-ODD", "ocpp2.0.1") as cp:
            await cp.call(*BOOT["ocpp2.0.1"])
            sending = asyncio.create_task(command("CP-ODD", "clear_cache"))
            call = await cp.receive()
            await cp.connection.send(json.dumps([4, call[1], "NotSupported", "No cache here", {}]))
            errored = await sending

            sending = asyncio.create_task(command("CP-ODD", "clear_cache"))
            await answer(cp, {"status": "Maybe"})
            broken = await sending

            sending = asyncio.create_task(command("CP-ODD", "clear_cache", timeout_s=1))
            await cp.receive()
            silent = await sending
            return errored, broken, silent

    errored, broken, silent = asyncio.run(scenario())

    assert (errored.status, errored.answer_status, errored.detail) == (
        "error",
        "NotSupported",
        "NotSupported: No cache here",
    )
    assert broken.status == "error" and broken.detail.startswith("The answer breaks the schema: ClearCache: status")
    assert (silent.status, silent.detail) == ("timeout", "No answer within 1 s.")


def test_a_command_for_a_station_not_connected_is_offline_at_once(ocpp_server, station_make, command):
    station_make("CP-AWAY", password=PASSWORD)

    result = asyncio.run(command("CP-AWAY", "reset", {"kind": "hard"}))

    assert (result.status, result.detail, result.sent_at) == ("offline", "The station is not connected.", None)


def test_a_command_in_flight_when_the_station_goes_away_is_an_error(ocpp_server, station_make, command, in_tenant):
    station_make("CP-GONE", password=PASSWORD)

    async def scenario():
        async with connect(ocpp_server, "CP-GONE", "ocpp1.6") as cp:
            await cp.call(*BOOT["ocpp1.6"])
            sending = asyncio.create_task(command("CP-GONE", "clear_cache"))
            await cp.receive()
        return await sending

    result = asyncio.run(scenario())

    assert (result.status, result.detail) == ("error", "The connection closed before the answer.")


def test_parameters_a_version_cannot_express_are_refused_before_sending(ocpp_server, station_make, command):
    station_make("CP-OLD", password=PASSWORD)

    async def scenario():
        async with connect(ocpp_server, "CP-OLD", "ocpp1.6") as cp:
            await cp.call(*BOOT["ocpp1.6"])
            result = await command("CP-OLD", "remote_start", {"id_token": "A-TOKEN-LONGER-THAN-TWENTY"})
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(cp.connection.recv(), 0.3)
            return result

    result = asyncio.run(scenario())

    assert (result.status, result.detail) == ("error", "id_token: OCPP 1.6 idTags are at most 20 characters.")


def test_configuration_and_device_model_answers_are_kept_per_station(ocpp_server, station_make, command, in_tenant):
    station_make("CP-CONF-16", password=PASSWORD)
    station_make("CP-CONF-201", password=PASSWORD)

    async def scenario():
        async with connect(ocpp_server, "CP-CONF-16", "ocpp1.6") as cp:
            await cp.call(*BOOT["ocpp1.6"])
            sending = asyncio.create_task(command("CP-CONF-16", "get_configuration"))
            await answer(
                cp,
                {
                    "configurationKey": [
                        {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
                        {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
                    ],
                    "unknownKey": [],
                },
            )
            got = await sending
            sending = asyncio.create_task(
                command("CP-CONF-16", "change_configuration", {"key": "HeartbeatInterval", "value": "60"})
            )
            await answer(cp, {"status": "Accepted"})
            changed = await sending
        async with connect(ocpp_server, "CP-CONF-201", "ocpp2.0.1") as cp:
            await cp.call(*BOOT["ocpp2.0.1"])
            wanted = [
                {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"},
                {"component": "EVSE", "variable": "AvailabilityState", "evse_id": 1},
                {"component": "Nothing", "variable": "Here"},
            ]
            sending = asyncio.create_task(command("CP-CONF-201", "get_variables", {"variables": wanted}))
            call = await answer(
                cp,
                {
                    "getVariableResult": [
                        {
                            "attributeStatus": "Accepted",
                            "attributeValue": "120",
                            "component": {"name": "OCPPCommCtrlr"},
                            "variable": {"name": "HeartbeatInterval"},
                        },
                        {
                            "attributeStatus": "Accepted",
                            "attributeValue": "Available",
                            "component": {"name": "EVSE", "evse": {"id": 1}},
                            "variable": {"name": "AvailabilityState"},
                        },
                        {
                            "attributeStatus": "UnknownComponent",
                            "component": {"name": "Nothing"},
                            "variable": {"name": "Here"},
                        },
                    ]
                },
            )
            variables = await sending
        return got, changed, call, variables

    got, changed, call, variables = asyncio.run(scenario())

    assert (got.status, got.answer_status, changed.status) == ("accepted", "2 keys", "accepted")
    assert call[3]["getVariableData"][1] == {
        "component": {"name": "EVSE", "evse": {"id": 1}},
        "variable": {"name": "AvailabilityState"},
        "attributeType": "Actual",
    }
    assert (variables.status, variables.answer_status) == ("accepted", "2 Accepted, 1 UnknownComponent")
    with in_tenant():
        stored = {
            (v.station.identity, v.component, v.evse_id, v.variable): (v.value, v.mutability)
            for v in StationVariable.objects.select_related("station")
        }
    assert stored == {
        ("CP-CONF-16", "", 0, "HeartbeatInterval"): ("60", "ReadWrite"),
        ("CP-CONF-16", "", 0, "NumberOfConnectors"): ("2", "ReadOnly"),
        ("CP-CONF-201", "OCPPCommCtrlr", 0, "HeartbeatInterval"): ("120", ""),
        ("CP-CONF-201", "EVSE", 1, "AvailabilityState"): ("Available", ""),
    }


def test_every_command_is_recorded_with_who_and_where_from(ocpp_server, station_make, command, in_tenant):
    station_make("CP-REC", password=PASSWORD)

    asyncio.run(command("CP-REC", "trigger_message", {"message": "heartbeat"}))

    with in_tenant():
        recorded = Command.objects.get()
    assert (recorded.operation, recorded.params, recorded.source) == (
        "trigger_message",
        {"message": "heartbeat"},
        "cli",
    )
