"""Remote operations sent to stations, each with who asked, what was sent, what came back and the outcome."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.stations.models import Station


class Command(models.Model):
    """One operation for one station, from request to outcome. Rows are never deleted by the platform."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENT = "sent", _("Sent, waiting for the answer")
        ACCEPTED = "accepted", _("Accepted")
        REJECTED = "rejected", _("Rejected")
        TIMEOUT = "timeout", _("No answer in time")
        OFFLINE = "offline", _("Station offline")
        ERROR = "error", _("Error")

    class Source(models.TextChoices):
        ADMIN = "admin", _("Admin")
        PORTAL = "portal", _("Portal")
        API = "api", _("API")
        TASK = "task", _("Background job")
        CLI = "cli", _("Command line")
        SYSTEM = "system", _("Platform")

    FINAL = frozenset({Status.ACCEPTED, Status.REJECTED, Status.TIMEOUT, Status.OFFLINE, Status.ERROR})

    id = models.BigAutoField(primary_key=True, verbose_name=_("id"))
    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="commands", verbose_name=_("station"))
    operation = models.CharField(max_length=40, db_index=True, verbose_name=_("operation"))
    params = models.JSONField(
        default=dict, blank=True, help_text=_("The operation's validated parameters"), verbose_name=_("params")
    )
    status = models.CharField(
        max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True, verbose_name=_("status")
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="commands",
        verbose_name=_("requested by"),
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.SYSTEM, verbose_name=_("source"))
    requested_by_client = models.CharField(
        max_length=120,
        blank=True,
        help_text=_("The API client that asked (key:<prefix> or oauth:<client_id>)"),
        verbose_name=_("requested by client"),
    )
    timeout_s = models.PositiveIntegerField(default=30, verbose_name=_("timeout s"))

    protocol = models.CharField(max_length=12, blank=True, verbose_name=_("protocol"))
    action = models.CharField(max_length=40, blank=True, help_text=_("The OCPP action sent"), verbose_name=_("action"))
    message_id = models.CharField(max_length=36, blank=True, verbose_name=_("message id"))
    request = models.JSONField(null=True, blank=True, help_text=_("The OCPP payload sent"), verbose_name=_("request"))
    response = models.JSONField(
        null=True, blank=True, help_text=_("The station's CALLRESULT payload"), verbose_name=_("response")
    )
    answer_status = models.CharField(
        max_length=40, blank=True, help_text=_("The status the station answered"), verbose_name=_("answer status")
    )
    detail = models.CharField(
        max_length=255, blank=True, help_text=_("Why it failed, or the CALLERROR"), verbose_name=_("detail")
    )

    token = models.CharField(
        max_length=43,
        blank=True,
        db_index=True,
        help_text=_("Secret of the upload URL given to the station (logs)"),
        verbose_name=_("token"),
    )
    progress = models.JSONField(
        default=list,
        blank=True,
        help_text=_("Statuses the station reported after accepting (firmware, log upload)"),
        verbose_name=_("progress"),
    )

    created_at = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("created at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    completed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("completed at"))

    class Meta:
        verbose_name = _("command")
        verbose_name_plural = _("commands")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["station", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.operation} → {self.station_id} ({self.status})"

    @property
    def is_final(self) -> bool:
        return self.status in self.FINAL


def upload_path(instance, filename: str) -> str:
    return f"station-uploads/{instance.station_id}/{instance.command_id}/{filename}"


class StationFile(models.Model):
    """A file a station uploaded for a command: diagnostics or a log (GetDiagnostics / GetLog)."""

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="files", verbose_name=_("station"))
    command = models.ForeignKey(Command, on_delete=models.CASCADE, related_name="files", verbose_name=_("command"))
    file = models.FileField(upload_to=upload_path, verbose_name=_("file"))
    name = models.CharField(max_length=255, verbose_name=_("name"))
    size = models.PositiveBigIntegerField(verbose_name=_("size"))
    content_type = models.CharField(max_length=100, blank=True, verbose_name=_("content type"))
    uploaded_at = models.DateTimeField(auto_now_add=True, verbose_name=_("uploaded at"))

    class Meta:
        verbose_name = _("station file")
        verbose_name_plural = _("station files")
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.name


class OnboardingProfile(models.Model):
    """How stations of a vendor and model are set up on their first accepted boot: configuration keys (1.6) or
    device-model variables (2.0.1) to set, heartbeat and meter intervals, measurands, and known quirks."""

    name = models.CharField(max_length=100, verbose_name=_("name"))
    vendor = models.CharField(
        max_length=50,
        help_text=_("Shell pattern on the vendor the station reports, case-insensitive: Alfen*, *"),
        verbose_name=_("vendor"),
    )
    model_pattern = models.CharField(
        max_length=50,
        default="*",
        help_text=_("Shell pattern on the model, case-insensitive: AC22*, *"),
        verbose_name=_("model pattern"),
    )
    protocol = models.CharField(
        max_length=12,
        blank=True,
        choices=[("ocpp1.6", "OCPP 1.6"), ("ocpp2.0.1", "OCPP 2.0.1")],
        help_text=_("Blank: any"),
        verbose_name=_("protocol"),
    )
    priority = models.IntegerField(
        default=0, help_text=_("The highest wins when several match"), verbose_name=_("priority")
    )
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    heartbeat_interval_s = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("heartbeat interval s"))
    meter_interval_s = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("meter interval s"))
    measurands = models.JSONField(
        default=list,
        blank=True,
        help_text=_('Measurands to sample, e.g. ["Energy.Active.Import.Register", "Power.Active.Import"]'),
        verbose_name=_("measurands"),
    )
    configuration = models.JSONField(
        default=dict, blank=True, help_text=_("OCPP 1.6 keys and values to set"), verbose_name=_("configuration")
    )
    variables = models.JSONField(
        default=list,
        blank=True,
        help_text=(
            _(
                'OCPP 2.0.1 variables to set: [{"component": "AuthCtrlr", "variable": "AuthorizeRemoteStart", '
                '"value": "false"}]'
            )
        ),
        verbose_name=_("variables"),
    )
    quirks = models.TextField(
        blank=True, help_text=_("What operators should know about this model"), verbose_name=_("quirks")
    )

    class Meta:
        verbose_name = _("onboarding profile")
        verbose_name_plural = _("onboarding profiles")
        ordering = ["-priority", "vendor", "model_pattern"]

    def __str__(self) -> str:
        return self.name


class Onboarding(models.Model):
    """That a station was set up on its first accepted boot: with which profile (or none matched), by which commands."""

    station = models.OneToOneField(
        Station, on_delete=models.CASCADE, related_name="onboarding", verbose_name=_("station")
    )
    profile = models.ForeignKey(
        OnboardingProfile, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("profile")
    )
    commands = models.ManyToManyField(Command, blank=True, verbose_name=_("commands"))
    applied_at = models.DateTimeField(auto_now_add=True, verbose_name=_("applied at"))

    class Meta:
        verbose_name = _("onboarding")
        verbose_name_plural = _("onboardings")

    def __str__(self) -> str:
        return f"{self.station} ← {self.profile or 'no profile'}"
