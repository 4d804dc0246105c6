"""Webhooks of a tenant: partners subscribe a URL to event kinds and get signed HTTP deliveries (docs/webhooks.md).

An event is recorded once (its UUID is the idempotency key a receiver sees on every attempt and replay); each
active subscription that wants its kind gets one delivery, and each HTTP request of a delivery is an attempt.
"""

import uuid
from datetime import datetime

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

ALL_KINDS = "*"


class EventKind(models.TextChoices):
    """What a subscription may ask for. `webhook.ping` is sent on request only, to one subscription."""

    STATION_CONNECTED = "station.connected", "A station opened its OCPP connection"
    STATION_DISCONNECTED = "station.disconnected", "A station's connection closed"
    STATION_BOOTED = "station.booted", "A station booted (BootNotification)"
    STATION_STATUS_CHANGED = "station.status_changed", "A connector's or the station's status changed"
    STATION_FIRMWARE_STATUS = "station.firmware_status", "A firmware update reported progress"
    STATION_DIAGNOSTICS_STATUS = "station.diagnostics_status", "A diagnostics or log upload reported progress"
    FAULT_OPENED = "fault.opened", "A station reported a fault"
    FAULT_CLOSED = "fault.closed", "A fault cleared"
    SESSION_STARTED = "session.started", "A charging session started"
    SESSION_UPDATED = "session.updated", "A session's meter values arrived (energy, power)"
    SESSION_ENDED = "session.ended", "A charging session ended"
    COMMAND_COMPLETED = "command.completed", "A remote command got its outcome"
    CDR_CREATED = "cdr.created", "A charge detail record (or a credit CDR) was issued"
    INVOICE_CREATED = "invoice.created", "An invoice, credit note or statement was issued"


PING = "webhook.ping"


class WebhookSubscription(models.Model):
    url = models.URLField(max_length=500)
    event_kinds = ArrayField(
        models.CharField(max_length=40), default=list, help_text=f'Event kinds, or ["{ALL_KINDS}"] for every kind'
    )
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=64, help_text="Signs every delivery (HMAC-SHA256); shown once")
    # After a rotation the previous secret signs too, beside the new one, until it expires: receivers switch over
    # without losing deliveries (docs/webhooks.md, "Rotating the secret").
    previous_secret = models.CharField(max_length=64, blank=True, help_text="Signs too until it expires; blank: none")
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=255, blank=True)
    consecutive_failures = models.PositiveIntegerField(
        default=0, help_text="Deliveries in a row that failed after all their retries; a success resets it"
    )
    client_id = models.CharField(
        max_length=120, blank=True, help_text="The API client that created it (key:<prefix>, oauth:<id>); blank: admin"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = "webhook subscription"

    def __str__(self) -> str:
        return self.description or self.url

    def wants(self, kind: str) -> bool:
        return ALL_KINDS in self.event_kinds or kind in self.event_kinds

    def signing_secrets(self, now: datetime) -> list[str]:
        """What a delivery sent at `now` is signed with: the secret, then the previous one while its overlap lasts."""
        if self.previous_secret and self.previous_secret_expires_at and now < self.previous_secret_expires_at:
            return [self.secret, self.previous_secret]
        return [self.secret]


class WebhookEvent(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=40)
    station_id = models.BigIntegerField(null=True, blank=True)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "webhook event"

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"


# What a subscription's event_kinds may hold.
KIND_CHOICES = [ALL_KINDS, *EventKind.values]


class WebhookDelivery(models.Model):
    Status = DeliveryStatus

    id = models.BigAutoField(primary_key=True)
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    subscription = models.ForeignKey(WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(
        null=True, blank=True, help_text="When the next attempt is due (pending only)"
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "webhook delivery"
        verbose_name_plural = "webhook deliveries"
        constraints = [models.UniqueConstraint(fields=["event", "subscription"], name="webhook_delivery_once")]
        indexes = [
            # A subscription's deliveries, newest first (the API's list, the admin's filter): ids grow with time.
            models.Index(fields=["subscription", "-id"], name="webhook_delivery_sub_id"),
            # The due sweep reads pending deliveries by time only.
            models.Index(fields=["next_attempt_at"], name="webhook_delivery_due", condition=Q(status="pending")),
        ]

    def __str__(self) -> str:
        return f"{self.event.kind} → {self.subscription}"


class WebhookAttempt(models.Model):
    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: no HTTP response")
    error = models.CharField(max_length=255, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_excerpt = models.CharField(max_length=500, blank=True)
    manual = models.BooleanField(default=False, help_text="A replay or a ping asked for by hand")

    class Meta:
        ordering = ["delivery_id", "id"]
        verbose_name = "webhook attempt"

    def __str__(self) -> str:
        return f"{self.status_code or self.error} at {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
