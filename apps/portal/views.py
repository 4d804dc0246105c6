"""Portal pages: thin views that read through selectors and write through services."""

from django.shortcuts import render
from django.utils.translation import gettext as _

from apps.portal.access import portal_view


@portal_view("stations.view_station")
def overview(request):
    return render(request, "portal/overview.html", {"title": _("Overview")})
