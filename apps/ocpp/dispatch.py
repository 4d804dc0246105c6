"""The synchronous half of the edge: what runs in a worker thread inside the tenant's schema.

Each function is one `run_in_tenant` call and one transaction: a CALL's handler, the station's last-seen time
when due, and the message-log rows of the request and its answer are written together.
"""

import logging
import time
from dataclasses import dataclass, replace
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from ocpp.messages import MessageType

from apps.commands.models import Command
from apps.commands.services import command_claim, command_finish, command_sent
from apps.ocpp.commands import BuildContext, Inexpressible, answer_read, request_build
from apps.ocpp.framing import (
    OCPP16,
    OCPP201,
    Call,
    CallError,
    ErrorKind,
    RpcError,
    call_error_text,
    call_result_text,
    validate_call_payload,
)
from apps.ocpp.messagelog import IN, OUT, log_entry
from apps.ocpp.v16.handlers import HANDLERS as HANDLERS_16
from apps.ocpp.v201.handlers import HANDLERS as HANDLERS_201
from apps.sessions.models import Reservation
from apps.sessions.selectors import local_list_entries
from apps.sessions.services import reservation_record, reservation_status_set
from apps.stations.inserts import rows_deferred
from apps.stations.models import NetworkSettings, Station
from apps.stations.services import (
    MessageLogInput,
    message_log_write,
    station_connected,
    station_disconnected,
    station_local_list_version_set,
    station_seen,
    station_variables_store,
)

logger = logging.getLogger(__name__)

HANDLERS = {OCPP16: HANDLERS_16, OCPP201: HANDLERS_201}
CommandStatus = Command.Status
ACCEPTED = "accepted"


@dataclass(frozen=True)
class ConnectionSettings:
    """What a connection needs to know about its station and tenant, read once when it opens."""

    accepted: bool
    replaces: bool  # the station had a connection (here or in another process) that this one closes
    max_frame_bytes: int
    offline_after_s: int
    heartbeat_interval_s: int


@dataclass(frozen=True)
class Answer:
    text: str
    response: dict | None  # the CALLRESULT payload, None when the answer is a CALLERROR


def connection_open(*, station_id: int, protocol: str, connection_id: str) -> ConnectionSettings:
    with transaction.atomic():
        connected = station_connected(station_id=station_id, protocol=protocol, connection_id=connection_id)
        network = NetworkSettings.get()
    return ConnectionSettings(
        accepted=connected.station.registration_status == ACCEPTED,
        replaces=bool(connected.previous_connection_id),
        max_frame_bytes=network.max_frame_bytes,
        offline_after_s=network.offline_after_s,
        heartbeat_interval_s=network.heartbeat_interval_s,
    )


def connection_close(*, station_id: int, connection_id: str, backlog: list[MessageLogInput]) -> None:
    with transaction.atomic():
        if backlog:
            message_log_write(entries=backlog)
        station_disconnected(station_id=station_id, connection_id=connection_id)


def frames_log(*, station_id: int, entries: list[MessageLogInput], mark_seen: bool) -> None:
    """Frames that reached no handler (bad input, refused CALLs, answers to our CALLs)."""
    with transaction.atomic():
        if mark_seen:
            station_seen(station_id=station_id)
        message_log_write(entries=entries)


def call_handle(
    *,
    station_id: int,
    protocol: str,
    call: Call,
    received_at: datetime,
    received_clock: float,
    backlog: list[MessageLogInput],
    mark_seen: bool,
) -> Answer:
    """Run the CALL's handler and log both frames in one transaction.

    No savepoint: a handler that fails rolls the whole transaction back, and the frames and the CALLERROR are then
    logged in a transaction of their own. Failures are rare; the savepoint that would spare the second
    transaction cost two statements on every message (docs/performance.md).
    """
    handler = HANDLERS[protocol][call.action]
    try:
        with transaction.atomic():
            response = handler(station_id, call.payload)
            text = call_result_text(call.message_id, response)
            outbound = _outbound_entry(station_id, call, received_clock, payload=response)
            _frames_log(station_id, call, received_at, outbound, backlog, mark_seen)
        return Answer(text=text, response=response)
    except RpcError as error:
        error_code, description = error.code(protocol), error.description
    except Exception:
        logger.exception("station %s: %s %s failed", station_id, call.action, call.message_id)
        error_code = RpcError(ErrorKind.INTERNAL, "").code(protocol)
        description = f"The CSMS could not process {call.action}"
    outbound = _outbound_entry(station_id, call, received_clock, error_code=error_code, description=description)
    with transaction.atomic():
        _frames_log(station_id, call, received_at, outbound, backlog, mark_seen)
    return Answer(text=call_error_text(call.message_id, error_code, description), response=None)


@dataclass(frozen=True)
class QueuedCall:
    """A CALL waiting in the process's batch (apps/ocpp/batching.py), with what call_handle needs."""

    station_id: int
    protocol: str
    call: Call
    received_at: datetime
    received_clock: float
    backlog: list[MessageLogInput]
    mark_seen: bool


def calls_handle(*, queued: list[QueuedCall]) -> list[Answer]:
    """Several stations' CALLs in one transaction, their rows in one INSERT per table; the answers in order.

    If any of them fails, the batch is rolled back and each is handled alone (`call_handle`), so one station's bad
    message costs the others nothing but time. A station has one CALL in flight, so a batch never holds two of the
    same station and the order of a station's messages is kept.
    """
    try:
        answers: dict[int, Answer] = {}
        with transaction.atomic(), rows_deferred():
            for item in sorted(queued, key=lambda item: item.station_id):  # one lock order for every batch
                response = HANDLERS[item.protocol][item.call.action](item.station_id, item.call.payload)
                outbound = _outbound_entry(item.station_id, item.call, item.received_clock, payload=response)
                _frames_log(item.station_id, item.call, item.received_at, outbound, item.backlog, item.mark_seen)
                answers[id(item)] = Answer(text=call_result_text(item.call.message_id, response), response=response)
        return [answers[id(item)] for item in queued]
    except Exception as error:
        logger.info("a batch of %s CALLs failed (%s): handling each alone", len(queued), error)
    return [
        call_handle(
            station_id=item.station_id,
            protocol=item.protocol,
            call=item.call,
            received_at=item.received_at,
            received_clock=item.received_clock,
            backlog=item.backlog,
            mark_seen=item.mark_seen,
        )
        for item in queued
    ]


def _outbound_entry(
    station_id: int, call: Call, received_clock: float, *, payload=None, error_code: str = "", description: str = ""
) -> MessageLogInput:
    return log_entry(
        station_id=station_id,
        direction=OUT,
        message_type=MessageType.CallError if error_code else MessageType.CallResult,
        message_id=call.message_id,
        action=call.action,
        payload=payload,
        error_code=error_code,
        error_description=description,
        created_at=timezone.now(),
        latency_ms=round((time.monotonic() - received_clock) * 1000),
    )


def _frames_log(
    station_id: int,
    call: Call,
    received_at: datetime,
    outbound: MessageLogInput,
    backlog: list[MessageLogInput],
    mark_seen: bool,
) -> None:
    inbound = log_entry(
        station_id=station_id,
        direction=IN,
        message_type=call.type_id,
        message_id=call.message_id,
        action=call.action,
        payload=call.payload,
        created_at=received_at,
    )
    if mark_seen:
        station_seen(station_id=station_id)
    message_log_write(entries=[*backlog, inbound, outbound])


# --- remote operations --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """A claimed command, ready to go out as a CALL (or refused before sending)."""

    command_id: int
    operation: str
    params: dict
    timeout_s: int
    action: str = ""
    payload: dict | None = None
    refusal: str = ""


def command_take(*, command_id: int, station_id: int, protocol: str, message_id: str) -> Outgoing | None:
    """Claim the command for this connection and build its CALL; None when it is not this connection's to send.

    Parameters this version cannot express, or a CALL that would break the official schema, end the command as
    an error here: nothing invalid reaches the station.
    """
    with transaction.atomic():
        claimed = command_claim(command_id=command_id, station_id=station_id)
        if claimed is None:
            return None
        outgoing = Outgoing(command_id, claimed.operation, claimed.params, claimed.timeout_s)
        try:
            context = _build_context(station_id, command_id, claimed)
            action, payload = request_build(protocol, claimed.operation, claimed.params, context)
            validate_call_payload(protocol, action, payload)
        except (Inexpressible, RpcError) as problem:
            command_finish(command_id=command_id, status=CommandStatus.ERROR, detail=str(problem))
            return replace(outgoing, refusal=str(problem))
        command_sent(command_id=command_id, protocol=protocol, action=action, message_id=message_id, request=payload)
        message_log_write(
            entries=[
                log_entry(
                    station_id=station_id,
                    direction=OUT,
                    message_type=MessageType.Call,
                    message_id=message_id,
                    action=action,
                    payload=payload,
                    created_at=timezone.now(),
                )
            ]
        )
    return replace(outgoing, action=action, payload=payload)


def _build_context(station_id: int, command_id: int, claimed) -> BuildContext:
    """What the CALL needs from the platform: the upload URL of a log, the local list and its next version."""
    context = BuildContext(command_id=command_id, upload_url=claimed.upload_url)
    if claimed.operation == "send_local_list":
        version = Station.objects.values_list("local_list_version", flat=True).get(pk=station_id) or 0
        uids = claimed.params.get("id_tokens") or None
        context = replace(context, list_version=version + 1, list_entries=tuple(local_list_entries(uids=uids)))
    return context


def _answer_apply(station_id: int, outgoing: Outgoing, reading) -> None:
    """What an answer changes besides the command: configuration, the local list version, reservations."""
    if reading.variables:
        station_variables_store(station_id=station_id, reports=reading.variables)
    operation, params, request = outgoing.operation, outgoing.params, outgoing.payload
    if "list_version" in reading.facts:
        station_local_list_version_set(station_id=station_id, version=reading.facts["list_version"])
    elif operation == "send_local_list" and reading.accepted:
        version = request.get("listVersion", request.get("versionNumber"))
        station_local_list_version_set(station_id=station_id, version=version)
    elif operation == "reserve_now":
        reservation_record(
            station_id=station_id,
            reservation_id=request.get("reservationId", request.get("id")),
            evse_id=params["evse_id"],
            id_token_uid=params["id_token"],
            expires_at=parse_datetime(params["expires_at"]),
            accepted=reading.accepted,
            answer_status=reading.answer_status,
        )
    elif operation == "cancel_reservation" and reading.accepted:
        reservation_status_set(
            station_id=station_id, reservation_id=params["reservation_id"], status=Reservation.Status.CANCELLED
        )


def command_answered(*, station_id: int, protocol: str, outgoing: Outgoing, answer) -> str:
    """Record the station's answer (a CallResult, a CallError or None for no answer in time): the outcome."""
    with transaction.atomic():
        if answer is None:
            status, fields = CommandStatus.TIMEOUT, {"detail": f"No answer within {outgoing.timeout_s} s."}
        elif isinstance(answer, CallError):
            status = CommandStatus.ERROR
            fields = {"detail": f"{answer.error_code}: {answer.description}", "answer_status": answer.error_code}
        else:
            try:
                validate_call_payload(protocol, outgoing.action, answer.payload, MessageType.CallResult)
            except RpcError as violation:
                status = CommandStatus.ERROR
                fields = {"detail": f"The answer breaks the schema: {violation}", "response": answer.payload}
            else:
                reading = answer_read(protocol, outgoing.operation, outgoing.params, answer.payload)
                status = CommandStatus.ACCEPTED if reading.accepted else CommandStatus.REJECTED
                fields = {"response": answer.payload, "answer_status": reading.answer_status}
                _answer_apply(station_id, outgoing, reading)
        command_finish(command_id=outgoing.command_id, status=status, **fields)
    return status
