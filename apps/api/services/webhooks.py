"""Webhooks (docs/webhooks.md): subscriptions, recording an event for its subscribers, signed HTTP deliveries with
retries on a backoff schedule, auto-disable with a notice to the brand's staff, replay and ping.

A delivery is attempted by a Celery task (apps/api/tasks.py). A failed attempt only records when the next one is
due (`next_attempt_at`); the beat task `webhook_deliveries_due` claims due deliveries and queues their attempts. So
retries never recurse, with a broker or eagerly, and a delivery whose task was lost is picked up again.
"""

import hashlib
import hmac
import ipaddress
import json
import logging
import random
import secrets
import socket
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from apps.accounts.languages import supported_language
from apps.accounts.models import User
from apps.accounts.roles import Role, role_allows
from apps.api.exceptions import WebhookInvalidError
from apps.api.models import EventKind, WebhookAttempt, WebhookDelivery, WebhookEvent, WebhookSubscription
from apps.api.models.webhooks import ALL_KINDS, PING
from apps.api.selectors import webhook_kinds_forget
from apps.whitelabel.models import Tenant

logger = logging.getLogger(__name__)

Status = WebhookDelivery.Status

SECRET_MARK = "whsec_"
# Connect and read timeouts: a receiver should answer at once and do its work later.
TIMEOUT_S = (3.05, 10)
USER_AGENT = "EV-Platform-Webhooks/1"
# After the n-th failed attempt the next is due this much later (±JITTER); after the last, the delivery failed.
RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(hours=12),
    timedelta(hours=24),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
JITTER = 0.1
# A delivery queued for an attempt is claimed for this long: the due sweep leaves it alone meanwhile, and takes it
# up again after, should the task have been lost (a worker that died, a broker that was down).
CLAIM_LEASE = timedelta(minutes=5)
DUE_BATCH = 500
# This many deliveries in a row that failed after all their retries (about 44 hours each) disable a subscription.
DISABLE_AFTER_FAILED_DELIVERIES = 5
EXCERPT_CHARS = 500
# Events, their deliveries and attempts are kept this long (a daily beat task prunes older ones).
EVENT_RETENTION = timedelta(days=30)
# Who gets the notice of an automatic disable: active staff whose role may change subscriptions (owner, admin).
NOTICE_PERMISSION = "api.change_webhooksubscription"


# --- rules shared by the API, the admin and the services ----------------------------------------------------------


def retry_delay(attempts_made: int, *, rand: float | None = None) -> timedelta | None:
    """How long after its `attempts_made`-th failed attempt a delivery is tried again; None: no more attempts.

    Exponential-ish steps (30 s, 2 min, 10 min, 1 h, 6 h, 12 h, 24 h), each ±10 % at random (`rand` in [0, 1)), so
    a receiver that comes back is not hit by every delivery at the same second."""
    if attempts_made < 1 or attempts_made > len(RETRY_DELAYS):
        return None
    rand = random.random() if rand is None else rand
    return RETRY_DELAYS[attempts_made - 1] * (1 + JITTER * (2 * rand - 1))


def webhook_url_problem(url: str) -> str | None:
    """Why `url` cannot receive webhooks, or None. Only http(s); private, loopback and link-local addresses only
    when settings.WEBHOOK_ALLOW_PRIVATE_URLS (local development and tests)."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "Enter a valid URL."
    if parts.scheme not in ("http", "https"):
        return "Only http and https URLs can receive webhooks."
    if not parts.hostname:
        return "Enter a valid URL."
    if parts.username or parts.password:
        return "Leave credentials out of the URL: verify the signature instead."
    if settings.WEBHOOK_ALLOW_PRIVATE_URLS:
        return None
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except (OSError, UnicodeError):
        return f"The host {parts.hostname} cannot be resolved."
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global or ip.is_multicast:
            return "The URL resolves to a private or reserved address."
    return None


def webhook_kinds_problem(kinds: Iterable[str]) -> str | None:
    kinds = list(kinds)
    if not kinds:
        return f'Name at least one event kind, or "{ALL_KINDS}" for all.'
    unknown = sorted(set(kinds) - set(EventKind.values) - {ALL_KINDS})
    if unknown:
        return f"Unknown event kind(s): {', '.join(unknown)}."
    return None


def _validated(url: str | None, kinds: Iterable[str] | None) -> None:
    if url is not None and (problem := webhook_url_problem(url)):
        raise WebhookInvalidError("url", problem)
    if kinds is not None and (problem := webhook_kinds_problem(kinds)):
        raise WebhookInvalidError("event_kinds", problem)


def _kinds_normalised(kinds: Iterable[str]) -> list[str]:
    kinds = set(kinds)
    return [ALL_KINDS] if ALL_KINDS in kinds else sorted(kinds)


def _kinds_changed() -> None:
    """Subscriptions changed: this process forgets the brand's subscribed kinds once the change commits (other
    processes within the cache's TTL, apps.api.selectors.KINDS_TTL_S)."""
    schema_name = connection.schema_name
    transaction.on_commit(lambda: webhook_kinds_forget(schema_name=schema_name))


# --- subscriptions ------------------------------------------------------------------------------------------------


def _secret_new() -> str:
    return SECRET_MARK + secrets.token_urlsafe(32)


@transaction.atomic
def webhook_subscription_create(
    *, url: str, event_kinds: Iterable[str], description: str = "", client_id: str = ""
) -> tuple[WebhookSubscription, str]:
    """A subscription and its signing secret (returned here and by a rotation only)."""
    _validated(url, event_kinds)
    secret = _secret_new()
    subscription = WebhookSubscription.objects.create(
        url=url,
        event_kinds=_kinds_normalised(event_kinds),
        description=description,
        secret=secret,
        client_id=client_id,
    )
    _kinds_changed()
    return subscription, secret


@transaction.atomic
def webhook_subscription_update(
    *,
    subscription: WebhookSubscription,
    url: str | None = None,
    event_kinds: Iterable[str] | None = None,
    description: str | None = None,
    is_active: bool | None = None,
) -> WebhookSubscription:
    """Change what is given; `is_active=True` re-enables (failures forgotten), False disables by hand."""
    _validated(url, event_kinds)
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    if url is not None:
        subscription.url = url
    if event_kinds is not None:
        subscription.event_kinds = _kinds_normalised(event_kinds)
    if description is not None:
        subscription.description = description
    subscription.save()
    if is_active is True and not subscription.is_active:
        subscription = webhook_subscription_enable(subscription=subscription)
    elif is_active is False and subscription.is_active:
        subscription = webhook_subscription_disable(subscription=subscription, reason="Disabled by hand.")
    _kinds_changed()
    return subscription


@transaction.atomic
def webhook_subscription_enable(*, subscription: WebhookSubscription) -> WebhookSubscription:
    """Deliver again from now on. Deliveries that failed meanwhile stay failed: replay them if they matter."""
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    subscription.is_active = True
    subscription.disabled_at = None
    subscription.disabled_reason = ""
    subscription.consecutive_failures = 0
    subscription.save(update_fields=["is_active", "disabled_at", "disabled_reason", "consecutive_failures"])
    _kinds_changed()
    return subscription


@transaction.atomic
def webhook_subscription_disable(
    *, subscription: WebhookSubscription, reason: str, notify: bool = False
) -> WebhookSubscription:
    """Stop delivering: no new deliveries, and the pending ones fail (they can be replayed). With `notify`, the
    brand's staff who manage webhooks get an email once this commits."""
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    if not subscription.is_active:
        return subscription
    now = timezone.now()
    subscription.is_active = False
    subscription.disabled_at = now
    subscription.disabled_reason = reason[:255]
    subscription.save(update_fields=["is_active", "disabled_at", "disabled_reason"])
    WebhookDelivery.objects.filter(subscription=subscription, status=Status.PENDING).update(
        status=Status.FAILED, next_attempt_at=None
    )
    _kinds_changed()
    if notify:
        subscription_id = subscription.pk
        transaction.on_commit(lambda: _disabled_notice_send(subscription_id))
    return subscription


@transaction.atomic
def webhook_subscription_secret_rotate(*, subscription: WebhookSubscription) -> tuple[WebhookSubscription, str]:
    """A new signing secret, signing every attempt from now on. For `WEBHOOK_SECRET_OVERLAP_HOURS` the secret it
    replaces signs too (a second `v1=` signature), so a receiver still holding it keeps verifying until it has the
    new one. Rotating again within the overlap keeps only the secret just replaced as the previous one."""
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription.pk)
    overlap = timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS)
    if overlap:
        subscription.previous_secret = subscription.secret
        subscription.previous_secret_expires_at = timezone.now() + overlap
    else:
        subscription.previous_secret, subscription.previous_secret_expires_at = "", None
    subscription.secret = _secret_new()
    subscription.save(update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"])
    return subscription, subscription.secret


@transaction.atomic
def webhook_subscription_delete(*, subscription: WebhookSubscription) -> None:
    """The subscription goes with its deliveries and their attempts; events other subscriptions got stay."""
    event_ids = set(subscription.deliveries.values_list("event_id", flat=True))
    subscription.delete()
    WebhookEvent.objects.filter(pk__in=event_ids, deliveries__isnull=True).delete()
    _kinds_changed()


def _staff_to_notify() -> dict[str, list[str]]:
    """The staff to tell, by language: each user's own, else the brand's default language."""
    roles = [role for role in Role.values if role_allows(role, NOTICE_PERMISSION)]
    default = Tenant.objects.filter(schema_name=connection.schema_name).values_list("default_locale", flat=True).first()
    by_language: dict[str, list[str]] = {}
    staff = (
        User.objects.filter(Q(role__in=roles) | Q(is_superuser=True), is_active=True)
        .exclude(email="")
        .order_by("email")
        .values_list("email", "locale")
    )
    for email, locale in staff:
        language = supported_language(locale) or supported_language(default) or settings.LANGUAGE_CODE
        by_language.setdefault(language, []).append(email)
    return by_language


def _disabled_notice_send(subscription_id: int) -> None:
    subscription = WebhookSubscription.objects.filter(pk=subscription_id).first()
    recipients = _staff_to_notify()
    if subscription is None or not recipients:
        return
    for language, emails in recipients.items():
        with translation.override(language):
            subject = gettext("Webhook disabled: %(subscription)s") % {"subscription": subscription}
            body = gettext(
                "The webhook subscription %(id)s to %(url)s was disabled on %(at)s UTC.\n\n"
                "Why: %(reason)s\n\n"
                "No events are delivered to it until it is enabled again (admin: Public API → Webhook subscriptions, "
                "action “Re-enable”; or PATCH /api/v1/webhooks/{id}/ with is_active=true). Failed deliveries can be "
                "replayed from the admin or the API.\n"
            ) % {
                "id": subscription.pk,
                "url": subscription.url,
                "at": f"{subscription.disabled_at:%Y-%m-%d %H:%M}",
                "reason": subscription.disabled_reason,
            }
        try:
            send_mail(subject, body, None, emails)
        except Exception:
            logger.exception("notice of disabled webhook subscription %s not sent", subscription_id)


# --- events -------------------------------------------------------------------------------------------------------


def webhook_event_record(*, kind: str, station_id: int | None, at: datetime, data: dict) -> list[int]:
    """Record an event for the active subscriptions that want its kind, and queue their deliveries once recorded.
    Returns the deliveries' ids (none when nobody subscribes)."""
    subscriptions = list(
        WebhookSubscription.objects.filter(is_active=True)
        .filter(Q(event_kinds__contains=[kind]) | Q(event_kinds__contains=[ALL_KINDS]))
        .values_list("pk", flat=True)
    )
    if not subscriptions:
        return []
    if station_id is not None:
        data = {"station_id": station_id, **data}
    return _event_deliver(kind=kind, station_id=station_id, at=at, data=data, subscription_ids=subscriptions)


@transaction.atomic
def _event_deliver(
    *, kind: str, station_id: int | None, at: datetime, data: dict, subscription_ids: list[int], manual=False
) -> list[int]:
    now = timezone.now()
    event = WebhookEvent.objects.create(kind=kind, station_id=station_id, data=data, created_at=at)
    deliveries = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            event=event,
            subscription_id=subscription_id,
            created_at=now,
            # Claimed for the attempt queued below; a ping is attempted once, by hand, and never falls due.
            next_attempt_at=None if manual else now + CLAIM_LEASE,
        )
        for subscription_id in subscription_ids
    )
    ids = [delivery.pk for delivery in deliveries]
    _attempts_queue(ids, manual=manual)
    return ids


def _attempts_queue(delivery_ids: list[int], *, manual: bool = False) -> None:
    from apps.api.tasks import webhook_delivery_attempt_task

    schema_name = connection.schema_name

    def queue():
        for delivery_id in delivery_ids:
            webhook_delivery_attempt_task.delay(schema_name, delivery_id, manual)

    transaction.on_commit(queue)


def webhook_ping(*, subscription: WebhookSubscription) -> WebhookDelivery:
    """Send a `webhook.ping` event to this subscription only, once (no retries), whether it is active or not."""
    [delivery_id] = _event_deliver(
        kind=PING,
        station_id=None,
        at=timezone.now(),
        data={"subscription_id": subscription.pk, "message": "A test event: your endpoint is reachable."},
        subscription_ids=[subscription.pk],
        manual=True,
    )
    return WebhookDelivery.objects.get(pk=delivery_id)


def webhook_delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send the delivery's event again, by hand: one more attempt, the same event id (and body)."""
    _attempts_queue([delivery.pk], manual=True)
    return delivery


# --- deliveries ---------------------------------------------------------------------------------------------------


def webhook_body(event: WebhookEvent) -> bytes:
    """What every attempt of the event sends: the same bytes each time."""
    created_at = event.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    document = {"id": str(event.id), "type": event.kind, "created_at": created_at, "data": event.data}
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """One signature: v1=<hex HMAC-SHA256 of "<timestamp>.<body>" keyed with the secret's UTF-8>."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={digest}"


def webhook_signatures(*, signing_secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    """The Webhook-Signature header: one signature per secret, space-separated (a receiver accepts any that
    matches its secret)."""
    return " ".join(webhook_signature(secret=secret, timestamp=timestamp, body=body) for secret in signing_secrets)


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    error: str
    duration_ms: int
    excerpt: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def webhook_post(*, url: str, signing_secrets: Sequence[str], event: WebhookEvent) -> Outcome:
    """One POST of the event, signed with each of `signing_secrets`; never raises. Redirects are not followed (a
    3xx is a failure)."""
    problem = webhook_url_problem(url)  # again at send time: a name may resolve elsewhere by now
    if problem:
        return Outcome(None, f"Refused: {problem}"[:255], 0, "")
    body = webhook_body(event)
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Webhook-Id": str(event.id),
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": webhook_signatures(signing_secrets=signing_secrets, timestamp=timestamp, body=body),
    }
    started = time.monotonic()
    try:
        with requests.post(
            url, data=body, headers=headers, timeout=TIMEOUT_S, allow_redirects=False, stream=True
        ) as response:
            raw = response.raw.read(EXCERPT_CHARS * 4, decode_content=True) or b""
            excerpt = raw.decode(response.encoding or "utf-8", errors="replace")[:EXCERPT_CHARS]
            status_code = response.status_code
    except requests.RequestException as error:
        elapsed = int((time.monotonic() - started) * 1000)
        return Outcome(None, f"{type(error).__name__}: {error}"[:255], elapsed, "")
    elapsed = int((time.monotonic() - started) * 1000)
    error = "" if 200 <= status_code < 300 else f"HTTP {status_code}"
    return Outcome(status_code, error, elapsed, excerpt)


def webhook_delivery_attempt(*, delivery_id: int, manual: bool = False) -> WebhookAttempt | None:
    """Attempt a delivery now and record the outcome. An automatic attempt goes only to a pending delivery of an
    active subscription; a manual one (replay, ping) always goes."""
    delivery = WebhookDelivery.objects.select_related("event", "subscription").filter(pk=delivery_id).first()
    if delivery is None:
        return None
    if not manual and (delivery.status != Status.PENDING or not delivery.subscription.is_active):
        return None
    subscription = delivery.subscription
    outcome = webhook_post(
        url=subscription.url, signing_secrets=subscription.signing_secrets(timezone.now()), event=delivery.event
    )
    return _attempt_record(delivery_id=delivery_id, outcome=outcome, manual=manual)


@transaction.atomic
def _attempt_record(*, delivery_id: int, outcome: Outcome, manual: bool) -> WebhookAttempt:
    now = timezone.now()
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
    attempt = WebhookAttempt.objects.create(
        delivery=delivery,
        at=now,
        status_code=outcome.status_code,
        error=outcome.error,
        duration_ms=outcome.duration_ms,
        response_excerpt=outcome.excerpt,
        manual=manual,
    )
    delivery.attempt_count += 1
    delivery.last_attempt_at = now
    exhausted = False
    if outcome.succeeded:
        delivery.status = Status.SUCCEEDED
        delivery.next_attempt_at = None
        WebhookSubscription.objects.filter(pk=delivery.subscription_id, consecutive_failures__gt=0).update(
            consecutive_failures=0
        )
    elif manual:
        # A failed replay leaves a delivery that is still being retried on its schedule; otherwise it failed.
        if not (delivery.status == Status.PENDING and delivery.next_attempt_at is not None):
            delivery.status = Status.FAILED
            delivery.next_attempt_at = None
    else:
        delay = retry_delay(delivery.attempt_count)
        if delay is None:
            delivery.status = Status.FAILED
            delivery.next_attempt_at = None
            exhausted = True
        else:
            delivery.next_attempt_at = now + delay
    delivery.save(update_fields=["status", "attempt_count", "last_attempt_at", "next_attempt_at"])
    if exhausted:
        _failure_count(delivery.subscription_id)
    return attempt


def _failure_count(subscription_id: int) -> None:
    subscription = WebhookSubscription.objects.select_for_update().get(pk=subscription_id)
    subscription.consecutive_failures += 1
    subscription.save(update_fields=["consecutive_failures"])
    if subscription.is_active and subscription.consecutive_failures >= DISABLE_AFTER_FAILED_DELIVERIES:
        webhook_subscription_disable(
            subscription=subscription,
            reason=(
                f"{subscription.consecutive_failures} deliveries in a row failed after {MAX_ATTEMPTS} attempts each."
            ),
            notify=True,
        )


def webhook_deliveries_due(*, now: datetime | None = None, limit: int = DUE_BATCH) -> list[int]:
    """Claim the deliveries whose next attempt is due (for CLAIM_LEASE) and queue their attempts."""
    now = now or timezone.now()
    with transaction.atomic():
        due = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Status.PENDING, next_attempt_at__lte=now, subscription__is_active=True)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:limit]
        )
        if due:
            WebhookDelivery.objects.filter(pk__in=due).update(next_attempt_at=now + CLAIM_LEASE)
            _attempts_queue(due)
    return due


def webhook_events_prune(*, before: datetime, batch: int = 1000) -> int:
    """Forget events created before `before`, with their deliveries and attempts (a delivery that old finished
    long ago: the last retry comes about 44 hours after its event). Returns how many events went."""
    pruned = 0
    while True:
        ids = list(WebhookEvent.objects.filter(created_at__lt=before).values_list("pk", flat=True)[:batch])
        if not ids:
            return pruned
        with transaction.atomic():
            WebhookAttempt.objects.filter(delivery__event_id__in=ids).delete()
            WebhookDelivery.objects.filter(event_id__in=ids).delete()
            WebhookEvent.objects.filter(pk__in=ids).delete()
        pruned += len(ids)
