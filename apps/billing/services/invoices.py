"""Invoices: a receipt per session from its CDR, a credit note per credit CDR, periodic statements of a token
group's CDRs; numbered per tenant, series and year without gaps; paid by a captured payment.

Numbers: the series' counter row is locked (SELECT … FOR UPDATE) by the transaction that creates the invoice, so
concurrent invoices wait for each other and a rolled-back invoice gives its number back. Amounts are Decimals in
the currency's major unit, rounded to its minor unit; one invoice has one currency.
"""

import logging
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_noop

from apps.billing.exceptions import InvoiceError, PaymentError
from apps.billing.models import (
    Cdr,
    DocumentCounter,
    IncludedEnergyUse,
    Invoice,
    InvoiceLine,
    Payment,
    PaymentCustomerToken,
)
from apps.billing.money import currency_check, currency_exponent, from_minor_units, to_minor_units
from apps.billing.selectors.payments import payment_list_for
from apps.billing.services.cdrs import tenant_current
from apps.billing.services.payments import payment_authorise, payment_capture
from apps.stations.live import live_publish

logger = logging.getLogger(__name__)

Kind = Invoice.Kind
Status = Invoice.Status
ZERO = Decimal(0)
CARD_RETRY_AFTER = timedelta(hours=24)  # a declined card is tried again (invoice_card_pay) after this

# CDR cost fields -> (line text, the tariff dimension whose VAT applies, the quantity's field and unit)
# Line texts are stored in English and translated when an invoice is drawn (apps/billing/pdf.py).
COST_LINES = (
    ("total_fixed_cost", gettext_noop("Session fee"), "FLAT", None, ""),
    ("total_energy_cost", gettext_noop("Energy"), "ENERGY", "total_energy", "kWh"),
    ("total_time_cost", gettext_noop("Charging time"), "TIME", "charging_time", "h"),
    ("total_parking_cost", gettext_noop("Parking time"), "PARKING_TIME", "total_parking_time", "h"),
    ("total_reservation_cost", gettext_noop("Reservation"), "TIME", None, ""),
)


def _round(amount: Decimal | int, currency: str) -> Decimal:
    # A CDR's JSON gives a cost of exactly 0 as the integer 0 (a session too short to park, say).
    return Decimal(amount).quantize(Decimal(1).scaleb(-currency_exponent(currency)), rounding=ROUND_HALF_UP)


@dataclass
class Line:
    description: str
    quantity: Decimal | None
    unit: str
    vat_rate: Decimal
    net: Decimal
    gross: Decimal
    cdr: Cdr | None = None

    @property
    def vat(self) -> Decimal:
        return self.gross - self.net


def _vat_rates(document: dict) -> dict[str, set[Decimal]]:
    """The VAT rates the frozen tariff gives each dimension (absent VAT: 0 %)."""
    rates: dict[str, set[Decimal]] = defaultdict(set)
    for tariff in document.get("tariffs") or []:
        for element in tariff.get("elements") or []:
            for component in element.get("price_components") or []:
                rates[component["type"]].add(Decimal(str(component.get("vat", 0))))
    return rates


def _rate(rates: set[Decimal], net: Decimal, gross: Decimal) -> Decimal:
    if len(rates) == 1:
        return next(iter(rates)).quantize(Decimal("0.01"))
    if net == 0:
        return ZERO.quantize(Decimal("0.01"))
    return ((gross - net) / net * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def cdr_lines(cdr: Cdr) -> list[Line]:
    """The invoice lines of one of our CDRs."""
    return document_lines(cdr.ocpi, cdr.currency, cdr=cdr)


def document_lines(document: dict, currency: str, *, cdr: Cdr | None = None) -> list[Line]:
    """The invoice lines of an OCPI CDR document (ours, `cdr`, or a roaming partner's): one per cost dimension, plus
    what the minimum/maximum price or the rounding of the total added, so the lines add up to the CDR's total
    exactly."""
    rates = _vat_rates(document)
    charging_time = Decimal(document.get("total_time", 0)) - Decimal(document.get("total_parking_time", 0))
    quantities = {**document, "charging_time": charging_time}
    lines = []
    for field, text, dimension, quantity_field, unit in COST_LINES:
        cost = document.get(field)
        if not cost:
            continue
        net = _round(cost["excl_vat"], currency)
        gross = _round(cost.get("incl_vat", cost["excl_vat"]), currency)
        if net == 0 and gross == 0:
            continue
        quantity = quantities.get(quantity_field) if quantity_field else Decimal(1)
        rate = _rate(rates.get(dimension, set()), net, gross)
        lines.append(Line(text, quantity, unit, rate, net, gross, cdr))
    total = document["total_cost"]
    net_total = _round(total["excl_vat"], currency)
    gross_total = _round(total.get("incl_vat", total["excl_vat"]), currency)
    net_diff = net_total - sum((line.net for line in lines), ZERO)
    gross_diff = gross_total - sum((line.gross for line in lines), ZERO)
    if not lines and (net_diff or gross_diff):
        # A CDR with its total only (another CPO's may give no cost per dimension): one line for the session.
        quantity = Decimal(str(document.get("total_energy", 0)))
        rate = _rate(rates.get("ENERGY", set()), net_diff, gross_diff)
        lines.append(Line(gettext_noop("Charging session"), quantity, "kWh", rate, net_diff, gross_diff, cdr))
    elif net_diff or gross_diff:
        main = max(lines, key=lambda line: abs(line.gross)) if lines else None
        rate = main.vat_rate if main else _rate(set(), net_diff, gross_diff)
        label = gettext_noop("Price adjustment (minimum/maximum price, rounding)")
        lines.append(Line(label, None, "", rate, net_diff, gross_diff, cdr))
    return lines


def tax_table(lines) -> list[dict]:
    """Net, VAT and gross per VAT rate, lowest rate first."""
    table: dict[Decimal, dict] = {}
    for line in lines:
        row = table.setdefault(line.vat_rate, {"vat_rate": line.vat_rate, "net": ZERO, "vat": ZERO, "gross": ZERO})
        row["net"] += line.net
        row["vat"] += line.vat
        row["gross"] += line.gross
    return [table[rate] for rate in sorted(table)]


def _number_take(series: str, issued_at: datetime) -> str:
    """The next number of the series this year (the tenant's local year), its counter row locked until commit."""
    tenant = tenant_current()
    year = timezone.localtime(issued_at, ZoneInfo(tenant.timezone or "UTC")).year
    DocumentCounter.objects.bulk_create([DocumentCounter(series=series, year=year)], ignore_conflicts=True)
    counter = DocumentCounter.objects.select_for_update().get(series=series, year=year)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{series}-{year}-{counter.last_number:06d}"


def _invoice_create(*, kind: str, currency: str, lines: list[Line], **fields) -> Invoice:
    for line in lines:
        if line.cdr is not None and line.cdr.currency != currency:
            raise InvoiceError(f"{line.cdr} is in {line.cdr.currency}; the invoice is in {currency}: never mixed.")
    issued_at = timezone.now()
    net = sum((line.net for line in lines), ZERO)
    gross = sum((line.gross for line in lines), ZERO)
    invoice = Invoice.objects.create(
        number=_number_take(Invoice.SERIES[kind], issued_at),
        kind=kind,
        currency=currency,
        issued_at=issued_at,
        total_net=net,
        total_vat=gross - net,
        total_gross=gross,
        **fields,
    )
    InvoiceLine.objects.bulk_create(
        InvoiceLine(
            invoice=invoice,
            position=position,
            description=line.description[:255],
            quantity=line.quantity,
            unit=line.unit,
            cdr=line.cdr,
            vat_rate=line.vat_rate,
            net=line.net,
            vat=line.vat,
            gross=line.gross,
        )
        for position, line in enumerate(lines, start=1)
    )
    cdr = fields.get("cdr")
    live_publish(
        "invoice.created",
        station_id=None,  # an invoice is the customer's, not a station's (a statement spans many)
        data={
            "id": invoice.pk,
            "number": invoice.number,
            "kind": invoice.kind,
            "status": invoice.status,
            "currency": invoice.currency,
            "issued_at": invoice.issued_at,
            "total_net": invoice.total_net,
            "total_vat": invoice.total_vat,
            "total_gross": invoice.total_gross,
            "cdr_id": cdr.cdr_id if isinstance(cdr, Cdr) else None,
            "token_uid": invoice.token_uid,
            "token_group_uid": invoice.token_group_uid,
        },
    )
    return invoice


@transaction.atomic
def invoice_issue(*, kind: str, currency: str, lines: list[Line], **fields) -> Invoice:
    """A numbered invoice of the given lines (plan fees, their pro-rated changes): the next number of the kind's
    series, totals from the lines."""
    return _invoice_create(kind=kind, currency=currency, lines=lines, **fields)


def _included_energy_line(cdr: Cdr, *, credit: bool) -> list[Line]:
    """A subscriber's receipt takes the plan's included kWh off at the session's energy price (docs/plans.md); the
    credit note of that receipt gives the discount back."""
    use = IncludedEnergyUse.objects.filter(cdr_id=cdr.credit_reference_id if credit else cdr.pk).first()
    if use is None:
        return []
    sign = 1 if credit else -1
    text = f"Included in plan {use.plan_code}: {use.kwh.normalize():f} kWh"  # a credit note prefixes "Credit: "
    return [Line(text, use.kwh, "kWh", use.vat_rate, sign * use.discount_net, sign * use.discount_gross, cdr)]


def _customer_of(cdr: Cdr):
    link = (
        PaymentCustomerToken.objects.filter(id_token__uid__iexact=cdr.token_uid).select_related("customer").first()
        if cdr.token_uid
        else None
    )
    return link.customer if link else None


@transaction.atomic
def invoice_for_cdr(*, cdr: Cdr) -> Invoice:
    """The receipt of a CDR, or the credit note of a credit CDR; the one made before, if any (idempotent)."""
    cdr = Cdr.objects.select_for_update().get(pk=cdr.pk)  # a row lock fires no trigger: the CDR is not changed
    existing = Invoice.objects.filter(cdr=cdr, kind__in=[Kind.RECEIPT, Kind.CREDIT_NOTE]).first()
    if existing is not None:
        return existing
    lines = cdr_lines(cdr) + _included_energy_line(cdr, credit=cdr.credit)
    common = {
        "cdr": cdr,
        "token_uid": cdr.token_uid,
        "token_group_uid": cdr.token_group_uid,
        "customer": _customer_of(cdr),
    }
    if not cdr.credit:
        gross = sum((line.gross for line in lines), ZERO)
        status = Status.SETTLED if gross == 0 else Status.OPEN
        return _invoice_create(kind=Kind.RECEIPT, currency=cdr.currency, lines=lines, status=status, **common)
    original = Invoice.objects.select_for_update().filter(cdr_id=cdr.credit_reference_id, kind=Kind.RECEIPT).first()
    for line in lines:
        line.description = f"Credit: {line.description}"
    note = _invoice_create(
        kind=Kind.CREDIT_NOTE,
        currency=cdr.currency,
        lines=lines,
        status=Status.OPEN if original and original.amount_paid > 0 else Status.SETTLED,
        credited_invoice=original,
        notes=cdr.reason[:255],
        **common,
    )
    if original is not None:
        original.status = Status.CREDITED
        original.save(update_fields=["status"])
    return note


@transaction.atomic
def invoice_for_cdr_document(
    *,
    document: dict,
    customer,
    token_uid: str,
    token_group_uid: str = "",
    notes: str = "",
    credited_invoice: Invoice | None = None,
) -> Invoice:
    """The receipt of a CDR someone else issued for one of our drivers (a roaming partner's CDR of a session at
    their station: their prices as they charged them), or, for a credit CDR (`credit` true, negated amounts), the
    credit note of `credited_invoice`."""
    currency = document["currency"].upper()
    lines = document_lines(document, currency)
    common = {"token_uid": token_uid, "token_group_uid": token_group_uid, "customer": customer, "notes": notes[:255]}
    if not document.get("credit"):
        status = Status.SETTLED if sum((line.gross for line in lines), ZERO) == 0 else Status.OPEN
        return _invoice_create(kind=Kind.RECEIPT, currency=currency, lines=lines, status=status, **common)
    original = Invoice.objects.select_for_update().filter(pk=getattr(credited_invoice, "pk", None)).first()
    for line in lines:
        line.description = f"Credit: {line.description}"
    note = _invoice_create(
        kind=Kind.CREDIT_NOTE,
        currency=currency,
        lines=lines,
        status=Status.OPEN if original and original.amount_paid > 0 else Status.SETTLED,
        credited_invoice=original,
        **common,
    )
    if original is not None:
        original.status = Status.CREDITED
        original.save(update_fields=["status"])
    return note


def invoice_card_pay(
    *, invoice: Invoice, purpose: str, description: str, customer=None, now: datetime | None = None
) -> Payment | None:
    """Charge what is due on the invoice to the customer's default card, authorised and captured at once (the
    driver is not there to confirm), and record it (plan fees, roaming receipts). One payment per invoice (`purpose`
    and the invoice's number): one captured already is recorded again; one authorised is captured; one declined or
    waiting for 3-D Secure is tried again only after CARD_RETRY_AFTER. None without a customer, card or active
    account."""
    customer = customer or invoice.customer
    if customer is None:
        return None
    now = now or timezone.now()
    payment = payment_list_for(purpose=purpose, reference=invoice.number).order_by("-created_at").first()
    if payment is not None and payment.status in Payment.CAPTURED_STATES:
        invoice_payment_apply(invoice=invoice, payment=payment)
        return payment
    if payment is None or payment.status != Payment.Status.AUTHORISED:
        if payment is not None and payment.created_at > now - CARD_RETRY_AFTER:
            return payment  # declined (or waiting for 3-D Secure) lately: not again yet
        method = customer.payment_methods.filter(is_default=True).first()
        if method is None or not customer.account.is_active:
            return None
        due = to_minor_units(invoice.total_gross - invoice.amount_paid, invoice.currency)
        try:
            payment = payment_authorise(
                account=customer.account,
                amount=due,
                currency=invoice.currency,
                purpose=purpose,
                reference=invoice.number,
                payment_method=method,
                description=description,
            )
        except PaymentError:
            logger.exception("%s: the card could not be charged", invoice.number)
            return None
        if payment.status != Payment.Status.AUTHORISED:
            return payment
    try:
        currency_check(payment.currency, invoice.currency)
        payment = payment_capture(payment=payment, amount=payment.amount_authorised, currency=invoice.currency)
    except PaymentError:
        logger.exception("%s: the capture failed", invoice.number)
        payment.refresh_from_db()
        if payment.status not in Payment.CAPTURED_STATES:
            return payment
    invoice_payment_apply(invoice=invoice, payment=payment)
    return payment


@transaction.atomic
def invoice_statement_create(*, group_uid: str, currency: str, period_start: datetime, period_end: datetime) -> Invoice:
    """A statement of the CDRs (and credit CDRs) issued in [period_start, period_end) for a token group (or a token
    without a group, by its uid), in one currency: one line per CDR and VAT rate. The same statement again if it
    was made before."""
    existing = Invoice.objects.filter(
        kind=Kind.STATEMENT,
        token_group_uid=group_uid,
        currency=currency,
        period_start=period_start,
        period_end=period_end,
    ).first()
    if existing is not None:
        return existing
    cdrs = list(
        Cdr.objects.filter(issued_at__gte=period_start, issued_at__lt=period_end, currency=currency)
        .filter(token_group_uid=group_uid)
        .union(
            Cdr.objects.filter(
                issued_at__gte=period_start, issued_at__lt=period_end, currency=currency, token_group_uid=""
            ).filter(token_uid__iexact=group_uid)
        )
        .order_by("issued_at", "id")
    )
    if not cdrs:
        raise InvoiceError(f"No CDRs of {group_uid} in {currency} in that period.")
    lines = []
    for cdr in cdrs:
        where = cdr.ocpi.get("cdr_location", {}).get("name") or cdr.ocpi.get("cdr_location", {}).get("evse_uid", "")
        day = timezone.localtime(cdr.start_date_time).date().isoformat()
        label = f"{'Credit ' if cdr.credit else ''}CDR {cdr.cdr_id}, {day}, {where}"
        for row in tax_table(cdr_lines(cdr)):
            lines.append(Line(label, cdr.total_energy_kwh, "kWh", row["vat_rate"], row["net"], row["gross"], cdr))
    paid = sum(
        (
            invoice.amount_paid
            for invoice in Invoice.objects.filter(cdr__in=cdrs, kind=Kind.RECEIPT).only("amount_paid")
        ),
        ZERO,
    )
    gross = sum((line.gross for line in lines), ZERO)
    return _invoice_create(
        kind=Kind.STATEMENT,
        currency=currency,
        lines=lines,
        status=Status.PAID if paid >= gross else Status.OPEN,
        amount_paid=paid,
        token_group_uid=group_uid,
        period_start=period_start,
        period_end=period_end,
    )


@transaction.atomic
def invoice_payment_apply(*, invoice: Invoice, payment: Payment) -> Invoice:
    """Record what a captured payment paid of the invoice (the hold may have been smaller than the total)."""
    invoice = Invoice.objects.select_for_update().get(pk=invoice.pk)
    if payment.currency != invoice.currency:
        raise InvoiceError(f"{payment} is in {payment.currency}; {invoice} is in {invoice.currency}.")
    invoice.payment = payment
    invoice.amount_paid = invoice.amount_prepaid + from_minor_units(payment.amount_captured, payment.currency)
    invoice.status = invoice_paid_status(invoice)
    invoice.save(update_fields=["payment", "amount_paid", "status"])
    return invoice


def invoice_paid_status(invoice: Invoice) -> str:
    """The status an invoice's amount_paid gives it: paid, partially paid, or (nothing paid) as it was."""
    if invoice.amount_paid >= invoice.total_gross:
        return Status.PAID
    if invoice.amount_paid > 0:
        return Status.PARTIALLY_PAID
    return invoice.status
