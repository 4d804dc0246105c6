"""Pushes to partners through a per-partner outbox: recorded in the transaction that made the change, sent after it
commits, in order per partner, and retried until the partner takes them.

- `outbox_push(...)` records a message and, once committed, queues a flush of that partner.
- `outbox_flush(partner_id=)` sends the partner's due messages oldest first. One flush per partner at a time (a
  PostgreSQL advisory lock), and a message that fails holds back the later ones of the same partner: a PATCH never
  overtakes the PUT it amends. A partner that is down therefore never blocks our side: its messages wait.
- An answer with an OCPI client error (2xxx: they refuse what we sent) will not improve by sending it again: the
  message is marked failed with the reason and the next one goes. Anything else (no answer, 5xx, 3xxx) is retried
  after 30 s, 2 min, 10 min, 1 h, then hourly, and given up after OUTBOX_GIVE_UP.
- `outbox_due()` flushes every partner with a message due (beat, every 15 s).
"""

import logging
from datetime import timedelta

from django.db import connection, transaction
from django.db.models import Min
from django.utils import timezone

from apps.roaming.client import partner_call
from apps.roaming.exceptions import EndpointsMissingError, PartnerRefusedError, RoamingError
from apps.roaming.models import OutboxMessage, Partner
from apps.roaming.transport import Party, party_of, party_text

logger = logging.getLogger(__name__)

RETRY_DELAYS = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1))
OUTBOX_GIVE_UP = timedelta(days=7)
# Pushes wait less than calls a person waits for: a slow partner holds the flush, not a person.
PUSH_TIMEOUT_SECONDS = 5
Status = OutboxMessage.Status


def retry_delay(attempts: int) -> timedelta:
    return RETRY_DELAYS[min(attempts, len(RETRY_DELAYS)) - 1]


def outbox_push(
    *,
    partner: Partner,
    module: str,
    method: str,
    path: str = "",
    url: str = "",
    body: dict | list | None = None,
    to: Party | None = None,
) -> OutboxMessage:
    """Record a push to `partner` (their `module` RECEIVER endpoint + `path`, or the absolute `url`) and flush the
    partner's outbox once the surrounding transaction commits. `to`: the party it is for when not the partner's
    own (one behind the partner's hub: a session or CDR of that party's driver, a command result)."""
    message = OutboxMessage.objects.create(
        partner=partner,
        module=module,
        method=method,
        path=path,
        url=url,
        to_party=party_text(to),
        body=body,
        next_attempt_at=timezone.now(),
    )
    _flush_queue(partner.pk)
    return message


def _flush_queue(partner_id: int) -> None:
    from apps.roaming.tasks import outbox_flush_task

    schema_name = connection.schema_name
    transaction.on_commit(lambda: outbox_flush_task.delay(schema_name, partner_id))


def _lock_key(partner_id: int) -> str:
    return f"roaming.outbox.{connection.schema_name}.{partner_id}"


def _try_lock(partner_id: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(hashtext(%s))", [_lock_key(partner_id)])
        return cursor.fetchone()[0]


def _unlock(partner_id: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(hashtext(%s))", [_lock_key(partner_id)])


def _next_message(partner_id: int) -> OutboxMessage | None:
    return OutboxMessage.objects.filter(partner_id=partner_id, status=Status.PENDING).order_by("id").first()


def _head_due(partner_id: int) -> bool:
    """Whether the partner is registered and its oldest pending message is due: only then can a flush send."""
    if not Partner.objects.filter(pk=partner_id, status=Partner.Status.REGISTERED).exists():
        return False
    head = _next_message(partner_id)
    return head is not None and (head.next_attempt_at is None or head.next_attempt_at <= timezone.now())


def _send(message: OutboxMessage) -> None:
    answer = partner_call(
        message.partner,
        message.method,
        module=message.module,
        path=message.path,
        url=message.url,
        body=message.body,
        timeout=PUSH_TIMEOUT_SECONDS,
        to=party_of(message.to_party),
    )
    message.response_headers = {
        name: value for name, value in answer.headers.items() if name.lower() in {"location", "x-request-id"}
    }


def outbox_flush(*, partner_id: int) -> int:
    """Send the partner's pending messages in order until one fails or none is left; how many were sent. Meant to
    run outside a transaction (after commit, in a task): it waits on the partner's answers."""
    sent = 0
    while _try_lock(partner_id):
        try:
            sent += _flush_locked(partner_id)
        finally:
            _unlock(partner_id)
        # A message recorded while we held the lock may have had its own flush turned away: look again. Only the
        # oldest pending message counts: while it waits for its retry, later ones wait too (and looking at them
        # would spin here until it is due).
        if not _head_due(partner_id):
            break
    return sent


def _flush_locked(partner_id: int) -> int:
    sent = 0
    partner = Partner.objects.filter(pk=partner_id, status=Partner.Status.REGISTERED).first()
    if partner is None:
        return 0
    while True:
        now = timezone.now()
        message = _next_message(partner_id)
        if message is None or (message.next_attempt_at and message.next_attempt_at > now):
            return sent
        message.partner = partner
        message.attempts += 1
        try:
            _send(message)
        except (PartnerRefusedError, EndpointsMissingError) as error:
            # Refused, or the partner no longer offers the module: sending it again will not help, and it must not
            # hold back the partner's other messages.
            logger.warning("roaming push %s refused by %s: %s", message.pk, partner, error)
            message.status, message.last_error, message.next_attempt_at = Status.FAILED, str(error), None
            message.save(update_fields=["status", "last_error", "next_attempt_at", "attempts"])
            continue
        except RoamingError as error:
            given_up = now - message.created_at >= OUTBOX_GIVE_UP
            rotated = _token_changed(partner)
            if given_up:
                message.status, message.next_attempt_at = Status.FAILED, None
            elif rotated:
                # Refused with the token of a moment ago: the credentials were just updated. Again, at once.
                message.next_attempt_at = now
            else:
                message.next_attempt_at = now + retry_delay(message.attempts)
            message.last_error = str(error)
            message.save(update_fields=["status", "last_error", "next_attempt_at", "attempts"])
            logger.info(
                "roaming push %s to %s not delivered (attempt %s): %s", message.pk, partner, message.attempts, error
            )
            if given_up:
                continue  # the next message is the head now: it gets its own try
            return sent
        message.status, message.sent_at, message.last_error, message.next_attempt_at = Status.SENT, now, "", None
        message.save(
            update_fields=["status", "sent_at", "last_error", "next_attempt_at", "attempts", "response_headers"]
        )
        sent += 1


def _token_changed(partner: Partner) -> bool:
    """Whether the token we call the partner with changed since `partner` was read (a credentials update)."""
    current = Partner.objects.filter(pk=partner.pk).values_list("token_b", flat=True).first()
    return current is not None and current != partner.token_b


def outbox_wake(*, partner: Partner) -> int:
    """After the partner's credentials changed: their pending messages are due now and a flush is queued, so a push
    refused with the old token in the middle of the update goes out with the new one at once. How many wait."""
    waiting = OutboxMessage.objects.filter(partner=partner, status=Status.PENDING).update(
        next_attempt_at=timezone.now()
    )
    if waiting:
        _flush_queue(partner.pk)
    return waiting


def outbox_due(*, now=None) -> list[int]:
    """Flush every registered partner whose oldest pending message is due; the partners flushed."""
    now = now or timezone.now()
    # The head of each queue decides: later messages are "due" as soon as recorded but wait behind it.
    heads = (
        OutboxMessage.objects.filter(status=Status.PENDING, partner__status=Partner.Status.REGISTERED)
        .values("partner_id")
        .annotate(head=Min("id"))
        .values("head")
    )
    partner_ids = sorted(
        OutboxMessage.objects.filter(pk__in=heads, next_attempt_at__lte=now).values_list("partner_id", flat=True)
    )
    for partner_id in partner_ids:
        outbox_flush(partner_id=partner_id)
    return partner_ids


def outbox_retry(*, message: OutboxMessage) -> OutboxMessage:
    """Send a failed message again (an operator's choice, from the admin), after the ones before it."""
    message.status, message.next_attempt_at, message.attempts = Status.PENDING, timezone.now(), 0
    message.save(update_fields=["status", "next_attempt_at", "attempts"])
    _flush_queue(message.partner_id)
    return message
