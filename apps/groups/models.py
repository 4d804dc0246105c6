"""Station groups and bulk operations on them: one run per operation, sent in waves, one item per station."""

from django.conf import settings
from django.core.validators import MaxValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.commands.models import Command
from apps.stations.models import Location, Station


class StationGroup(models.Model):
    """A named set of stations of this tenant: every station of some locations, or an explicit list."""

    class Kind(models.TextChoices):
        LOCATION = "location", _("Every station of the chosen locations")
        CUSTOM = "custom", _("A list of stations")

    # Unique per tenant: each tenant has its own schema.
    name = models.CharField(max_length=100, unique=True, verbose_name=_("name"))
    description = models.TextField(blank=True, verbose_name=_("description"))
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LOCATION, verbose_name=_("kind"))
    locations = models.ManyToManyField(
        Location,
        blank=True,
        related_name="station_groups",
        help_text=_("Location groups: their stations, always current"),
        verbose_name=_("locations"),
    )
    stations = models.ManyToManyField(
        Station,
        blank=True,
        related_name="station_groups",
        help_text=_("Custom groups: exactly these stations"),
        verbose_name=_("stations"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("station group")
        verbose_name_plural = _("station groups")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class GroupRun(models.Model):
    """One operation on the stations a group had when the run started, sent wave after wave."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for its first wave")
        RUNNING = "running", _("Running")
        COMPLETED = "completed", _("Completed")
        STOPPED = "stopped", _("Stopped: too many failures")
        CANCELLED = "cancelled", _("Cancelled")

    ACTIVE = frozenset({Status.PENDING, Status.RUNNING})

    # Runs are history: they outlive their group, whose name they keep.
    group = models.ForeignKey(
        StationGroup, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs", verbose_name=_("group")
    )
    group_name = models.CharField(max_length=100, verbose_name=_("group name"))
    operation = models.CharField(max_length=40, verbose_name=_("operation"))
    params = models.JSONField(
        default=dict, blank=True, help_text=_("The operation's validated parameters"), verbose_name=_("params")
    )

    wave_size = models.PositiveIntegerField(
        default=0, help_text=_("Stations per wave; 0: all at once"), verbose_name=_("wave size")
    )
    wave_interval_s = models.PositiveIntegerField(_("pause between waves (s)"), default=0)
    stop_on_failure_rate = models.PositiveSmallIntegerField(
        _("stop above (% not accepted)"),
        null=True,
        blank=True,
        validators=[MaxValueValidator(100)],
        help_text=_("Stop when more than this percentage of a wave did not accept; empty: never stop"),
    )
    waves = models.PositiveIntegerField(default=1, help_text=_("How many waves the run has"), verbose_name=_("waves"))
    current_wave = models.PositiveIntegerField(
        default=0, help_text=_("The last wave sent; 0: none yet"), verbose_name=_("current wave")
    )
    next_wave_at = models.DateTimeField(null=True, blank=True, verbose_name=_("next wave at"))

    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True, verbose_name=_("status")
    )
    detail = models.CharField(
        max_length=255, blank=True, help_text=_("Why the run stopped or was cancelled"), verbose_name=_("detail")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="group_runs",
        verbose_name=_("requested by"),
    )
    requested_by_client = models.CharField(
        max_length=120,
        blank=True,
        help_text=_("The API client that started it (key:<prefix> or oauth:<client_id>)"),
        verbose_name=_("requested by client"),
    )
    source = models.CharField(
        max_length=10, choices=Command.Source.choices, default=Command.Source.SYSTEM, verbose_name=_("source")
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        verbose_name_plural = _("group runs")
        ordering = ["-created_at"]
        verbose_name = _("group run")

    def __str__(self) -> str:
        return f"{self.operation} on {self.group_name} (#{self.pk})"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class GroupRunItem(models.Model):
    """One station of a run: its wave, and the command it was sent (whose status is the station's outcome)."""

    run = models.ForeignKey(GroupRun, on_delete=models.CASCADE, related_name="items", verbose_name=_("run"))
    station = models.ForeignKey(
        Station, on_delete=models.CASCADE, related_name="group_run_items", verbose_name=_("station")
    )
    wave = models.PositiveIntegerField(verbose_name=_("wave"))
    command = models.OneToOneField(
        Command,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="group_run_item",
        verbose_name=_("command"),
    )
    refusal = models.CharField(
        max_length=255,
        blank=True,
        help_text=_("Why the operation was not sent to this station (e.g. its version)"),
        verbose_name=_("refusal"),
    )

    class Meta:
        ordering = ["wave", "id"]
        constraints = [models.UniqueConstraint(fields=["run", "station"], name="group_run_item_unique_station")]
        indexes = [models.Index(fields=["run", "wave"])]
        verbose_name = _("station of a run")
        verbose_name_plural = _("stations of a run")

    def __str__(self) -> str:
        return f"{self.station} (wave {self.wave})"


class StaffScope(models.Model):
    """The locations and station groups a staff user's role applies to. No row: the whole brand.

    It lives here, not in apps.accounts, because accounts is also a shared app (its tables exist in the public
    schema, where there are no locations or groups to point at). Written through `groups.services.staff_scope_set`,
    which deletes the row when both lists are empty, so a row always means "limited".
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_scope", verbose_name=_("user")
    )
    locations = models.ManyToManyField(Location, blank=True, related_name="staff_scopes", verbose_name=_("locations"))
    groups = models.ManyToManyField(
        StationGroup, blank=True, related_name="staff_scopes", verbose_name=_("station groups")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("staff scope")
        verbose_name_plural = _("staff scopes")

    def __str__(self) -> str:
        return str(self.user)
