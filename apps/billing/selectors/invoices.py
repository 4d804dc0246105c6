"""Reads of invoices, and their CSV export rows."""

from collections.abc import Iterator
from datetime import datetime

from django.db.models import QuerySet

from apps.billing.models import Invoice

CSV_COLUMNS = (
    "number",
    "kind",
    "status",
    "issued_at",
    "currency",
    "total_net",
    "total_vat",
    "total_gross",
    "amount_paid",
    "cdr_id",
    "session_id",
    "token_uid",
    "token_group_uid",
    "period_start",
    "period_end",
    "credited_invoice",
    "payment_id",
    "payment_status",
)


def invoice_list(
    *,
    kind: str | None = None,
    issued_after: datetime | None = None,
    issued_before: datetime | None = None,
    customer_id: int | None = None,
) -> QuerySet[Invoice]:
    """The brand's invoices with their CDR, payment, credited invoice and customer; the filters given narrow them."""
    invoices = Invoice.objects.select_related("cdr", "payment", "credited_invoice", "customer")
    if kind is not None:
        invoices = invoices.filter(kind=kind)
    if issued_after is not None:
        invoices = invoices.filter(issued_at__gte=issued_after)
    if issued_before is not None:
        invoices = invoices.filter(issued_at__lt=issued_before)
    if customer_id is not None:
        invoices = invoices.filter(customer_id=customer_id)
    return invoices


def invoice_get(*, number: str) -> Invoice | None:
    return invoice_list().filter(number=number).first()


def invoice_list_for_session(*, session_id: int) -> QuerySet[Invoice]:
    return invoice_list().filter(cdr__session_id=session_id).order_by("issued_at", "id")


def session_receipt_get(*, session_id: int) -> Invoice | None:
    """The session's receipt in force (the newest not credited), once issued."""
    return (
        invoice_list_for_session(session_id=session_id)
        .filter(kind=Invoice.Kind.RECEIPT)
        .exclude(status=Invoice.Status.CREDITED)
        .order_by("-issued_at", "-id")
        .first()
    )


def invoice_csv_rows(invoices: QuerySet[Invoice]) -> Iterator[list[str]]:
    """The header, then one row per invoice (amounts as exact decimal text, times in ISO 8601)."""
    yield list(CSV_COLUMNS)
    for invoice in invoices.select_related("cdr", "payment", "credited_invoice").order_by("issued_at", "id"):
        yield [
            invoice.number,
            invoice.kind,
            invoice.status,
            invoice.issued_at.isoformat(),
            invoice.currency,
            str(invoice.total_net),
            str(invoice.total_vat),
            str(invoice.total_gross),
            str(invoice.amount_paid),
            invoice.cdr.cdr_id if invoice.cdr else "",
            str(invoice.cdr.session_id) if invoice.cdr else "",
            invoice.token_uid,
            invoice.token_group_uid,
            invoice.period_start.isoformat() if invoice.period_start else "",
            invoice.period_end.isoformat() if invoice.period_end else "",
            invoice.credited_invoice.number if invoice.credited_invoice else "",
            str(invoice.payment_id or ""),
            invoice.payment.status if invoice.payment else "",
        ]
