"""The overview: every station of the brand with its live status, connectors counted by status, the map's data."""

import pytest
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from tests.portal.conftest import client_of
from tests.stations.factories import LocationFactory, StationFactory
from tests.tariffs.factories import ConnectorFactory


@pytest.fixture
def network(tenant):
    with schema_context(tenant.schema_name):
        site = LocationFactory(name="Harbour", latitude="52.370216", longitude="4.895168")
        station = StationFactory(identity="ALPHA-01", location=site, is_online=True, status="Available")
        ConnectorFactory(evse__station=station, evse__evse_id=1, status="Charging")
        ConnectorFactory(evse__station=station, evse__evse_id=2, status="Available")
        ConnectorFactory(evse__station=StationFactory(identity="ALPHA-02"), status="Faulted")
    return station


@pytest.mark.django_db
def test_staff_see_each_station_with_its_status_and_connectors_counted(network, tenant):
    response = client_of(tenant, Role.READ_ONLY).get("/portal/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "ALPHA-01" in page and "ALPHA-02" in page
    assert "<strong data-online-count>1</strong> of 2 stations online." in page
    assert f'data-connector-status="{network.pk}:1:1"' in page
    for status in ("Charging", "Available", "Faulted"):
        assert f'data-status-count="{status}">1<' in page


@pytest.mark.django_db
def test_the_map_gets_the_located_stations_and_the_tile_url_setting(network, tenant, settings):
    settings.PORTAL_MAP_TILE_URL = "https://tiles.example.test/{z}/{x}/{y}.png"
    response = client_of(tenant, Role.READ_ONLY).get("/portal/")
    markers = response.context["markers"]
    assert [(m["identity"], m["lat"], m["status"]) for m in markers] == [("ALPHA-01", 52.370216, "Available")]
    page = response.content.decode()
    assert 'data-tile-url="https://tiles.example.test/{z}/{x}/{y}.png"' in page
    assert "/static/portal/vendor/leaflet/leaflet.js" in page
    assert "unpkg" not in page and "cdn" not in page.lower()


@pytest.mark.django_db
def test_another_brands_stations_never_show(network, tenant, outsider):
    with schema_context(outsider.schema_name):
        StationFactory(identity="BRAVO-SECRET")
    page = client_of(tenant, Role.READ_ONLY).get("/portal/").content.decode()
    assert "BRAVO-SECRET" not in page
    assert "ALPHA-01" not in client_of(outsider, Role.READ_ONLY).get("/portal/").content.decode()


@pytest.mark.django_db
def test_a_role_without_the_station_permission_is_refused(tenant, role_without):
    assert client_of(tenant, role_without("stations.view_station")).get("/portal/").status_code == 403
    assert client_of(tenant, Role.DRIVER).get("/portal/").status_code == 403


@pytest.mark.django_db
def test_the_menu_offers_only_what_the_role_may_open(tenant, role_without):
    page = client_of(tenant, role_without("charging.view_idtoken")).get("/portal/").content.decode()
    assert 'href="/portal/stations/"' in page and 'href="/portal/sessions/"' in page
    assert 'href="/portal/tokens/"' not in page
