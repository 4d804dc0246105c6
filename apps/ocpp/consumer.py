"""The WebSocket of one charging station: subprotocol, frames in order, answers, presence.

It owns no business rules: a CALL is parsed and checked here (frame, rate, action, registration, schema) and then
handed to its version's handler in one worker-thread call (`dispatch.call_handle`). Authentication happened
before, in `auth.StationAuthMiddleware`, which put `station_id` in the scope.

Channels dispatches one message at a time per consumer, so a station's frames are handled strictly in the order
they arrived. The station's group `ocpp.<schema>.<station_id>` is its address for anything that needs to reach
the connection: a newer connection of the same station, and remote operations (`apps/commands`), which a
per-connection task sends one at a time so that a CALL waiting for its answer never holds up the station's own
messages.
"""

import asyncio
import contextlib
import logging
import time
import uuid
from dataclasses import dataclass, field

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.utils import timezone
from ocpp.messages import MessageType

from apps.commands.onboarding import onboarding_commands
from apps.commands.services import DONE, QUEUED, commands_abandon
from apps.ocpp.batching import BATCHED_ACTIONS, call_batcher
from apps.ocpp.dispatch import (
    HANDLERS,
    QueuedCall,
    call_handle,
    command_answered,
    command_take,
    connection_close,
    connection_open,
    frames_log,
)
from apps.ocpp.framing import (
    KNOWN_ACTIONS,
    SUPPORTED_PROTOCOLS,
    UNREADABLE_MESSAGE_ID,
    Call,
    CallError,
    CallResult,
    ErrorKind,
    RpcError,
    TokenBucket,
    call_error_text,
    call_text,
    parse_frame,
    validate_call_payload,
)
from apps.ocpp.messagelog import IN, OUT, LogBacklog, log_entry, raw_frame
from apps.stations.live import connection_group
from apps.whitelabel.tenancy import run_in_tenant

logger = logging.getLogger(__name__)

BOOT_NOTIFICATION = "BootNotification"
# last_seen_at is written at most this often; every frame still counts for the watchdog.
SEEN_WRITE_INTERVAL_S = 5
# Application close codes (4000-4999 are the application's own).
CLOSE_REPLACED = 4000
CLOSE_SILENT = 4001
CLOSE_SUSPENDED = 4002


def negotiate_subprotocol(offered: list[str]) -> str | None:
    """The best protocol both sides speak: 2.0.1 over 1.6 when a station offers both."""
    for protocol in SUPPORTED_PROTOCOLS:
        if protocol in offered:
            return protocol
    return None


@dataclass
class PendingCall:
    """A CALL this side sent, waiting for the station's CALLRESULT or CALLERROR."""

    action: str
    sent_clock: float
    answer: asyncio.Future = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class OcppConsumer(AsyncWebsocketConsumer):
    connection_id: str | None = None
    watchdog: asyncio.Task | None = None
    commander: asyncio.Task | None = None
    onboarder: asyncio.Task | None = None
    answer_recording: asyncio.Future | None = None

    async def dispatch(self, message):
        # Channels' dispatch closes stale DB connections in a thread hop before every message; the handlers'
        # own `run_in_tenant` call already does that in its worker thread, so one hop per frame is enough.
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    # --- connection -------------------------------------------------------------------------------------------

    async def connect(self):
        self.tenant = self.scope["tenant"]
        self.station_id = self.scope["station_id"]
        self.identity = self.scope["station_identity"]
        self.protocol = negotiate_subprotocol(self.scope.get("subprotocols", []))
        if self.protocol is None:
            logger.info(
                "ocpp connection refused: station %r of tenant %s offered no supported subprotocol (%s)",
                self.identity,
                self.tenant.schema_name,
                ", ".join(self.scope.get("subprotocols", [])) or "none",
            )
            await self.close()
            return

        connection_id = uuid.uuid4().hex
        try:
            link = await run_in_tenant(
                self.tenant,
                connection_open,
                station_id=self.station_id,
                protocol=self.protocol,
                connection_id=connection_id,
            )
        except Exception:
            logger.exception(
                "ocpp station %r of tenant %s: opening the connection failed", self.identity, self.tenant.schema_name
            )
            await self.close()
            return
        self.connection_id = connection_id
        self.accepted = link.accepted
        self.max_frame_bytes = link.max_frame_bytes
        self.silence_limit_s = link.heartbeat_interval_s + link.offline_after_s
        self.bucket = TokenBucket(settings.OCPP_RATE_LIMIT_PER_S, settings.OCPP_RATE_LIMIT_BURST)
        self.backlog = LogBacklog()
        self.throttling = False
        self.pending_calls: dict[str, PendingCall] = {}
        self.commands: asyncio.Queue[dict] = asyncio.Queue()
        self.command_in_flight: dict | None = None
        self.last_frame_clock = time.monotonic()
        self.last_seen_write_clock = self.last_frame_clock

        self.group = connection_group(self.tenant.schema_name, self.station_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        # Whatever connection this station still had is replaced: it closes, and since the station's current
        # connection id is now this one, its disconnect does not mark the station offline. A station that was
        # offline has none: no message (in a reconnect storm, one Redis round trip less per station).
        if link.replaces:
            await self.channel_layer.group_send(self.group, {"type": "ocpp.replace", "connection_id": connection_id})
        await self.accept(self.protocol)
        self.watchdog = asyncio.create_task(self.watch_silence())
        self.commander = asyncio.create_task(self.send_commands())
        logger.info(
            "ocpp station %r of tenant %s connected (%s, connection %s)",
            self.identity,
            self.tenant.schema_name,
            self.protocol,
            connection_id,
        )

    async def ocpp_replace(self, event):
        if event["connection_id"] != self.connection_id:
            logger.info("ocpp station %r: connection %s replaced by a newer one", self.identity, self.connection_id)
            await self.close(code=CLOSE_REPLACED)

    async def ocpp_suspended(self, event):
        """The brand was suspended (whitelabel.services.tenant_suspend): close; reconnecting is refused."""
        logger.info("ocpp station %r of tenant %s: tenant suspended, closing", self.identity, self.tenant.schema_name)
        await self.close(code=CLOSE_SUSPENDED)

    async def watch_silence(self):
        """Close a connection that sent nothing for a heartbeat interval plus offline_after_s.

        Pings are daphne's (--ping-interval/--ping-timeout) and detect a dead transport; pongs never reach the
        application. This watches the OCPP layer: a station that stopped talking although its socket answers
        pings is closed too, and marked offline through the normal disconnect.
        """
        while True:
            silent_s = time.monotonic() - self.last_frame_clock
            if silent_s >= self.silence_limit_s:
                logger.info("ocpp station %r silent for %.0f s: closing", self.identity, silent_s)
                await self.close(code=CLOSE_SILENT)
                return
            await asyncio.sleep(self.silence_limit_s - silent_s)

    async def websocket_disconnect(self, message):
        if self.watchdog is not None:
            self.watchdog.cancel()
        if self.onboarder is not None:
            self.onboarder.cancel()
        if self.commander is not None:
            recording = self.answer_recording
            self.commander.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.commander
            if recording is not None:
                with contextlib.suppress(Exception):
                    await recording
        if self.connection_id is not None:
            for pending in self.pending_calls.values():
                pending.answer.cancel()
            await self.channel_layer.group_discard(self.group, self.channel_name)
            await self.commands_abandon()
            try:
                await run_in_tenant(
                    self.tenant,
                    connection_close,
                    station_id=self.station_id,
                    connection_id=self.connection_id,
                    backlog=self.backlog.take(self.station_id),
                )
            except Exception:
                logger.exception("ocpp station %r: recording the disconnect failed", self.identity)
            logger.info("ocpp station %r disconnected (code %s)", self.identity, message.get("code"))
        raise StopConsumer()

    # --- remote operations ------------------------------------------------------------------------------------

    async def ocpp_command(self, event):
        """A command for this station (from any process): say at once that it is queued, send it in turn."""
        position = self.commands.qsize() + (self.command_in_flight is not None)
        self.commands.put_nowait(event)
        await self.reply(event, {"type": QUEUED, "command_id": event["command_id"], "position": position})

    async def reply(self, event: dict, message: dict) -> None:
        if "reply_to" not in event:  # the connection's own commands (onboarding) have no caller waiting
            return
        with contextlib.suppress(Exception):  # the caller may have stopped waiting; the command row has it all
            await self.channel_layer.send(event["reply_to"], message)

    async def onboard(self):
        """After the first accepted boot, the station's onboarding profile goes out as commands, in order."""
        try:
            command_ids = await run_in_tenant(self.tenant, onboarding_commands, station_id=self.station_id)
        except Exception:
            logger.exception("ocpp station %r: onboarding failed", self.identity)
            return
        for command_id in command_ids:
            self.commands.put_nowait({"command_id": command_id})
        if command_ids:
            logger.info("ocpp station %r: onboarding with %s commands", self.identity, len(command_ids))

    async def send_commands(self):
        """One CALL in flight at a time, in the order the commands arrived."""
        while True:
            event = await self.commands.get()
            self.command_in_flight = event
            try:
                status = await self.command_run(event["command_id"])
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("ocpp station %r: command %s failed", self.identity, event["command_id"])
                status = "error"
            self.command_in_flight = None
            await self.reply(event, {"type": DONE, "command_id": event["command_id"], "status": status})

    async def command_run(self, command_id: int) -> str | None:
        message_id = uuid.uuid4().hex
        outgoing = await run_in_tenant(
            self.tenant,
            command_take,
            command_id=command_id,
            station_id=self.station_id,
            protocol=self.protocol,
            message_id=message_id,
        )
        if outgoing is None:
            return None
        if outgoing.refusal:
            logger.info("ocpp station %r: command %s not sent: %s", self.identity, command_id, outgoing.refusal)
            return "error"
        pending = PendingCall(outgoing.action, time.monotonic())
        self.pending_calls[message_id] = pending
        await self.send(text_data=call_text(message_id, outgoing.action, outgoing.payload))
        try:
            answer = await asyncio.wait_for(asyncio.shield(pending.answer), outgoing.timeout_s)
        except TimeoutError:
            answer = None
            self.pending_calls.pop(message_id, None)
        # A station that answers and closes at once (Reset) must not lose its answer: the disconnect waits for it.
        self.answer_recording = asyncio.ensure_future(
            run_in_tenant(
                self.tenant,
                command_answered,
                station_id=self.station_id,
                protocol=self.protocol,
                outgoing=outgoing,
                answer=answer,
            )
        )
        try:
            return await asyncio.shield(self.answer_recording)
        finally:
            self.answer_recording = None

    async def commands_abandon(self):
        """The connection is closing: the commands it still holds end, and their callers hear so at once."""
        queued = []
        while not self.commands.empty():
            queued.append(self.commands.get_nowait())
        sent = [self.command_in_flight] if self.command_in_flight is not None else []
        if not (sent or queued):
            return
        try:
            await run_in_tenant(
                self.tenant,
                commands_abandon,
                sent=[event["command_id"] for event in sent],
                queued=[event["command_id"] for event in queued],
            )
        except Exception:
            logger.exception("ocpp station %r: recording abandoned commands failed", self.identity)
        for event, status in [*((event, "error") for event in sent), *((event, "offline") for event in queued)]:
            await self.reply(event, {"type": DONE, "command_id": event["command_id"], "status": status})

    # --- frames -----------------------------------------------------------------------------------------------

    async def receive(self, text_data=None, bytes_data=None):
        received_clock = time.monotonic()
        received_at = timezone.now()
        self.last_frame_clock = received_clock
        frame = None
        try:
            try:
                if text_data is None:
                    raise RpcError(
                        ErrorKind.RPC_FRAMEWORK, "OCPP-J frames are text, not binary", message_id=UNREADABLE_MESSAGE_ID
                    )
                frame = parse_frame(text_data, max_bytes=self.max_frame_bytes)
            except RpcError as error:
                size = len(bytes_data) if text_data is None else len(text_data.encode())
                await self.refuse_frame(error, raw_frame(text_data, size), received_at)
            else:
                if isinstance(frame, Call):
                    await self.handle_call(frame, received_at, received_clock)
                else:
                    await self.handle_answer(frame, received_at, received_clock)
        except Exception:
            # This side's bug or an unreachable database: a CALL still gets its answer (InternalError), and the
            # connection and the server carry on.
            logger.exception("ocpp station %r: handling %r failed", self.identity, frame or text_data)
            if isinstance(frame, Call):
                error = RpcError(ErrorKind.INTERNAL, f"The CSMS could not process {frame.action}")
                await self.send(
                    text_data=call_error_text(frame.message_id, error.code(self.protocol), error.description)
                )

    async def handle_call(self, call: Call, received_at, received_clock: float) -> None:
        if not self.bucket.take():
            if not self.throttling:
                logger.info("ocpp station %r: rate limit exceeded, throttling", self.identity)
                self.throttling = True
            error = RpcError(
                ErrorKind.GENERIC,
                f"Rate limit exceeded: at most {settings.OCPP_RATE_LIMIT_PER_S} requests per second "
                f"(bursts of {settings.OCPP_RATE_LIMIT_BURST}); retry later",
                message_id=call.message_id,
            )
            await self.refuse_frame(error, call.payload, received_at, call=call, throttled=True)
            return
        self.throttling = False
        try:
            if call.action not in KNOWN_ACTIONS[self.protocol]:
                raise RpcError(ErrorKind.NOT_IMPLEMENTED, f"{call.action} is not an {self.protocol} action")
            if call.action not in HANDLERS[self.protocol]:
                raise RpcError(ErrorKind.NOT_SUPPORTED, f"{call.action} is not supported by this CSMS")
            if not self.accepted and call.action != BOOT_NOTIFICATION:
                raise RpcError(ErrorKind.SECURITY, "The station is not accepted: only BootNotification is allowed")
            validate_call_payload(self.protocol, call.action, call.payload)
        except RpcError as error:
            error.message_id = call.message_id
            await self.refuse_frame(error, call.payload, received_at, call=call)
            return

        queued = QueuedCall(
            station_id=self.station_id,
            protocol=self.protocol,
            call=call,
            received_at=received_at,
            received_clock=received_clock,
            backlog=self.backlog.take(self.station_id),
            mark_seen=self.seen_write_due(received_clock),
        )
        if call.action in BATCHED_ACTIONS:
            answer = await call_batcher().handle(self.tenant.schema_name, queued)
        else:
            answer = await run_in_tenant(self.tenant, call_handle, **vars(queued))
        if call.action == BOOT_NOTIFICATION and answer.response is not None:
            self.accepted = answer.response["status"] == "Accepted"
        await self.send(text_data=answer.text)
        if call.action == BOOT_NOTIFICATION and self.accepted and self.onboarder is None:
            self.onboarder = asyncio.create_task(self.onboard())

    async def handle_answer(self, frame: CallResult | CallError, received_at, received_clock: float) -> None:
        """A CALLRESULT or CALLERROR of the station: resolves our pending CALL, or is logged and ignored."""
        pending = self.pending_calls.pop(frame.message_id, None)
        if pending is None:
            logger.info("ocpp station %r: answer to unknown message id %r ignored", self.identity, frame.message_id)
        elif not pending.answer.done():
            pending.answer.set_result(frame)
        entry = log_entry(
            station_id=self.station_id,
            direction=IN,
            message_type=frame.type_id,
            message_id=frame.message_id,
            action=pending.action if pending else "",
            payload=frame.payload if isinstance(frame, CallResult) else frame.details,
            error_code=frame.error_code if isinstance(frame, CallError) else "",
            error_description=(frame.description if isinstance(frame, CallError) else "")
            or ("" if pending else "No CALL with this message id is pending"),
            created_at=received_at,
            latency_ms=round((received_clock - pending.sent_clock) * 1000) if pending else None,
        )
        await self.log_frames([entry], received_clock)

    async def refuse_frame(
        self, error: RpcError, logged_payload, received_at, call: Call | None = None, throttled: bool = False
    ) -> None:
        """Answer a frame that reaches no handler with its CALLERROR (unless it was a broken answer) and log both."""
        message_id = error.message_id or UNREADABLE_MESSAGE_ID
        code = error.code(self.protocol)
        action = call.action if call else ""
        if not throttled:
            logger.info(
                "ocpp station %r: %s %s (%s)",
                self.identity,
                "refused" if error.answer else "ignored",
                message_id,
                error,
            )
        entries = [
            log_entry(
                station_id=self.station_id,
                direction=IN,
                message_type=call.type_id if call else 0,
                message_id=message_id,
                action=action,
                payload=logged_payload,
                error_code="" if error.answer else code,
                error_description=error.description,
                created_at=received_at,
            )
        ]
        text = None
        if error.answer:
            text = call_error_text(message_id, code, error.description)
            entries.append(
                log_entry(
                    station_id=self.station_id,
                    direction=OUT,
                    message_type=MessageType.CallError,
                    message_id=message_id,
                    action=action,
                    error_code=code,
                    error_description=error.description,
                    created_at=timezone.now(),
                    latency_ms=0,
                )
            )
        if throttled:
            # Logging must not cost the database what the limit is there to save: the next round trip takes it.
            self.backlog.add(*entries)
        else:
            try:
                await self.log_frames(entries, time.monotonic())
            except Exception:
                logger.exception("ocpp station %r: logging refused frame %s failed", self.identity, message_id)
        if text is not None:
            await self.send(text_data=text)

    async def log_frames(self, entries: list, clock: float) -> None:
        await run_in_tenant(
            self.tenant,
            frames_log,
            station_id=self.station_id,
            entries=[*self.backlog.take(self.station_id), *entries],
            mark_seen=self.seen_write_due(clock),
        )

    def seen_write_due(self, clock: float) -> bool:
        if clock - self.last_seen_write_clock < SEEN_WRITE_INTERVAL_S:
            return False
        self.last_seen_write_clock = clock
        return True
