"""OCPP-J over one WebSocket, from the station's side: one CALL in flight at a time, CALLs from the server answered.

Independent of the platform and of the Python `ocpp` library, so the simulator behaves like a foreign charger.
"""

import asyncio
import itertools
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine

from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

logger = logging.getLogger("simulator")

CALL, CALLRESULT, CALLERROR = 2, 3, 4
ANSWER_TIMEOUT_S = 30

# A server CALL handler: (action, payload) → the response payload, or (payload, after) where `after` is a
# coroutine run once the answer has gone out (what the station does because of the CALL: start a session, send
# the triggered message, reboot...). Raising CallRefused answers with a CALLERROR.
After = Coroutine[None, None, object]
CallHandler = Callable[[str, dict], Awaitable[dict | tuple[dict, After | None]]]


class CallRefused(Exception):  # noqa: N818 - an answer the station gives, not a failure of the simulator
    def __init__(self, code: str, description: str = ""):
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description


class CallError(Exception):
    """The server answered a CALL with a CALLERROR."""

    def __init__(self, action: str, code: str, description: str):
        super().__init__(f"{action} answered with {code}: {description}")
        self.code = code


class ConnectionLostError(Exception):
    """The connection closed before the CALL was answered; whether the server applied it is unknown."""


async def not_implemented(action: str, payload: dict) -> dict:
    raise CallRefused("NotImplemented", f"The simulator does not implement {action}")


class Rpc:
    """Sends CALLs one at a time (OCPP-J allows one outstanding CALL per side) and answers the server's CALLs."""

    def __init__(self, connection: ClientConnection, handler: CallHandler = not_implemented, *, prefix: str = ""):
        self.connection = connection
        self.handler = handler
        self.ids = (f"{prefix}{number}" for number in itertools.count(1))
        self.pending: dict[str, asyncio.Future] = {}
        self.lock = asyncio.Lock()
        self.answering: set[asyncio.Task] = set()  # referenced until done, so none is collected halfway
        self.reader = asyncio.create_task(self._read())

    @property
    def closed(self) -> bool:
        return self.reader.done()

    async def call(self, action: str, payload: dict, *, timeout: float = ANSWER_TIMEOUT_S) -> dict:
        async with self.lock:
            if self.closed:
                raise ConnectionLostError(action)
            message_id = next(self.ids)
            answer = asyncio.get_running_loop().create_future()
            self.pending[message_id] = answer
            try:
                await self.connection.send(json.dumps([CALL, message_id, action, payload]))
                frame = await asyncio.wait_for(asyncio.shield(answer), timeout)
            except (ConnectionClosed, ConnectionLostError) as error:
                raise ConnectionLostError(action) from error
            except TimeoutError as error:
                # An unanswered CALL leaves the connection in an unknown state: drop it, as chargers do.
                await self.connection.close(1011, "CALL timed out")
                raise ConnectionLostError(action) from error
            finally:
                self.pending.pop(message_id, None)
        if frame[0] == CALLERROR:
            raise CallError(action, frame[2], frame[3])
        return frame[2]

    async def close(self) -> None:
        await self.connection.close()
        await asyncio.gather(self.reader, return_exceptions=True)

    async def wait_closed(self) -> None:
        await asyncio.gather(self.reader, return_exceptions=True)

    async def _read(self) -> None:
        try:
            async for text in self.connection:
                try:
                    frame = json.loads(text)
                except ValueError:
                    logger.warning("server sent a frame that is not JSON: %.200s", text)
                    continue
                if not isinstance(frame, list) or len(frame) < 3:
                    logger.warning("server sent a frame that is not OCPP-J: %.200s", text)
                elif frame[0] in (CALLRESULT, CALLERROR):
                    answer = self.pending.get(frame[1])
                    if answer is not None and not answer.done():
                        answer.set_result(frame)
                    else:
                        logger.warning("server answered a CALL the station did not send: %.200s", text)
                elif frame[0] == CALL and len(frame) == 4:
                    task = asyncio.create_task(self._answer(frame[1], frame[2], frame[3]))
                    self.answering.add(task)
                    task.add_done_callback(self.answering.discard)
        except ConnectionClosed:
            pass
        finally:
            for answer in self.pending.values():
                if not answer.done():
                    answer.set_exception(ConnectionLostError())

    async def _answer(self, message_id: str, action: str, payload: dict) -> None:
        after = None
        try:
            response = await self.handler(action, payload)
            if isinstance(response, tuple):
                response, after = response
            frame = [CALLRESULT, message_id, response]
        except CallRefused as refusal:
            frame = [CALLERROR, message_id, refusal.code, refusal.description, {}]
        except Exception:
            logger.exception("handling the server's %s failed", action)
            frame = [CALLERROR, message_id, "InternalError", f"{action} failed in the station", {}]
        try:
            await self.connection.send(json.dumps(frame))
        except ConnectionClosed:
            pass  # the station acts on what it accepted all the same, as a charger whose answer got lost
        if after is not None:
            try:
                await after
            except (ConnectionLostError, ConnectionClosed):
                pass
            except Exception:
                logger.exception("acting on the server's %s failed", action)
