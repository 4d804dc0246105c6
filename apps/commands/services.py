"""Send a remote operation to a station from any process, and record what happened.

`command_send` is the one entry point: web requests, the admin, the API, Celery tasks and management commands all
call it. It validates the parameters, records the command, and hands it to the station's connection through the
channel layer (Redis when there are several server processes), whichever daphne process holds it. The connection
runs one operation at a time per station, answers "queued" at once, and records the outcome itself, so a caller
that stops waiting loses nothing: the command row is the truth.
"""

import asyncio
import logging
import secrets
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from rest_framework.exceptions import ValidationError

from apps.accounts.audit import audit_record
from apps.commands.models import Command, StationFile
from apps.commands.operations import OPERATIONS
from apps.stations.live import connection_group, live_publish
from apps.stations.models import Station
from apps.whitelabel.models import Domain
from apps.whitelabel.tenancy import run_in_tenant

logger = logging.getLogger(__name__)

Status = Command.Status
# Operations whose station uploads a file to the platform, at a URL with the command's secret token.
UPLOADING_OPERATIONS = frozenset({"get_log"})
DEFAULT_TIMEOUT_S = 30
# How long a connection may take to say it has the command; without that, no process holds the station.
QUEUED_ANSWER_S = 3.0
# Channel-layer message types between callers and connections.
COMMAND_MESSAGE = "ocpp.command"
QUEUED, DONE = "command.queued", "command.done"


def command_create(
    *,
    station: Station,
    operation: str,
    params: dict | None = None,
    requested_by=None,
    requested_by_client: str = "",
    source: str = Command.Source.SYSTEM,
    timeout_s: int = DEFAULT_TIMEOUT_S,
) -> Command:
    """Validate and record a command; `ValidationError` names the field when the parameters are wrong."""
    definition = OPERATIONS.get(operation)
    if definition is None:
        raise ValidationError({"operation": [f"Unknown operation {operation!r}."]})
    if station.protocol and station.protocol not in definition.protocols:
        versions = " and ".join(sorted(definition.protocols))
        raise ValidationError(
            {"operation": [f"{definition.label} exists in {versions}; this station speaks {station.protocol}."]}
        )
    serializer = definition.params(data=params or {})
    serializer.is_valid(raise_exception=True)
    command = Command.objects.create(
        station=station,
        operation=operation,
        params=serializer.data,
        requested_by=requested_by,
        requested_by_client=requested_by_client,
        source=source,
        timeout_s=timeout_s,
        token=secrets.token_urlsafe(32) if operation in UPLOADING_OPERATIONS else "",
    )
    if source != Command.Source.SYSTEM:
        # Someone asked (a person, an API client, a job they started): privileged, audited. The platform's own
        # commands (onboarding a station at boot) are not.
        audit_record(
            action="command.sent",
            target=command,
            target_label=f"{operation} → {station.identity}",
            changes={"station": station.identity, "operation": operation, "params": command.params},
            default_actor=requested_by,
        )
    return command


def command_send(*, wait: bool = True, **fields) -> Command:
    """Record the command, send it, and (with `wait`) return it with its outcome: accepted, rejected, timeout,
    offline or error. Must run outside a transaction: the station's process reads the committed row."""
    if connection.in_atomic_block:
        raise RuntimeError("command_send needs the command committed: call it outside transaction.atomic")
    command = command_create(**fields)
    if not Station.objects.filter(pk=command.station_id, is_online=True).exists():
        command_finish(command_id=command.pk, status=Status.OFFLINE, detail="The station is not connected.")
    else:
        async_to_sync(command_deliver)(connection.schema_name, command, wait=wait)
    command.refresh_from_db()
    return command


@dataclass(frozen=True)
class Refusal:
    """A station the operation was not sent to, and why (its parameters or version)."""

    station: Station
    errors: dict


def commands_send(*, stations, operation: str, params: dict | None = None, concurrency: int = 50, **fields):
    """The same operation for many stations at once, at most `concurrency` in flight: (commands, refusals).

    Each station gets its own command and outcome; one that cannot take the operation (another protocol version)
    is refused alone, the others go ahead.
    """
    if connection.in_atomic_block:
        raise RuntimeError("commands_send needs the commands committed: call it outside transaction.atomic")
    commands, refusals = [], []
    for station in stations:
        try:
            commands.append(command_create(station=station, operation=operation, params=params, **fields))
        except ValidationError as error:
            refusals.append(Refusal(station, error.detail))
    return commands_deliver(commands, concurrency=concurrency), refusals


def commands_deliver(commands: list[Command], *, concurrency: int = 50) -> list[Command]:
    """Send recorded commands (offline stations end at once) and return them with their outcomes, in order."""
    if connection.in_atomic_block:
        raise RuntimeError("commands_deliver needs the commands committed: call it outside transaction.atomic")
    online = set(
        Station.objects.filter(pk__in=[c.station_id for c in commands], is_online=True).values_list("pk", flat=True)
    )
    for command in commands:
        if command.station_id not in online:
            command_finish(command_id=command.pk, status=Status.OFFLINE, detail="The station is not connected.")
    reachable = [command for command in commands if command.station_id in online]
    if reachable:
        async_to_sync(_deliver_many)(connection.schema_name, reachable, concurrency)
    by_id = Command.objects.in_bulk([command.pk for command in commands])
    return [by_id[command.pk] for command in commands]


async def _deliver_many(schema_name: str, commands: list[Command], concurrency: int) -> None:
    limit = asyncio.Semaphore(concurrency)
    layer, private = _reply_layer()

    async def one(command: Command) -> None:
        async with limit:
            await _deliver(layer, schema_name, command, wait=True)

    try:
        await asyncio.gather(*(one(command) for command in commands))
    finally:
        if private:
            await layer.close_pools()


async def command_deliver(schema_name: str, command: Command, *, wait: bool = True) -> None:
    """Hand the command to the station's connection and, with `wait`, wait for its outcome."""
    layer, private = _reply_layer()
    try:
        await _deliver(layer, schema_name, command, wait=wait)
    finally:
        if private:
            await layer.close_pools()


def _reply_layer():
    """The channel layer to wait for the answer on. A Redis layer instance receives on one event loop only, and
    callers in several threads each run their own loop (async_to_sync), so each delivery gets its own instance;
    the in-memory layer of a single process must be the shared one."""
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        return layer, False
    return channel_layers.make_backend(DEFAULT_CHANNEL_LAYER), True


async def _deliver(layer, schema_name: str, command: Command, *, wait: bool) -> None:
    reply_to = await layer.new_channel()
    await layer.group_send(
        connection_group(schema_name, command.station_id),
        {"type": COMMAND_MESSAGE, "command_id": command.pk, "reply_to": reply_to},
    )
    try:
        queued = await asyncio.wait_for(layer.receive(reply_to), QUEUED_ANSWER_S)
    except TimeoutError:
        await run_in_tenant(
            schema_name,
            command_finish,
            command_id=command.pk,
            status=Status.OFFLINE,
            detail="No server process holds a connection of the station.",
        )
        return
    if not wait:
        return
    # Operations ahead of it in the station's queue each take at most their own timeout.
    limit = command.timeout_s * (queued.get("position", 0) + 1) + QUEUED_ANSWER_S
    try:
        while (await asyncio.wait_for(layer.receive(reply_to), limit))["type"] != DONE:
            pass
    except TimeoutError:
        logger.warning("command %s: no outcome after %.0f s; the connection will still record it", command.pk, limit)


# --- called by the connection (apps/ocpp) -------------------------------------------------------------------------


@dataclass(frozen=True)
class Claimed:
    operation: str
    params: dict
    timeout_s: int
    upload_url: str = ""


@transaction.atomic
def command_claim(*, command_id: int, station_id: int) -> Claimed | None:
    """The connection takes a pending command for its station; None if it is not one (another connection or
    process took it, or it is for another station)."""
    taken = Command.objects.filter(pk=command_id, station_id=station_id, status=Status.PENDING).update(
        status=Status.SENT, sent_at=timezone.now()
    )
    if not taken:
        return None
    command = Command.objects.get(pk=command_id)
    return Claimed(command.operation, command.params, command.timeout_s, upload_url(command) if command.token else "")


def command_sent(*, command_id: int, protocol: str, action: str, message_id: str, request: dict) -> None:
    Command.objects.filter(pk=command_id).update(
        protocol=protocol, action=action, message_id=message_id, request=request
    )


def command_finish(
    *,
    command_id: int,
    status: str,
    detail: str = "",
    response: dict | None = None,
    answer_status: str = "",
) -> None:
    """Record the outcome once: a command that already has one keeps it. Publishes `command.completed`."""
    updated = Command.objects.filter(Q(pk=command_id) & ~Q(status__in=Command.FINAL)).update(
        status=status,
        detail=detail[:255],
        response=response,
        answer_status=answer_status[:40],
        completed_at=timezone.now(),
    )
    if updated:
        station_id, operation = Command.objects.filter(pk=command_id).values_list("station_id", "operation").get()
        live_publish(
            "command.completed",
            station_id=station_id,
            data={"command_id": command_id, "operation": operation, "status": status, "detail": detail[:255]},
        )


def commands_abandon(*, sent: list[int], queued: list[int]) -> None:
    """The commands a connection held when it closed: a sent one got no answer (whether the station acted on it
    is unknown), a queued one never left."""
    for command_id in sent:
        command_finish(command_id=command_id, status=Status.ERROR, detail="The connection closed before the answer.")
    for command_id in queued:
        command_finish(command_id=command_id, status=Status.OFFLINE, detail="The connection closed before sending.")


def upload_url(command: Command) -> str:
    """The URL the station uploads the command's file to, on the brand's primary domain."""
    domain = Domain.objects.filter(tenant__schema_name=connection.schema_name, is_primary=True).first()
    base = settings.STATION_UPLOAD_BASE_URL.format(domain=domain.domain if domain else "localhost")
    return f"{base.rstrip('/')}/station-uploads/{command.token}"


@transaction.atomic
def command_progress_report(*, station_id: int, operation: str, status: str, request_id: int | None = None) -> bool:
    """A status the station reports about an accepted command (firmware download and install, log upload):
    added to the command's progress. 2.0.1 names the command by its requestId; 1.6 means the latest one."""
    commands = Command.objects.select_for_update().filter(
        station_id=station_id, operation=operation, status=Status.ACCEPTED
    )
    if request_id is not None:
        commands = commands.filter(request__requestId=request_id)
    command = commands.order_by("-created_at").first()
    if command is None:
        return False
    command.progress = [*command.progress, {"status": status, "at": timezone.now().isoformat()}]
    command.save(update_fields=["progress"])
    return True


@transaction.atomic
def station_file_store(*, command: Command, name: str, content, size: int, content_type: str = "") -> StationFile:
    """Keep a file the station uploaded for `command`."""
    stored = StationFile(
        station_id=command.station_id, command=command, name=name[:255], size=size, content_type=content_type[:100]
    )
    stored.file.save(name, content, save=False)
    stored.save()
    return stored
