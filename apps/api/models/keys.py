"""API keys of a tenant: who may call the public REST API of this brand, and with which scopes."""

import hashlib

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    """What an API key or OAuth 2.0 token may do. The same names serve as OAuth scopes."""

    LOCATIONS_READ = "locations:read", _("Read locations")
    STATIONS_READ = "stations:read", _("Read stations, EVSEs and connectors")
    GROUPS_READ = "groups:read", _("Read station groups")
    FAULTS_READ = "faults:read", _("Read faults")
    COMMANDS_READ = "commands:read", _("Read commands")
    COMMANDS_WRITE = "commands:write", _("Send commands to stations")
    SESSIONS_READ = "sessions:read", _("Read charging sessions and their meter values")
    CDRS_READ = "cdrs:read", _("Read charge detail records")
    TARIFFS_READ = "tariffs:read", _("Read tariffs")
    TARIFFS_WRITE = "tariffs:write", _("Create and change tariffs")
    TOKENS_READ = "tokens:read", _("Read ID tokens")
    TOKENS_WRITE = "tokens:write", _("Create, change and block ID tokens")
    USERS_READ = "users:read", _("Read drivers and users")
    USERS_WRITE = "users:write", _("Create and change drivers")
    INVOICES_READ = "invoices:read", _("Read invoices")
    WEBHOOKS_MANAGE = "webhooks:manage", _("Manage webhook subscriptions and deliveries")
    ANALYTICS_READ = "analytics:read", _("Read usage analytics")
    AUDIT_READ = "audit:read", _("Read the audit log")
    CUSTOMERS_READ = "customers:read", _("Read a reseller's customer brands and their figures")
    CUSTOMERS_WRITE = "customers:write", _("Create, suspend and resume a reseller's customer brands")
    # A driver's own account in the driver app: only a token a person authorized carries these (apps/api/permissions).
    ME_READ = "me:read", _("Read your own account: cards, sessions, receipts and payment methods")
    ME_WRITE = "me:write", _("Charge, and change your own cards and payment methods")


def secret_hash_of(key: str) -> str:
    """SHA-256 of the whole key.

    A key is 256 random bits, so a fast hash is enough: a slow hash (PBKDF2) protects guessable passwords
    against brute force, which a key of this entropy does not need, and it would cost every request.
    """
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKey(models.Model):
    name = models.CharField(max_length=100, verbose_name=_("name"))
    prefix = models.CharField(
        max_length=16, unique=True, help_text=_("The key's visible start, to recognise it"), verbose_name=_("prefix")
    )
    secret_hash = models.CharField(max_length=64, verbose_name=_("secret hash"))
    scopes = ArrayField(models.CharField(max_length=32, choices=Scope.choices), default=list)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    expires_at = models.DateTimeField(null=True, blank=True, verbose_name=_("expires at"))
    revoked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("revoked at"))
    last_used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last used at"))
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text=_("Requests a minute; empty: the platform's default (API_RATE_LIMIT_PER_MINUTE)."),
        verbose_name=_("rate limit per minute"),
    )

    class Meta:
        verbose_name_plural = _("API keys")
        ordering = ["-created_at"]
        verbose_name = _("API key")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())
