"""A driver's journeys in the app, in a real browser against a real daphne with a simulated OCPP station: from a QR
deep link through signing in (PKCE), the price, start, live energy, stop, to the receipt; a faulted connector; a
code of another brand. Screenshots: test-artifacts/screenshots/pwa-*.png."""

from urllib.parse import parse_qs, quote, unquote, urlsplit

import pytest
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.billing.tasks import session_bill_task
from apps.sessions.models import ChargingSession, IdToken
from apps.stations.models import Connector, Evse, Station
from tests.accounts.factories import PASSWORD, UserFactory
from tests.api.test_driver_roaming import STARTED, their_billed_cdr, their_session
from tests.billing.factories import StripeAccountFactory
from tests.ocpp.server import eventually
from tests.roaming.factories import PartnerFactory, RoamingSettingsFactory
from tests.simulated import on_demand_station
from tests.stations.factories import LocationFactory, StationFactory
from tests.tariffs.factories import TariffAssignmentFactory, TariffFactory
from tools.simulator.station import VirtualStation, stations_run

TIMEOUT_MS = 30_000
PRICE_ELEMENTS = [
    {
        "price_components": [
            {"type": "FLAT", "price": "1.00", "vat": "21", "step_size": 1},
            {"type": "ENERGY", "price": "0.30", "vat": "21", "step_size": 1},
        ]
    }
]


def deep_link(host: str, code: str) -> str:
    return f"http://{host}/app/e/{quote(code, safe='')}"


def number_in(page, selector: str) -> float:
    text = page.locator(selector).inner_text()
    return float("".join(char for char in text.split(" ")[0] if char.isdigit() or char == ".") or 0)


@pytest.mark.django_db(transaction=True)
def test_a_driver_follows_a_qr_link_signs_in_sees_the_price_charges_stops_and_gets_a_receipt(
    tenant,
    ocpp_server,
    station_loop,
    app_page,
    settled,  # noqa: F811
):
    page = app_page
    with schema_context(tenant.schema_name):
        site = LocationFactory(name="Harbour", latitude="52.370216", longitude="4.895168")
        station = StationFactory(identity="APP-JOURNEY", location=site)
        TariffAssignmentFactory(location=site, tariff=TariffFactory(elements=PRICE_ELEMENTS))
        driver = UserFactory(role=Role.DRIVER, email="driver@example.test")
    host = f"alpha.localhost:{ocpp_server.port}"
    config = on_demand_station(ocpp_server.port, "APP-JOURNEY", seed=5)
    running = station_loop.start(stations_run([VirtualStation(config)], duration=240))

    def online():
        with schema_context(tenant.schema_name):
            return Station.objects.filter(pk=station.pk, is_online=True, evses__connectors__status="Available").exists()

    try:
        assert eventually(online, timeout=30)
        # The QR sticker's deep link opens the charger's page, with the price stated before any button.
        page.goto(deep_link(host, "ALPHA*APP-JOURNEY*1"))
        summary = page.locator("[data-price-summary]")
        summary.wait_for(timeout=TIMEOUT_MS)
        assert "kWh" in summary.inner_text()
        assert page.locator('[data-price="per_kwh"]').inner_text() == "€0.363"
        assert page.locator('[data-price="per_session"]').inner_text() == "€1.21"
        sign_in = page.get_by_role("button", name="Sign in to start charging")
        assert page.evaluate(
            "document.querySelector('.price').compareDocumentPosition(document.querySelector('[data-start-area]'))"
            " & Node.DOCUMENT_POSITION_FOLLOWING"
        )

        # Sign in on the brand's page (OAuth 2.0 + PKCE), and back on the same charger.
        sign_in.click()
        page.get_by_label("Email address").fill(driver.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(deep_link(host, "ALPHA*APP-JOURNEY*1"), timeout=TIMEOUT_MS)
        assert page.evaluate("JSON.parse(localStorage.getItem('pwa.tokens')).access_token")

        page.get_by_role("button", name="Start charging").click()
        page.wait_for_url(f"http://{host}/app/sessions/*", timeout=TIMEOUT_MS)
        page.locator('[data-session-status="active"]').wait_for(timeout=TIMEOUT_MS)
        with schema_context(tenant.schema_name):
            session = ChargingSession.objects.get(station=station)
        assert page.url == f"http://{host}/app/sessions/{session.pk}"

        # Live: the energy rises with the station's meter values.
        page.wait_for_function(
            "parseFloat(document.querySelector('[data-energy]').textContent) > 0", timeout=TIMEOUT_MS
        )
        first = number_in(page, "[data-energy]")
        page.wait_for_function(
            f"parseFloat(document.querySelector('[data-energy]').textContent) > {first}", timeout=TIMEOUT_MS
        )
        assert page.locator("[data-power]").inner_text().endswith("kW")
        assert "null" not in page.locator(".session").inner_text()  # no part the page lacks is written out

        page.get_by_role("button", name="Stop charging").click()
        page.locator('[data-session-status="completed"]').wait_for(timeout=TIMEOUT_MS)
        assert "Charging has finished." in page.locator("#banner").inner_text()

        # Billing runs in a worker: here, as a worker would; the page shows the receipt once it is issued.
        session_bill_task.delay(tenant.schema_name, session.pk)
        receipt = page.get_by_role("button", name="Receipt (PDF)")
        receipt.wait_for(timeout=TIMEOUT_MS)
        with page.expect_download(timeout=TIMEOUT_MS) as download_info:
            receipt.click()
        download = download_info.value
        assert download.suggested_filename == f"receipt-{session.pk}.pdf"
        with open(download.path(), "rb") as file:
            assert file.read(5) == b"%PDF-"

        # The session is in the history, with its receipt.
        page.get_by_role("link", name="History").click()
        page.locator(f'[data-session="{session.pk}"]').wait_for(timeout=TIMEOUT_MS)
        assert page.locator(f'[data-session="{session.pk}"] [data-receipt]').count() == 1
    finally:
        running.cancel()


def faulted_charger(tenant, identity: str) -> None:
    with schema_context(tenant.schema_name):
        site = LocationFactory(name="Depot", latitude="52.1", longitude="5.1")
        station = StationFactory(identity=identity, location=site, is_online=True)
        evse = Evse.objects.create(station=station, evse_id=1)
        Connector.objects.create(evse=evse, connector_id=1, status="Faulted", error_code="GroundFailure")


@pytest.mark.django_db(transaction=True)
def test_a_faulted_connector_says_so_and_offers_no_start(tenant, ocpp_server, app_page):
    page = app_page
    faulted_charger(tenant, "APP-FAULTED")
    host = f"alpha.localhost:{ocpp_server.port}"

    page.goto(deep_link(host, "ALPHA*APP-FAULTED*1"))
    notice = page.get_by_role("alert")
    notice.wait_for(timeout=TIMEOUT_MS)
    assert "fault" in notice.inner_text()
    assert page.locator("[data-start-area]").get_attribute("data-not-startable") == "faulted"
    assert page.locator('[data-connector="1"] [data-status="Faulted"]').inner_text() == "Faulted"
    assert page.get_by_role("button", name="Start charging").count() == 0
    assert page.get_by_role("button", name="Sign in to start charging").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # fits a phone


@pytest.mark.django_db(transaction=True)
def test_a_code_of_another_brand_points_to_that_brands_app(tenant, outsider, ocpp_server, app_page):
    page = app_page
    with schema_context(outsider.schema_name):
        station = StationFactory(identity="BRAVO-01", is_online=True)
        evse = Evse.objects.create(station=station, evse_id=1)
        Connector.objects.create(evse=evse, connector_id=1, status="Available")
    host = f"alpha.localhost:{ocpp_server.port}"

    page.goto(deep_link(host, "BRAVO*BRAVO-01*1"))
    notice = page.locator("[data-other-brand]")
    notice.wait_for(timeout=TIMEOUT_MS)
    assert "Bravo Power" in notice.inner_text()
    link = notice.get_by_role("link", name="Open in the Bravo Power app")
    assert "bravo.localhost" in link.get_attribute("href")
    assert link.get_attribute("href").endswith("/app/e/" + quote("BRAVO*BRAVO-01*1", safe=""))
    assert page.get_by_role("button", name="Start charging").count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_unknown_code_is_a_readable_message(tenant, ocpp_server, app_page):
    page = app_page
    host = f"alpha.localhost:{ocpp_server.port}"
    page.goto(f"http://{host}/app/")
    page.get_by_label("Charger code").fill("ALPHA*NOWHERE*9")
    page.get_by_role("button", name="Open").click()
    page.get_by_text("No charger has the code ALPHA*NOWHERE*9.").wait_for(timeout=TIMEOUT_MS)
    assert unquote(page.url) == f"http://{host}/app/e/ALPHA*NOWHERE*9"


def simulated_station(ocpp_server, identity: str) -> VirtualStation:
    return VirtualStation(on_demand_station(ocpp_server.port, identity, seed=7))


@pytest.mark.django_db(transaction=True)
def test_a_guest_pays_by_test_card_charges_stops_and_gets_a_receipt(
    tenant, ocpp_server, station_loop, app_page, settled
):
    page = app_page
    with schema_context(tenant.schema_name):
        site = LocationFactory(name="Quay", latitude="52.37", longitude="4.89")
        station = StationFactory(identity="APP-GUEST", location=site)
        TariffAssignmentFactory(location=site, tariff=TariffFactory(elements=PRICE_ELEMENTS))
        StripeAccountFactory(offline_sandbox=True)
    host = f"alpha.localhost:{ocpp_server.port}"
    running = station_loop.start(stations_run([simulated_station(ocpp_server, "APP-GUEST")], duration=240))

    def online():
        with schema_context(tenant.schema_name):
            return Station.objects.filter(pk=station.pk, is_online=True, evses__connectors__status="Available").exists()

    try:
        assert eventually(online, timeout=30)
        page.goto(deep_link(host, "ALPHA*APP-GUEST*1"))
        page.get_by_role("link", name="Pay by card without an account").click()
        page.wait_for_url(f"http://{host}/app/guest?evse=*", timeout=TIMEOUT_MS)
        assert page.get_by_label("Charger code").input_value() == "ALPHA*APP-GUEST*1"
        start = page.get_by_role("button", name="Hold amount and start")

        # Not a test card: refused in the browser, nothing sent.
        page.get_by_label("Card number").fill("5555 5555 5555 4444")
        start.click()
        page.get_by_text("This is test mode: use a test card").wait_for(timeout=TIMEOUT_MS)
        # Stripe's declined test card: refused by the brand's sandbox, nothing started.
        page.get_by_label("Card number").fill("4000 0000 0000 0002")
        start.click()
        page.locator("[data-card-status] [role=alert]").wait_for(timeout=TIMEOUT_MS)
        with schema_context(tenant.schema_name):
            assert not ChargingSession.objects.filter(station=station).exists()

        page.get_by_label("Card number").fill("4242 4242 4242 4242")
        page.get_by_label("Email for the receipt (optional)").fill("guest@example.test")
        start.click()
        page.locator('[data-session-status="active"]').wait_for(timeout=TIMEOUT_MS)
        assert page.evaluate("sessionStorage.getItem('pwa.guest')")
        assert page.evaluate("localStorage.getItem('pwa.tokens')") is None
        page.wait_for_function(
            "parseFloat(document.querySelector('[data-energy]').textContent) > 0", timeout=TIMEOUT_MS
        )

        page.get_by_role("button", name="Stop charging").click()
        page.locator('[data-session-status="completed"]').wait_for(timeout=TIMEOUT_MS)
        with schema_context(tenant.schema_name):
            session = ChargingSession.objects.get(station=station)
        session_bill_task.delay(tenant.schema_name, session.pk)
        receipt = page.get_by_role("button", name="Receipt (PDF)")
        receipt.wait_for(timeout=TIMEOUT_MS)
        with page.expect_download(timeout=TIMEOUT_MS) as download_info:
            receipt.click()
        with open(download_info.value.path(), "rb") as file:
            assert file.read(5) == b"%PDF-"
    finally:
        running.cancel()


@pytest.mark.django_db(transaction=True)
def test_sign_up_goes_to_the_brands_sign_up_and_comes_back_signed_in_to_the_app(tenant, ocpp_server, app_page):
    page = app_page
    host = f"alpha.localhost:{ocpp_server.port}"
    page.goto(f"http://{host}/app/account")
    page.get_by_role("link", name="Sign up").click()
    page.wait_for_url(f"http://{host}/accounts/signup/?*", timeout=TIMEOUT_MS)
    next_url = parse_qs(urlsplit(page.url).query)["next"][0]
    authorize = urlsplit(next_url)
    assert authorize.path == "/oauth/authorize/"
    query = parse_qs(authorize.query)
    assert query["client_id"] == ["driver-app"]
    assert query["code_challenge_method"] == ["S256"]
    assert query["redirect_uri"] == [f"http://{host}/app/callback"]


def sign_in(page, host: str, driver) -> None:
    """Through the app's own sign-in: the brand's login page, then back to the app (OAuth 2.0 + PKCE)."""
    page.goto(f"http://{host}/app/account")
    page.get_by_role("button", name="Sign in").click()
    page.get_by_label("Email address").fill(driver.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"http://{host}/app/account", timeout=TIMEOUT_MS)


@pytest.mark.django_db(transaction=True)
def test_a_driver_manages_cards_and_payment_methods_in_the_account_page(tenant, ocpp_server, app_page):
    page = app_page
    page.on("dialog", lambda dialog: dialog.accept())
    with schema_context(tenant.schema_name):
        driver = UserFactory(role=Role.DRIVER, email="cards@example.test", first_name="Robin")
        StripeAccountFactory(offline_sandbox=True)
    host = f"alpha.localhost:{ocpp_server.port}"
    sign_in(page, host, driver)
    page.get_by_text("Signed in as Robin").wait_for(timeout=TIMEOUT_MS)

    # An expired access token is renewed with the refresh token (rotated), without the driver noticing.
    before = page.evaluate("JSON.parse(localStorage.getItem('pwa.tokens'))")
    page.evaluate(
        "localStorage.setItem('pwa.tokens', JSON.stringify({...JSON.parse(localStorage.getItem('pwa.tokens')),"
        " expires_at: Date.now() - 1000}))"
    )
    page.reload()
    page.get_by_text("Signed in as Robin").wait_for(timeout=TIMEOUT_MS)
    after = page.evaluate("JSON.parse(localStorage.getItem('pwa.tokens'))")
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]
    assert after["expires_at"] > before["expires_at"]

    # A charging card: a wrong number is explained next to the field, a right one is listed, and can go again.
    page.get_by_label("Card number (UID)").fill("not a card")
    page.get_by_role("button", name="Add card").click()
    page.locator("#error-uid").wait_for(timeout=TIMEOUT_MS)
    page.get_by_label("Card number (UID)").fill("04A2B3C4")
    page.get_by_label("Name (optional)").fill("Blue tag")
    page.get_by_role("button", name="Add card").click()
    page.locator("[data-card]", has_text="Blue tag").wait_for(timeout=TIMEOUT_MS)
    with schema_context(tenant.schema_name):
        assert IdToken.objects.get(uid="04A2B3C4").owner_id == driver.pk
    page.locator("[data-card]", has_text="Blue tag").get_by_role("button", name="Remove").click()
    page.get_by_text("No charging card yet.").wait_for(timeout=TIMEOUT_MS)

    # A payment card in the brand's sandbox: the test card becomes Stripe's test payment method.
    page.get_by_text("Test mode: use a Stripe test card").wait_for(timeout=TIMEOUT_MS)
    page.get_by_label("Card number", exact=True).fill("4242424242424242")
    page.get_by_role("button", name="Save card").click()
    method = page.locator("[data-payment-method]")
    method.wait_for(timeout=TIMEOUT_MS)
    assert "4242" in method.inner_text()
    assert method.get_by_text("Default").count() == 1

    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # fits a phone
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"http://{host}/app/", timeout=TIMEOUT_MS)
    assert page.evaluate("localStorage.getItem('pwa.tokens')") is None


@pytest.mark.django_db(transaction=True)
def test_the_history_shows_the_sessions_at_other_networks_with_their_receipts(tenant, ocpp_server, app_page):
    page = app_page
    with schema_context(tenant.schema_name):
        driver = UserFactory(role=Role.DRIVER, email="abroad@example.test")
        IdToken.objects.create(uid="ALP-1", type=IdToken.Type.ISO14443, owner=driver)
        RoamingSettingsFactory(roles=["EMSP"])
        partner = PartnerFactory(name="Bravo Power")
        session = their_session(partner, "ALP-1", "BRV-S-1", status="COMPLETED", end_date_time=STARTED)
        their_billed_cdr(partner, "ALP-1", "BRV-S-1")
    host = f"alpha.localhost:{ocpp_server.port}"
    sign_in(page, host, driver)

    page.get_by_role("link", name="History").click()
    item = page.locator(f'[data-roaming-session="{session.pk}"]')
    item.wait_for(timeout=TIMEOUT_MS)
    assert page.get_by_role("heading", name="At other networks' chargers").is_visible()
    assert "via Bravo Power" in item.inner_text() and "7.5 kWh" in item.inner_text()
    with page.expect_download(timeout=TIMEOUT_MS) as download_info:
        item.get_by_role("button", name="Receipt (PDF)").click()
    with open(download_info.value.path(), "rb") as file:
        assert file.read(5) == b"%PDF-"
