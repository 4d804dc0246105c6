"""Portal pages of the network: the overview and the stations, with remote operations.

Thin views: reads through the domain apps' selectors narrowed by the user's object scope (apps.accounts.scoping),
writes through the command service. The live values on these pages are refreshed by static/portal/live.js.
"""

import json

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from rest_framework.exceptions import ValidationError as ParamsError

from apps.accounts import scoping
from apps.accounts.roles import PERSONAL_DATA
from apps.commands import selectors as command_selectors
from apps.commands.models import Command
from apps.commands.services import command_send
from apps.portal.access import portal_view
from apps.portal.forms import OPERATION_FIELDS, OPERATIONS, CommandForm
from apps.portal.templatetags.portal import personal
from apps.sessions import selectors as session_selectors
from apps.sessions.models import ChargingSession, IdToken
from apps.stations import selectors as station_selectors
from apps.stations.models import Evse, Station
from apps.stations.stickers import stickers_response

MESSAGE_LOG_PAGE_SIZE = 25


def scoped_stations(user):
    return scoping.station_filter(user, station_selectors.station_list().select_related("location"))


def station_in_scope(user, station_id: int) -> Station:
    """The station if the user may see it; 404 alike for another brand's id, a missing one and one out of scope."""
    station = scoped_stations(user).filter(pk=station_id).first()
    if station is None:
        raise Http404
    return station


@portal_view("stations.view_station")
def overview(request):
    stations = list(scoped_stations(request.user))
    connectors = scoping.by_station_filter(request.user, station_selectors.connector_list(), field="evse__station")
    counts = station_selectors.connector_status_counts(connectors=connectors)
    markers = [
        {
            "id": station.pk,
            "identity": station.identity,
            "lat": float(station.location.latitude),
            "lng": float(station.location.longitude),
            "status": station.status or "Unknown",
            "online": station.is_online,
        }
        for station in stations
        if station.location and station.location.latitude is not None and station.location.longitude is not None
    ]
    return render(
        request,
        "portal/overview.html",
        {
            "title": _("Overview"),
            "stations": stations,
            "status_counts": sorted(counts.items()),
            "online_count": sum(1 for station in stations if station.is_online),
            "markers": markers,
            "tile_url": settings.PORTAL_MAP_TILE_URL,
        },
    )


@portal_view("stations.view_station")
def station_list(request):
    return render(
        request, "portal/stations/list.html", {"title": _("Stations"), "stations": scoped_stations(request.user)}
    )


def _command_form(request, station: Station, operation: str, data=None) -> CommandForm:
    """The form of one operation; each has its own prefix, so field ids stay unique on the page."""
    return CommandForm(
        data,
        prefix=operation,
        initial={"operation": operation},
        id_tokens=session_selectors.id_token_list(status=IdToken.Status.ACCEPTED),
        live_sessions=session_selectors.session_list(station_id=station.pk, status=ChargingSession.Status.ACTIVE),
        show_personal=request.user.has_perm(PERSONAL_DATA),
    )


@portal_view("stations.view_station")
def station_stickers(request, station_id: int):
    """The station's QR stickers (PDF), one per EVSE."""
    station = station_in_scope(request.user, station_id)
    return stickers_response(Evse.objects.filter(station=station), filename=f"stickers-{station.identity}.pdf")


@portal_view("stations.view_station")
def station_detail(request, station_id: int):
    return _station_page(request, station_in_scope(request.user, station_id))


def _station_page(request, station: Station, form: CommandForm | None = None, status: int | None = None):
    """The station page; with a refused `form`, that form with its errors and status 400."""
    user = request.user
    log = Paginator(station_selectors.message_log_list(station_id=station.pk), MESSAGE_LOG_PAGE_SIZE)
    log_page = log.get_page(request.GET.get("log_page"))
    show_personal = user.has_perm(PERSONAL_DATA)
    may_command = user.has_perm("commands.add_command")
    context = {
        "title": station.identity,
        "station": station,
        "evses": station_selectors.evse_list(station_id=station.pk),
        "faults": station_selectors.fault_list(station_id=station.pk)[:10],
        "sessions": session_selectors.session_list(station_id=station.pk)[:10],
        "commands": command_selectors.command_list(station_id=station.pk).order_by("-created_at", "-id")[:10],
        "log_page": log_page,
        "log_entries": [(entry, frame_payload(entry.payload, show_personal)) for entry in log_page],
        "may_command": may_command,
        "show_personal": show_personal,
    }
    if may_command:
        context["command_forms"] = [
            {
                "operation": operation,
                "label": label,
                "form": form
                if form is not None and form.prefix == operation
                else _command_form(request, station, operation),
                "fields": OPERATION_FIELDS[operation],
            }
            for operation, label in OPERATIONS
        ]
    status = status or (400 if form is not None else 200)
    return render(request, "portal/stations/detail.html", context, status=status)


@require_POST
@portal_view("stations.view_station", "commands.add_command")
def station_command(request, station_id: int):
    """Send one operation to the station and show its outcome (the service waits for the station's answer)."""
    station = station_in_scope(request.user, station_id)
    operation = request.POST.get("operation", "")
    if operation not in OPERATION_FIELDS:
        messages.error(request, _("Choose one of the operations offered."))
        return _station_page(request, station, status=400)
    form = _command_form(request, station, operation, request.POST)
    if not form.is_valid():
        return _station_page(request, station, form=form)
    try:
        command = command_send(
            station=station,
            operation=form.cleaned_data["operation"],
            params=form.params(),
            requested_by=request.user,
            source=Command.Source.PORTAL,
        )
    except ParamsError as error:
        for field, problems in _params_errors(error).items():
            form.add_error(field if field in form.fields else None, problems)
        return _station_page(request, station, form=form)
    label = dict(OPERATIONS)[command.operation]
    outcome = {"label": label, "status": command.get_status_display(), "detail": command.detail}
    if command.status == Command.Status.ACCEPTED:
        messages.success(request, _("%(label)s: %(status)s.") % outcome)
    else:
        text = _("%(label)s: %(status)s.") % outcome
        messages.error(request, f"{text} {command.detail}".strip())
    return redirect("portal:station_detail", station_id=station.pk)


# Keys of OCPP payloads that carry a driver's token (1.6 idTag, 2.0.1 idToken objects and their groups).
TOKEN_KEYS = frozenset({"idTag", "parentIdTag", "idToken", "groupIdToken"})


def frame_payload(payload, show_personal: bool) -> str:
    """A logged frame's payload as JSON, drivers' token ids masked unless the viewer may see personal data."""

    def mask(value, key=""):
        if isinstance(value, dict):
            return {name: mask(item, name) for name, item in value.items()}
        if isinstance(value, list):
            return [mask(item, key) for item in value]
        if key in TOKEN_KEYS and isinstance(value, str):
            return personal(value, False)
        return value

    return json.dumps(payload if show_personal else mask(payload), ensure_ascii=False)


def _params_errors(error: ParamsError) -> dict[str, list[str]]:
    detail = error.detail if isinstance(error.detail, dict) else {"operation": error.detail}
    return {field: [str(problem) for problem in problems] for field, problems in detail.items()}
