"""Station groups and bulk operations on them: one run per operation, sent in waves, one item per station."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models

from apps.commands.models import Command
from apps.stations.models import Location, Station


class StationGroup(models.Model):
    """A named set of stations of this tenant: every station of some locations, or an explicit list."""

    class Kind(models.TextChoices):
        LOCATION = "location", "Every station of the chosen locations"
        CUSTOM = "custom", "A list of stations"

    # Unique per tenant: each tenant has its own schema.
    name = models.CharField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LOCATION)
    locations = models.ManyToManyField(
        Location, blank=True, related_name="station_groups", help_text="Location groups: their stations, always current"
    )
    stations = models.ManyToManyField(
        Station, blank=True, related_name="station_groups", help_text="Custom groups: exactly these stations"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GroupRun(models.Model):
    """One operation on the stations a group had when the run started, sent wave after wave."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for its first wave"
        RUNNING = "running", "Running"
        COMPLETED = "completed", "Completed"
        STOPPED = "stopped", "Stopped: too many failures"
        CANCELLED = "cancelled", "Cancelled"

    ACTIVE = frozenset({Status.PENDING, Status.RUNNING})

    # Runs are history: they outlive their group, whose name they keep.
    group = models.ForeignKey(StationGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    group_name = models.CharField(max_length=100)
    operation = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True, help_text="The operation's validated parameters")

    wave_size = models.PositiveIntegerField(default=0, help_text="Stations per wave; 0: all at once")
    wave_interval_s = models.PositiveIntegerField("pause between waves (s)", default=0)
    stop_on_failure_rate = models.PositiveSmallIntegerField(
        "stop above (% not accepted)",
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text="Stop when more than this percentage of a wave did not accept; empty: never stop",
    )
    waves = models.PositiveIntegerField(default=1, help_text="How many waves the run has")
    current_wave = models.PositiveIntegerField(default=0, help_text="The last wave sent; 0: none yet")
    next_wave_at = models.DateTimeField(null=True, blank=True)

    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
    detail = models.CharField(max_length=255, blank=True, help_text="Why the run stopped or was cancelled")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="group_runs"
    )
    source = models.CharField(max_length=10, choices=Command.Source.choices, default=Command.Source.SYSTEM)
    requested_by_client = models.CharField(
        max_length=120, blank=True, help_text="The API client that started it (key:<prefix> or oauth:<client_id>)"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "group run"

    def __str__(self) -> str:
        return f"{self.operation} on {self.group_name} (#{self.pk})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class GroupRunItem(models.Model):
    """One station of a run: its wave, and the command it was sent (whose status is the station's outcome)."""

    run = models.ForeignKey(GroupRun, on_delete=models.CASCADE, related_name="items")
    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="group_run_items")
    wave = models.PositiveIntegerField()
    command = models.OneToOneField(
        Command, null=True, blank=True, on_delete=models.SET_NULL, related_name="group_run_item"
    )
    refusal = models.CharField(
        max_length=255, blank=True, help_text="Why the operation was not sent to this station (e.g. its version)"
    )

    class Meta:
        ordering = ["wave", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "station"], name="group_run_item_unique_station")]
        indexes = [models.Index(fields=["run", "wave"])]
        verbose_name = "station of a run"
        verbose_name_plural = "stations of a run"

    def __str__(self) -> str:
        return f"{self.station} (wave {self.wave})"
