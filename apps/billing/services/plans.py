"""Plans for drivers: subscriptions with a monthly fee, included kWh and a plan tariff; prepaid balances that pay
invoices before any card. Every write is here (docs/plans.md).

Rules kept here:
- the prepaid ledger is append-only; an account's row is locked by each movement, so concurrent debits queue and
  never take it below `-overdraft_limit`; each movement's `reference` makes it happen once;
- what pays an invoice: the prepaid balance first (as much as it holds), then the customer's default card; what
  neither pays stays due on the invoice;
- included kWh are taken once per CDR (IncludedEnergyUse is one per CDR, made before its receipt, under the
  subscription's row lock) and given back when that CDR is credited in the same period;
- a plan change mid-period is pro-rated by days in the tenant's time zone: the unused days of the old plan are
  credited (to the prepaid balance), the rest of the period of the new plan is invoiced.
"""

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone

from apps.billing.exceptions import PlanError, PrepaidError
from apps.billing.models import (
    Cdr,
    IncludedEnergyUse,
    Invoice,
    Payment,
    PaymentCustomer,
    Plan,
    PrepaidAccount,
    PrepaidEntry,
    Subscription,
)
from apps.billing.money import (
    currency_exponent,
    currency_normalise,
    from_minor_units,
    minor_units,
    to_minor_units,
)
from apps.billing.selectors.plans import session_subscription, subscription_live_for
from apps.billing.services.cdrs import tenant_current
from apps.billing.services.invoices import (
    Line,
    cdr_lines,
    invoice_card_pay,
    invoice_issue,
    invoice_paid_status,
)
from apps.billing.services.payments import payment_authorise, payment_capture

logger = logging.getLogger(__name__)

PLAN_FEE_PAYMENT_PURPOSE = "plan_fee"
TOP_UP_PAYMENT_PURPOSE = "prepaid_top_up"
KWH = Decimal("0.001")
# A declined card is tried again for the same invoice at most this often (the renewal task runs every hour).

Kind = PrepaidEntry.Kind
Status = Subscription.Status
ZERO = Decimal(0)


def _round(amount: Decimal, currency: str) -> Decimal:
    return amount.quantize(Decimal(1).scaleb(-currency_exponent(currency)), rounding=ROUND_HALF_UP)


# --- Prepaid balances ---------------------------------------------------------------------------------------------


def _account_locked(customer: PaymentCustomer, currency: str) -> PrepaidAccount:
    PrepaidAccount.objects.bulk_create(
        [PrepaidAccount(customer=customer, currency=currency)], ignore_conflicts=True
    )  # no error, no lock wait when it exists: then lock it
    return PrepaidAccount.objects.select_for_update().get(customer=customer, currency=currency)


def _book(account: PrepaidAccount, *, kind: str, amount: int, reference: str, **fields) -> PrepaidEntry:
    """Book one movement on a locked account; the same reference again: the entry booked before."""
    existing = PrepaidEntry.objects.filter(account=account, reference=reference).first()
    if existing is not None:
        return existing
    if amount == 0:
        raise PrepaidError("A prepaid movement of 0 is not a movement.")
    balance = account.balance + amount
    if balance < -account.overdraft_limit:
        raise PrepaidError(
            f"{account}: {from_minor_units(-amount, account.currency)} {account.currency} would overdraw the balance "
            f"of {from_minor_units(max(account.balance, 0), account.currency)} {account.currency}."
        )
    account.balance = balance
    account.save(update_fields=["balance", "updated_at"])
    return PrepaidEntry.objects.create(
        account=account, kind=kind, amount=amount, balance_after=balance, reference=reference[:100], **fields
    )


@transaction.atomic
def prepaid_top_up(
    *,
    customer: PaymentCustomer,
    amount: int,
    currency: str,
    reference: str,
    description: str = "",
    payment: Payment | None = None,
    actor=None,
) -> PrepaidEntry:
    """Add `amount` (minor units) to the customer's balance in `currency`, once per `reference` (a bank transfer's
    id, a card payment: "payment:<id>")."""
    currency = currency_normalise(currency)
    if minor_units(amount) == 0:
        raise PrepaidError("A top-up of 0 is not a top-up.")
    account = _account_locked(customer, currency)
    return _book(
        account,
        kind=Kind.TOP_UP,
        amount=amount,
        reference=reference,
        description=description[:255],
        payment=payment,
        actor=actor,
    )


def prepaid_top_up_by_card(*, customer: PaymentCustomer, amount: int, currency: str, actor=None) -> PrepaidEntry:
    """Charge the customer's default card (a hold captured at once) and add it to the balance."""
    method = customer.payment_methods.filter(is_default=True).first()
    if method is None:
        raise PrepaidError(f"{customer} has no default payment method.")
    payment = payment_authorise(
        account=customer.account,
        amount=amount,
        currency=currency,
        purpose=TOP_UP_PAYMENT_PURPOSE,
        reference=f"customer:{customer.pk}",
        payment_method=method,
        description="Prepaid top-up",
        actor=actor,
    )
    if payment.status != Payment.Status.AUTHORISED:
        raise PrepaidError(f"The card was not charged ({payment.get_status_display()}).")
    payment = payment_capture(payment=payment, amount=amount, currency=currency, actor=actor)
    return prepaid_top_up(
        customer=customer,
        amount=payment.amount_captured,
        currency=currency,
        reference=f"payment:{payment.pk}",
        description=f"Card top-up ({method})",
        payment=payment,
        actor=actor,
    )


@transaction.atomic
def prepaid_correct(
    *, customer: PaymentCustomer, amount: int, currency: str, reference: str, description: str, actor=None
) -> PrepaidEntry:
    """A correction by the operator: a signed amount (minor units) with the reason; never below the overdraft."""
    if type(amount) is not int or amount == 0:
        raise PrepaidError("A correction is a non-zero whole number of minor units.")
    if not description.strip():
        raise PrepaidError("Say why the balance is corrected.")
    account = _account_locked(customer, currency_normalise(currency))
    return _book(
        account, kind=Kind.CORRECTION, amount=amount, reference=reference, description=description[:255], actor=actor
    )


@transaction.atomic
def prepaid_invoice_pay(*, invoice: Invoice, customer: PaymentCustomer | None = None) -> Invoice:
    """Pay what is due on the invoice from the customer's balance in its currency, as far as the balance (and its
    overdraft) goes; the rest stays due, for the card. Once per invoice (reference "invoice:<number>")."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    customer = customer or invoice.customer
    if customer is None or invoice.kind not in (Invoice.Kind.RECEIPT, Invoice.Kind.SUBSCRIPTION):
        return invoice
    account = PrepaidAccount.objects.filter(customer=customer, currency=invoice.currency).first()
    if account is None:
        return invoice
    account = _account_locked(customer, invoice.currency)
    reference = f"invoice:{invoice.number}"
    if PrepaidEntry.objects.filter(account=account, reference=reference).exists():
        return invoice
    due = to_minor_units(max(invoice.total_gross - invoice.amount_paid, ZERO), invoice.currency)
    take = min(due, max(account.balance + account.overdraft_limit, 0))
    if take == 0:
        return invoice
    kind = Kind.FEE_DEBIT if invoice.kind == Invoice.Kind.SUBSCRIPTION else Kind.SESSION_DEBIT
    _book(account, kind=kind, amount=-take, reference=reference, description=f"Paid {invoice.number}", invoice=invoice)
    paid = from_minor_units(take, invoice.currency)
    invoice.amount_prepaid += paid
    invoice.amount_paid += paid
    invoice.status = invoice_paid_status(invoice)
    invoice.save(update_fields=["amount_prepaid", "amount_paid", "status"])
    return invoice


# --- Included energy ----------------------------------------------------------------------------------------------


def _energy_line(cdr: Cdr) -> Line | None:
    return next((line for line in cdr_lines(cdr) if line.unit == "kWh" and line.description == "Energy"), None)


@transaction.atomic
def included_energy_apply(*, cdr: Cdr) -> IncludedEnergyUse | None:
    """Take the session's energy from its payer's included kWh (as much as is left this period) before its receipt
    is made: the receipt then shows a discount line at the session's average energy price. Once per CDR; nothing
    once the receipt exists."""
    if cdr.credit:
        return None
    existing = IncludedEnergyUse.objects.filter(cdr=cdr).first()
    if existing is not None or cdr.invoices.exists():
        return existing
    subscription = session_subscription(cdr.session)
    if subscription is None or subscription.plan.currency != cdr.currency:
        return None
    subscription = Subscription.objects.select_for_update().select_related("plan").get(pk=subscription.pk)
    energy = _energy_line(cdr)
    if energy is None or energy.gross <= 0 or not cdr.total_energy_kwh:
        return None  # free energy: the allowance is kept for sessions it is worth something to
    kwh = min(subscription.included_kwh_left, cdr.total_energy_kwh).quantize(KWH, rounding=ROUND_DOWN)
    if kwh <= 0:
        return None
    share = kwh / cdr.total_energy_kwh
    subscription.included_kwh_used += kwh
    subscription.save(update_fields=["included_kwh_used", "updated_at"])
    return IncludedEnergyUse.objects.create(
        subscription=subscription,
        cdr=cdr,
        plan_code=subscription.plan.code,
        period_start=subscription.current_period_start,
        kwh=kwh,
        vat_rate=energy.vat_rate,
        discount_net=_round(energy.net * share, cdr.currency),
        discount_gross=_round(energy.gross * share, cdr.currency),
    )


@transaction.atomic
def included_energy_release(*, cdr: Cdr) -> IncludedEnergyUse | None:
    """A credited CDR gives its included kWh back, if its period is still the subscription's current one."""
    use = IncludedEnergyUse.objects.select_for_update().filter(cdr=cdr, released_at__isnull=True).first()
    if use is None:
        return None
    subscription = Subscription.objects.select_for_update().get(pk=use.subscription_id)
    if subscription.current_period_start == use.period_start:
        subscription.included_kwh_used = max(subscription.included_kwh_used - use.kwh, ZERO)
        subscription.save(update_fields=["included_kwh_used", "updated_at"])
    use.released_at = timezone.now()
    use.save(update_fields=["released_at"])
    return use


# --- Periods and fees ---------------------------------------------------------------------------------------------


def _zone() -> ZoneInfo:
    return ZoneInfo(tenant_current().timezone or "UTC")


def _months_later(moment: datetime, months: int, zone: ZoneInfo) -> datetime:
    """The same local wall-clock time `months` later; the 31st becomes the month's last day (Jan 31 → Feb 28)."""
    local = timezone.localtime(moment, zone)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    next_first = date(year + month // 12, month % 12 + 1, 1)
    day = min(local.day, (next_first - timedelta(days=1)).day)
    return local.replace(year=year, month=month, day=day)


def _period_end_after(anchor: datetime, start: datetime, zone: ZoneInfo) -> datetime:
    """The first anchor + n months after `start`: periods never drift (Jan 31, Feb 28, Mar 31…)."""
    months = 1
    while (end := _months_later(anchor, months, zone)) <= start:
        months += 1
    return end


def _days(start: datetime, end: datetime, zone: ZoneInfo) -> int:
    return (timezone.localtime(end, zone).date() - timezone.localtime(start, zone).date()).days


def _fee_line(plan: Plan, gross: Decimal, text: str, quantity: Decimal, unit: str) -> Line:
    gross = _round(gross, plan.currency)
    net = _round(gross * 100 / (100 + plan.vat_rate), plan.currency)
    return Line(text, quantity, unit, plan.vat_rate.quantize(Decimal("0.01")), net, gross)


def _period_text(start: datetime, end: datetime, zone: ZoneInfo) -> str:
    last = timezone.localtime(end, zone).date() - timedelta(days=1)
    return f"{timezone.localtime(start, zone).date().isoformat()} – {last.isoformat()}"


def _fee_invoice(subscription: Subscription, lines: list[Line], *, start: datetime, end: datetime) -> Invoice:
    gross = sum((line.gross for line in lines), ZERO)
    return invoice_issue(
        kind=Invoice.Kind.SUBSCRIPTION,
        currency=subscription.plan.currency,
        lines=lines,
        status=Invoice.Status.SETTLED if gross == 0 else Invoice.Status.OPEN,
        customer=subscription.customer,
        subscription=subscription,
        period_start=start,
        period_end=end,
    )


def _period_invoice(subscription: Subscription, zone: ZoneInfo) -> Invoice:
    plan = subscription.plan
    start, end = subscription.current_period_start, subscription.current_period_end
    line = _fee_line(plan, plan.monthly_fee, f"Plan {plan.name}, {_period_text(start, end, zone)}", Decimal(1), "")
    invoice = _fee_invoice(subscription, [line], start=start, end=end)
    return prepaid_invoice_pay(invoice=invoice)


# --- Subscriptions ------------------------------------------------------------------------------------------------


def subscription_create(*, customer: PaymentCustomer, plan: Plan, start: datetime | None = None) -> Subscription:
    """Subscribe the customer to the plan from `start` (now): the first period's fee is invoiced at once and paid
    from the prepaid balance, then the card (docs/plans.md)."""
    subscription = _subscription_create(customer=customer, plan=plan, start=start or timezone.now())
    return subscription_collect(subscription_id=subscription.pk)


@transaction.atomic
def _subscription_create(*, customer: PaymentCustomer, plan: Plan, start: datetime) -> Subscription:
    PaymentCustomer.objects.select_for_update().get(pk=customer.pk)  # one live subscription, also at once
    if not plan.is_active:
        raise PlanError(f"{plan} is not offered any more.")
    if subscription_live_for(customer=customer) is not None:
        raise PlanError(f"{customer} has a subscription already: change its plan instead.")
    zone = _zone()
    subscription = Subscription.objects.create(
        customer=customer,
        plan=plan,
        anchor_at=start,
        current_period_start=start,
        current_period_end=_period_end_after(start, start, zone),
        included_kwh=plan.included_kwh,
    )
    _period_invoice(subscription, zone)
    return subscription


@transaction.atomic
def subscription_cancel(*, subscription: Subscription, at_period_end: bool = True, at=None) -> Subscription:
    """Cancel at the end of the paid period (the default: benefits run until then), or at once (no refund of the
    period's fee: a goodwill credit is a prepaid correction)."""
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if subscription.status == Status.CANCELLED:
        return subscription
    if at_period_end:
        subscription.cancel_at_period_end = True
    else:
        subscription.status, subscription.cancelled_at = Status.CANCELLED, at or timezone.now()
    subscription.save()
    return subscription


def subscription_renew(*, subscription_id: int, now: datetime | None = None) -> Subscription:
    """Start the periods that are due (each with its fee invoice, the allowance reset), or end a subscription
    cancelled at its period's end; then collect what is open. Idempotent: a period starts once."""
    subscription = _subscription_advance(subscription_id=subscription_id, now=now or timezone.now())
    if subscription.status == Status.CANCELLED:
        return subscription
    return subscription_collect(subscription_id=subscription.pk, now=now)


@transaction.atomic
def _subscription_advance(*, subscription_id: int, now: datetime) -> Subscription:
    subscription = Subscription.objects.select_for_update().select_related("plan", "customer").get(pk=subscription_id)
    zone = _zone()
    while subscription.status in Subscription.LIVE_STATES and subscription.current_period_end <= now:
        if subscription.cancel_at_period_end:
            subscription.status, subscription.cancelled_at = Status.CANCELLED, subscription.current_period_end
            break
        start = subscription.current_period_end
        subscription.current_period_start = start
        subscription.current_period_end = _period_end_after(subscription.anchor_at, start, zone)
        subscription.included_kwh, subscription.included_kwh_used = subscription.plan.included_kwh, ZERO
        subscription.save()
        _period_invoice(subscription, zone)
    subscription.save()
    return subscription


@dataclass(frozen=True)
class Proration:
    """A plan change on a day of the period: `days_left` of `period_days` (the change day included)."""

    days_left: int
    period_days: int
    credit: Decimal  # gross, the old plan's unused days
    charge: Decimal  # gross, the new plan for the days left
    included_kwh: Decimal  # the period's allowance after the change


def plan_change_proration(subscription: Subscription, plan: Plan, at: datetime, zone: ZoneInfo) -> Proration:
    """By days in the tenant's time zone: fee × days left / days in the period for both plans, rounded to the
    minor unit; the allowance loses the old plan's share of the days left and gains the new plan's."""
    old = subscription.plan
    period_days = _days(subscription.current_period_start, subscription.current_period_end, zone)
    days_left = _days(at, subscription.current_period_end, zone)
    share = Decimal(days_left) / Decimal(period_days)
    allowance = subscription.included_kwh + (plan.included_kwh - old.included_kwh) * share
    return Proration(
        days_left=days_left,
        period_days=period_days,
        credit=_round(old.monthly_fee * share, old.currency),
        charge=_round(plan.monthly_fee * share, plan.currency),
        included_kwh=max(allowance.quantize(KWH, rounding=ROUND_HALF_UP), subscription.included_kwh_used),
    )


def subscription_plan_change(*, subscription: Subscription, plan: Plan, at: datetime | None = None) -> Subscription:
    """Move to another plan at once, pro-rated by days: a credit note for the old plan's unused days (put on the
    prepaid balance), an invoice for the new plan's days left (paid from the balance, then the card)."""
    subscription = _subscription_plan_change(subscription=subscription, plan=plan, at=at or timezone.now())
    return subscription_collect(subscription_id=subscription.pk, now=at)


@transaction.atomic
def _subscription_plan_change(*, subscription: Subscription, plan: Plan, at: datetime) -> Subscription:
    subscription = Subscription.objects.select_for_update().select_related("plan", "customer").get(pk=subscription.pk)
    old = subscription.plan
    if subscription.status not in Subscription.LIVE_STATES:
        raise PlanError(f"{subscription} is cancelled.")
    if not plan.is_active:
        raise PlanError(f"{plan} is not offered any more.")
    if plan.pk == old.pk:
        raise PlanError(f"{subscription} is on {plan} already.")
    if plan.currency != old.currency:
        raise PlanError(f"{plan} is in {plan.currency}, {old} in {old.currency}: currencies are never mixed.")
    if not subscription.current_period_start <= at < subscription.current_period_end:
        raise PlanError("A plan changes within the current period: renew the subscription first.")
    zone = _zone()
    prorated = plan_change_proration(subscription, plan, at, zone)
    end = subscription.current_period_end
    days = f"{prorated.days_left} of {prorated.period_days} days, {_period_text(at, end, zone)}"
    if prorated.credit:
        text = f"Credit: plan {old.name}, {days} unused"
        credit = _fee_line(old, prorated.credit, text, Decimal(prorated.days_left), "d")
        credit.net, credit.gross = -credit.net, -credit.gross
        fees = Invoice.objects.filter(subscription=subscription, kind=Invoice.Kind.SUBSCRIPTION)
        credited = fees.order_by("issued_at", "id").last()
        note = invoice_issue(
            kind=Invoice.Kind.CREDIT_NOTE,
            currency=old.currency,
            lines=[credit],
            status=Invoice.Status.SETTLED,
            customer=subscription.customer,
            subscription=subscription,
            credited_invoice=credited,
            period_start=at,
            period_end=end,
            notes=f"Plan changed from {old.code} to {plan.code}; the credit is on the prepaid balance.",
        )
        prepaid_top_up(
            customer=subscription.customer,
            amount=to_minor_units(prorated.credit, old.currency),
            currency=old.currency,
            reference=f"invoice:{note.number}",
            description=f"Credit note {note.number}",
        )
    subscription.plan = plan
    subscription.included_kwh = prorated.included_kwh
    subscription.save()
    charge = _fee_line(plan, prorated.charge, f"Plan {plan.name}, {days}", Decimal(prorated.days_left), "d")
    invoice = _fee_invoice(subscription, [charge], start=at, end=end)
    prepaid_invoice_pay(invoice=invoice)
    return subscription


# --- Collecting plan fees -----------------------------------------------------------------------------------------


def subscription_collect(*, subscription_id: int, now: datetime | None = None) -> Subscription:
    """Pay the subscription's open fee invoices, oldest first: the prepaid balance, then the default card (a hold
    captured at once; a declined card is tried again after CARD_RETRY_AFTER). All paid: active; else past due."""
    now = now or timezone.now()
    subscription = Subscription.objects.select_related("customer").get(pk=subscription_id)
    open_invoices = Invoice.objects.filter(
        subscription=subscription,
        kind=Invoice.Kind.SUBSCRIPTION,
        status__in=[Invoice.Status.OPEN, Invoice.Status.PARTIALLY_PAID],
    ).order_by("issued_at", "id")
    for invoice in open_invoices:
        invoice = prepaid_invoice_pay(invoice=invoice)
        if invoice.amount_paid < invoice.total_gross:
            invoice_card_pay(
                invoice=invoice,
                customer=subscription.customer,
                purpose=PLAN_FEE_PAYMENT_PURPOSE,
                description=f"Plan fee {invoice.number}",
                now=now,
            )
    unpaid = (
        Invoice.objects.filter(subscription=subscription, kind=Invoice.Kind.SUBSCRIPTION)
        .filter(status__in=[Invoice.Status.OPEN, Invoice.Status.PARTIALLY_PAID])
        .exists()
    )
    return _subscription_status_set(subscription_id, Status.PAST_DUE if unpaid else Status.ACTIVE)


@transaction.atomic
def _subscription_status_set(subscription_id: int, status: str) -> Subscription:
    subscription = Subscription.objects.select_for_update().select_related("plan", "customer").get(pk=subscription_id)
    if subscription.status in Subscription.LIVE_STATES and subscription.status != status:
        subscription.status = status
        subscription.save(update_fields=["status", "updated_at"])
    return subscription
