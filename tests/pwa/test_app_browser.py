"""The driver app in a real browser (Playwright driving Debian's chromium) against a real daphne: installable, and
working offline with the last known stations. The `page` fixture keeps each test's last screenshot in
test-artifacts/screenshots/."""

import pytest

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
