"""The charging network of one tenant: locations, stations, EVSEs and connectors, and what stations report.

Nothing here knows OCPP: statuses and error codes are stored as the station reported them (the OCPP vocabulary is
the lingua franca of chargers), while faults carry a neutral class.
"""

from datetime import timedelta

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class NetworkSettings(models.Model):
    """How this tenant's network treats stations: onboarding, presence and message-log limits. One row per tenant."""

    class OnboardingPolicy(models.TextChoices):
        REJECT = "reject", _("Reject unknown stations")
        PENDING = "pending", _("Admit as Pending until an operator accepts")
        ACCEPT = "accept", _("Accept automatically")

    onboarding_policy = models.CharField(
        max_length=16,
        choices=OnboardingPolicy.choices,
        default=OnboardingPolicy.PENDING,
        verbose_name=_("onboarding policy"),
    )
    heartbeat_interval_s = models.PositiveIntegerField(
        default=300,
        validators=[MinValueValidator(1)],
        help_text=_("Interval sent to accepted stations at boot."),
        verbose_name=_("heartbeat interval s"),
    )
    boot_retry_interval_s = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(1)],
        help_text=_("When a Pending or Rejected station may boot again."),
        verbose_name=_("boot retry interval s"),
    )
    offline_after_s = models.PositiveIntegerField(
        default=90,
        validators=[MinValueValidator(1)],
        help_text=_("A connection silent for a heartbeat interval plus this long is closed and the station offline."),
        verbose_name=_("offline after s"),
    )
    max_frame_bytes = models.PositiveIntegerField(
        default=1024 * 1024,
        validators=[MinValueValidator(1024), MaxValueValidator(16 * 1024 * 1024)],
        help_text=_("Larger OCPP frames are answered with a CALLERROR."),
        verbose_name=_("max frame bytes"),
    )
    message_log_retention_days = models.PositiveIntegerField(
        default=30, validators=[MinValueValidator(1)], verbose_name=_("message log retention days")
    )

    class Meta:
        verbose_name = verbose_name_plural = _("network settings")

    def __str__(self) -> str:
        return str(_("Network settings"))

    @classmethod
    def get(cls) -> "NetworkSettings":
        settings, _ = cls.objects.get_or_create(pk=1)
        return settings


class Location(models.Model):
    """A site with stations: where drivers go, and the timezone tariffs and reports are read in."""

    name = models.CharField(max_length=255, verbose_name=_("name"))
    address = models.CharField(max_length=255, blank=True, verbose_name=_("address"))
    city = models.CharField(max_length=100, blank=True, verbose_name=_("city"))
    postal_code = models.CharField(max_length=20, blank=True, verbose_name=_("postal code"))
    country = models.CharField(max_length=2, blank=True, help_text=_("ISO 3166-1 alpha-2"), verbose_name=_("country"))
    latitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-90), MaxValueValidator(90)],
        verbose_name=_("latitude"),
    )
    longitude = models.DecimalField(
        max_digits=9,
        decimal_places=6,
        null=True,
        blank=True,
        validators=[MinValueValidator(-180), MaxValueValidator(180)],
        verbose_name=_("longitude"),
    )
    timezone = models.CharField(max_length=64, default="UTC", verbose_name=_("timezone"))
    opening_hours = models.JSONField(
        default=dict,
        blank=True,
        help_text=_('OCPI shape: {"twentyfourseven": true} or {"regular_hours": [{"weekday": 1, ...}]}'),
        verbose_name=_("opening hours"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Station(models.Model):
    """A charging station (OCPP charge point) identified by the identity in its connection URL."""

    class Registration(models.TextChoices):
        ACCEPTED = "accepted", _("Accepted")
        PENDING = "pending", _("Pending")
        REJECTED = "rejected", _("Rejected")

    class SecurityProfile(models.IntegerChoices):
        NONE = 0, _("0: no authentication (closed networks only)")
        BASIC = 1, _("1: HTTP Basic")
        TLS_BASIC = 2, _("2: TLS + HTTP Basic")
        TLS_CLIENT_CERT = 3, _("3: TLS with client certificate")

    identity = models.CharField(max_length=48, unique=True, verbose_name=_("identity"))
    location = models.ForeignKey(
        Location, null=True, blank=True, on_delete=models.SET_NULL, related_name="stations", verbose_name=_("location")
    )
    security_profile = models.PositiveSmallIntegerField(
        choices=SecurityProfile.choices, default=SecurityProfile.BASIC, verbose_name=_("security profile")
    )
    password_hash = models.CharField(max_length=255, blank=True, verbose_name=_("password hash"))
    registration_status = models.CharField(
        max_length=16,
        choices=Registration.choices,
        default=Registration.PENDING,
        db_index=True,
        verbose_name=_("registration status"),
    )

    vendor = models.CharField(max_length=50, blank=True, verbose_name=_("vendor"))
    model = models.CharField(max_length=50, blank=True, verbose_name=_("model"))
    serial_number = models.CharField(max_length=50, blank=True, verbose_name=_("serial number"))
    firmware_version = models.CharField(max_length=50, blank=True, verbose_name=_("firmware version"))
    iccid = models.CharField(max_length=20, blank=True, verbose_name=_("iccid"))
    imsi = models.CharField(max_length=20, blank=True, verbose_name=_("imsi"))
    meter_type = models.CharField(max_length=25, blank=True, verbose_name=_("meter type"))
    meter_serial = models.CharField(max_length=25, blank=True, verbose_name=_("meter serial"))
    boot_reason = models.CharField(max_length=32, blank=True, verbose_name=_("boot reason"))
    booted_at = models.DateTimeField(null=True, blank=True, verbose_name=_("booted at"))

    protocol = models.CharField(
        max_length=16, blank=True, help_text=_("OCPP subprotocol of the last connection"), verbose_name=_("protocol")
    )
    is_online = models.BooleanField(default=False, db_index=True, verbose_name=_("is online"))
    connection_id = models.CharField(
        max_length=32, blank=True, help_text=_("The current connection, if any"), verbose_name=_("connection id")
    )
    connected_at = models.DateTimeField(null=True, blank=True, verbose_name=_("connected at"))
    disconnected_at = models.DateTimeField(null=True, blank=True, verbose_name=_("disconnected at"))
    last_seen_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last seen at"))
    status = models.CharField(
        max_length=20, blank=True, help_text=_("Station-wide status (connector 0)"), verbose_name=_("status")
    )

    firmware_status = models.CharField(max_length=32, blank=True, verbose_name=_("firmware status"))
    firmware_status_at = models.DateTimeField(null=True, blank=True, verbose_name=_("firmware status at"))
    diagnostics_status = models.CharField(max_length=32, blank=True, verbose_name=_("diagnostics status"))
    diagnostics_status_at = models.DateTimeField(null=True, blank=True, verbose_name=_("diagnostics status at"))
    local_list_version = models.IntegerField(
        null=True,
        blank=True,
        help_text=_("Version of the local authorization list the station last confirmed"),
        verbose_name=_("local list version"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    # Moved by edits of the station (the admin, the API), not by what it reports: those save named fields.
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("station")
        verbose_name_plural = _("stations")
        ordering = ["identity"]

    def __str__(self) -> str:
        return self.identity

    def save(self, *args, **kwargs) -> None:
        """A station moved to another location changes the one it left too: that location's `updated_at` moves
        (what publishes locations, such as roaming, sees the EVSEs gone)."""
        left = getattr(self, "_location_id_loaded", None)
        update_fields = kwargs.get("update_fields")
        super().save(*args, **kwargs)
        if update_fields is not None and not {"location", "location_id"} & set(update_fields):
            return
        if left is not None and left != self.location_id:
            location = Location.objects.filter(pk=left).first()
            if location is not None:
                location.save(update_fields=["updated_at"])
        self._location_id_loaded = self.location_id

    @classmethod
    def from_db(cls, db, field_names, values):
        station = super().from_db(db, field_names, values)
        station._location_id_loaded = station.__dict__.get("location_id")
        return station


class Evse(models.Model):
    """An EVSE: the part of a station that charges one vehicle at a time. `evse_id` is the station's number."""

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="evses", verbose_name=_("station"))
    evse_id = models.PositiveIntegerField(verbose_name=_("evse id"))

    class Meta:
        verbose_name_plural = _("EVSEs")
        ordering = ["station", "evse_id"]
        constraints = [models.UniqueConstraint(fields=["station", "evse_id"], name="evse_unique_per_station")]
        verbose_name = _("EVSE")

    def __str__(self) -> str:
        return f"{self.station.identity}/{self.evse_id}"


class Connector(models.Model):
    class Standard(models.TextChoices):
        # OCPI 2.2.1 ConnectorType, the ones in use.
        TYPE_2 = "IEC_62196_T2", _("Type 2")
        TYPE_2_COMBO = "IEC_62196_T2_COMBO", _("CCS2")
        TYPE_1 = "IEC_62196_T1", _("Type 1")
        TYPE_1_COMBO = "IEC_62196_T1_COMBO", _("CCS1")
        CHADEMO = "CHADEMO", _("CHAdeMO")
        DOMESTIC_F = "DOMESTIC_F", _("Schuko")
        TESLA = "TESLA_S", _("Tesla")
        NACS = "SAE_J3400", _("NACS (SAE J3400)")
        GBT_AC = "GBT_AC", _("GB/T AC")
        GBT_DC = "GBT_DC", _("GB/T DC")

    class Format(models.TextChoices):
        SOCKET = "SOCKET", _("Socket")
        CABLE = "CABLE", _("Cable")

    class PowerType(models.TextChoices):
        AC_1_PHASE = "AC_1_PHASE", _("AC 1 phase")
        AC_3_PHASE = "AC_3_PHASE", _("AC 3 phases")
        DC = "DC", _("DC")

    evse = models.ForeignKey(Evse, on_delete=models.CASCADE, related_name="connectors", verbose_name=_("evse"))
    connector_id = models.PositiveIntegerField(verbose_name=_("connector id"))
    standard = models.CharField(
        max_length=32, choices=Standard.choices, default=Standard.TYPE_2, verbose_name=_("standard")
    )
    format = models.CharField(max_length=8, choices=Format.choices, default=Format.SOCKET, verbose_name=_("format"))
    power_type = models.CharField(
        max_length=16, choices=PowerType.choices, default=PowerType.AC_3_PHASE, verbose_name=_("power type")
    )
    max_power_w = models.PositiveIntegerField(default=22000, verbose_name=_("max power w"))
    status = models.CharField(max_length=20, blank=True, default="Unknown", verbose_name=_("status"))
    error_code = models.CharField(max_length=50, blank=True, verbose_name=_("error code"))
    status_reported_at = models.DateTimeField(null=True, blank=True, verbose_name=_("status reported at"))
    # Moved by edits of what the connector is (standard, format, power); status reports save named fields only.
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("connector")
        verbose_name_plural = _("connectors")
        ordering = ["evse", "connector_id"]
        constraints = [models.UniqueConstraint(fields=["evse", "connector_id"], name="connector_unique_per_evse")]

    def __str__(self) -> str:
        return f"{self.evse}/{self.connector_id}"


class StatusChange(models.Model):
    """Every status a station reported, in the station's own time: the connector's history and uptime source."""

    station = models.ForeignKey(
        Station, on_delete=models.CASCADE, related_name="status_changes", verbose_name=_("station")
    )
    evse_id = models.PositiveIntegerField(help_text=_("0: the station as a whole"), verbose_name=_("evse id"))
    connector_id = models.PositiveIntegerField(verbose_name=_("connector id"))
    status = models.CharField(max_length=20, verbose_name=_("status"))
    error_code = models.CharField(max_length=50, blank=True, verbose_name=_("error code"))
    info = models.CharField(max_length=50, blank=True, verbose_name=_("info"))
    vendor_id = models.CharField(max_length=255, blank=True, verbose_name=_("vendor id"))
    vendor_error_code = models.CharField(max_length=50, blank=True, verbose_name=_("vendor error code"))
    reported_at = models.DateTimeField(help_text=_("When the station says it happened"), verbose_name=_("reported at"))
    received_at = models.DateTimeField(default=timezone.now, verbose_name=_("received at"))

    class Meta:
        verbose_name = _("status change")
        verbose_name_plural = _("status changes")
        ordering = ["-reported_at"]
        indexes = [models.Index(fields=["station", "evse_id", "connector_id", "-reported_at"])]

    def __str__(self) -> str:
        return f"{self.station_id} {self.evse_id}/{self.connector_id} {self.status}"


class Fault(models.Model):
    """A problem a station reported, open until the station (or an operator) clears it."""

    class FaultClass(models.TextChoices):
        CONNECTOR = "connector", _("Connector")
        GROUND_FAULT = "ground_fault", _("Ground fault")
        OVER_TEMPERATURE = "over_temperature", _("Over-temperature")
        OVER_CURRENT = "over_current", _("Over-current")
        POWER_METER = "power_meter", _("Power meter")
        COMMUNICATION = "communication", _("Communication")
        READER = "reader", _("Reader")
        EV_SIDE = "ev_side", _("EV side")
        INTERNAL = "internal", _("Internal")
        OTHER = "other", _("Other")

    class Severity(models.TextChoices):
        CRITICAL = "critical", _("Critical")
        ERROR = "error", _("Error")
        WARNING = "warning", _("Warning")

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="faults", verbose_name=_("station"))
    evse_id = models.PositiveIntegerField(default=0, verbose_name=_("evse id"))
    connector_id = models.PositiveIntegerField(default=0, verbose_name=_("connector id"))
    fault_class = models.CharField(max_length=20, choices=FaultClass.choices, verbose_name=_("fault class"))
    severity = models.CharField(max_length=10, choices=Severity.choices, verbose_name=_("severity"))
    code = models.CharField(
        max_length=120, help_text=_("The station's error code or component.variable"), verbose_name=_("code")
    )
    description = models.CharField(max_length=500, blank=True, verbose_name=_("description"))
    opened_at = models.DateTimeField(verbose_name=_("opened at"))
    closed_at = models.DateTimeField(null=True, blank=True, db_index=True, verbose_name=_("closed at"))
    closed_by = models.CharField(
        max_length=20, blank=True, help_text=_("station or operator"), verbose_name=_("closed by")
    )

    class Meta:
        verbose_name = _("fault")
        verbose_name_plural = _("faults")
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

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="events", verbose_name=_("station"))
    kind = models.CharField(max_length=32, db_index=True, verbose_name=_("kind"))
    payload = models.JSONField(default=dict, verbose_name=_("payload"))
    reported_at = models.DateTimeField(null=True, blank=True, verbose_name=_("reported at"))
    received_at = models.DateTimeField(default=timezone.now, verbose_name=_("received at"))

    class Meta:
        verbose_name = _("station event")
        verbose_name_plural = _("station events")
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["station", "-received_at"])]

    def __str__(self) -> str:
        return f"{self.kind} ({self.received_at:%Y-%m-%d %H:%M:%S})"


class MessageLogEntry(models.Model):
    """One frame in or out of a station's connection, with what was wrong with it and how long the answer took."""

    class Direction(models.TextChoices):
        IN = "in", _("Station → CSMS")
        OUT = "out", _("CSMS → station")

    id = models.BigAutoField(primary_key=True, verbose_name=_("id"))
    station = models.ForeignKey(
        Station, on_delete=models.CASCADE, related_name="message_log", verbose_name=_("station")
    )
    direction = models.CharField(max_length=3, choices=Direction.choices, verbose_name=_("direction"))
    message_type = models.PositiveSmallIntegerField(
        help_text=_("2 CALL, 3 CALLRESULT, 4 CALLERROR, 0 unparseable"), verbose_name=_("message type")
    )
    message_id = models.CharField(max_length=36, blank=True, verbose_name=_("message id"))
    action = models.CharField(max_length=40, blank=True, verbose_name=_("action"))
    payload = models.JSONField(default=dict, blank=True, verbose_name=_("payload"))
    error_code = models.CharField(max_length=32, blank=True, verbose_name=_("error code"))
    error_description = models.CharField(max_length=255, blank=True, verbose_name=_("error description"))
    latency_ms = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("latency ms"))
    created_at = models.DateTimeField(db_index=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("message log entry")
        verbose_name_plural = _("message log")
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

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="variables", verbose_name=_("station"))
    component = models.CharField(max_length=50, blank=True, verbose_name=_("component"))
    component_instance = models.CharField(max_length=50, blank=True, verbose_name=_("component instance"))
    evse_id = models.PositiveIntegerField(default=0, verbose_name=_("evse id"))
    connector_id = models.PositiveIntegerField(default=0, verbose_name=_("connector id"))
    variable = models.CharField(max_length=50, verbose_name=_("variable"))
    variable_instance = models.CharField(max_length=50, blank=True, verbose_name=_("variable instance"))
    attribute = models.CharField(max_length=10, default="Actual", verbose_name=_("attribute"))
    value = models.TextField(blank=True, verbose_name=_("value"))
    mutability = models.CharField(
        max_length=10, blank=True, help_text=_("ReadOnly, ReadWrite or WriteOnly"), verbose_name=_("mutability")
    )
    reported_at = models.DateTimeField(verbose_name=_("reported at"))

    class Meta:
        verbose_name = _("station variable")
        verbose_name_plural = _("station variables")
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
