"""The portal's menu: each entry shows only to users whose role grants its permission."""

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from apps.accounts.roles import CUSTOMERS_VIEW


@dataclass(frozen=True)
class Entry:
    url_name: str
    label: str | Promise
    permission: str
    # Brand kinds (whitelabel.Tenant.Kind) the page exists for; empty: every brand.
    tenant_kinds: tuple[str, ...] = ()


MENU = [
    Entry("portal:overview", _("Overview"), "stations.view_station"),
    Entry("portal:station_list", _("Stations"), "stations.view_station"),
    Entry("portal:session_list", _("Sessions"), "charging.view_chargingsession"),
    Entry("portal:fault_list", _("Faults"), "stations.view_fault"),
    Entry("portal:statistics", _("Statistics"), "charging.view_chargingsession"),
    Entry("portal:token_list", _("ID tokens"), "charging.view_idtoken"),
    Entry("portal:tariff_list", _("Tariffs"), "tariffs.view_tariff"),
    Entry("portal:reports", _("Reports"), "charging.view_chargingsession"),
    Entry("portal:api_usage", _("API usage"), "api.view_apiusageday"),
    Entry("portal:users", _("Users"), "accounts.change_user"),
    Entry("portal:customers", _("Customers"), CUSTOMERS_VIEW, tenant_kinds=("reseller",)),
]


def menu_for(request) -> list[dict]:
    user = request.user
    items = []
    for entry in MENU:
        if not user.has_perm(entry.permission):
            continue
        if entry.tenant_kinds and getattr(getattr(request, "tenant", None), "kind", None) not in entry.tenant_kinds:
            continue
        try:
            url = reverse(entry.url_name)
        except NoReverseMatch:
            continue
        current = request.path == url or (url != reverse("portal:overview") and request.path.startswith(url))
        items.append({"url": url, "label": entry.label, "current": current})
    return items


def menu(request) -> dict:
    """Template context processor: the menu on portal pages only."""
    user = getattr(request, "user", None)
    if not request.path.startswith("/portal/") or user is None or not user.is_authenticated:
        return {}
    return {"portal_menu": menu_for(request)}
