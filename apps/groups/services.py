"""Bulk operations on station groups: a run is started (its stations frozen and split into waves), then sent one
wave at a time with `commands_send`, each station's outcome being its command's status.

`group_run_wave` sends one wave and decides what comes next; calling it again (directly, or from the Celery task
`apps.groups.tasks.group_run_advance` after the pause) sends the next one.
"""

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.db.models.functions import Coalesce, Now
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from apps.accounts.audit import audit_record
from apps.accounts.roles import Role
from apps.commands.models import Command
from apps.commands.operations import OPERATIONS, errors_text
from apps.commands.services import commands_send
from apps.groups.models import GroupRun, GroupRunItem, StaffScope, StationGroup
from apps.groups.selectors import group_stations

logger = logging.getLogger(__name__)

Status = GroupRun.Status


def waves_of(station_count: int, wave_size: int) -> int:
    """How many waves `station_count` stations make, `wave_size` at a time (0: all at once)."""
    if station_count == 0:
        return 0
    size = wave_size or station_count
    return -(-station_count // size)


@transaction.atomic
def group_run_start(
    *,
    group: StationGroup,
    operation: str,
    params: dict | None = None,
    wave_size: int = 0,
    wave_interval_s: int = 0,
    stop_on_failure_rate: int | None = None,
    requested_by=None,
    requested_by_client: str = "",
    source: str = Command.Source.SYSTEM,
) -> GroupRun:
    """Validate, then record the run with one item per station the group has now, in waves (ordered by identity).

    Nothing is sent: `group_run_wave` (or `apps.groups.tasks.group_run_launch`) does that. Bad input raises
    `ValidationError` naming the field, and nothing is recorded.
    """
    definition = OPERATIONS.get(operation)
    if definition is None:
        raise ValidationError({"operation": [f"Unknown operation {operation!r}."]})
    serializer = definition.params(data=params or {})
    serializer.is_valid(raise_exception=True)
    errors = {}
    if wave_size < 0:
        errors["wave_size"] = ["Ensure this value is greater than or equal to 0."]
    if wave_interval_s < 0:
        errors["wave_interval_s"] = ["Ensure this value is greater than or equal to 0."]
    if stop_on_failure_rate is not None and not 0 <= stop_on_failure_rate <= 100:
        errors["stop_on_failure_rate"] = ["A percentage, from 0 to 100."]
    station_ids = list(group_stations(group).order_by("identity").values_list("pk", flat=True))
    if not station_ids:
        errors["group"] = [f"The group {group.name!r} has no stations."]
    if errors:
        raise ValidationError(errors)

    size = wave_size or len(station_ids)
    run = GroupRun.objects.create(
        group=group,
        group_name=group.name,
        operation=operation,
        params=serializer.data,
        wave_size=wave_size,
        wave_interval_s=wave_interval_s,
        stop_on_failure_rate=stop_on_failure_rate,
        waves=waves_of(len(station_ids), wave_size),
        requested_by=requested_by,
        requested_by_client=requested_by_client,
        source=source,
    )
    GroupRunItem.objects.bulk_create(
        GroupRunItem(run=run, station_id=station_id, wave=index // size + 1)
        for index, station_id in enumerate(station_ids)
    )
    return run


def group_run_wave(run: GroupRun, *, wave: int | None = None) -> GroupRun | None:
    """Send the run's next wave (or `wave`, if it is the next) and wait for its outcomes, then decide: another wave
    is due after the interval, the run is completed, or it is stopped because too many stations did not accept.

    Returns the run, or None when this call sent nothing: the wave was already taken by another call (a task
    delivered twice), or the run is finished or cancelled. Must run outside a transaction, as `commands_send`.
    """
    if connection.in_atomic_block:
        raise RuntimeError("group_run_wave sends commands: call it outside transaction.atomic")
    run.refresh_from_db()
    wave = run.current_wave + 1 if wave is None else wave
    # Taking the wave is one conditional UPDATE, so two callers never send the same wave, and a cancelled run
    # sends no more.
    taken = GroupRun.objects.filter(
        pk=run.pk, status__in=GroupRun.ACTIVE, current_wave=wave - 1, waves__gte=wave
    ).update(current_wave=wave, status=Status.RUNNING, started_at=Coalesce("started_at", Now()), next_wave_at=None)
    if not taken:
        return None
    run.refresh_from_db()
    items = list(run.items.filter(wave=wave).select_related("station"))
    try:
        commands, refusals = commands_send(
            stations=[item.station for item in items],
            operation=run.operation,
            params=run.params,
            requested_by=run.requested_by,
            requested_by_client=run.requested_by_client,
            source=run.source,
        )
    except Exception as error:
        logger.exception("group run %s: wave %s failed", run.pk, wave)
        GroupRun.objects.filter(pk=run.pk, status=Status.RUNNING).update(
            status=Status.STOPPED, detail=f"Wave {wave} failed: {error}"[:255], finished_at=timezone.now()
        )
        raise
    by_station = {command.station_id: command for command in commands}
    refused = {refusal.station.pk: errors_text(refusal.errors) for refusal in refusals}
    for item in items:
        item.command = by_station.get(item.station_id)
        item.refusal = refused.get(item.station_id, "")[:255]
    GroupRunItem.objects.bulk_update(items, ["command", "refusal"])
    return _wave_conclude(run, wave, items)


@transaction.atomic
def _wave_conclude(run: GroupRun, wave: int, items: list[GroupRunItem]) -> GroupRun:
    run = GroupRun.objects.select_for_update().get(pk=run.pk)
    if run.status != Status.RUNNING:
        return run  # cancelled while the wave was out
    now = timezone.now()
    # A command still waiting for its answer after commands_send gave up waiting did not accept (yet).
    failed = sum(1 for item in items if item.command is None or item.command.status != Command.Status.ACCEPTED)
    threshold = run.stop_on_failure_rate
    if wave >= run.waves:
        run.status, run.finished_at = Status.COMPLETED, now
    elif threshold is not None and failed * 100 > threshold * len(items):
        run.status, run.finished_at = Status.STOPPED, now
        run.detail = (
            f"Stopped after wave {wave} of {run.waves}: {failed} of {len(items)} stations did not accept "
            f"({failed * 100 / len(items):.0f} % > {threshold} %)."
        )
    else:
        run.next_wave_at = now + timedelta(seconds=run.wave_interval_s)
    run.save(update_fields=["status", "finished_at", "detail", "next_wave_at"])
    return run


@transaction.atomic
def group_run_cancel(run: GroupRun) -> GroupRun:
    """Send no further wave. A wave already out finishes: its commands are with the stations. A finished run is
    left as it is."""
    run = GroupRun.objects.select_for_update().get(pk=run.pk)
    if run.is_active:
        run.status, run.finished_at, run.next_wave_at = Status.CANCELLED, timezone.now(), None
        run.detail = f"Cancelled after wave {run.current_wave} of {run.waves}."
        run.save(update_fields=["status", "finished_at", "next_wave_at", "detail"])
    return run


@transaction.atomic
def staff_scope_set(*, user, locations=(), groups=()) -> StaffScope | None:
    """Limit `user` to these locations and station groups; with neither, lift the limit (the whole brand).

    Owners keep the whole brand and drivers have no staff role to limit: both are refused with a
    django ValidationError, nothing changed. The change is audited (`scope.changed`) with the lists before and
    after, as ids.
    """
    staff_scope_check(user)
    locations, groups = list(locations), list(groups)
    scope = StaffScope.objects.select_for_update().filter(user=user).first()
    before = _scope_ids(scope)
    if not locations and not groups:
        if scope is not None:
            scope.delete()
        scope = None
    else:
        if scope is None:
            scope = StaffScope.objects.create(user=user)
        scope.locations.set(locations)
        scope.groups.set(groups)
        scope.save(update_fields=["updated_at"])
    after = _scope_ids(scope)
    if before != after:
        audit_record(
            action="scope.changed",
            target=user,
            changes={name: [before[name], after[name]] for name in after if before[name] != after[name]},
        )
    return scope


def staff_scope_check(user) -> None:
    """ValidationError naming `user` unless their scope may be limited (staff other than owners)."""
    if user.role in (Role.OWNER, Role.DRIVER) or user.is_superuser:
        raise DjangoValidationError(
            {"user": [_("Only staff other than owners can be limited to some locations or groups.")]}
        )


def _scope_ids(scope: StaffScope | None) -> dict:
    if scope is None:
        return {"locations": [], "groups": []}
    return {
        "locations": sorted(scope.locations.values_list("pk", flat=True)),
        "groups": sorted(scope.groups.values_list("pk", flat=True)),
    }
