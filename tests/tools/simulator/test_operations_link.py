"""Remote operations over a real WebSocket, against a minimal stand-in for a CSMS on the loopback (not the
platform): the station's answer goes out before what it does because of it, and a reset or a firmware update
brings it back with a new connection and a new BootNotification."""

import asyncio
import itertools
import json

import pytest
from ocpp.messages import MessageType
from websockets.asyncio.server import serve

from tests.tools.simulator.support import csms_answer, schema_error, until
from tools.simulator import operations
from tools.simulator.station import StationConfig, VirtualStation

pytestmark = pytest.mark.asyncio


class Csms:
    """Accepts everything the station sends and puts CALLs to it; keeps every frame, per connection, in order."""

    def __init__(self, protocol: str):
        self.protocol = protocol
        self.connections = []
        self.frames: list[tuple[int, list]] = []  # (connection number, frame the station sent)
        self.asked: dict[str, str] = {}  # message id → action of the CSMS's CALLs
        self.ids = itertools.count(1)
        self.transaction_ids = itertools.count(501)

    async def handler(self, connection) -> None:
        self.connections.append(connection)
        number = len(self.connections)
        async for text in connection:
            frame = json.loads(text)
            self.frames.append((number, frame))
            if frame[0] == 2:
                answer = csms_answer(self.protocol, frame[2], self.transaction_ids)
                await connection.send(json.dumps([3, frame[1], answer]))

    async def call(self, action: str, payload: dict) -> dict:
        message_id = f"csms-{next(self.ids)}"
        self.asked[message_id] = action
        await self.connections[-1].send(json.dumps([2, message_id, action, payload]))
        await until(lambda: any(frame[1] == message_id for _, frame in self.frames if frame[0] != 2))
        return next(frame for _, frame in self.frames if frame[1] == message_id)[2]

    def sequence(self, connection: int) -> list[str]:
        """What the station sent on a connection: its CALLs by action, its answers as `answer <action>`."""
        return [
            frame[2] if frame[0] == 2 else f"answer {self.asked[frame[1]]}"
            for number, frame in self.frames
            if number == connection
        ]


@pytest.mark.parametrize(
    ("protocol", "start", "reset", "started", "stopped"),
    [
        (
            "ocpp1.6",
            ("RemoteStartTransaction", {"idTag": "SIM-TAG-9", "connectorId": 1}),
            ("Reset", {"type": "Hard"}),
            "StartTransaction",
            "StopTransaction",
        ),
        (
            "ocpp2.0.1",
            ("RequestStartTransaction", {"idToken": {"idToken": "SIM-TAG-9", "type": "ISO14443"}, "remoteStartId": 3}),
            ("Reset", {"type": "Immediate"}),
            "TransactionEvent",
            "TransactionEvent",
        ),
    ],
)
async def test_the_station_answers_before_acting_and_comes_back_after_a_reset(protocol, start, reset, started, stopped):
    csms = Csms(protocol)
    async with serve(csms.handler, "127.0.0.1", 0, subprotocols=[protocol]) as server:
        port = server.sockets[0].getsockname()[1]
        config = StationConfig(
            url=f"ws://127.0.0.1:{port}/SIM-1",
            identity="SIM-1",
            protocol=protocol,
            connectors=1,
            idle_seconds=3600,
            session_seconds=60,
            meter_interval=0.1,
            fault_rate=0.0,
            seed=1,
        )
        station = VirtualStation(config)
        run = asyncio.create_task(station.run())
        try:
            await until(station.online.is_set)
            assert await csms.call(*start) == {"status": "Accepted"}
            await until(lambda: station.connectors[1].transaction is not None)
            assert await csms.call(*reset) == {"status": "Accepted"}
            await until(lambda: "StatusNotification" in csms.sequence(2))
            assert await csms.call("TriggerMessage", {"requestedMessage": "Heartbeat"}) == {"status": "Accepted"}
            await until(lambda: "Heartbeat" in csms.sequence(2))
        finally:
            run.cancel()
            await asyncio.gather(run, return_exceptions=True)

    first, second = csms.sequence(1), csms.sequence(2)
    answered_start = first.index(f"answer {start[0]}")
    assert first[answered_start + 1 : answered_start + 3] == ["StatusNotification", started]
    answered_reset = first.index("answer Reset")
    assert first[answered_reset + 1] == stopped and first[-1] == "StatusNotification"  # the last: Available
    assert second[:2] == ["BootNotification", "StatusNotification"]
    # the answer goes out before the Heartbeat it asks for (a status the reconnect left queued may come between)
    assert second.index("answer TriggerMessage") < second.index("Heartbeat")
    boot = next(frame[3] for number, frame in csms.frames if number == 2 and frame[0] == 2)
    if protocol == "ocpp2.0.1":
        assert boot["reason"] == "RemoteReset"
    assert (station.report.connects, station.report.boots, station.report.resets) == (2, 2, 1)

    version_errors = [
        schema_error(protocol, MessageType.Call, frame[2], frame[3])
        if frame[0] == 2
        else schema_error(protocol, MessageType.CallResult, csms.asked[frame[1]], frame[2])
        for _, frame in csms.frames
    ]
    assert [error for error in version_errors if error] == []


async def test_a_201_firmware_update_reboots_and_reports_installed_on_the_new_connection(monkeypatch):
    monkeypatch.setattr(operations, "FIRMWARE_STEP_S", 0.05)
    protocol = "ocpp2.0.1"
    csms = Csms(protocol)
    async with serve(csms.handler, "127.0.0.1", 0, subprotocols=[protocol]) as server:
        port = server.sockets[0].getsockname()[1]
        config = StationConfig(
            url=f"ws://127.0.0.1:{port}/SIM-1",
            identity="SIM-1",
            protocol=protocol,
            connectors=1,
            idle_seconds=3600,
            fault_rate=0.0,
            seed=1,
        )
        station = VirtualStation(config)
        run = asyncio.create_task(station.run())
        try:
            await until(station.online.is_set)
            location = "https://files.example.com/SIM-AC22-2.5.0.bin"
            firmware = {"location": location, "retrieveDateTime": "2020-01-01T00:00:00Z"}
            answer = await csms.call("UpdateFirmware", {"requestId": 9, "firmware": firmware})
            assert answer == {"status": "Accepted"}
            await until(lambda: "FirmwareStatusNotification" in csms.sequence(2), timeout=10)
        finally:
            run.cancel()
            await asyncio.gather(run, return_exceptions=True)

    first, second = csms.sequence(1), csms.sequence(2)
    assert first[-4:] == ["answer UpdateFirmware"] + ["FirmwareStatusNotification"] * 3
    assert second == ["BootNotification", "StatusNotification", "FirmwareStatusNotification"]
    calls = [(number, frame[2], frame[3]) for number, frame in csms.frames if frame[0] == 2]
    reports = [(n, payload["status"]) for n, action, payload in calls if action == "FirmwareStatusNotification"]
    assert reports == [(1, "Downloading"), (1, "Downloaded"), (1, "Installing"), (2, "Installed")]
    boot = next(payload for number, action, payload in calls if number == 2 and action == "BootNotification")
    assert boot["reason"] == "FirmwareUpdate" and boot["chargingStation"]["firmwareVersion"] == "2.5.0"
    errors = [schema_error(protocol, MessageType.Call, action, payload) for _, action, payload in calls]
    assert [error for error in errors if error] == []
