"""An invoice as a PDF in the tenant's branding (display name, colours, logo, support contact), drawn with reportlab.

Rendered on demand from the stored invoice (its lines and totals never change), uncompressed and with reportlab's
invariant mode: the same invoice gives the same bytes, and the text can be searched in the file.
"""

import io
import logging
from decimal import Decimal

from django.db import connection
from django.utils import timezone
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from apps.billing.models import Invoice
from apps.billing.money import currency_exponent
from apps.billing.services.invoices import tax_table
from apps.whitelabel.models import Branding, Tenant

logger = logging.getLogger(__name__)

TITLES = {Invoice.Kind.RECEIPT: "Receipt", Invoice.Kind.CREDIT_NOTE: "Credit note", Invoice.Kind.STATEMENT: "Statement"}


def _brand() -> tuple[Tenant, Branding | None]:
    tenant = Tenant.objects.get(schema_name=connection.schema_name)
    return tenant, Branding.objects.filter(tenant=tenant).first()


def _amount(value: Decimal, currency: str) -> str:
    return f"{value:,.{currency_exponent(currency)}f} {currency}"


def _logo(branding: Branding | None):
    if branding is None or not branding.logo:
        return None
    try:
        with branding.logo.open("rb") as file:
            data = io.BytesIO(file.read())
        return Image(data, width=40 * mm, height=15 * mm, kind="proportional")
    except Exception:  # a missing or unreadable logo must not stop the invoice
        logger.warning("logo of %s not readable; invoice drawn without it", branding)
        return None


def invoice_pdf(invoice: Invoice) -> bytes:
    tenant, branding = _brand()
    name = branding.display_name if branding else tenant.name
    primary = colors.HexColor(branding.primary_colour if branding else "#0b6e4f")
    accent = colors.HexColor(branding.accent_colour if branding else "#f2a541")
    styles = getSampleStyleSheet()
    heading = styles["Heading1"].clone("brand", textColor=primary)
    small = styles["Normal"].clone("small", fontSize=8, leading=10)

    buffer = io.BytesIO()
    document = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=f"{TITLES[invoice.kind]} {invoice.number}",
        author=name,
        invariant=1,
        pageCompression=0,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
    )
    story = []
    logo = _logo(branding)
    if logo is not None:
        story.append(logo)
    story.append(Paragraph(name, heading))
    contact = " · ".join(x for x in (branding.support_email, branding.support_phone) if x) if branding else ""
    if contact:
        story.append(Paragraph(contact, small))
    story.append(Spacer(1, 6 * mm))
    local = timezone.localtime(invoice.issued_at)
    facts = [
        [TITLES[invoice.kind], invoice.number],
        ["Date", local.strftime("%Y-%m-%d")],
        ["Currency", invoice.currency],
    ]
    if invoice.cdr_id:
        facts.append(["CDR", invoice.cdr.cdr_id])
        facts.append(["Charging session", str(invoice.cdr.session_id)])
    if invoice.token_uid or invoice.token_group_uid:
        facts.append(["Card / token", invoice.token_group_uid or invoice.token_uid])
    if invoice.period_start and invoice.period_end:
        facts.append(["Period", f"{invoice.period_start:%Y-%m-%d} – {invoice.period_end:%Y-%m-%d}"])
    if invoice.credited_invoice_id:
        facts.append(["Credits", invoice.credited_invoice.number])
    story.append(Table(facts, colWidths=[45 * mm, 100 * mm], style=[("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold")]))
    story.append(Spacer(1, 6 * mm))

    currency = invoice.currency
    lines = list(invoice.lines.all())
    rows = [["Description", "Quantity", "VAT %", "Net", "VAT", "Gross"]]
    for line in lines:
        quantity = f"{line.quantity.normalize():f} {line.unit}".strip() if line.quantity is not None else ""
        rows.append(
            [
                Paragraph(line.description, small),
                quantity,
                f"{line.vat_rate.normalize():f}",
                _amount(line.net, currency),
                _amount(line.vat, currency),
                _amount(line.gross, currency),
            ]
        )
    table = Table(rows, colWidths=[62 * mm, 24 * mm, 14 * mm, 25 * mm, 22 * mm, 25 * mm], repeatRows=1)
    table.setStyle(_grid(primary))
    story.append(table)
    story.append(Spacer(1, 6 * mm))

    taxes = [["VAT %", "Net", "VAT", "Gross"]]
    for row in tax_table(lines):
        taxes.append(
            [
                f"{row['vat_rate'].normalize():f}",
                _amount(row["net"], currency),
                _amount(row["vat"], currency),
                _amount(row["gross"], currency),
            ]
        )
    taxes.append(
        [
            "Total",
            _amount(invoice.total_net, currency),
            _amount(invoice.total_vat, currency),
            _amount(invoice.total_gross, currency),
        ]
    )
    tax = Table(taxes, colWidths=[20 * mm, 30 * mm, 30 * mm, 30 * mm], hAlign="RIGHT")
    tax.setStyle(_grid(primary, total_colour=accent))
    story.append(tax)
    story.append(Spacer(1, 6 * mm))
    paid = f"Paid: {_amount(invoice.amount_paid, currency)} — {invoice.get_status_display()}"
    story.append(Paragraph(paid, styles["Normal"]))
    document.build(story)
    return buffer.getvalue()


def _grid(primary, total_colour=None) -> TableStyle:
    style = [
        ("BACKGROUND", (0, 0), (-1, 0), primary),
        ("TEXTCOLOR", (0, 0), (-1, 0), colors.white),
        ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
        ("FONTSIZE", (0, 0), (-1, -1), 8),
        ("ALIGN", (1, 1), (-1, -1), "RIGHT"),
        ("LINEBELOW", (0, 0), (-1, -1), 0.25, colors.lightgrey),
        ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
    ]
    if total_colour is not None:
        style += [("BACKGROUND", (0, -1), (-1, -1), total_colour), ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold")]
    return TableStyle(style)
