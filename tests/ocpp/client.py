"""A minimal OCPP-J station for end-to-end tests: raw frames over a real WebSocket, every answer schema-checked.

Built on `websockets`, not on the `ocpp` library, so the tests see exactly what the server sends.
"""

import asyncio
import base64
import itertools
import json
import ssl

from jsonschema.exceptions import best_match
from ocpp.messages import MessageType, get_validator
from websockets.asyncio.client import ClientConnection, connect

from apps.ocpp.framing import SCHEMA_VERSIONS

ANSWER_TIMEOUT_S = 10


class AnsweredWithCallError(Exception):  # noqa: N818 - an answer, not a failure
    def __init__(self, frame: list):
        super().__init__(f"{frame[2]}: {frame[3]}")
        self.frame = frame
        self.code = frame[2]
        self.description = frame[3]


def basic_auth(username: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def station_url(port: int, identity: str, *, tenant: str | None = "alpha", scheme: str = "ws") -> str:
    return f"{scheme}://127.0.0.1:{port}/ocpp/{tenant + '/' if tenant else ''}{identity}"


def open_station(
    url: str,
    *,
    protocol: str | list[str] = "ocpp1.6",
    identity: str | None = None,
    password: str | None = None,
    headers: dict[str, str] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    **kwargs,
):
    """`async with open_station(...) as station` — a connected Station (or websockets.InvalidStatus)."""
    additional = dict(headers or {})
    if password is not None:
        additional.update(basic_auth(identity, password))
    return _StationConnect(
        connect(
            url,
            subprotocols=[protocol] if isinstance(protocol, str) else protocol,
            additional_headers=additional,
            ssl=ssl_context,
            proxy=None,
            compression=None,
            open_timeout=10,
            **kwargs,
        )
    )


class _StationConnect:
    def __init__(self, connecting):
        self.connecting = connecting

    async def __aenter__(self) -> "Station":
        self.connection = await self.connecting.__aenter__()
        return Station(self.connection)

    async def __aexit__(self, *exc_info):
        return await self.connecting.__aexit__(*exc_info)


class Station:
    """Sends CALLs one at a time, as OCPP-J requires, and checks every CALLRESULT against its official schema."""

    def __init__(self, connection: ClientConnection):
        self.connection = connection
        self.protocol = connection.subprotocol
        self.ids = (f"m-{number}" for number in itertools.count(1))

    async def call(self, action: str, payload: dict, message_id: str | None = None) -> dict:
        message_id = message_id or next(self.ids)
        answer = await self.send_raw(json.dumps([MessageType.Call, message_id, action, payload]))
        assert answer[1] == message_id, answer
        if answer[0] == MessageType.CallError:
            raise AnsweredWithCallError(answer)
        assert answer[0] == MessageType.CallResult and len(answer) == 3, answer
        self.check_response(action, answer[2])
        return answer[2]

    def check_response(self, action: str, payload: dict) -> None:
        validator = get_validator(MessageType.CallResult, action, SCHEMA_VERSIONS[self.protocol])
        error = best_match(validator.iter_errors(payload))
        assert error is None, f"{action} response {payload} violates its schema: {error.message}"

    async def send_raw(self, text: str) -> list:
        await self.connection.send(text)
        return await self.receive()

    async def receive(self) -> list:
        frame = json.loads(await asyncio.wait_for(self.connection.recv(), ANSWER_TIMEOUT_S))
        if frame[0] == MessageType.CallError:
            assert len(frame) == 5 and isinstance(frame[2], str) and isinstance(frame[4], dict), frame
            assert len(frame[3]) <= 255, frame
        return frame

    async def call_error(self, action: str, payload: dict) -> AnsweredWithCallError:
        try:
            result = await self.call(action, payload)
        except AnsweredWithCallError as error:
            return error
        raise AssertionError(f"{action} was answered {result}, not with a CALLERROR")
