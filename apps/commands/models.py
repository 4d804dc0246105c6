"""Remote operations sent to stations, each with who asked, what was sent, what came back and the outcome."""

from django.conf import settings
from django.db import models

from apps.stations.models import Station


class Command(models.Model):
    """One operation for one station, from request to outcome. Rows are never deleted by the platform."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENT = "sent", "Sent, waiting for the answer"
        ACCEPTED = "accepted", "Accepted"
        REJECTED = "rejected", "Rejected"
        TIMEOUT = "timeout", "No answer in time"
        OFFLINE = "offline", "Station offline"
        ERROR = "error", "Error"

    class Source(models.TextChoices):
        ADMIN = "admin", "Admin"
        API = "api", "API"
        TASK = "task", "Background job"
        CLI = "cli", "Command line"
        SYSTEM = "system", "Platform"

    FINAL = frozenset({Status.ACCEPTED, Status.REJECTED, Status.TIMEOUT, Status.OFFLINE, Status.ERROR})

    id = models.BigAutoField(primary_key=True)
    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="commands")
    operation = models.CharField(max_length=40, db_index=True)
    params = models.JSONField(default=dict, blank=True, help_text="The operation's validated parameters")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING, db_index=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="commands"
    )
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.SYSTEM)
    requested_by_client = models.CharField(
        max_length=120, blank=True, help_text="The API client that asked (key:<prefix> or oauth:<client_id>)"
    )
    timeout_s = models.PositiveIntegerField(default=30)

    protocol = models.CharField(max_length=12, blank=True)
    action = models.CharField(max_length=40, blank=True, help_text="The OCPP action sent")
    message_id = models.CharField(max_length=36, blank=True)
    request = models.JSONField(null=True, blank=True, help_text="The OCPP payload sent")
    response = models.JSONField(null=True, blank=True, help_text="The station's CALLRESULT payload")
    answer_status = models.CharField(max_length=40, blank=True, help_text="The status the station answered")
    detail = models.CharField(max_length=255, blank=True, help_text="Why it failed, or the CALLERROR")

    token = models.CharField(
        max_length=43, blank=True, db_index=True, help_text="Secret of the upload URL given to the station (logs)"
    )
    progress = models.JSONField(
        default=list, blank=True, help_text="Statuses the station reported after accepting (firmware, log upload)"
    )

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
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

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="files")
    command = models.ForeignKey(Command, on_delete=models.CASCADE, related_name="files")
    file = models.FileField(upload_to=upload_path)
    name = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return self.name


class OnboardingProfile(models.Model):
    """How stations of a vendor and model are set up on their first accepted boot: configuration keys (1.6) or
    device-model variables (2.0.1) to set, heartbeat and meter intervals, measurands, and known quirks."""

    name = models.CharField(max_length=100)
    vendor = models.CharField(
        max_length=50, help_text="Shell pattern on the vendor the station reports, case-insensitive: Alfen*, *"
    )
    model_pattern = models.CharField(
        max_length=50, default="*", help_text="Shell pattern on the model, case-insensitive: AC22*, *"
    )
    protocol = models.CharField(
        max_length=12,
        blank=True,
        choices=[("ocpp1.6", "OCPP 1.6"), ("ocpp2.0.1", "OCPP 2.0.1")],
        help_text="Blank: any",
    )
    priority = models.IntegerField(default=0, help_text="The highest wins when several match")
    enabled = models.BooleanField(default=True)
    heartbeat_interval_s = models.PositiveIntegerField(null=True, blank=True)
    meter_interval_s = models.PositiveIntegerField(null=True, blank=True)
    measurands = models.JSONField(
        default=list,
        blank=True,
        help_text='Measurands to sample, e.g. ["Energy.Active.Import.Register", "Power.Active.Import"]',
    )
    configuration = models.JSONField(default=dict, blank=True, help_text="OCPP 1.6 keys and values to set")
    variables = models.JSONField(
        default=list,
        blank=True,
        help_text=(
            'OCPP 2.0.1 variables to set: [{"component": "AuthCtrlr", "variable": "AuthorizeRemoteStart", '
            '"value": "false"}]'
        ),
    )
    quirks = models.TextField(blank=True, help_text="What operators should know about this model")

    class Meta:
        ordering = ["-priority", "vendor", "model_pattern"]

    def __str__(self) -> str:
        return self.name


class Onboarding(models.Model):
    """That a station was set up on its first accepted boot: with which profile (or none matched), by which commands."""

    station = models.OneToOneField(Station, on_delete=models.CASCADE, related_name="onboarding")
    profile = models.ForeignKey(OnboardingProfile, null=True, blank=True, on_delete=models.SET_NULL)
    commands = models.ManyToManyField(Command, blank=True)
    applied_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.station} ← {self.profile or 'no profile'}"
