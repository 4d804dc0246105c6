"""The faults page: open and closed faults of the stations in the user's scope, with filters."""

from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext as _

from apps.accounts import scoping
from apps.portal.access import portal_view
from apps.portal.forms import FaultFilterForm
from apps.stations import selectors

PAGE_SIZE = 50


@portal_view("stations.view_fault")
def fault_list(request):
    form = FaultFilterForm(request.GET or {"state": "open"})
    faults = scoping.by_station_filter(request.user, selectors.fault_list().select_related("station"))
    status = 200
    if form.is_valid():
        data = form.cleaned_data
        state = data["state"] or "open"
        if state != "all":
            faults = faults.filter(closed_at__isnull=state == "open")
        if data["severity"]:
            faults = faults.filter(severity=data["severity"])
        if data["station"]:
            faults = faults.filter(station__identity__iexact=data["station"].strip())
    else:
        status, faults = 400, faults.none()
    page = Paginator(faults, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "portal/faults.html",
        {"title": _("Faults"), "form": form, "page": page, "query": query.urlencode()},
        status=status,
    )
