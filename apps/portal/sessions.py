"""Portal pages of charging sessions: live ones (power, energy and duration updating live), completed ones with
filters, and a session's meter chart and CDR."""

from datetime import datetime, time, timedelta

from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts import scoping
from apps.accounts.roles import PERSONAL_DATA
from apps.billing.selectors.cdrs import cdr_list_for_session
from apps.portal.access import portal_view
from apps.portal.charts import line_chart
from apps.portal.forms import SessionFilterForm
from apps.sessions import selectors
from apps.sessions.metering import ACTIVE_POWER, ENERGY_REGISTER
from apps.sessions.models import ChargingSession

PAGE_SIZE = 50
# A session's chart has at most about this many points, however long it ran.
CHART_POINTS = 120


def day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def scoped_sessions(user, **filters):
    return scoping.by_station_filter(user, selectors.session_list(**filters))


@portal_view("charging.view_chargingsession")
def session_list(request):
    form = SessionFilterForm(request.GET or None)
    live = scoped_sessions(request.user, status=ChargingSession.Status.ACTIVE)
    completed = scoped_sessions(request.user).exclude(status=ChargingSession.Status.ACTIVE)
    status = 200
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        if data["station"]:
            completed = completed.filter(station__identity__iexact=data["station"].strip())
        if data["start"]:
            completed = completed.filter(started_at__gte=day_start(data["start"]))
        if data["end"]:
            completed = completed.filter(started_at__lt=day_start(data["end"] + timedelta(days=1)))
    elif form.is_bound:
        status = 400
        completed = completed.none()
    page = Paginator(completed, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "portal/sessions/list.html",
        {
            "title": _("Sessions"),
            "live_sessions": live,
            "page": page,
            "form": form,
            "show_personal": request.user.has_perm(PERSONAL_DATA),
            "query": _query_without_page(request),
        },
        status=status,
    )


def _query_without_page(request) -> str:
    query = request.GET.copy()
    query.pop("page", None)
    return query.urlencode()


@portal_view("charging.view_chargingsession")
def session_detail(request, session_id: int):
    session = scoped_sessions(request.user).filter(pk=session_id).first()
    if session is None:
        raise Http404
    interval = _chart_interval(session)
    series = selectors.meter_series(session=session, measurands=[ACTIVE_POWER, ENERGY_REGISTER], interval=interval)
    power = [(point.at, point.avg) for point in series[ACTIVE_POWER]]
    register = series[ENERGY_REGISTER]
    energy = [(point.at, point.last - register[0].last) for point in register] if register else []
    cdrs = list(cdr_list_for_session(session_id=session.pk)) if request.user.has_perm("billing.view_cdr") else []
    return render(
        request,
        "portal/sessions/detail.html",
        {
            "title": _("Session %(id)s") % {"id": session.pk},
            "session": session,
            "power_chart": line_chart(power),
            "energy_chart": line_chart(energy),
            "power_points": power,
            "cdrs": [(cdr, cdr.ocpi) for cdr in cdrs],
            "show_personal": request.user.has_perm(PERSONAL_DATA),
        },
    )


def _chart_interval(session: ChargingSession) -> timedelta:
    """Buckets so that the chart has about CHART_POINTS points: a minute at least."""
    if session.started_at is None:
        return timedelta(minutes=1)
    span = (session.stopped_at or timezone.now()) - session.started_at
    return max(timedelta(minutes=1), span / CHART_POINTS)
