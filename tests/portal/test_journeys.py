"""Journeys in a real browser (Playwright driving Debian's chromium) against a real daphne with real stations
connected over OCPP: a status change appears live on the overview, a session started from the station page, a
report downloaded. The `page` fixture keeps each test's last screenshot in test-artifacts/screenshots/."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.sessions.models import ChargingSession
from apps.stations.models import Station
from tests.accounts.factories import UserFactory
from tests.ocpp.client import open_station, station_url
from tests.ocpp.server import eventually
from tests.portal.browser import portal_login
from tests.sessions.factories import ChargingSessionFactory, IdTokenFactory
from tests.simulated import on_demand_station
from tests.stations.factories import STATION_PASSWORD, LocationFactory, StationFactory
from tools.simulator.station import VirtualStation, stations_run

# Generous: the machine running the tests may be busy, and each step waits on a station, a server and a browser.
TIMEOUT_MS = 30_000


def staff_in(tenant, role=Role.OPERATOR):
    with schema_context(tenant.schema_name):
        return UserFactory(role=role)


def status_notification(connector_id: int, status: str) -> dict:
    return {
        "connectorId": connector_id,
        "errorCode": "NoError",
        "status": status,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }


def live_connected(page) -> None:
    page.wait_for_function("document.documentElement.dataset.live === 'connected'", timeout=TIMEOUT_MS)


@pytest.mark.django_db(transaction=True)
def test_the_overview_shows_a_status_change_live(tenant, ocpp_server, station_loop, page, settled):
    with schema_context(tenant.schema_name):
        site = LocationFactory(name="Harbour", latitude="52.370216", longitude="4.895168")
        station = StationFactory(identity="JOURNEY-LIVE", location=site)
    host = f"alpha.localhost:{ocpp_server.port}"
    portal_login(page, staff_in(tenant), host)

    connection = station_loop.run(
        open_station(
            station_url(ocpp_server.port, "JOURNEY-LIVE"), identity="JOURNEY-LIVE", password=STATION_PASSWORD
        ).__aenter__()
    )
    try:
        station_loop.run(
            connection.call("BootNotification", {"chargePointVendor": "Sim", "chargePointModel": "Journey"})
        )
        station_loop.run(connection.call("StatusNotification", status_notification(1, "Available")))

        page.goto(f"http://{host}/portal/")
        badge = page.locator(f'[data-connector-status="{station.pk}:1:1"]')
        badge.wait_for(timeout=TIMEOUT_MS)
        assert badge.inner_text() == "Available"
        assert page.locator('[data-status-count="Available"]').inner_text() == "1"
        live_connected(page)

        station_loop.run(connection.call("StatusNotification", status_notification(1, "Charging")))

        page.wait_for_function(
            f"document.querySelector('[data-connector-status=\"{station.pk}:1:1\"]').textContent === 'Charging'",
            timeout=TIMEOUT_MS,
        )
        assert page.locator('[data-status-count="Charging"]').inner_text() == "1"
        assert page.locator('[data-status-count="Available"]').inner_text() == "0"
        assert "JOURNEY-LIVE 1/1: Charging" in page.locator("#live-announcer").inner_text()
    finally:
        station_loop.run(connection.connection.close())


@pytest.mark.django_db(transaction=True)
def test_a_session_started_and_stopped_from_the_station_page(tenant, ocpp_server, station_loop, page, settled):
    with schema_context(tenant.schema_name):
        station = StationFactory(identity="JOURNEY-START")
        IdTokenFactory(uid="JOURNEY-CARD", label="Journey card")
    host = f"alpha.localhost:{ocpp_server.port}"
    portal_login(page, staff_in(tenant), host)
    config = on_demand_station(ocpp_server.port, "JOURNEY-START", seed=3)
    running = station_loop.start(stations_run([VirtualStation(config)], duration=180))

    def online():
        with schema_context(tenant.schema_name):
            return Station.objects.filter(pk=station.pk, is_online=True, evses__isnull=False).exists()

    try:
        assert eventually(online, timeout=30)
        page.goto(f"http://{host}/portal/stations/{station.pk}/")
        live_connected(page)
        start = page.locator('form[aria-label="Start a session"]')
        start.get_by_label("ID token").select_option(label="Journey card (JOURNEY-CARD)")
        start.get_by_label("EVSE").fill("1")
        start.get_by_role("button", name="Start a session").click()

        page.get_by_text("Start a session: Accepted.").wait_for(timeout=TIMEOUT_MS)
        row = page.locator("tbody[data-live-sessions] tr[data-session-row]")
        row.first.wait_for(timeout=TIMEOUT_MS)
        with schema_context(tenant.schema_name):
            session = ChargingSession.objects.get(station=station)
        assert session.id_token_uid == "JOURNEY-CARD"
        assert row.first.get_attribute("data-session-row") == str(session.pk)
        # The power the car draws arrives with the station's next meter values.
        page.wait_for_function(
            f"parseFloat((document.querySelector('[data-session-power=\"{session.pk}\"]') || {{}}).textContent) > 0",
            timeout=TIMEOUT_MS,
        )

        stop = page.locator('form[aria-label="Stop the session"]')
        stop.get_by_label("Session").select_option(value=str(session.pk))
        stop.get_by_role("button", name="Stop the session").click()
        page.get_by_text("Stop the session: Accepted.").wait_for(timeout=TIMEOUT_MS)

        def ended():
            with schema_context(tenant.schema_name):
                return (
                    ChargingSession.objects.filter(pk=session.pk, stop_reason="Remote")
                    .exclude(status="active")
                    .exists()
                )

        assert eventually(ended, timeout=30)
    finally:
        running.cancel()


@pytest.mark.django_db(transaction=True)
def test_a_report_is_downloaded(tenant, ocpp_server, page):
    with schema_context(tenant.schema_name):
        station = StationFactory(identity="JOURNEY-REPORT")
        ChargingSessionFactory(
            station=station,
            status=ChargingSession.Status.COMPLETED,
            started_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
            stopped_at=datetime(2026, 3, 2, 10, 0, tzinfo=UTC),
            energy_wh=12345,
            id_token_uid="REPORT-CARD",
        )
    host = f"alpha.localhost:{ocpp_server.port}"
    portal_login(page, staff_in(tenant, Role.FINANCE), host)

    page.goto(f"http://{host}/portal/reports/")
    page.get_by_label("From").fill("2026-03-01")
    page.get_by_label("To").fill("2026-03-31")
    page.get_by_label("Format").select_option("csv")
    with page.expect_download(timeout=TIMEOUT_MS) as download_info:
        page.get_by_role("button", name="Download").click()
    download = download_info.value
    assert download.suggested_filename == "sessions-2026-03-01-2026-03-31.csv"
    rows = list(csv.reader(io.StringIO(open(download.path(), encoding="utf-8-sig").read())))
    header, row = rows
    record = dict(zip(header, row, strict=True))
    assert (record["Station"], record["ID token"], record["Energy (kWh)"]) == (
        "JOURNEY-REPORT",
        "REPORT-CARD",
        "12.345",
    )


@pytest.mark.django_db(transaction=True)
def test_the_pages_fit_a_phone_screen(tenant, ocpp_server, page):
    with schema_context(tenant.schema_name):
        StationFactory(identity="JOURNEY-PHONE")
    host = f"alpha.localhost:{ocpp_server.port}"
    portal_login(page, staff_in(tenant), host)
    page.set_viewport_size({"width": 375, "height": 812})
    for path in ("/portal/", "/portal/stations/", "/portal/sessions/", "/portal/faults/", "/portal/reports/"):
        page.goto(f"http://{host}{path}")
        page.locator("main h1").wait_for(timeout=TIMEOUT_MS)
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 375, f"{path} is {overflow} px wide"
    page.goto(f"http://{host}/portal/")


@pytest.mark.django_db(transaction=True)
def test_the_charts_of_a_period_and_of_a_session(tenant, ocpp_server, page):
    from tests.billing.factories import session_billed

    with schema_context(tenant.schema_name):
        session, cdr, _invoice = session_billed()
    host = f"alpha.localhost:{ocpp_server.port}"
    portal_login(page, staff_in(tenant, Role.FINANCE), host)

    page.goto(f"http://{host}/portal/statistics/?start=2026-03-01&end=2026-03-07")
    assert page.locator("svg[role=img]").count() == 2
    page.get_by_text("Revenue per day as a table").click()
    assert f"{cdr.total_incl_vat:.2f}" in page.locator("main").inner_text()

    page.goto(f"http://{host}/portal/sessions/{session.pk}/")
    assert page.locator("svg polyline").count() == 2
    assert cdr.cdr_id in page.locator("main").inner_text()
