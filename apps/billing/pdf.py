"""An invoice as a PDF in the tenant's branding (display name, colours, logo, support contact), drawn with reportlab.

Its labels, line texts and numbers are in the customer's language (their user's locale), else the tenant's default
language, whatever language the request that asks for it speaks.

Rendered on demand from the stored invoice (its lines and totals never change), uncompressed and with reportlab's
invariant mode: the same invoice gives the same bytes, and the text can be searched in the file.
"""

import io
import logging
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils import formats, timezone, translation
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from apps.accounts.languages import supported_language
from apps.billing.models import Invoice
from apps.billing.money import currency_exponent
from apps.billing.services.invoices import tax_table
from apps.whitelabel.models import Branding, Tenant

logger = logging.getLogger(__name__)

TITLES = {
    Invoice.Kind.RECEIPT: _("Receipt"),
    Invoice.Kind.CREDIT_NOTE: _("Credit note"),
    Invoice.Kind.STATEMENT: _("Statement"),
    Invoice.Kind.SUBSCRIPTION: _("Invoice"),
}
# How apps.billing.services.invoices begins the line texts of a credit note ("Credit: Energy").
CREDIT_PREFIX = "Credit: "


def _brand() -> tuple[Tenant, Branding | None]:
    tenant = Tenant.objects.get(schema_name=connection.schema_name)
    return tenant, Branding.objects.filter(tenant=tenant).first()


def _amount(value: Decimal, currency: str) -> str:
    number = formats.number_format(value, currency_exponent(currency), use_l10n=True, force_grouping=True)
    return f"{number} {currency}"


def _number(value: Decimal) -> str:
    return formats.number_format(f"{value.normalize():f}", use_l10n=True)


def _line_text(description: str) -> str:
    """A stored line text (English, see apps.billing.services.invoices) in the active language when it is one of the
    platform's own texts; a text it does not know (a plan's name, an operator's wording) is printed as stored."""
    if description.startswith(CREDIT_PREFIX):
        return gettext("Credit: %(line)s") % {"line": _line_text(description.removeprefix(CREDIT_PREFIX))}
    return gettext(description) if description else description


def invoice_language(invoice: Invoice, tenant: Tenant) -> str:
    """The customer's own language (their user's locale), else the tenant's default language."""
    customer = invoice.customer if invoice.customer_id else None
    user = customer.user if customer is not None and customer.user_id else None
    return (
        supported_language(user.locale if user else None)
        or supported_language(tenant.default_locale)
        or settings.LANGUAGE_CODE
    )


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
    with translation.override(invoice_language(invoice, tenant)):
        return _invoice_pdf(invoice, tenant, branding)


def _invoice_pdf(invoice: Invoice, tenant: Tenant, branding: Branding | None) -> bytes:
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
        [str(TITLES[invoice.kind]), invoice.number],
        [gettext("Date"), local.strftime("%Y-%m-%d")],
        [gettext("Currency"), invoice.currency],
    ]
    if invoice.cdr_id:
        facts.append([gettext("CDR"), invoice.cdr.cdr_id])
        facts.append([gettext("Charging session"), str(invoice.cdr.session_id)])
    if invoice.token_uid or invoice.token_group_uid:
        facts.append([gettext("Card / token"), invoice.token_group_uid or invoice.token_uid])
    if invoice.period_start and invoice.period_end:
        facts.append([gettext("Period"), f"{invoice.period_start:%Y-%m-%d} – {invoice.period_end:%Y-%m-%d}"])
    if invoice.credited_invoice_id:
        facts.append([gettext("Credits"), invoice.credited_invoice.number])
    story.append(Table(facts, colWidths=[45 * mm, 100 * mm], style=[("FONTNAME", (0, 0), (0, -1), "Helvetica-Bold")]))
    story.append(Spacer(1, 6 * mm))

    currency = invoice.currency
    lines = list(invoice.lines.all())
    header = [gettext("VAT %"), gettext("Net"), pgettext("amount", "VAT"), gettext("Gross")]
    rows = [[gettext("Description"), gettext("Quantity"), *header]]
    for line in lines:
        quantity = f"{_number(line.quantity)} {line.unit}".strip() if line.quantity is not None else ""
        rows.append(
            [
                Paragraph(_line_text(line.description), small),
                quantity,
                _number(line.vat_rate),
                _amount(line.net, currency),
                _amount(line.vat, currency),
                _amount(line.gross, currency),
            ]
        )
    table = Table(rows, colWidths=[62 * mm, 24 * mm, 14 * mm, 25 * mm, 22 * mm, 25 * mm], repeatRows=1)
    table.setStyle(_grid(primary))
    story.append(table)
    story.append(Spacer(1, 6 * mm))

    taxes = [header]
    for row in tax_table(lines):
        taxes.append(
            [
                _number(row["vat_rate"]),
                _amount(row["net"], currency),
                _amount(row["vat"], currency),
                _amount(row["gross"], currency),
            ]
        )
    taxes.append(
        [
            gettext("Total"),
            _amount(invoice.total_net, currency),
            _amount(invoice.total_vat, currency),
            _amount(invoice.total_gross, currency),
        ]
    )
    tax = Table(taxes, colWidths=[20 * mm, 30 * mm, 30 * mm, 30 * mm], hAlign="RIGHT")
    tax.setStyle(_grid(primary, total_colour=accent))
    story.append(tax)
    story.append(Spacer(1, 6 * mm))
    paid = gettext("Paid: %(amount)s — %(status)s") % {
        "amount": _amount(invoice.amount_paid, currency),
        "status": invoice.get_status_display(),
    }
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
