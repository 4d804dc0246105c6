"""The report files: sessions of a period as CSV or Excel rows, and a PDF summary per station and day.

Rows are built once (`session_rows`) for both spreadsheet formats; drivers' token uids are masked unless the
downloader may see personal data, as on the pages.
"""

import csv
import io
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from openpyxl import Workbook
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from apps.billing.selectors.cdrs import cdr_in_force_list
from apps.portal.templatetags.portal import personal
from apps.sessions.models import ChargingSession
from apps.sessions.selectors import session_totals_by_station_day


def session_headers() -> list[str]:
    return [
        _("Session"),
        _("Station"),
        _("EVSE"),
        _("Connector"),
        _("Transaction"),
        _("ID token"),
        _("Started (UTC)"),
        _("Stopped (UTC)"),
        _("Energy (kWh)"),
        _("Status"),
        _("Stop reason"),
        _("Total incl. VAT"),
        _("Currency"),
    ]


def session_rows(sessions: QuerySet[ChargingSession], *, show_personal: bool) -> Iterator[list]:
    """One row per session, oldest first, with the total of its CDR in force if it has one."""
    sessions = sessions.order_by("started_at", "id")
    totals = {
        session_id: (total, currency)
        for session_id, total, currency in cdr_in_force_list()
        .filter(session__in=sessions)
        .values_list("session_id", "total_incl_vat", "currency")
    }
    for session in sessions.iterator(chunk_size=2000):
        total, currency = totals.get(session.pk, (None, ""))
        yield [
            session.pk,
            session.station.identity,
            session.evse_id,
            session.connector_id,
            session.transaction_id,
            personal(session.id_token_uid, show_personal),
            session.started_at.replace(tzinfo=None) if session.started_at else None,
            session.stopped_at.replace(tzinfo=None) if session.stopped_at else None,
            (session.energy_wh / 1000).quantize(Decimal("0.001")),
            session.get_status_display(),
            session.stop_reason,
            total,
            currency,
        ]


def sessions_csv(sessions: QuerySet[ChargingSession], *, show_personal: bool) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(session_headers())
    for row in session_rows(sessions, show_personal=show_personal):
        writer.writerow(
            ["" if value is None else value.isoformat() if hasattr(value, "isoformat") else value for value in row]
        )
    return buffer.getvalue().encode("utf-8-sig")  # the BOM makes spreadsheet programs read UTF-8


def sessions_xlsx(sessions: QuerySet[ChargingSession], *, show_personal: bool) -> bytes:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("Sessions"))
    sheet.append(session_headers())
    for row in session_rows(sessions, show_personal=show_personal):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def summary_pdf(sessions: QuerySet[ChargingSession], *, brand: str, start: date, end: date) -> bytes:
    """Sessions and energy per station and day of the period, with the totals."""
    rows = session_totals_by_station_day(sessions=sessions)
    styles = getSampleStyleSheet()
    buffer = io.BytesIO()
    document = SimpleDocTemplate(buffer, pagesize=A4, title=_("Charging summary"))
    table_rows = [[_("Station"), _("Day"), _("Sessions"), _("Energy (kWh)")]]
    for identity, day, count, wh in rows:
        table_rows.append([identity, day.isoformat(), str(count), f"{(wh or 0) / 1000:.3f}"])
    total_count = sum(count for _i, _d, count, _wh in rows)
    total_wh = sum((wh or 0 for _i, _d, _c, wh in rows), Decimal(0))
    table_rows.append([_("Total"), "", str(total_count), f"{total_wh / 1000:.3f}"])
    table = Table(table_rows, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTNAME", (0, -1), (-1, -1), "Helvetica-Bold"),
                ("LINEBELOW", (0, 0), (-1, 0), 0.5, colors.black),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, colors.black),
                ("ALIGN", (2, 0), (-1, -1), "RIGHT"),
            ]
        )
    )
    period = _("%(start)s to %(end)s") % {"start": start.isoformat(), "end": end.isoformat()}
    story = [
        Paragraph(f"{brand}: {_('Charging summary')}", styles["Title"]),
        Paragraph(period, styles["Normal"]),
        Spacer(1, 12),
        table,
    ]
    document.build(story)
    return buffer.getvalue()
