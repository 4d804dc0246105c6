"""The charging network of one tenant: locations, stations, EVSEs and connectors, and what stations report.

Nothing here knows OCPP: statuses and error codes are stored as the station reported them (the OCPP vocabulary is
the lingua franca of chargers), while faults carry a neutral class.
"""

from datetime import timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone


class NetworkSettings(models.Model):
    """How this tenant's network treats stations: onboarding, presence and message-log limits. One row per tenant."""

    class OnboardingPolicy(models.TextChoices):
        REJECT = "reject", "Reject unknown stations"
        PENDING = "pending", "Admit as Pending until an operator accepts"
        ACCEPT = "accept", "Accept automatically"

    onboarding_policy = models.CharField(
        max_length=16, choices=OnboardingPolicy.choices, default=OnboardingPolicy.PENDING
    )
    heartbeat_interval_s = models.PositiveIntegerField(
        default=300, validators=[MinValueValidator(1)], help_text="Interval sent to accepted stations at boot."
    )
    boot_retry_interval_s = models.PositiveIntegerField(
        default=60, validators=[MinValueValidator(1)], help_text="When a Pending or Rejected station may boot again."
    )
    offline_after_s = models.PositiveIntegerField(
        default=90,
        validators=[MinValueValidator(1)],
        help_text="A connection silent for a heartbeat interval plus this long is closed and the station offline.",
    )
    max_frame_bytes = models.PositiveIntegerField(
        default=1024 * 1024,
        validators=[MinValueValidator(1024), MaxValueValidator(16 * 1024 * 1024)],
        help_text="Larger OCPP frames are answered with a CALLERROR.",
    )
    message_log_retention_days = models.PositiveIntegerField(default=30, validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = verbose_name_plural = "network settings"

    def __str__(self) -> str:
        return "Network settings"

    @classmethod
    def get(cls) -> "NetworkSettings":
        settings, _ = cls.objects.get_or_create(pk=1)
        return settings


class Location(models.Model):
    """A site with stations: where drivers go, and the timezone tariffs and reports are read in."""

    name = models.CharField(max_length=255)
    address = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2")
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
    )
    timezone = models.CharField(max_length=64, default="UTC")
    opening_hours = models.JSONField(
        default=dict,
        blank=True,
        help_text='OCPI shape: {"twentyfourseven": true} or {"regular_hours": [{"weekday": 1, ...}]}',
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Station(models.Model):
    """A charging station (OCPP charge point) identified by the identity in its connection URL."""

    class Registration(models.TextChoices):
        ACCEPTED = "accepted", "Accepted"
        PENDING = "pending", "Pending"
        REJECTED = "rejected", "Rejected"

    class SecurityProfile(models.IntegerChoices):
        NONE = 0, "0: no authentication (closed networks only)"
        BASIC = 1, "1: HTTP Basic"
        TLS_BASIC = 2, "2: TLS + HTTP Basic"
        TLS_CLIENT_CERT = 3, "3: TLS with client certificate"

    identity = models.CharField(max_length=48, unique=True)
    location = models.ForeignKey(Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="stations")
    security_profile = models.PositiveSmallIntegerField(choices=SecurityProfile.choices, default=SecurityProfile.BASIC)
    password_hash = models.CharField(max_length=255, blank=True)
    registration_status = models.CharField(
        max_length=16, choices=Registration.choices, default=Registration.PENDING, db_index=True
    )

    vendor = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=50, blank=True)
    serial_number = models.CharField(max_length=50, blank=True)
    firmware_version = models.CharField(max_length=50, blank=True)
    iccid = models.CharField(max_length=20, blank=True)
    imsi = models.CharField(max_length=20, blank=True)
    meter_type = models.CharField(max_length=25, blank=True)
    meter_serial = models.CharField(max_length=25, blank=True)
    boot_reason = models.CharField(max_length=32, blank=True)
    booted_at = models.DateTimeField(null=True, blank=True)

    protocol = models.CharField(max_length=16, blank=True, help_text="OCPP subprotocol of the last connection")
    is_online = models.BooleanField(default=False, db_index=True)
    connection_id = models.CharField(max_length=32, blank=True, help_text="The current connection, if any")
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=20, blank=True, help_text="Station-wide status (connector 0)")

    firmware_status = models.CharField(max_length=32, blank=True)
    firmware_status_at = models.DateTimeField(null=True, blank=True)
    diagnostics_status = models.CharField(max_length=32, blank=True)
    diagnostics_status_at = models.DateTimeField(null=True, blank=True)
    local_list_version = models.IntegerField(
        null=True, blank=True, help_text="Version of the local authorization list the station last confirmed"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["identity"]

    def __str__(self) -> str:
        return self.identity


class Evse(models.Model):
    """An EVSE: the part of a station that charges one vehicle at a time. `evse_id` is the station's number."""

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="evses")
    evse_id = models.PositiveIntegerField()

    class Meta:
        ordering = ["station", "evse_id"]
        constraints = [models.UniqueConstraint(fields=["station", "evse_id"], name="evse_unique_per_station")]
        verbose_name = "EVSE"

    def __str__(self) -> str:
        return f"{self.station.identity}/{self.evse_id}"


class Connector(models.Model):
    class Standard(models.TextChoices):
        # OCPI 2.2.1 ConnectorType, the ones in use.
        TYPE_2 = "IEC_62196_T2", "Type 2"
        TYPE_2_COMBO = "IEC_62196_T2_COMBO", "CCS2"
        TYPE_1 = "IEC_62196_T1", "Type 1"
        TYPE_1_COMBO = "IEC_62196_T1_COMBO", "CCS1"
        CHADEMO = "CHADEMO", "CHAdeMO"
        DOMESTIC_F = "DOMESTIC_F", "Schuko"
        TESLA = "TESLA_S", "Tesla"
        NACS = "SAE_J3400", "NACS (SAE J3400)"
        GBT_AC = "GBT_AC", "GB/T AC"
        GBT_DC = "GBT_DC", "GB/T DC"

    class Format(models.TextChoices):
        SOCKET = "SOCKET", "Socket"
        CABLE = "CABLE", "Cable"

    class PowerType(models.TextChoices):
        AC_1_PHASE = "AC_1_PHASE", "AC 1 phase"
        AC_3_PHASE = "AC_3_PHASE", "AC 3 phases"
        DC = "DC", "DC"

    evse = models.ForeignKey(Evse, on_delete=models.CASCADE, related_name="connectors")
    connector_id = models.PositiveIntegerField()
    standard = models.CharField(max_length=32, choices=Standard.choices, default=Standard.TYPE_2)
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.SOCKET)
    power_type = models.CharField(max_length=16, choices=PowerType.choices, default=PowerType.AC_3_PHASE)
    max_power_w = models.PositiveIntegerField(default=22000)
    status = models.CharField(max_length=20, blank=True, default="Unknown")
    error_code = models.CharField(max_length=50, blank=True)
    status_reported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["evse", "connector_id"]
        constraints = [models.UniqueConstraint(fields=["evse", "connector_id"], name="connector_unique_per_evse")]

    def __str__(self) -> str:
        return f"{self.evse}/{self.connector_id}"


class StatusChange(models.Model):
    """Every status a station reported, in the station's own time: the connector's history and uptime source."""

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="status_changes")
    evse_id = models.PositiveIntegerField(help_text="0: the station as a whole")
    connector_id = models.PositiveIntegerField()
    status = models.CharField(max_length=20)
    error_code = models.CharField(max_length=50, blank=True)
    info = models.CharField(max_length=50, blank=True)
    vendor_id = models.CharField(max_length=255, blank=True)
    vendor_error_code = models.CharField(max_length=50, blank=True)
    reported_at = models.DateTimeField(help_text="When the station says it happened")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-reported_at"]
        indexes = [models.Index(fields=["station", "evse_id", "connector_id", "-reported_at"])]

    def __str__(self) -> str:
        return f"{self.station_id} {self.evse_id}/{self.connector_id} {self.status}"


class Fault(models.Model):
    """A problem a station reported, open until the station (or an operator) clears it."""

    class FaultClass(models.TextChoices):
        CONNECTOR = "connector", "Connector"
        GROUND_FAULT = "ground_fault", "Ground fault"
        OVER_TEMPERATURE = "over_temperature", "Over-temperature"
        OVER_CURRENT = "over_current", "Over-current"
        POWER_METER = "power_meter", "Power meter"
        COMMUNICATION = "communication", "Communication"
        READER = "reader", "Reader"
        EV_SIDE = "ev_side", "EV side"
        INTERNAL = "internal", "Internal"
        OTHER = "other", "Other"

    class Severity(models.TextChoices):
        CRITICAL = "critical", "Critical"
        ERROR = "error", "Error"
        WARNING = "warning", "Warning"

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="faults")
    evse_id = models.PositiveIntegerField(default=0)
    connector_id = models.PositiveIntegerField(default=0)
    fault_class = models.CharField(max_length=20, choices=FaultClass.choices)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    code = models.CharField(max_length=120, help_text="The station's error code or component.variable")
    description = models.CharField(max_length=500, blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True, db_index=True)
    closed_by = models.CharField(max_length=20, blank=True, help_text="station or operator")

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["station", "code", "evse_id", "connector_id"], name="fault_open_lookup")]

    def __str__(self) -> str:
        return f"{self.station.identity} {self.code}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    @property
    def duration(self) -> timedelta:
        return (self.closed_at or timezone.now()) - self.opened_at


class StationEvent(models.Model):
    """Something a station reported that is not a status or a transaction: kept verbatim, for operators and audits."""

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=32, db_index=True)
    payload = models.JSONField(default=dict)
    reported_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["station", "-received_at"])]

    def __str__(self) -> str:
        return f"{self.kind} ({self.received_at:%Y-%m-%d %H:%M:%S})"


class MessageLogEntry(models.Model):
    """One frame in or out of a station's connection, with what was wrong with it and how long the answer took."""

    class Direction(models.TextChoices):
        IN = "in", "Station → CSMS"
        OUT = "out", "CSMS → station"

    id = models.BigAutoField(primary_key=True)
    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="message_log")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    message_type = models.PositiveSmallIntegerField(help_text="2 CALL, 3 CALLRESULT, 4 CALLERROR, 0 unparseable")
    message_id = models.CharField(max_length=36, blank=True)
    action = models.CharField(max_length=40, blank=True)
    payload = models.JSONField(default=dict, blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    error_description = models.CharField(max_length=255, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "message log entry"
        verbose_name_plural = "message log"
        indexes = [
            models.Index(fields=["station", "-created_at"]),
            models.Index(fields=["station", "message_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.direction} {self.message_type} {self.message_id} {self.action}"


class StationVariable(models.Model):
    """A station's configuration as it last reported it: OCPP 1.6 configuration keys (no component) and the
    OCPP 2.0.1 device model (component, variable, attribute), from GetConfiguration, GetVariables, NotifyReport
    and accepted changes."""

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="variables")
    component = models.CharField(max_length=50, blank=True)
    component_instance = models.CharField(max_length=50, blank=True)
    evse_id = models.PositiveIntegerField(default=0)
    connector_id = models.PositiveIntegerField(default=0)
    variable = models.CharField(max_length=50)
    variable_instance = models.CharField(max_length=50, blank=True)
    attribute = models.CharField(max_length=10, default="Actual")
    value = models.TextField(blank=True)
    mutability = models.CharField(max_length=10, blank=True, help_text="ReadOnly, ReadWrite or WriteOnly")
    reported_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=[
                    "station",
                    "component",
                    "component_instance",
                    "evse_id",
                    "connector_id",
                    "variable",
                    "variable_instance",
                    "attribute",
                ],
                name="station_variable_unique",
            )
        ]
        ordering = ["component", "evse_id", "connector_id", "variable"]

    def __str__(self) -> str:
        name = f"{self.component}.{self.variable}" if self.component else self.variable
        return f"{name} = {self.value}"
