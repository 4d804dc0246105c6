"""Reports to download: the sessions of a period as CSV or Excel, or a PDF summary per station and day."""

from datetime import timedelta

from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from apps.accounts import scoping
from apps.accounts.roles import PERSONAL_DATA
from apps.portal import exports
from apps.portal.access import portal_view
from apps.portal.forms import ReportForm
from apps.portal.sessions import day_start
from apps.portal.views import scoped_stations
from apps.sessions import selectors

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


@portal_view("charging.view_chargingsession")
def reports(request):
    """The form; with its fields filled in (a GET, so a report is a link one can share), the file itself."""
    stations = scoped_stations(request.user)
    if "format" not in request.GET:
        form = ReportForm(initial=ReportForm.default_initial(), stations=stations)
        return render(request, "portal/reports.html", {"title": _("Reports"), "form": form})
    form = ReportForm(request.GET, stations=stations)
    if not form.is_valid():
        return render(request, "portal/reports.html", {"title": _("Reports"), "form": form}, status=400)
    data = form.cleaned_data
    start, end, kind = data["start"], data["end"], data["format"]
    sessions = scoping.by_station_filter(
        request.user,
        selectors.session_list(started_after=day_start(start), started_before=day_start(end + timedelta(days=1))),
    )
    if data["station"] is not None:
        sessions = sessions.filter(station=data["station"])
    show_personal = request.user.has_perm(PERSONAL_DATA)
    if kind == "csv":
        content = exports.sessions_csv(sessions, show_personal=show_personal)
    elif kind == "xlsx":
        content = exports.sessions_xlsx(sessions, show_personal=show_personal)
    else:
        brand = request.tenant.name
        content = exports.summary_pdf(sessions, brand=brand, start=start, end=end)
    name = "summary" if kind == "pdf" else "sessions"
    response = HttpResponse(content, content_type=CONTENT_TYPES[kind])
    response["Content-Disposition"] = f'attachment; filename="{name}-{start.isoformat()}-{end.isoformat()}.{kind}"'
    return response
