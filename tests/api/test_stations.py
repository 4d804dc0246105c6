"""The read endpoints: stations and locations of the host's brand, filters, cursor pagination, ownership."""

from django_tenants.utils import schema_context

from apps.stations.models import Connector, Evse
from tests.api.conftest import api_client, key_in
from tests.stations.factories import LocationFactory, StationFactory


def test_station_list_returns_this_brands_stations_with_evses_and_connectors(tenant, outsider, alpha_api):
    with schema_context(tenant.schema_name):
        station = StationFactory(identity="CP-ALPHA", is_online=True)
        Connector.objects.create(evse=Evse.objects.create(station=station, evse_id=1), connector_id=1)
    with schema_context(outsider.schema_name):
        StationFactory(identity="CP-BRAVO")

    response = alpha_api.get("/api/v1/stations/")

    assert response.status_code == 200, response.content
    [row] = response.json()["results"]
    assert (row["id"], row["identity"], row["is_online"], row["location"]) == (
        station.pk,
        "CP-ALPHA",
        True,
        station.location_id,
    )
    assert row["evses"] == [
        {
            "evse_id": 1,
            "connectors": [
                {
                    "connector_id": 1,
                    "standard": "IEC_62196_T2",
                    "format": "SOCKET",
                    "power_type": "AC_3_PHASE",
                    "max_power_w": 22000,
                    "status": "Unknown",
                    "error_code": "",
                }
            ],
        }
    ]


def test_station_list_filters_by_online_and_location(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        site = LocationFactory()
        online_here = StationFactory(location=site, is_online=True)
        StationFactory(location=site, is_online=False)
        StationFactory(is_online=True)

    response = alpha_api.get("/api/v1/stations/", {"online": "true", "location": site.pk})

    assert [row["id"] for row in response.json()["results"]] == [online_here.pk]
    offline = alpha_api.get("/api/v1/stations/", {"online": "false"}).json()["results"]
    assert [row["is_online"] for row in offline] == [False]


def test_station_list_finds_a_station_by_its_ocpp_identity(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        wanted = StationFactory(identity="DEPOT-07")
        StationFactory(identity="DEPOT-070")

    response = alpha_api.get("/api/v1/stations/", {"identity": "DEPOT-07"})

    assert [row["id"] for row in response.json()["results"]] == [wanted.pk]


def test_bad_filter_values_answer_400_with_field_errors(alpha_api):
    response = alpha_api.get("/api/v1/stations/", {"online": "maybe", "location": "x"})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert set(error["fields"]) == {"online", "location"}
    assert error["fields"]["online"] == ["Must be a valid boolean."]


def test_station_list_pages_with_a_next_cursor(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        stations = StationFactory.create_batch(3)

    first = alpha_api.get("/api/v1/stations/", {"page_size": 2}).json()
    second = alpha_api.get(first["next"]).json()

    assert [row["id"] for row in first["results"]] == [station.pk for station in stations[:2]]
    assert [row["id"] for row in second["results"]] == [stations[2].pk]
    assert second["next"] is None and second["previous"]


def test_station_detail(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        station = StationFactory(identity="CP-ONE")

    response = alpha_api.get(f"/api/v1/stations/{station.pk}/")

    assert response.status_code == 200
    assert response.json()["identity"] == "CP-ONE"


def test_another_brands_station_is_not_found_with_that_brands_key(tenant, outsider):
    with schema_context(tenant.schema_name):
        station = StationFactory()
    bravo_api = api_client("bravo.localhost", key_in(outsider))

    response = bravo_api.get(f"/api/v1/stations/{station.pk}/")

    assert response.status_code == 404
    assert response.json() == {"error": {"code": "not_found", "message": "Not found.", "fields": {}}}


def test_location_list_and_detail(tenant, outsider, alpha_api):
    with schema_context(tenant.schema_name):
        site = LocationFactory(name="Depot", city="Utrecht")
    with schema_context(outsider.schema_name):
        LocationFactory(name="Elsewhere")

    listing = alpha_api.get("/api/v1/locations/").json()
    detail = alpha_api.get(f"/api/v1/locations/{site.pk}/").json()

    assert [row["name"] for row in listing["results"]] == ["Depot"]
    assert "next" in listing
    assert (detail["id"], detail["city"], detail["timezone"]) == (site.pk, "Utrecht", "Europe/Amsterdam")


def test_another_brands_location_is_not_found(tenant, outsider):
    with schema_context(tenant.schema_name):
        site = LocationFactory()

    response = api_client("bravo.localhost", key_in(outsider)).get(f"/api/v1/locations/{site.pk}/")

    assert response.status_code == 404
