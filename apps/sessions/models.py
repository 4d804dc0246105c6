"""ID tokens, charging sessions (transactions), their events and meter samples."""

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.stations.models import Station


class IdToken(models.Model):
    """A credential a driver presents at a station: an RFID card, an eMAID, an app's central token."""

    class Type(models.TextChoices):
        # OCPP 2.0.1 IdTokenEnumType; 1.6 idTags are looked up by uid whatever their type.
        CENTRAL = "Central", _("Central (issued by the platform)")
        EMAID = "eMAID", _("eMAID")
        ISO14443 = "ISO14443", _("RFID (ISO 14443)")
        ISO15693 = "ISO15693", _("RFID (ISO 15693)")
        KEY_CODE = "KeyCode", _("Key code")
        LOCAL = "Local", _("Local")
        MAC_ADDRESS = "MacAddress", _("MAC address (Autocharge)")
        NO_AUTHORIZATION = "NoAuthorization", _("No authorization")

    class Status(models.TextChoices):
        ACCEPTED = "Accepted", _("Accepted")
        BLOCKED = "Blocked", _("Blocked")
        EXPIRED = "Expired", _("Expired")
        INVALID = "Invalid", _("Invalid")

    uid = models.CharField(
        max_length=36, help_text=_("What the station reads (case-insensitive)"), verbose_name=_("uid")
    )
    type = models.CharField(max_length=20, choices=Type.choices, default=Type.ISO14443, verbose_name=_("type"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACCEPTED, verbose_name=_("status"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))
    group = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="members",
        help_text=_("Group token (1.6 parentIdTag, 2.0.1 groupIdToken): e.g. a fleet's cards"),
        verbose_name=_("group"),
    )
    allow_concurrent = models.BooleanField(
        default=False,
        help_text=_("May be used for several sessions at once (fleet cards shared by drivers)."),
        verbose_name=_("allow concurrent"),
    )
    label = models.CharField(max_length=100, blank=True, verbose_name=_("label"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="id_tokens",
        help_text=_("The driver whose card or app token this is; their sessions show in their app"),
        verbose_name=_("owner"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name_plural = _("ID tokens")
        ordering = ["uid"]
        verbose_name = _("ID token")
        constraints = [models.UniqueConstraint(fields=["uid", "type"], name="id_token_unique_uid_type")]
        indexes = [models.Index(models.functions.Upper("uid"), name="id_token_uid_upper")]

    def __str__(self) -> str:
        return f"{self.uid} ({self.type})"


class ChargingSession(models.Model):
    """One charging transaction at an EVSE, as the station reported it, in either protocol version."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Charging / in progress")
        COMPLETED = "completed", _("Completed")
        STOPPED_UNKNOWN_START = "stopped_unknown_start", _("Stopped, start never received")
        INTERRUPTED = "interrupted", _("Interrupted: a later session started on its EVSE, no stop received")

    id = models.BigAutoField(primary_key=True, verbose_name=_("id"))
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="sessions", verbose_name=_("station"))
    evse_id = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("evse id"))
    connector_id = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("connector id"))
    transaction_id = models.CharField(
        max_length=36,
        help_text=_("1.6: assigned by the platform; 2.0.1: the station's"),
        verbose_name=_("transaction id"),
    )
    status = models.CharField(
        max_length=24, choices=Status.choices, default=Status.ACTIVE, db_index=True, verbose_name=_("status")
    )

    id_token = models.ForeignKey(
        IdToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions", verbose_name=_("id token")
    )
    id_token_uid = models.CharField(max_length=36, blank=True, verbose_name=_("id token uid"))
    id_token_type = models.CharField(max_length=20, blank=True, verbose_name=_("id token type"))
    authorization_status = models.CharField(max_length=16, blank=True, verbose_name=_("authorization status"))
    remote_start_id = models.IntegerField(null=True, blank=True, verbose_name=_("remote start id"))
    reservation_id = models.IntegerField(null=True, blank=True, verbose_name=_("reservation id"))

    started_at = models.DateTimeField(null=True, blank=True, db_index=True, verbose_name=_("started at"))
    stopped_at = models.DateTimeField(null=True, blank=True, verbose_name=_("stopped at"))
    meter_start_wh = models.DecimalField(
        max_digits=16, decimal_places=3, null=True, blank=True, verbose_name=_("meter start wh")
    )
    meter_stop_wh = models.DecimalField(
        max_digits=16, decimal_places=3, null=True, blank=True, verbose_name=_("meter stop wh")
    )
    energy_wh = models.DecimalField(max_digits=16, decimal_places=3, default=0, verbose_name=_("energy wh"))
    stop_reason = models.CharField(max_length=32, blank=True, verbose_name=_("stop reason"))

    # Live values, from the latest reading.
    charging_state = models.CharField(max_length=20, blank=True, verbose_name=_("charging state"))
    power_w = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True, verbose_name=_("power w"))
    last_register_wh = models.DecimalField(
        max_digits=16, decimal_places=3, null=True, blank=True, verbose_name=_("last register wh")
    )
    last_register_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last register at"))

    last_seq_no = models.PositiveIntegerField(null=True, blank=True, verbose_name=_("last seq no"))
    offline = models.BooleanField(
        default=False, help_text=_("Some of its messages were queued while offline"), verbose_name=_("offline")
    )
    register_anomaly = models.BooleanField(
        default=False,
        help_text=_("The energy register went backwards (meter reset or replacement)"),
        verbose_name=_("register anomaly"),
    )
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("charging session")
        verbose_name_plural = _("charging sessions")
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

    id = models.BigAutoField(primary_key=True, verbose_name=_("id"))
    session = models.ForeignKey(
        ChargingSession, on_delete=models.CASCADE, related_name="events", verbose_name=_("session")
    )
    seq_no = models.PositiveIntegerField(verbose_name=_("seq no"))
    event_type = models.CharField(max_length=10, verbose_name=_("event type"))
    timestamp = models.DateTimeField(verbose_name=_("timestamp"))
    trigger_reason = models.CharField(max_length=32, blank=True, verbose_name=_("trigger reason"))
    offline = models.BooleanField(default=False, verbose_name=_("offline"))
    received_at = models.DateTimeField(default=timezone.now, verbose_name=_("received at"))

    class Meta:
        verbose_name = _("transaction event")
        verbose_name_plural = _("transaction events")
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

    id = models.BigAutoField(primary_key=True, verbose_name=_("id"))
    station = models.ForeignKey(
        Station, on_delete=models.CASCADE, related_name="meter_samples", db_index=False, verbose_name=_("station")
    )
    session = models.ForeignKey(
        ChargingSession,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="meter_samples",
        db_index=False,
        verbose_name=_("session"),
    )
    evse_id = models.PositiveIntegerField(default=0, verbose_name=_("evse id"))
    sampled_at = models.DateTimeField(verbose_name=_("sampled at"))
    measurand = models.CharField(max_length=40, verbose_name=_("measurand"))
    phase = models.CharField(max_length=8, blank=True, verbose_name=_("phase"))
    location = models.CharField(max_length=8, blank=True, verbose_name=_("location"))
    context = models.CharField(max_length=20, blank=True, verbose_name=_("context"))
    unit = models.CharField(max_length=10, blank=True, verbose_name=_("unit"))
    value = models.DecimalField(
        max_digits=20, decimal_places=6, help_text=_("As reported, in `unit`"), verbose_name=_("value")
    )
    value_normalised = models.DecimalField(
        max_digits=20,
        decimal_places=6,
        help_text=_("In the base unit: Wh, W, varh, var, A, V, Percent, Celsius"),
        verbose_name=_("value normalised"),
    )
    signed_data = models.TextField(blank=True, verbose_name=_("signed data"))

    class Meta:
        verbose_name = _("meter sample")
        verbose_name_plural = _("meter samples")
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
        ACCEPTED = "accepted", _("Held")
        REJECTED = "rejected", _("Refused by the station")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Expired")
        USED = "used", _("Used by a session")
        REMOVED = "removed", _("Removed by the station")

    station = models.ForeignKey(
        Station, on_delete=models.CASCADE, related_name="reservations", verbose_name=_("station")
    )
    reservation_id = models.IntegerField(
        help_text=_("The id the station knows it by"), verbose_name=_("reservation id")
    )
    evse_id = models.PositiveIntegerField(default=0, help_text=_("0: any EVSE"), verbose_name=_("evse id"))
    id_token_uid = models.CharField(max_length=36, verbose_name=_("id token uid"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    status = models.CharField(max_length=10, choices=Status.choices, verbose_name=_("status"))
    answer_status = models.CharField(
        max_length=20, blank=True, help_text=_("What the station answered"), verbose_name=_("answer status")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        constraints = [models.UniqueConstraint(fields=["station", "reservation_id"], name="reservation_unique")]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Reservation {self.reservation_id} of {self.id_token_uid}"


def guest_secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class GuestAccess(models.Model):
    """How a guest without an account reaches the one session they started from the driver app: the SHA-256 of a
    secret shown to them once, bound to the guest's ID token (a Central token that expires after a day)."""

    id_token = models.OneToOneField(
        IdToken, on_delete=models.CASCADE, related_name="guest_access", verbose_name=_("id token")
    )
    secret_hash = models.CharField(max_length=64, unique=True, verbose_name=_("secret hash"))
    email = models.EmailField(blank=True, help_text=_("Where the receipt may be sent"), verbose_name=_("email"))
    receipt_sent_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the receipt was emailed to the guest"),
        verbose_name=_("receipt sent at"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("guest access")
        verbose_name_plural = _("guest accesses")

    def __str__(self) -> str:
        return f"Guest {self.id_token.uid}"
