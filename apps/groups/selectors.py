"""Reads: a group's stations as they are now, groups with their sizes, runs with their progress."""

from dataclasses import dataclass

from django.db.models import Case, Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce

from apps.commands.models import Command
from apps.groups.models import GroupRun, GroupRunItem, StationGroup
from apps.stations.models import Station

Status = Command.Status
OUTCOMES = (Status.ACCEPTED, Status.REJECTED, Status.TIMEOUT, Status.OFFLINE, Status.ERROR)


def group_stations(group: StationGroup) -> QuerySet[Station]:
    """The group's stations: for a location group, every station at one of its locations right now."""
    if group.kind == StationGroup.Kind.LOCATION:
        return Station.objects.filter(location__station_groups=group)
    return Station.objects.filter(station_groups=group)


def group_list(*, kind: str | None = None, station_id: int | None = None) -> QuerySet[StationGroup]:
    """Groups with `station_count`: how many stations a run started now would send to. `station_id`: the groups
    that station is in now (listed, or at one of the group's locations)."""
    at_locations = (
        Station.objects.filter(location__station_groups=OuterRef("pk"))
        .order_by()
        .values("location__station_groups")
        .annotate(n=Count("pk"))
        .values("n")
    )
    listed = (
        StationGroup.stations.through.objects.filter(stationgroup=OuterRef("pk"))
        .order_by()
        .values("stationgroup")
        .annotate(n=Count("pk"))
        .values("n")
    )
    groups = StationGroup.objects.all()
    if kind is not None:
        groups = groups.filter(kind=kind)
    if station_id is not None:
        containing = StationGroup.objects.filter(
            Q(kind=StationGroup.Kind.CUSTOM, stations=station_id)
            | Q(kind=StationGroup.Kind.LOCATION, locations__stations=station_id)
        )
        groups = groups.filter(pk__in=containing.values("pk"))
    return groups.annotate(
        station_count=Coalesce(
            Case(
                When(kind=StationGroup.Kind.LOCATION, then=Subquery(at_locations)),
                default=Subquery(listed),
                output_field=IntegerField(),
            ),
            Value(0),
        )
    )


@dataclass(frozen=True)
class Progress:
    """Where a run stands, counted from its items' commands. `error` includes stations refused before sending."""

    total: int
    accepted: int
    rejected: int
    timeout: int
    offline: int
    error: int
    in_flight: int

    @property
    def done(self) -> int:
        return self.accepted + self.rejected + self.timeout + self.offline + self.error

    @property
    def not_sent(self) -> int:
        return self.total - self.done - self.in_flight

    def __str__(self) -> str:
        outcomes = [f"{getattr(self, name)} {name}" for name in OUTCOMES if getattr(self, name)]
        text = f"{self.done}/{self.total} done"
        return f"{text}: {', '.join(outcomes)}" if outcomes else text

    @classmethod
    def of(cls, counted) -> "Progress":
        """From a run annotated by `group_run_list`, or from the dict `group_run_progress` aggregates."""
        read = counted.get if isinstance(counted, dict) else lambda name: getattr(counted, name)
        return cls(**{name: read(f"progress_{name}") or 0 for name in cls.__dataclass_fields__})


def _progress_counts(prefix: str) -> dict:
    """Conditional counts over a run's items (`prefix` "items__" from a run, "" from the items themselves)."""
    item = prefix.removesuffix("__") or "pk"

    def with_status(*statuses) -> Q:
        return Q(**{f"{prefix}command__status__in": statuses})

    return {
        "progress_total": Count(item),
        **{f"progress_{status}": Count(item, filter=with_status(status)) for status in OUTCOMES if status != "error"},
        "progress_error": Count(item, filter=with_status(Status.ERROR) | Q(**{f"{prefix}refusal__gt": ""})),
        "progress_in_flight": Count(item, filter=with_status(Status.PENDING, Status.SENT)),
    }


def group_run_list(
    *,
    group_id: int | None = None,
    status: str | None = None,
    operation: str | None = None,
    source: str | None = None,
) -> QuerySet[GroupRun]:
    """Runs with their progress counted in SQL (read it with `Progress.of(run)`)."""
    runs = GroupRun.objects.all()
    if group_id is not None:
        runs = runs.filter(group_id=group_id)
    if status is not None:
        runs = runs.filter(status=status)
    if operation is not None:
        runs = runs.filter(operation=operation)
    if source is not None:
        runs = runs.filter(source=source)
    return runs.annotate(**_progress_counts("items__"))


def group_run_items(run: GroupRun) -> QuerySet[GroupRunItem]:
    """The run's stations in wave order, with their station and `command_status` (the outcome; None until sent)."""
    return (
        GroupRunItem.objects.filter(run=run)
        .select_related("station")
        .annotate(command_status=F("command__status"))
        .order_by("wave", "id")
    )


def group_run_progress(run: GroupRun) -> Progress:
    return Progress.of(GroupRunItem.objects.filter(run=run).aggregate(**_progress_counts("")))
