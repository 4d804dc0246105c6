"""Writes on API keys: create (the plaintext is returned once and never stored), revoke, record use."""

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from apps.accounts.audit import audit_record
from apps.api.exceptions import ApiKeyInvalidScopeError
from apps.api.models import ApiKey, Scope, secret_hash_of

KEY_MARK = "evk_"
PREFIX_LENGTH = len(KEY_MARK) + 8
# last_used_at is a hint for operators, not an access log: one write per key per minute is plenty.
LAST_USED_RESOLUTION = timedelta(minutes=1)


@transaction.atomic
def api_key_create(
    *, name: str, scopes: Iterable[str], expires_at: datetime | None = None, rate_limit_per_minute: int | None = None
) -> tuple[ApiKey, str]:
    """A key and its plaintext, returned this once. `rate_limit_per_minute`: None for the platform's default."""
    scopes = sorted(set(scopes))
    unknown = [scope for scope in scopes if scope not in Scope.values]
    if unknown:
        raise ApiKeyInvalidScopeError(unknown)
    while True:
        plaintext = KEY_MARK + secrets.token_urlsafe(32)
        prefix = plaintext[:PREFIX_LENGTH]
        if not ApiKey.objects.filter(prefix=prefix).exists():
            break
    api_key = ApiKey.objects.create(
        name=name,
        prefix=prefix,
        secret_hash=secret_hash_of(plaintext),
        scopes=scopes,
        expires_at=expires_at,
        rate_limit_per_minute=rate_limit_per_minute,
    )
    audit_record(
        action="api_key.created",
        target=api_key,
        target_label=f"{name} ({prefix})",
        changes={"scopes": scopes, "expires_at": expires_at.isoformat() if expires_at else None},
    )
    return api_key, plaintext


@transaction.atomic
def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    """Revoking twice keeps the first time (and is audited once)."""
    revoked = ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    api_key.refresh_from_db(fields=["revoked_at"])
    if revoked:
        audit_record(action="api_key.revoked", target=api_key, target_label=f"{api_key.name} ({api_key.prefix})")
    return api_key


def api_key_mark_used(*, api_key: ApiKey, now: datetime | None = None) -> None:
    now = now or timezone.now()
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
