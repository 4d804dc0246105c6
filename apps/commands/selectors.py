"""Reads of commands: what was asked of stations, by whom, and the outcome."""

from datetime import datetime

from django.db.models import QuerySet

from apps.commands.models import Command


def command_list(
    *,
    station_id: int | None = None,
    operation: str | None = None,
    status: str | None = None,
    source: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> QuerySet[Command]:
    commands = Command.objects.all()
    if station_id is not None:
        commands = commands.filter(station_id=station_id)
    if operation is not None:
        commands = commands.filter(operation=operation)
    if status is not None:
        commands = commands.filter(status=status)
    if source is not None:
        commands = commands.filter(source=source)
    if created_after is not None:
        commands = commands.filter(created_at__gte=created_after)
    if created_before is not None:
        commands = commands.filter(created_at__lt=created_before)
    return commands
