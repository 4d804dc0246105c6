"""What the driver app keeps per brand: the browsers that asked for Web Push, and the brand's VAPID key pair."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class PushSubscription(models.Model):
    """A browser's Web Push subscription (its PushSubscription JSON): where to POST (`endpoint`, the push service's
    URL for this browser) and the keys its messages are encrypted to (RFC 8291)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="push_subscriptions",
        verbose_name=_("user"),
    )
    endpoint = models.URLField(max_length=1000, unique=True, verbose_name=_("endpoint"))
    p256dh = models.CharField(
        max_length=100, help_text=_("The browser's P-256 public key, base64url"), verbose_name=_("p256dh")
    )
    auth = models.CharField(max_length=50, help_text=_("The browser's auth secret, base64url"), verbose_name=_("auth"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    last_success_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last success at"))
    failures = models.PositiveIntegerField(
        default=0, help_text=_("Failed pushes since the last one that got through"), verbose_name=_("failures")
    )

    class Meta:
        verbose_name = _("push subscription")
        verbose_name_plural = _("push subscriptions")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.user} → {self.endpoint[:60]}"


class VapidKey(models.Model):
    """The brand's VAPID key pair (RFC 8292), one row, made on first use: browsers subscribe with the public key and
    push services accept only messages signed with the private one. Kept in the brand's schema, never shown."""

    singleton = models.BooleanField(default=True, editable=False, verbose_name=_("singleton"))
    private_key_pem = models.TextField(verbose_name=_("private key"))
    public_key = models.CharField(
        max_length=100, help_text=_("Uncompressed P-256 point, base64url"), verbose_name=_("public key")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    class Meta:
        verbose_name = _("VAPID key")
        verbose_name_plural = _("VAPID keys")
        constraints = [
            models.UniqueConstraint(fields=["singleton"], name="vapid_key_one_per_brand"),
            models.CheckConstraint(condition=Q(singleton=True), name="vapid_key_singleton_true"),
        ]

    def __str__(self) -> str:
        return self.public_key[:16] + "…"
