"""QR code stickers for EVSEs: an A4 PDF, eight stickers a page, each with the brand, "Scan to charge", a QR code
of the EVSE's page in the driver app, its code in large type and its price. Operators print them from the admin,
the portal and the API."""

import io
from collections.abc import Iterable

import qrcode
from django.db import connection
from django.utils import translation
from django.utils.translation import gettext
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import simpleSplit
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas

from apps.stations.models import Evse
from apps.stations.selectors import evse_code, evse_deep_link
from apps.whitelabel.models import Branding, Tenant

COLUMNS, ROWS = 2, 4
STICKERS_PER_PAGE = COLUMNS * ROWS
MARGIN = 10 * mm
GUTTER = 6 * mm
QR_SIZE = 30 * mm  # version 4 (33 modules) at 0.9 mm a module: phones read it from arm's length
BOLD, REGULAR = "Helvetica-Bold", "Helvetica"


def qr_matrix(data: str) -> list[list[bool]]:
    """The QR code of `data` as rows of dark (True) modules, without the quiet zone (error correction M: a
    sticker may get scratched)."""
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0)
    code.add_data(data)
    code.make(fit=True)
    return code.get_matrix()


def sticker_evses(evses: Iterable[Evse]) -> list[Evse]:
    """The EVSEs in print order, with what a sticker needs loaded in a fixed number of queries."""
    pks = [evse.pk for evse in evses]
    return list(
        Evse.objects.filter(pk__in=pks)
        .select_related("station__location")
        .prefetch_related("connectors")
        .order_by("station__identity", "evse_id")
    )


def stickers_pdf(evses: Iterable[Evse], tenant: Tenant | None = None) -> bytes:
    """One sticker per EVSE, in the brand's language, name and colour."""
    from apps.tariffs.selectors import prices_of

    tenant = tenant or connection.tenant
    evses = sticker_evses(evses)
    branding = Branding.objects.filter(tenant=tenant).first()
    name = (branding.display_name if branding else "") or tenant.name
    colour = colors.HexColor(branding.primary_colour if branding else "#0b6e4f")
    firsts = [connectors[0] for evse in evses if (connectors := list(evse.connectors.all()))]
    prices = prices_of(firsts)

    buffer = io.BytesIO()
    # Uncompressed pages: a few kilobytes more, and the text and QR modules stay readable in the file.
    canvas = Canvas(buffer, pagesize=A4, pageCompression=0)
    canvas.setTitle(gettext("QR stickers"))
    canvas.setAuthor(name)
    width = (A4[0] - 2 * MARGIN - (COLUMNS - 1) * GUTTER) / COLUMNS
    height = (A4[1] - 2 * MARGIN - (ROWS - 1) * GUTTER) / ROWS
    with translation.override(tenant.default_locale or "en"):
        for index, evse in enumerate(evses):
            if index and index % STICKERS_PER_PAGE == 0:
                canvas.showPage()
            slot = index % STICKERS_PER_PAGE
            x = MARGIN + (slot % COLUMNS) * (width + GUTTER)
            y = A4[1] - MARGIN - (slot // COLUMNS + 1) * height - (slot // COLUMNS) * GUTTER
            connectors = list(evse.connectors.all())
            price = prices.get(connectors[0].pk) if connectors else None
            _sticker(canvas, evse, tenant, x=x, y=y, width=width, height=height, name=name, colour=colour, price=price)
        if not evses:
            canvas.setFont(REGULAR, 12)
            canvas.drawString(MARGIN, A4[1] - MARGIN - 12, gettext("No EVSEs to print."))
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _fit(text: str, font: str, size: float, width: float, smallest: float = 8) -> float:
    while size > smallest and stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def _sticker(canvas: Canvas, evse: Evse, tenant: Tenant, *, x, y, width, height, name, colour, price) -> None:
    """One sticker in the box (x, y, width, height), top to bottom: the brand band, "Scan to charge", the QR code,
    the EVSE code, and at the bottom the price in up to two lines. A sticker is about 92 × 65 mm."""
    code = evse_code(evse, tenant)
    link = evse_deep_link(evse, tenant, code=code)
    inner = width - 8 * mm
    centre = x + width / 2
    top = y + height

    canvas.setStrokeColor(colors.lightgrey)
    canvas.setLineWidth(0.5)
    canvas.roundRect(x, y, width, height, 3 * mm, stroke=1, fill=0)
    band = 10 * mm
    canvas.setFillColor(colour)
    canvas.rect(x, top - band, width, band, stroke=0, fill=1)
    canvas.setFillColor(colors.white)
    size = _fit(name, BOLD, 13, inner)
    canvas.setFont(BOLD, size)
    canvas.drawCentredString(centre, top - band / 2 - size * 0.35, name)

    canvas.setFillColor(colors.black)
    canvas.setFont(BOLD, 11)
    canvas.drawCentredString(centre, top - band - 5 * mm, gettext("Scan to charge"))

    qr_top = top - band - 7 * mm
    matrix = qr_matrix(link)
    _draw_qr(canvas, matrix, x=centre - QR_SIZE / 2, y=qr_top - QR_SIZE, module=QR_SIZE / len(matrix))

    size = _fit(code, BOLD, 16, inner)
    canvas.setFont(BOLD, size)
    canvas.drawCentredString(centre, qr_top - QR_SIZE - 2.5 * mm - size * 0.75, code)

    if price is not None:
        canvas.setFont(REGULAR, 7)
        lines = simpleSplit(price.summary, REGULAR, 7, inner)[:2]
        for number, line in enumerate(lines):
            canvas.drawCentredString(centre, y + 3 * mm + (len(lines) - 1 - number) * 8, line)


def _draw_qr(canvas: Canvas, matrix: list[list[bool]], *, x: float, y: float, module: float) -> None:
    """Dark modules as filled rectangles in a grid of one unit per module (row 0 at the top), a run of dark modules
    in a row as one rectangle: "col row length 1 re" in the page, which tests read back."""
    canvas.saveState()
    canvas.translate(x, y + module * len(matrix))
    canvas.scale(module, -module)
    canvas.setFillColor(colors.black)
    for row, cells in enumerate(matrix):
        column = 0
        while column < len(cells):
            if not cells[column]:
                column += 1
                continue
            start = column
            while column < len(cells) and cells[column]:
                column += 1
            canvas.rect(start, row, column - start, 1, stroke=0, fill=1)
    canvas.restoreState()


def stickers_response(evses, *, filename: str = "stickers.pdf"):
    """The stickers of `evses` as a PDF download (for the admin and the portal)."""
    from django.http import HttpResponse

    response = HttpResponse(stickers_pdf(evses), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
