"""Tariffs: the list, and a tariff's price elements with their restrictions."""

from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from apps.portal.access import portal_view
from apps.tariffs import selectors


@portal_view("tariffs.view_tariff")
def tariff_list(request):
    return render(request, "portal/tariffs/list.html", {"title": _("Tariffs"), "tariffs": selectors.tariff_list()})


@portal_view("tariffs.view_tariff")
def tariff_detail(request, code: str):
    tariff = selectors.tariff_get(code=code)
    if tariff is None:
        raise Http404
    return render(
        request,
        "portal/tariffs/detail.html",
        {"title": tariff.name, "tariff": tariff, "elements": tariff.elements or []},
    )
