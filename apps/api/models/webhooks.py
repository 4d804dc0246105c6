"""Webhooks of a tenant: partners subscribe a URL to event kinds and get signed HTTP deliveries (docs/webhooks.md).

An event is recorded once (its UUID is the idempotency key a receiver sees on every attempt and replay); each
active subscription that wants its kind gets one delivery, and each HTTP request of a delivery is an attempt.
"""

import uuid
from datetime import datetime

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

ALL_KINDS = "*"


class EventKind(models.TextChoices):
    """What a subscription may ask for. `webhook.ping` is sent on request only, to one subscription."""

    STATION_CONNECTED = "station.connected", _("A station opened its OCPP connection")
    STATION_DISCONNECTED = "station.disconnected", _("A station's connection closed")
    STATION_BOOTED = "station.booted", _("A station booted (BootNotification)")
    STATION_STATUS_CHANGED = "station.status_changed", _("A connector's or the station's status changed")
    STATION_FIRMWARE_STATUS = "station.firmware_status", _("A firmware update reported progress")
    STATION_DIAGNOSTICS_STATUS = "station.diagnostics_status", _("A diagnostics or log upload reported progress")
    FAULT_OPENED = "fault.opened", _("A station reported a fault")
    FAULT_CLOSED = "fault.closed", _("A fault cleared")
    SESSION_STARTED = "session.started", _("A charging session started")
    SESSION_UPDATED = "session.updated", _("A session's meter values arrived (energy, power)")
    SESSION_ENDED = "session.ended", _("A charging session ended")
    COMMAND_COMPLETED = "command.completed", _("A remote command got its outcome")
    CDR_CREATED = "cdr.created", _("A charge detail record (or a credit CDR) was issued")
    INVOICE_CREATED = "invoice.created", _("An invoice, credit note or statement was issued")


PING = "webhook.ping"


class WebhookSubscription(models.Model):
    url = models.URLField(max_length=500, verbose_name=_("url"))
    event_kinds = ArrayField(
        models.CharField(max_length=40), default=list, help_text=f'Event kinds, or ["{ALL_KINDS}"] for every kind'
    )
    description = models.CharField(max_length=200, blank=True, verbose_name=_("description"))
    secret = models.CharField(
        max_length=64, help_text=_("Signs every delivery (HMAC-SHA256); shown once"), verbose_name=_("secret")
    )
    # After a rotation the previous secret signs too, beside the new one, until it expires: receivers switch over
    # without losing deliveries (docs/webhooks.md, "Rotating the secret").
    previous_secret = models.CharField(
        max_length=64,
        blank=True,
        help_text=_("Signs too until it expires; blank: none"),
        verbose_name=_("previous secret"),
    )
    previous_secret_expires_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("previous secret expires at")
    )
    is_active = models.BooleanField(default=True, verbose_name=_("is active"))
    disabled_at = models.DateTimeField(null=True, blank=True, verbose_name=_("disabled at"))
    disabled_reason = models.CharField(max_length=255, blank=True, verbose_name=_("disabled reason"))
    consecutive_failures = models.PositiveIntegerField(
        default=0,
        help_text=_("Deliveries in a row that failed after all their retries; a success resets it"),
        verbose_name=_("consecutive failures"),
    )
    client_id = models.CharField(
        max_length=120,
        blank=True,
        help_text=_("The API client that created it (key:<prefix>, oauth:<id>); blank: admin"),
        verbose_name=_("client id"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name_plural = _("webhook subscriptions")
        ordering = ["id"]
        verbose_name = _("webhook subscription")

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
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False, verbose_name=_("id"))
    kind = models.CharField(max_length=40, verbose_name=_("kind"))
    station_id = models.BigIntegerField(null=True, blank=True, verbose_name=_("station id"))
    data = models.JSONField(default=dict, verbose_name=_("data"))
    created_at = models.DateTimeField(db_index=True, verbose_name=_("created at"))

    class Meta:
        verbose_name_plural = _("webhook events")
        ordering = ["-created_at"]
        verbose_name = _("webhook event")

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SUCCEEDED = "succeeded", _("Succeeded")
    FAILED = "failed", _("Failed")


# What a subscription's event_kinds may hold.
KIND_CHOICES = [ALL_KINDS, *EventKind.values]


class WebhookDelivery(models.Model):
    Status = DeliveryStatus

    id = models.BigAutoField(primary_key=True, verbose_name=_("id"))
    event = models.ForeignKey(
        WebhookEvent, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event")
    )
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("subscription")
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("status"))
    attempt_count = models.PositiveIntegerField(default=0, verbose_name=_("attempt count"))
    next_attempt_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the next attempt is due (pending only)"),
        verbose_name=_("next attempt at"),
    )
    last_attempt_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last attempt at"))
    created_at = models.DateTimeField(db_index=True, verbose_name=_("created at"))

    class Meta:
        ordering = ["-id"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")
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
    id = models.BigAutoField(primary_key=True, verbose_name=_("id"))
    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempts", verbose_name=_("delivery")
    )
    at = models.DateTimeField(verbose_name=_("at"))
    status_code = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Empty: no HTTP response"), verbose_name=_("status code")
    )
    error = models.CharField(max_length=255, blank=True, verbose_name=_("error"))
    duration_ms = models.PositiveIntegerField(default=0, verbose_name=_("duration ms"))
    response_excerpt = models.CharField(max_length=500, blank=True, verbose_name=_("response excerpt"))
    manual = models.BooleanField(
        default=False, help_text=_("A replay or a ping asked for by hand"), verbose_name=_("manual")
    )

    class Meta:
        verbose_name_plural = _("webhook attempts")
        ordering = ["delivery_id", "id"]
        verbose_name = _("webhook attempt")

    def __str__(self) -> str:
        return f"{self.status_code or self.error} at {self.at:%Y-%m-%d %H:%M:%S}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
