"""API keys of a tenant: who may call the public REST API of this brand, and with which scopes."""

import hashlib

from django.contrib.postgres.fields import ArrayField
from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    """What an API key or OAuth 2.0 token may do. The same names serve as OAuth scopes."""

    LOCATIONS_READ = "locations:read", "Read locations"
    STATIONS_READ = "stations:read", "Read stations, EVSEs and connectors"
    GROUPS_READ = "groups:read", "Read station groups"
    FAULTS_READ = "faults:read", "Read faults"
    COMMANDS_READ = "commands:read", "Read commands"
    COMMANDS_WRITE = "commands:write", "Send commands to stations"
    SESSIONS_READ = "sessions:read", "Read charging sessions and their meter values"
    CDRS_READ = "cdrs:read", "Read charge detail records"
    TARIFFS_READ = "tariffs:read", "Read tariffs"
    TARIFFS_WRITE = "tariffs:write", "Create and change tariffs"
    TOKENS_READ = "tokens:read", "Read ID tokens"
    TOKENS_WRITE = "tokens:write", "Create, change and block ID tokens"
    USERS_READ = "users:read", "Read drivers and users"
    USERS_WRITE = "users:write", "Create and change drivers"
    INVOICES_READ = "invoices:read", "Read invoices"
    WEBHOOKS_MANAGE = "webhooks:manage", "Manage webhook subscriptions and deliveries"
    ANALYTICS_READ = "analytics:read", "Read usage analytics"


def secret_hash_of(key: str) -> str:
    """SHA-256 of the whole key.

    A key is 256 random bits, so a fast hash is enough: a slow hash (PBKDF2) protects guessable passwords
    against brute force, which a key of this entropy does not need, and it would cost every request.
    """
    return hashlib.sha256(key.encode()).hexdigest()


class ApiKey(models.Model):
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, help_text="The key's visible start, to recognise it")
    secret_hash = models.CharField(max_length=64)
    scopes = ArrayField(models.CharField(max_length=32, choices=Scope.choices), default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    rate_limit_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Requests a minute; empty: the platform's default (API_RATE_LIMIT_PER_MINUTE).",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())
