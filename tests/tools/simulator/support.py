"""A virtual station without a network: a stand-in for its connection that records what it sends and answers like
a CSMS accepting everything, and a way to put a server CALL to it and check the answer against the schemas."""

import asyncio
import itertools
from datetime import UTC, datetime

from jsonschema.exceptions import best_match
from ocpp.messages import MessageType, get_validator

from apps.ocpp.framing import SCHEMA_VERSIONS
from tools.simulator.dialects import iso
from tools.simulator.station import StationConfig, VirtualStation

V16, V201 = "ocpp1.6", "ocpp2.0.1"


def schema_error(protocol: str, message_type: int, action: str, payload: dict) -> str | None:
    validator = get_validator(message_type, action, SCHEMA_VERSIONS[protocol])
    error = best_match(validator.iter_errors(payload))
    return None if error is None else f"{action}: {error.message} at {list(error.absolute_path)}"


def csms_answer(protocol: str, action: str, transaction_ids) -> dict:
    """What a CSMS that accepts everything answers to a station's CALL."""
    now = iso(datetime.now(UTC))
    if action == "BootNotification":
        return {"status": "Accepted", "currentTime": now, "interval": 300}
    if action == "Heartbeat":
        return {"currentTime": now}
    if action == "Authorize":
        key = "idTagInfo" if protocol == "ocpp1.6" else "idTokenInfo"
        return {key: {"status": "Accepted"}}
    if action == "StartTransaction":
        return {"transactionId": next(transaction_ids), "idTagInfo": {"status": "Accepted"}}
    return {}


class FakeRpc:
    """Stands in for the station's connection: records every CALL the station sends, in order."""

    def __init__(self, protocol: str):
        self.protocol = protocol
        self.sent: list[tuple[str, dict]] = []
        self.closed = False
        self.transaction_ids = itertools.count(101)

    async def call(self, action: str, payload: dict, *, timeout: float = 30) -> dict:
        self.sent.append((action, payload))
        await asyncio.sleep(0)
        return csms_answer(self.protocol, action, self.transaction_ids)

    async def close(self) -> None:
        self.closed = True

    async def wait_closed(self) -> None:
        pass


def station_offline_make(protocol: str, **overrides) -> VirtualStation:
    """An accepted, online station of two connectors whose messages go to a FakeRpc."""
    settings = {
        "connectors": 2,
        "session_seconds": 60,
        "idle_seconds": 3600,
        "meter_interval": 0.05,
        "fault_rate": 0.0,
        "seed": 1,
        "meter_start_wh": 1_000_000,
        "id_tags": ("SIM-TAG-1",),
    } | overrides
    station = VirtualStation(
        StationConfig(url="ws://sim.invalid/ocpp/SIM-1", identity="SIM-1", protocol=protocol, **settings)
    )
    station.rpc = FakeRpc(protocol)
    station.accepted = True
    station.online.set()
    return station


async def until(condition, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "timed out waiting"
        await asyncio.sleep(0.01)


async def reconnected(station) -> None:
    """Stand in for the connection loop after a reboot: once the station has left the network, it is connected
    again (the same recording connection) and boots, as `VirtualStation._link` does."""
    await until(lambda: station.rpc.closed and not station.online.is_set())
    station.rpc.closed = False
    await station._boot()
    station.online.set()


async def ask(station, action: str, payload, *, sends_first: bool = False) -> dict:
    """Put a server CALL to the station: its answer, after checking the request and the answer against the schemas
    and that nothing went out before the answer; then let the station do what follows from it."""
    protocol = station.config.protocol
    assert schema_error(protocol, MessageType.Call, action, payload) is None, "the test's request is not valid"
    before = len(station.rpc.sent)
    result = await station.operations.handle(action, payload)
    response, after = result if isinstance(result, tuple) else (result, None)
    if not sends_first:
        assert len(station.rpc.sent) == before, "the station sent something before answering"
    assert schema_error(protocol, MessageType.CallResult, action, response) is None
    if after is not None:
        await after
    return response


def sent(station, action: str | None = None, since: int = 0) -> list:
    messages = station.rpc.sent[since:]
    return [payload for name, payload in messages if name == action] if action else [name for name, _ in messages]


def statuses(station, since: int = 0) -> list[tuple[int, str]]:
    if station.config.protocol == V16:
        return [(p["connectorId"], p["status"]) for p in sent(station, "StatusNotification", since)]
    return [(p["evseId"], p["connectorStatus"]) for p in sent(station, "StatusNotification", since)]


def remote_start(protocol: str, connector: int, tag: str = "SIM-TAG-9") -> tuple[str, dict]:
    if protocol == V16:
        return "RemoteStartTransaction", {"idTag": tag, "connectorId": connector}
    return "RequestStartTransaction", {
        "idToken": {"idToken": tag, "type": "ISO14443"},
        "remoteStartId": 7,
        "evseId": connector,
    }


async def session_start(station, connector: int = 1, tag: str = "SIM-TAG-9"):
    """A session the server starts on `connector`, charging once this returns."""
    assert await ask(station, *remote_start(station.config.protocol, connector, tag)) == {"status": "Accepted"}
    state = station.connectors[connector]
    await until(lambda: state.vehicle is not None and state.transaction is not None)
    return state.transaction


def stopped(station) -> list[dict]:
    if station.config.protocol == V16:
        return sent(station, "StopTransaction")
    return [p for p in sent(station, "TransactionEvent") if p["eventType"] == "Ended"]


def stop_reason(station, stop: dict) -> str:
    return stop["reason"] if station.config.protocol == V16 else stop["transactionInfo"]["stoppedReason"]
