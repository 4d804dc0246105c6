"""The driver app in a real browser (Playwright driving Debian's chromium) against a real daphne: installable, and
working offline with the last known stations. The `page` fixture keeps each test's last screenshot in
test-artifacts/screenshots/."""

import pytest
from django_tenants.utils import schema_context

from apps.stations.models import Connector, Evse
from tests.stations.factories import LocationFactory, StationFactory

TIMEOUT_MS = 30_000


def controlled(page) -> None:
    """Waits until the app's service worker controls the page (it claims its clients once activated)."""
    page.wait_for_function("navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=TIMEOUT_MS)


@pytest.mark.django_db(transaction=True)
def test_the_app_is_installable_and_its_service_worker_controls_it(tenant, ocpp_server, app_page):
    page = app_page
    host = f"alpha.localhost:{ocpp_server.port}"
    page.goto(f"http://{host}/app/")
    assert page.locator(".topbar .brand").inner_text() == "Alpha Charge"
    controlled(page)

    cdp = page.context.new_cdp_session(page)
    manifest = cdp.send("Page.getAppManifest")
    assert manifest["url"] == f"http://{host}/app/manifest.webmanifest"
    assert manifest["errors"] == []
    assert cdp.send("Page.getInstallabilityErrors")["installabilityErrors"] == []
    scope = page.evaluate("navigator.serviceWorker.getRegistration().then((registration) => registration.scope)")
    assert scope == f"http://{host}/app/"


@pytest.mark.django_db(transaction=True)
def test_offline_the_app_opens_with_the_last_known_stations(tenant, ocpp_server, app_page):
    page = app_page
    with schema_context(tenant.schema_name):
        site = LocationFactory(name="Harbour", latitude="52.370216", longitude="4.895168")
        station = StationFactory(identity="APP-OFFLINE", location=site, is_online=True)
        evse = Evse.objects.create(station=station, evse_id=1)
        Connector.objects.create(evse=evse, connector_id=1, status="Available", standard="IEC_62196_T2")
    host = f"alpha.localhost:{ocpp_server.port}"
    page.goto(f"http://{host}/app/")
    page.locator('[data-location-id] >> text="Harbour"').wait_for(timeout=TIMEOUT_MS)
    controlled(page)
    # Once the worker controls the page, the list is fetched through it and kept.
    page.wait_for_function(
        "caches.open('pwa-network').then((cache) => cache.keys()).then((keys) => keys.length > 0)", timeout=TIMEOUT_MS
    )

    page.context.set_offline(True)
    page.reload()
    assert page.locator(".topbar .brand").inner_text() == "Alpha Charge"
    page.locator('[data-location-id] >> text="Harbour"').wait_for(timeout=TIMEOUT_MS)
    assert "1 of 1 available" in page.locator("#locations").inner_text()
    page.get_by_text("You are offline: these are the last known stations").wait_for(timeout=TIMEOUT_MS)

    # Another page of the app opens offline too: every route is the same cached shell.
    page.goto(f"http://{host}/app/history")
    assert page.locator("#page-title").inner_text() == "History"
