"""The driver app's pages: one shell for every route of the app (the app draws the page of the path in the
browser), the web app manifest, the service worker and the icons — all per brand, from its Branding."""

import hashlib
import json
from functools import lru_cache

from django.conf import settings
from django.contrib.staticfiles import finders
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET

from apps.api.services.driver_app import DRIVER_APP_SCOPES, driver_app_client
from apps.billing.services.drivers import driver_payment_setup
from apps.pwa.icons import ICON_SIZES, branding_fingerprint, icon_png
from apps.pwa.texts import app_texts
from apps.stations.models import Connector
from apps.whitelabel.models import Branding

# The files the app needs offline; the service worker caches them on install.
APP_ASSETS = (
    "pwa/app.css",
    "pwa/app.js",
    "pwa/api.js",
    "pwa/views.js",
    "portal/vendor/leaflet/leaflet.js",
    "portal/vendor/leaflet/leaflet.css",
    "portal/vendor/leaflet/images/marker-icon.png",
    "portal/vendor/leaflet/images/marker-icon-2x.png",
    "portal/vendor/leaflet/images/marker-shadow.png",
)


def _branding(request) -> Branding:
    branding = Branding.objects.filter(tenant_id=request.tenant.pk).first()
    if branding is None:
        # A brand always has its branding (whitelabel.services.tenant_create); the public host has none.
        raise Http404
    return branding


def _assets_digest() -> str:
    """Changes whenever one of the app's files changes, so a new service worker replaces the old caches. Read once
    per process; in development (DEBUG), where the files change under a running server, on every request."""
    return _assets_digest_computed() if settings.DEBUG else _assets_digest_cached()


def _assets_digest_computed() -> str:
    digest = hashlib.sha256()
    for name in APP_ASSETS:
        path = finders.find(name)
        digest.update(name.encode())
        if path:
            with open(path, "rb") as file:
                digest.update(file.read())
    return digest.hexdigest()[:12]


_assets_digest_cached = lru_cache(maxsize=1)(_assets_digest_computed)


def _driver_app_client_id(request) -> str:
    """The brand's OAuth client of the app. The origin the shell is served from is registered as a redirect URI when
    it is one of the brand's hosts (a development server's port)."""
    return driver_app_client(origin=f"{request.scheme}://{request.get_host()}").client_id


def _app_config(request, branding: Branding) -> dict:
    tenant = request.tenant
    return {
        "brand": branding.display_name,
        "slug": tenant.slug,
        "code_example": f"{tenant.slug.upper()}*STATION*1",
        "client_id": _driver_app_client_id(request),
        "scopes": " ".join(DRIVER_APP_SCOPES),
        "authorize_url": reverse("oauth2_provider:authorize"),
        "token_url": reverse("oauth2_provider:token"),
        "revoke_url": reverse("oauth2_provider:revoke-token"),
        "signup_url": reverse("account_signup"),
        "tile_url": settings.PORTAL_MAP_TILE_URL,
        "tile_attribution": "© OpenStreetMap",
        "currency": tenant.currency,
        # Guests pay without a token, so the app learns here how the brand takes cards (test cards in the sandbox).
        "payments": driver_payment_setup(),
        "connector_types": [[value, str(label)] for value, label in Connector.Standard.choices],
        "language": get_language(),
        "sw_url": reverse("pwa:sw"),
        "text": app_texts(),
    }


@require_GET
def shell(request, **route):
    """The first paint of every page of the app: the brand's name, colours and menu; the app draws the rest."""
    branding = _branding(request)
    response = render(
        request,
        "pwa/shell.html",
        {"branding": branding, "app_config": _app_config(request, branding), "assets_version": _assets_digest()},
    )
    # The service worker keeps its own copy for offline use; the network copy is always the latest.
    response["Cache-Control"] = "no-cache"
    return response


@require_GET
@cache_control(max_age=3600)
def manifest(request):
    branding = _branding(request)
    icons = [
        {"src": reverse("pwa:icon", args=[size]), "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"}
        for size in ICON_SIZES
    ]
    # The icons keep their content inside the safe zone, so the largest also serves as the maskable one.
    icons.append({**icons[-1], "purpose": "maskable"})
    document = {
        "id": "/app/",
        "name": branding.display_name,
        "short_name": branding.display_name[:12],
        "description": _("Find a charger of %(brand)s, see the price, charge and keep your receipts.")
        % {"brand": branding.display_name},
        "lang": get_language(),
        "dir": "ltr",
        "start_url": "/app/",
        "scope": "/app/",
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": branding.primary_colour,
        "background_color": "#ffffff",
        "categories": ["travel", "utilities"],
        "icons": icons,
    }
    return JsonResponse(document, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False})


@require_GET
@never_cache
def service_worker(request):
    branding = _branding(request)
    version = f"{_assets_digest()}-{branding_fingerprint(branding)}-{get_language()}"
    config = {
        "version": version,
        "shell": reverse("pwa:home"),
        "assets": [static(name) for name in APP_ASSETS]
        + [reverse("pwa:manifest")]
        + [reverse("pwa:icon", args=[size]) for size in ICON_SIZES],
    }
    response = render(request, "pwa/sw.js", {"sw_config": json.dumps(config)}, content_type="text/javascript")
    response["Service-Worker-Allowed"] = "/app/"
    return response


@require_GET
@cache_control(max_age=24 * 3600)
def icon(request, size: int):
    if size not in ICON_SIZES:
        raise Http404
    return HttpResponse(icon_png(_branding(request), size), content_type="image/png")
