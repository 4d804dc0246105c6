"""Every write on payments: customers and stored methods, the hold (authorise), its capture or release, refunds, and
webhook events from the providers. Each change locks the payment's row, checks the amounts, talks to the provider
and writes a `PaymentEvent` in the same transaction.

Rules kept here: amounts are int minor units in the payment's currency (another currency is refused), a payment is
captured once and at most for its hold, refunds never exceed what was captured, and a webhook event applies once.
Calls that the provider refuses are logged and raise `ProviderError` after the log is committed.
"""

import logging
from dataclasses import dataclass

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from apps.accounts.audit import audit_record
from apps.billing.exceptions import AmountError, PaymentAccountError, PaymentStateError, ProviderError
from apps.billing.models import (
    Payment,
    PaymentAccount,
    PaymentCustomer,
    PaymentEvent,
    PaymentRefund,
    StoredPaymentMethod,
)
from apps.billing.money import amount_format, currency_check, currency_normalise, minor_units
from apps.billing.providers import provider_for
from apps.billing.providers.base import Notification, NotificationAction, PaymentState, RefundState

logger = logging.getLogger(__name__)

Status = Payment.Status
Action = NotificationAction
Outcome = PaymentEvent.Outcome


def _idempotency_key(*parts) -> str:
    """Unique across tenants: ids repeat from one schema to the next, and tenants may share a Stripe platform."""
    return ":".join(str(part) for part in (connection.schema_name, *parts))


# Calls the platform makes on a payment that move money, audited whoever (or whatever) asked, failed ones too.
_AUDITED_KINDS = {"capture": "payment.captured", "refund": "payment.refunded", "cancel": "payment.cancelled"}


def _event(payment: Payment | None, *, provider: str, kind: str, before: str = "", **fields) -> PaymentEvent:
    event = PaymentEvent.objects.create(
        payment=payment,
        provider=provider,
        kind=kind,
        status_before=before,
        status_after=payment.status if payment else "",
        **fields,
    )
    if kind in _AUDITED_KINDS and payment is not None and fields.get("source") == PaymentEvent.Source.API:
        audit_record(
            action=_AUDITED_KINDS[kind],
            target=payment,
            changes={
                "status": [before, event.status_after],
                "amount": fields.get("amount"),
                "currency": fields.get("currency") or payment.currency,
                "outcome": str(event.outcome),
                "detail": event.detail,
            },
            default_actor=fields.get("actor"),
        )
    return event


def _api_failure(payment: Payment, *, kind: str, before: str, failure: ProviderError, actor, **amounts) -> None:
    """Log a provider call that failed (the caller returns the failure to raise after the commit)."""
    _event(
        payment,
        provider=payment.provider,
        kind=kind,
        before=before,
        source=PaymentEvent.Source.API,
        outcome=Outcome.FAILED,
        detail=str(failure)[:255],
        actor=actor,
        **amounts,
    )


def _refund_status(payment: Payment) -> str:
    if payment.amount_refunded == 0:
        return Status.CAPTURED
    return Status.REFUNDED if payment.amount_refunded >= payment.amount_captured else Status.PARTIALLY_REFUNDED


def _locked(payment: Payment) -> Payment:
    return Payment.objects.select_for_update().select_related("account").get(pk=payment.pk)


@dataclass
class _Attempt:
    """What a locked, logged provider call produced: the saved object, or the provider's refusal to raise."""

    result: object
    error: ProviderError | None = None

    def outcome(self):
        if self.error is not None:
            raise self.error
        return self.result


# Customers and stored payment methods


@transaction.atomic
def payment_customer_create(
    *, account: PaymentAccount, reference: str, email: str = "", name: str = "", user=None
) -> PaymentCustomer:
    """Register who pays with the provider (`reference`: our stable id for them, e.g. "user-42")."""
    existing = PaymentCustomer.objects.filter(account=account, user=user).first() if user is not None else None
    if existing is not None:
        return existing
    customer = provider_for(account).customer_create(
        reference=_idempotency_key("customer", reference), email=email, name=name
    )
    return PaymentCustomer.objects.create(
        account=account, provider_reference=customer.reference, email=email, name=name, user=user
    )


@transaction.atomic
def payment_method_attach(
    *, customer: PaymentCustomer, payment_method: str, make_default: bool = True
) -> StoredPaymentMethod:
    """Store a method the provider tokenised (Stripe `pm_…`, Adyen storedPaymentMethodId) for the customer."""
    method = provider_for(customer.account).payment_method_attach(
        customer=customer.provider_reference, payment_method=payment_method
    )
    if make_default:
        customer.payment_methods.filter(is_default=True).update(is_default=False)
    stored, _ = StoredPaymentMethod.objects.update_or_create(
        customer=customer,
        provider_reference=method.reference,
        defaults={
            "kind": method.kind,
            "brand": method.brand,
            "last4": method.last4,
            "expiry_month": method.expiry_month,
            "expiry_year": method.expiry_year,
            "is_default": make_default,
        },
    )
    return stored


# The hold and what follows it


def payment_authorise(
    *,
    account: PaymentAccount,
    amount: int,
    currency: str,
    purpose: str,
    reference: str = "",
    customer: PaymentCustomer | None = None,
    payment_method: StoredPaymentMethod | None = None,
    description: str = "",
    actor=None,
) -> Payment:
    """Place a hold of `amount` (minor units) on the customer's method, e.g. before a charging session starts.

    The payment is AUTHORISED, REQUIRES_ACTION (the driver's app completes 3-D Secure with `client_secret`), or FAILED
    with the decline's code. A provider that cannot be reached leaves a FAILED payment and raises `ProviderError`.
    """
    return _payment_authorise(
        account=account,
        amount=amount,
        currency=currency,
        purpose=purpose,
        reference=reference,
        customer=customer,
        payment_method=payment_method,
        description=description,
        actor=actor,
    ).outcome()


@transaction.atomic
def _payment_authorise(*, account, amount, currency, purpose, reference, customer, payment_method, description, actor):
    amount, currency = minor_units(amount), currency_normalise(currency)
    if amount == 0:
        raise AmountError("A hold of 0 is not a payment.")
    if not account.is_active:
        raise PaymentAccountError(f"The {account.get_provider_display()} account is inactive.")
    if payment_method is not None and customer is None:
        customer = payment_method.customer
    payment = Payment.objects.create(
        account=account,
        provider=account.provider,
        customer=customer,
        payment_method=payment_method,
        currency=currency,
        amount_authorised=amount,
        purpose=purpose,
        reference=reference,
        description=description,
    )
    before = payment.status
    error = None
    try:
        result = provider_for(account).authorise(
            amount=amount,
            currency=currency,
            reference=f"{purpose}:{reference}" if reference else purpose,
            idempotency_key=_idempotency_key("payment", payment.pk, "authorise"),
            customer=customer.provider_reference if customer else "",
            payment_method=payment_method.provider_reference if payment_method else "",
            description=description,
        )
    except ProviderError as failure:
        error = failure
        payment.status, payment.failure_code, payment.failure_message = Status.FAILED, failure.code, str(failure)[:255]
        payment.save()
        _api_failure(
            payment, kind="authorise", before=before, failure=failure, actor=actor, amount=amount, currency=currency
        )
        return _Attempt(payment, error)
    payment.provider_reference = result.reference
    payment.status = result.state.value
    payment.amount_authorised = max(result.authorised, 0) or amount
    payment.client_secret = result.client_secret
    payment.failure_code, payment.failure_message = result.failure_code, result.failure_message
    if result.state == PaymentState.AUTHORISED:
        payment.authorised_at = timezone.now()
    payment.save()
    _event(
        payment,
        provider=payment.provider,
        kind="authorise",
        before=before,
        source=PaymentEvent.Source.API,
        outcome=Outcome.FAILED if result.state == PaymentState.FAILED else Outcome.APPLIED,
        amount=amount,
        currency=currency,
        detail=result.failure_message,
        payload=result.raw,
        actor=actor,
    )
    return _Attempt(payment)


def payment_capture(*, payment: Payment, amount: int, currency: str, actor=None) -> Payment:
    """Take the final amount (at most the hold; the rest is released). Capturing 0 releases the whole hold.

    Refused without calling the provider: a payment not AUTHORISED (never twice), more than the hold, another currency.
    """
    minor_units(amount)
    if amount == 0:
        return payment_cancel(payment=payment, actor=actor)
    return _payment_capture(payment=payment, amount=amount, currency=currency, actor=actor).outcome()


@transaction.atomic
def _payment_capture(*, payment, amount, currency, actor) -> _Attempt:
    payment = _locked(payment)
    currency_check(payment.currency, currency)
    if payment.status in Payment.CAPTURED_STATES:
        captured = amount_format(payment.amount_captured, payment.currency)
        raise PaymentStateError(f"{payment} was already captured ({captured}): a payment is captured once.")
    if payment.status != Status.AUTHORISED:
        status = payment.get_status_display().lower()
        raise PaymentStateError(f"{payment} is {status}: only a held payment is captured.")
    if amount > payment.amount_authorised:
        raise AmountError(
            f"Capturing {amount_format(amount, payment.currency)} exceeds the hold of "
            f"{amount_format(payment.amount_authorised, payment.currency)}."
        )
    before = payment.status
    try:
        result = provider_for(payment.account).capture(
            payment=payment.provider_reference,
            amount=amount,
            currency=payment.currency,
            idempotency_key=_idempotency_key("payment", payment.pk, "capture"),
        )
    except ProviderError as failure:
        _api_failure(
            payment,
            kind="capture",
            before=before,
            failure=failure,
            actor=actor,
            amount=amount,
            currency=payment.currency,
        )
        return _Attempt(payment, failure)
    payment.status = Status.CAPTURED
    payment.amount_captured = min(result.captured or amount, payment.amount_authorised)
    payment.captured_at = timezone.now()
    payment.save()
    detail = "Accepted; the provider confirms by webhook." if result.pending else ""
    _event(
        payment,
        provider=payment.provider,
        kind="capture",
        before=before,
        source=PaymentEvent.Source.API,
        amount=payment.amount_captured,
        currency=payment.currency,
        detail=detail,
        payload=result.raw,
        actor=actor,
    )
    return _Attempt(payment)


def payment_cancel(*, payment: Payment, actor=None) -> Payment:
    """Release the hold of a payment that was not captured (e.g. a session that delivered nothing)."""
    return _payment_cancel(payment=payment, actor=actor).outcome()


@transaction.atomic
def _payment_cancel(*, payment, actor) -> _Attempt:
    payment = _locked(payment)
    if payment.status not in (Status.REQUIRES_ACTION, Status.AUTHORISED):
        raise PaymentStateError(f"{payment} is {payment.get_status_display().lower()}: there is no hold to release.")
    before = payment.status
    try:
        result = provider_for(payment.account).cancel(
            payment=payment.provider_reference, idempotency_key=_idempotency_key("payment", payment.pk, "cancel")
        )
    except ProviderError as failure:
        _api_failure(payment, kind="cancel", before=before, failure=failure, actor=actor)
        return _Attempt(payment, failure)
    payment.status, payment.cancelled_at = Status.CANCELLED, timezone.now()
    payment.save()
    detail = "Accepted; the provider confirms by webhook." if result.pending else ""
    _event(
        payment,
        provider=payment.provider,
        kind="cancel",
        before=before,
        source=PaymentEvent.Source.API,
        detail=detail,
        payload=result.raw,
        actor=actor,
    )
    return _Attempt(payment)


def payment_refund(*, payment: Payment, amount: int, currency: str, reason: str = "", actor=None) -> PaymentRefund:
    """Give back `amount` of a captured payment; several partial refunds add up to at most the captured amount."""
    return _payment_refund(payment=payment, amount=amount, currency=currency, reason=reason, actor=actor).outcome()


@transaction.atomic
def _payment_refund(*, payment, amount, currency, reason, actor) -> _Attempt:
    amount = minor_units(amount)
    payment = _locked(payment)
    currency_check(payment.currency, currency)
    if payment.status not in (Status.CAPTURED, Status.PARTIALLY_REFUNDED):
        raise PaymentStateError(f"{payment} is {payment.get_status_display().lower()}: nothing captured to refund.")
    if amount == 0 or amount > payment.refundable:
        raise AmountError(
            f"A refund is more than 0 and at most the {amount_format(payment.refundable, payment.currency)} "
            f"captured and not yet refunded, not {amount_format(amount, payment.currency)}."
        )
    refund = PaymentRefund.objects.create(payment=payment, amount=amount, reason=reason[:255], requested_by=actor)
    before = payment.status
    try:
        result = provider_for(payment.account).refund(
            payment=payment.provider_reference,
            amount=amount,
            currency=payment.currency,
            idempotency_key=_idempotency_key("refund", refund.pk),
        )
    except ProviderError as failure:
        refund.status = PaymentRefund.Status.FAILED
        refund.save()
        _api_failure(
            payment,
            kind="refund",
            before=before,
            failure=failure,
            actor=actor,
            amount=amount,
            currency=payment.currency,
        )
        return _Attempt(refund, failure)
    refund.provider_reference, refund.status = result.reference, result.state.value
    refund.save()
    if result.state != RefundState.FAILED:
        payment.amount_refunded += amount
        payment.status = _refund_status(payment)
        payment.save()
    _event(
        payment,
        provider=payment.provider,
        kind="refund",
        before=before,
        source=PaymentEvent.Source.API,
        outcome=Outcome.FAILED if result.state == RefundState.FAILED else Outcome.APPLIED,
        amount=amount,
        currency=payment.currency,
        detail=f"Refund {result.reference}: {result.state}",
        payload=result.raw,
        actor=actor,
    )
    return _Attempt(refund)


# Webhooks


def payment_webhook_apply(*, account: PaymentAccount, notifications: list[Notification]) -> list[PaymentEvent]:
    """Apply verified webhook events, each once (a redelivered event id finds its earlier row and changes nothing).

    Returns the events' log rows; a duplicate returns the row written when it was first applied.
    """
    return [_notification_apply(account=account, notification=notification) for notification in notifications]


@transaction.atomic
def _notification_apply(*, account: PaymentAccount, notification: Notification) -> PaymentEvent:
    payment = None
    if notification.payment_reference:
        # The lock serialises everything that touches this payment: two deliveries of one event, or two events,
        # arriving at once are applied one after the other, the second seeing what the first did.
        payment = (
            Payment.objects.select_for_update()
            .filter(provider=account.provider, provider_reference=notification.payment_reference)
            .first()
        )
    earlier = PaymentEvent.objects.filter(provider=account.provider, event_id=notification.event_id).first()
    if earlier is not None:
        return earlier
    before = payment.status if payment else ""
    outcome, detail = _notification_outcome(account, payment, notification)
    if payment is not None and outcome == Outcome.APPLIED:
        payment.save()
    try:
        # Events of no payment here take no lock: the unique (provider, event_id) stops a concurrent duplicate.
        with transaction.atomic():
            return _event(
                payment,
                provider=account.provider,
                kind=notification.kind,
                before=before,
                source=PaymentEvent.Source.WEBHOOK,
                event_id=notification.event_id,
                outcome=outcome,
                amount=notification.amount,
                currency=notification.currency[:3],
                detail=detail[:255],
                payload=notification.payload,
            )
    except IntegrityError:
        return PaymentEvent.objects.get(provider=account.provider, event_id=notification.event_id)


def _notification_outcome(account: PaymentAccount, payment: Payment | None, notification: Notification):
    """Change `payment` in memory as the event says, and say how it went: (outcome, detail)."""
    if notification.action == Action.IGNORED:
        return Outcome.IGNORED, "Not an event payments act on."
    if payment is None:
        return Outcome.UNMATCHED, f"No payment {notification.payment_reference!r} here."
    live = account.mode == PaymentAccount.Mode.LIVE
    if notification.live is not None and notification.live != live:
        return Outcome.REFUSED, f"A {'live' if notification.live else 'test'} event for a {account.mode} account."
    if notification.currency and notification.currency.upper() != payment.currency:
        return Outcome.REFUSED, f"Amount in {notification.currency}, the payment is in {payment.currency}."
    if notification.amount is not None and (type(notification.amount) is not int or notification.amount < 0):
        return Outcome.REFUSED, f"Not an amount in minor units: {notification.amount!r}."
    apply = {
        Action.AUTHORISED: _apply_authorised,
        Action.REQUIRES_ACTION: _apply_requires_action,
        Action.CAPTURED: _apply_captured,
        Action.CAPTURE_FAILED: _apply_capture_failed,
        Action.CANCELLED: _apply_cancelled,
        Action.FAILED: _apply_failed,
        Action.REFUND: _apply_refund,
    }[notification.action]
    return apply(payment, notification)


def _apply_authorised(payment: Payment, notification: Notification):
    if payment.status not in (Status.REQUIRES_ACTION, Status.FAILED):
        return Outcome.IGNORED, f"Already {payment.get_status_display().lower()}."
    payment.status, payment.authorised_at = Status.AUTHORISED, timezone.now()
    payment.failure_code = payment.failure_message = ""
    if notification.amount:
        payment.amount_authorised = notification.amount
    return Outcome.APPLIED, f"Held {amount_format(payment.amount_authorised, payment.currency)}."


def _apply_requires_action(payment: Payment, notification: Notification):
    return Outcome.IGNORED, "The driver's app completes the authentication."


def _apply_captured(payment: Payment, notification: Notification):
    amount = notification.amount if notification.amount is not None else payment.amount_authorised
    if payment.status in Payment.CAPTURED_STATES:
        if amount == payment.amount_captured:
            return Outcome.IGNORED, "Confirms the capture."
        return Outcome.REFUSED, (
            f"Already captured {amount_format(payment.amount_captured, payment.currency)}; a second capture of "
            f"{amount_format(amount, payment.currency)} is refused."
        )
    if payment.status not in (Status.AUTHORISED, Status.REQUIRES_ACTION):
        return Outcome.REFUSED, f"A capture of a {payment.get_status_display().lower()} payment."
    if payment.status == Status.AUTHORISED and amount > payment.amount_authorised:
        return Outcome.REFUSED, f"Captured {amount_format(amount, payment.currency)}, more than the hold."
    payment.amount_authorised = max(payment.amount_authorised, amount)
    payment.amount_captured, payment.status, payment.captured_at = amount, Status.CAPTURED, timezone.now()
    return Outcome.APPLIED, f"Captured {amount_format(amount, payment.currency)}."


def _apply_capture_failed(payment: Payment, notification: Notification):
    if payment.status != Status.CAPTURED:
        return Outcome.IGNORED, f"Nothing to undo: the payment is {payment.get_status_display().lower()}."
    payment.status, payment.amount_captured, payment.captured_at = Status.AUTHORISED, 0, None
    payment.failure_code, payment.failure_message = notification.failure_code, notification.failure_message
    return Outcome.APPLIED, f"Capture failed: {notification.failure_message or 'no reason given'}."


def _apply_cancelled(payment: Payment, notification: Notification):
    if payment.status == Status.CANCELLED:
        return Outcome.IGNORED, "Confirms the release."
    if payment.status not in (Status.REQUIRES_ACTION, Status.AUTHORISED):
        return Outcome.REFUSED, f"A release of a {payment.get_status_display().lower()} payment."
    payment.status, payment.cancelled_at = Status.CANCELLED, timezone.now()
    return Outcome.APPLIED, "Hold released."


def _apply_failed(payment: Payment, notification: Notification):
    if payment.status not in (Status.REQUIRES_ACTION, Status.AUTHORISED):
        return Outcome.IGNORED, f"Already {payment.get_status_display().lower()}."
    payment.status = Status.FAILED
    payment.failure_code, payment.failure_message = notification.failure_code, notification.failure_message
    return Outcome.APPLIED, notification.failure_message or "Failed."


def _apply_refund(payment: Payment, notification: Notification):
    state = notification.refund_state or RefundState.PENDING
    refund = payment.refunds.filter(provider_reference=notification.refund_reference).first()
    if refund is None:
        if state == RefundState.FAILED:
            return Outcome.IGNORED, "A refund not known here failed."
        amount = notification.amount or 0
        if payment.status not in (Status.CAPTURED, Status.PARTIALLY_REFUNDED) or not 0 < amount <= payment.refundable:
            return Outcome.REFUSED, (
                f"A refund of {amount_format(amount, payment.currency)}: only "
                f"{amount_format(payment.refundable, payment.currency)} can be refunded."
            )
        # Made outside the platform (the provider's dashboard): recorded so the totals stay true.
        PaymentRefund.objects.create(
            payment=payment, provider_reference=notification.refund_reference, amount=amount, status=state.value
        )
        payment.amount_refunded += amount
    elif refund.status == state or refund.status == PaymentRefund.Status.SUCCEEDED and state == RefundState.PENDING:
        return Outcome.IGNORED, f"Refund {refund.provider_reference} is {refund.status}."
    elif state == RefundState.FAILED:
        refund.status = PaymentRefund.Status.FAILED
        refund.save(update_fields=["status", "updated_at"])
        payment.amount_refunded -= refund.amount
    elif refund.status == PaymentRefund.Status.FAILED:
        return Outcome.REFUSED, f"Refund {refund.provider_reference} failed before; it is not counted again."
    else:
        refund.status = state.value
        refund.save(update_fields=["status", "updated_at"])
    payment.status = _refund_status(payment)
    return Outcome.APPLIED, f"Refund {notification.refund_reference}: {state}."
