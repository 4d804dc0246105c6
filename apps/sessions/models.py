"""ID tokens, charging sessions (transactions), their events and meter samples."""

from django.db import models
from django.utils import timezone

from apps.stations.models import Station


class IdToken(models.Model):
    """A credential a driver presents at a station: an RFID card, an eMAID, an app's central token."""

    class Type(models.TextChoices):
        # OCPP 2.0.1 IdTokenEnumType; 1.6 idTags are looked up by uid whatever their type.
        CENTRAL = "Central", "Central (issued by the platform)"
        EMAID = "eMAID", "eMAID"
        ISO14443 = "ISO14443", "RFID (ISO 14443)"
        ISO15693 = "ISO15693", "RFID (ISO 15693)"
        KEY_CODE = "KeyCode", "Key code"
        LOCAL = "Local", "Local"
        MAC_ADDRESS = "MacAddress", "MAC address (Autocharge)"
        NO_AUTHORIZATION = "NoAuthorization", "No authorization"

    class Status(models.TextChoices):
        ACCEPTED = "Accepted", "Accepted"
        BLOCKED = "Blocked", "Blocked"
        EXPIRED = "Expired", "Expired"
        INVALID = "Invalid", "Invalid"

    uid = models.CharField(max_length=36, help_text="What the station reads (case-insensitive)")
    type = models.CharField(max_length=20, choices=Type.choices, default=Type.ISO14443)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACCEPTED)
    expires_at = models.DateTimeField(null=True, blank=True)
    group = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        help_text="Group token (1.6 parentIdTag, 2.0.1 groupIdToken): e.g. a fleet's cards",
    )
    allow_concurrent = models.BooleanField(
        default=False, help_text="May be used for several sessions at once (fleet cards shared by drivers)."
    )
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uid"]
        verbose_name = "ID token"
        constraints = [models.UniqueConstraint(fields=["uid", "type"], name="id_token_unique_uid_type")]
        indexes = [models.Index(models.functions.Upper("uid"), name="id_token_uid_upper")]

    def __str__(self) -> str:
        return f"{self.uid} ({self.type})"


class ChargingSession(models.Model):
    """One charging transaction at an EVSE, as the station reported it, in either protocol version."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Charging / in progress"
        COMPLETED = "completed", "Completed"
        STOPPED_UNKNOWN_START = "stopped_unknown_start", "Stopped, start never received"
        INTERRUPTED = "interrupted", "Interrupted: a later session started on its EVSE, no stop received"

    id = models.BigAutoField(primary_key=True)
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="sessions")
    evse_id = models.PositiveIntegerField(null=True, blank=True)
    connector_id = models.PositiveIntegerField(null=True, blank=True)
    transaction_id = models.CharField(max_length=36, help_text="1.6: assigned by the platform; 2.0.1: the station's")
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.ACTIVE, db_index=True)

    id_token = models.ForeignKey(IdToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions")
    id_token_uid = models.CharField(max_length=36, blank=True)
    id_token_type = models.CharField(max_length=20, blank=True)
    authorization_status = models.CharField(max_length=16, blank=True)
    remote_start_id = models.IntegerField(null=True, blank=True)
    reservation_id = models.IntegerField(null=True, blank=True)

    started_at = models.DateTimeField(null=True, blank=True, db_index=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    meter_start_wh = models.DecimalField(max_digits=16, decimal_places=3, null=True, blank=True)
    meter_stop_wh = models.DecimalField(max_digits=16, decimal_places=3, null=True, blank=True)
    energy_wh = models.DecimalField(max_digits=16, decimal_places=3, default=0)
    stop_reason = models.CharField(max_length=32, blank=True)

    # Live values, from the latest reading.
    charging_state = models.CharField(max_length=20, blank=True)
    power_w = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    last_register_wh = models.DecimalField(max_digits=16, decimal_places=3, null=True, blank=True)
    last_register_at = models.DateTimeField(null=True, blank=True)

    last_seq_no = models.PositiveIntegerField(null=True, blank=True)
    offline = models.BooleanField(default=False, help_text="Some of its messages were queued while offline")
    register_anomaly = models.BooleanField(
        default=False, help_text="The energy register went backwards (meter reset or replacement)"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["station", "transaction_id"], name="session_unique_transaction"),
        ]
        indexes = [
            models.Index(fields=["station", "evse_id", "status"]),
            # The API lists sessions latest start first, by station or by ID token (docs/api.md).
            models.Index(fields=["station", "started_at", "id"], name="session_station_started"),
            models.Index(models.functions.Upper("id_token_uid"), "started_at", "id", name="session_id_token_started"),
        ]

    def __str__(self) -> str:
        return f"{self.station.identity} #{self.transaction_id}"


class TransactionEvent(models.Model):
    """A transaction message as received (2.0.1 TransactionEvent; 1.6 start and stop), one per sequence number."""

    id = models.BigAutoField(primary_key=True)
    session = models.ForeignKey(ChargingSession, on_delete=models.CASCADE, related_name="events")
    seq_no = models.PositiveIntegerField()
    event_type = models.CharField(max_length=10)
    timestamp = models.DateTimeField()
    trigger_reason = models.CharField(max_length=32, blank=True)
    offline = models.BooleanField(default=False)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["session", "seq_no"]
        constraints = [models.UniqueConstraint(fields=["session", "seq_no"], name="transaction_event_unique_seq_no")]

    def __str__(self) -> str:
        return f"{self.event_type} #{self.seq_no}"


class MeterSample(models.Model):
    """One sampled value: hundreds of millions of rows, written in batches, read by session and by station time range.

    A sample is identified by station, time, EVSE, measurand, phase and location: the same reading received twice
    (a retransmitted message) is stored once, and that unique index also serves per-station time ranges.
    Partitioning: docs/decisions/0006-meter-samples-at-scale.md.
    """

    id = models.BigAutoField(primary_key=True)
    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="meter_samples", db_index=False)
    session = models.ForeignKey(
        ChargingSession, null=True, blank=True, on_delete=models.CASCADE, related_name="meter_samples", db_index=False
    )
    evse_id = models.PositiveIntegerField(default=0)
    sampled_at = models.DateTimeField()
    measurand = models.CharField(max_length=40)
    phase = models.CharField(max_length=8, blank=True)
    location = models.CharField(max_length=8, blank=True)
    context = models.CharField(max_length=20, blank=True)
    unit = models.CharField(max_length=10, blank=True)
    value = models.DecimalField(max_digits=20, decimal_places=6, help_text="As reported, in `unit`")
    value_normalised = models.DecimalField(
        max_digits=20, decimal_places=6, help_text="In the base unit: Wh, W, varh, var, A, V, Percent, Celsius"
    )
    signed_data = models.TextField(blank=True)

    class Meta:
        ordering = ["sampled_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["station", "sampled_at", "evse_id", "measurand", "phase", "location"],
                name="meter_sample_unique_reading",
            )
        ]
        indexes = [
            models.Index(fields=["session", "sampled_at"], name="meter_sample_session_time"),
        ]

    def __str__(self) -> str:
        return f"{self.sampled_at:%Y-%m-%d %H:%M:%S} {self.measurand} {self.value} {self.unit}"


class Reservation(models.Model):
    """A connector (or any EVSE) held for one ID token until it expires, as asked of the station."""

    class Status(models.TextChoices):
        ACCEPTED = "accepted", "Held"
        REJECTED = "rejected", "Refused by the station"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"
        USED = "used", "Used by a session"
        REMOVED = "removed", "Removed by the station"

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="reservations")
    reservation_id = models.IntegerField(help_text="The id the station knows it by")
    evse_id = models.PositiveIntegerField(default=0, help_text="0: any EVSE")
    id_token_uid = models.CharField(max_length=36)
    expires_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices)
    answer_status = models.CharField(max_length=20, blank=True, help_text="What the station answered")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["station", "reservation_id"], name="reservation_unique")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Reservation {self.reservation_id} of {self.id_token_uid}"
