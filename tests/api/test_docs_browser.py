"""The API's docs in a real browser on a real server: Swagger UI lists the operations and runs one with a key."""

import pytest

from tests.api.conftest import key_in
from tests.stations.factories import StationFactory


@pytest.mark.django_db(transaction=True)
def test_swagger_ui_authorizes_with_an_api_key_and_runs_a_call(tenant, ocpp_server, page):
    from django_tenants.utils import schema_context

    with schema_context(tenant.schema_name):
        StationFactory(identity="DOCS-STATION-1")
    key = key_in(tenant)
    page.goto(f"http://alpha.localhost:{ocpp_server.port}/api/docs/")

    # Tags start folded: every tag of the schema is listed, and opening one shows its operations.
    page.locator('.opblock-tag[data-tag="stations"]').wait_for(timeout=15_000)
    assert page.locator(".opblock-tag").count() >= 20
    page.locator('.opblock-tag[data-tag="stations"]').click()
    stations = page.locator(".opblock-get", has=page.locator('[data-path="/api/v1/stations/"]'))
    stations.first.wait_for(timeout=15_000)

    page.locator(".auth-wrapper button.authorize").click()
    api_key_form = page.locator(".auth-container", has_text="ApiKey (http, Bearer)")
    api_key_form.locator("input").fill(key)
    api_key_form.locator("button.authorize").click()  # "Apply credentials"
    page.locator(".dialog-ux button.btn-done").first.click()

    stations.first.locator(".opblock-summary").click()
    stations.first.get_by_role("button", name="Try it out").click()
    stations.first.get_by_role("button", name="Execute").click()

    response = stations.first.locator(".live-responses-table tbody .response-col_status").first
    response.wait_for(timeout=15_000)
    assert response.inner_text().strip().startswith("200")
    assert "DOCS-STATION-1" in stations.first.locator(".live-responses-table").inner_text()
