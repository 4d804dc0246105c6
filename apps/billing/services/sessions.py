"""Billing a charging session, end to end: the hold when it starts, and when it ends its CDR, its receipt (less a
subscriber's included kWh), what the prepaid balance pays of it and the capture of the rest from the hold. Run by
the Celery tasks in apps/billing/tasks.py after the session's transaction commits (apps/billing/receivers.py);
every step is idempotent, so a task run twice bills once.

A payment pays a session when its purpose is SESSION_PAYMENT_PURPOSE and its reference the session's id. A hold the
driver app placed before its remote start (reference `start:<token uid>`) is adopted by the session it started.
"""

import logging
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.db import transaction

from apps.billing.exceptions import PaymentError
from apps.billing.models import Cdr, Invoice, Payment, PaymentCustomerToken
from apps.billing.money import to_minor_units
from apps.billing.selectors.payments import payment_list_for
from apps.billing.services.cdrs import (
    BILLABLE_STATUSES,
    NO_TARIFF,
    cdr_current,
    cdr_issue,
    cdr_outdated,
    cdr_reissue,
    tenant_current,
)
from apps.billing.services.invoices import invoice_for_cdr, invoice_payment_apply
from apps.billing.services.payments import payment_authorise, payment_cancel, payment_capture
from apps.billing.services.plans import included_energy_apply, included_energy_release, prepaid_invoice_pay
from apps.sessions.models import ChargingSession

logger = logging.getLogger(__name__)

SESSION_PAYMENT_PURPOSE = "charging_session"
# A hold placed before a remote start from the driver app (apps/billing/services/driver_charges.py) has this
# reference prefix and the token's uid until the session it started adopts it.
START_REFERENCE_PREFIX = "start:"


@dataclass
class SessionBilling:
    cdr: Cdr | None = None
    invoice: Invoice | None = None
    payment: Payment | None = None
    skipped: str = ""


def session_payment_authorise(*, session_id: int) -> Payment | None:
    """Place the hold for a session that just started, when its token (or the token's group) is paid by a customer
    with a default stored method and the tenant's account is active. None when there is nothing to hold with or a
    payment for the session exists already."""
    session = ChargingSession.objects.select_related("id_token__group").filter(pk=session_id).first()
    if session is None or session.id_token is None or session.authorization_status != "Accepted":
        return None
    adopted = _start_hold_adopt(session)
    if adopted is not None:
        return adopted
    tokens = [session.id_token] + ([session.id_token.group] if session.id_token.group else [])
    link = (
        PaymentCustomerToken.objects.filter(id_token__in=tokens, customer__account__is_active=True)
        .select_related("customer__account")
        .first()
    )
    if link is None:
        return None
    method = link.customer.payment_methods.filter(is_default=True).first()
    if method is None:
        return None
    if payment_list_for(purpose=SESSION_PAYMENT_PURPOSE, reference=str(session.pk)).exists():
        return None
    currency = tenant_current().currency
    try:
        return payment_authorise(
            account=link.customer.account,
            amount=to_minor_units(Decimal(settings.BILLING_SESSION_HOLD), currency),
            currency=currency,
            purpose=SESSION_PAYMENT_PURPOSE,
            reference=str(session.pk),
            payment_method=method,
            description=f"Charging session {session.pk} at {session.station.identity}",
        )
    except PaymentError:
        logger.exception("session %s: the hold could not be placed", session.pk)
        return None


def start_reference(id_token_uid: str) -> str:
    """The reference of a hold the driver app places before its remote start, until a session adopts it."""
    return f"{START_REFERENCE_PREFIX}{id_token_uid}"


@transaction.atomic
def _start_hold_adopt(session: ChargingSession) -> Payment | None:
    """The hold the driver app placed before the remote start that produced this session, now the session's own
    (reference: the session's id), under the payment's row lock so that it is adopted once and never released by
    the start's timeout or expiry at the same time. None when there is none, or the session already has a payment."""
    if payment_list_for(purpose=SESSION_PAYMENT_PURPOSE, reference=str(session.pk)).exists():
        return None
    held = (
        Payment.objects.select_for_update()
        .filter(
            purpose=SESSION_PAYMENT_PURPOSE,
            reference=start_reference(session.id_token.uid),
            status=Payment.Status.AUTHORISED,
        )
        .order_by("created_at")
        .first()
    )
    if held is None:
        return None
    held.reference = str(session.pk)
    held.description = f"Charging session {session.pk} at {session.station.identity}"
    held.save(update_fields=["reference", "description", "updated_at"])
    return held


def _session_hold(session: ChargingSession) -> Payment | None:
    return (
        payment_list_for(purpose=SESSION_PAYMENT_PURPOSE, reference=str(session.pk))
        .filter(status__in=[Payment.Status.AUTHORISED, *Payment.CAPTURED_STATES])
        .order_by("created_at")
        .first()
    )


def session_bill(*, session_id: int) -> SessionBilling:
    """CDR, receipt and payment of an ended session. A subscriber's included kWh come off the receipt, the prepaid
    balance pays what it can, the hold the rest (docs/plans.md). A session ended again with other figures (a late
    stop after an interruption) has its CDR credited and re-issued. A session without tariff gets a CDR flagged for
    review and no receipt: its hold (if any) waits for the operator's decision."""
    session = ChargingSession.objects.filter(pk=session_id).first()
    if session is None or session.status not in BILLABLE_STATUSES:
        return SessionBilling(skipped="not an ended session")
    with transaction.atomic():
        cdr = cdr_issue(session=session)
        current = cdr_current(session) or cdr
        session.refresh_from_db()
        if cdr_outdated(current, session):
            credit, current = cdr_reissue(cdr=current, reason="The session ended again with other figures.")
            included_energy_release(cdr=credit.credit_reference)
            invoice_for_cdr(cdr=credit)
        if NO_TARIFF in current.review_reasons:
            return SessionBilling(cdr=current, skipped="no tariff")
        if getattr(session, "roaming", None) is not None:
            # A roaming partner's driver (apps.roaming): the CDR goes to their eMSP, who bills the driver; no receipt
            # here, and no hold was placed (the driver has no payment method with us).
            return SessionBilling(cdr=current, skipped="roaming: billed by the partner")
        included_energy_apply(cdr=current)
        invoice = prepaid_invoice_pay(invoice=invoice_for_cdr(cdr=current))
    payment = _capture(session, invoice)
    return SessionBilling(cdr=current, invoice=invoice, payment=payment)


def _capture(session: ChargingSession, invoice: Invoice) -> Payment | None:
    """Take what is due on the receipt (at most the hold) from the session's hold; nothing due releases it."""
    payment = _session_hold(session)
    if payment is None or invoice.payment_id is not None:
        return payment
    if payment.status in Payment.CAPTURED_STATES:
        return payment  # captured for an earlier revision: a refund of the difference is the operator's call
    if payment.currency != invoice.currency:
        logger.warning(
            "session %s: hold in %s, invoice in %s: left open", session.pk, payment.currency, invoice.currency
        )
        return payment
    due = max(invoice.total_gross - invoice.amount_paid, Decimal(0))
    amount = min(to_minor_units(due, invoice.currency), payment.amount_authorised)
    try:
        if amount == 0:
            payment = payment_cancel(payment=payment)
        else:
            payment = payment_capture(payment=payment, amount=amount, currency=invoice.currency)
    except PaymentError:
        # Captured by a concurrent run (PaymentStateError), or refused by the provider (logged on the payment):
        # the invoice stays open and the payment's log says why.
        logger.exception("session %s: capture for %s failed", session.pk, invoice.number)
        payment.refresh_from_db()
        if payment.status not in Payment.CAPTURED_STATES:
            return payment
    invoice_payment_apply(invoice=invoice, payment=payment)
    return payment
