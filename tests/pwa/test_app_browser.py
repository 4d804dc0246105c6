"""The driver app in a real browser (Playwright driving Debian's chromium) against a real daphne: installable, and
working offline with the last known stations. The `page` fixture keeps each test's last screenshot in
test-artifacts/screenshots/."""

import pytest
from django_tenants.utils import schema_context

from apps.stations.models import Connector, Evse
from tests.ocpp.server import eventually
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


def site(name: str, lat: str, lon: str, *, status: str = "Available", standard: str = "IEC_62196_T2", power=22000):
    place = LocationFactory(name=name, latitude=lat, longitude=lon)
    station = StationFactory(location=place, is_online=True)
    evse = Evse.objects.create(station=station, evse_id=1)
    Connector.objects.create(evse=evse, connector_id=1, status=status, standard=standard, max_power_w=power)


def listed(page) -> list[str]:
    return page.locator("#locations .location-name").all_inner_texts()


@pytest.mark.django_db(transaction=True)
def test_chargers_are_listed_nearest_first_and_filtered(tenant, ocpp_server, app_page):
    page = app_page
    with schema_context(tenant.schema_name):
        site("Amsterdam Zuid", "52.3676", "4.9041")
        site("Utrecht Centraal", "52.0907", "5.1214", status="Charging", standard="IEC_62196_T2_COMBO", power=150000)
        site("Rotterdam Blaak", "51.9244", "4.4777")
    host = f"alpha.localhost:{ocpp_server.port}"
    page.context.grant_permissions(["geolocation"], origin=f"http://{host}")
    page.context.set_geolocation({"latitude": 51.92, "longitude": 4.48})

    page.goto(f"http://{host}/app/")
    page.get_by_text("Nearest first.").wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function("document.querySelectorAll('#locations .location-name').length === 3", timeout=TIMEOUT_MS)
    assert listed(page) == ["Rotterdam Blaak", "Utrecht Centraal", "Amsterdam Zuid"]
    assert "0 of 1 available" in page.locator("[data-location-id]", has_text="Utrecht Centraal").inner_text()
    assert page.locator("#map .leaflet-interactive").count() == 3  # a marker per charger, tiles or not

    page.locator("summary", has_text="Filters").click()
    page.get_by_label("Available now only").check()
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**/app/?*available=true*", timeout=TIMEOUT_MS)
    page.get_by_text("Nearest first.").wait_for(timeout=TIMEOUT_MS)
    page.wait_for_function("document.querySelectorAll('#locations .location-name').length === 2", timeout=TIMEOUT_MS)
    assert listed(page) == ["Rotterdam Blaak", "Amsterdam Zuid"]

    page.get_by_label("Available now only").uncheck()
    page.get_by_label("Connector type").select_option(label="CCS2")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_function("document.querySelectorAll('#locations .location-name').length === 1", timeout=TIMEOUT_MS)
    assert listed(page) == ["Utrecht Centraal"]
    page.get_by_role("link", name="Utrecht Centraal").click()
    page.wait_for_url("**/app/locations/*", timeout=TIMEOUT_MS)
    page.locator("#page-title", has_text="Utrecht Centraal").wait_for(timeout=TIMEOUT_MS)
    assert "CCS2" in page.locator(".evses").inner_text()


@pytest.mark.django_db(transaction=True)
def test_a_push_at_the_end_of_a_session_shows_its_notification(tenant, ocpp_server, app_page):
    page = app_page
    host = f"alpha.localhost:{ocpp_server.port}"
    page.context.grant_permissions(["notifications"], origin=f"http://{host}")
    page.goto(f"http://{host}/app/")
    controlled(page)
    registration = page.evaluate("navigator.serviceWorker.getRegistration().then((r) => r.active.scriptURL)")
    assert registration == f"http://{host}/app/sw.js"

    cdp = page.context.new_cdp_session(page)
    cdp.send("ServiceWorker.enable")
    registrations = []
    cdp.on("ServiceWorker.workerRegistrationUpdated", lambda event: registrations.extend(event["registrations"]))
    page.wait_for_function("true")
    page.wait_for_timeout(500)
    registration_id = next(item["registrationId"] for item in registrations if item["scopeURL"].endswith("/app/"))
    payload = '{"title": "Charging finished", "body": "12.5 kWh, €4.10", "url": "/app/sessions/42", "session_id": 42}'

    def notifications() -> list[dict]:
        return page.evaluate(
            "navigator.serviceWorker.ready.then((r) => r.getNotifications())"
            ".then((all) => all.map((n) => ({title: n.title, body: n.body, url: n.data.url, tag: n.tag})))"
        )

    # DevTools' delivery is fire-and-forget and, on a busy machine, now and then lost before the worker wakes up:
    # delivered again until shown (the same tag, so never twice on screen).
    for _attempt in range(3):
        cdp.send(
            "ServiceWorker.deliverPushMessage",
            {"origin": f"http://{host}", "registrationId": registration_id, "data": payload},
        )
        if eventually(lambda: notifications(), timeout=10):
            break
    assert notifications() == [
        {"title": "Charging finished", "body": "12.5 kWh, €4.10", "url": "/app/sessions/42", "tag": "session-42"}
    ]
