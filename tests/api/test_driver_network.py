"""The driver app's public network: locations nearest first with what is free and what it costs, one location with
its EVSEs, one EVSE by its sticker code (and another brand's code), open to anyone but limited per address."""

from datetime import UTC, datetime

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.stations.models import Connector, Evse
from apps.stations.network import network_location_list
from apps.whitelabel.services import tenant_suspend
from tests.api.conftest import api_client, key_in
from tests.stations.factories import LocationFactory, StationFactory
from tests.tariffs.factories import TariffAssignmentFactory, TariffFactory

HOST = "alpha.localhost"
UTRECHT = (52.0907, 5.1214)
AMSTERDAM = (52.3676, 4.9041)
ROTTERDAM = (51.9244, 4.4777)


@pytest.fixture
def anonymous(tenant) -> Client:
    return Client(HTTP_HOST=HOST)


def site(
    name,
    coordinates=(None, None),
    *,
    statuses=("Available",),
    online=True,
    standard="IEC_62196_T2",
    power=22000,
    identity=None,
    **location,
):
    """A location with one station whose EVSE 1 has a connector per status."""
    lat, lon = coordinates
    place = LocationFactory(name=name, latitude=lat, longitude=lon, **location)
    station = StationFactory(location=place, is_online=online, **({"identity": identity} if identity else {}))
    evse = Evse.objects.create(station=station, evse_id=1)
    for number, status in enumerate(statuses, start=1):
        Connector.objects.create(evse=evse, connector_id=number, status=status, standard=standard, max_power_w=power)
    return place


def price(place, per_kwh):
    tariff = TariffFactory(elements=[{"price_components": [{"type": "ENERGY", "price": per_kwh, "step_size": 1}]}])
    TariffAssignmentFactory(location=place, tariff=tariff)


def names(response):
    assert response.status_code == 200, response.content
    return [item["name"] for item in response.json()["results"]]


# --- the list -------------------------------------------------------------------------------------------------------


def test_anyone_sees_the_locations_nearest_first_with_counts_and_price(tenant, anonymous):
    with schema_context(tenant.schema_name):
        utrecht = site("Utrecht Centraal", UTRECHT, statuses=("Available", "Charging"))
        Evse.objects.create(station=utrecht.stations.get(), evse_id=2)
        Connector.objects.create(
            evse=Evse.objects.get(evse_id=2),
            connector_id=1,
            status="Charging",
            power_type="DC",
            standard="IEC_62196_T2_COMBO",
            max_power_w=150000,
        )
        price(utrecht, "0.39")
        site("Amsterdam Zuid", AMSTERDAM)
        site("Rotterdam Blaak", ROTTERDAM)

    response = anonymous.get("/api/v1/network/locations/", {"lat": "52.09", "lon": "5.12"})

    assert names(response) == ["Utrecht Centraal", "Amsterdam Zuid", "Rotterdam Blaak"]
    first = response.json()["results"][0]
    assert first["distance_m"] < 200
    assert 30_000 < response.json()["results"][1]["distance_m"] < 40_000  # Utrecht–Amsterdam, about 35 km
    assert first["evses_total"] == 2 and first["evses_available"] == 1
    assert first["connector_types"] == ["IEC_62196_T2", "IEC_62196_T2_COMBO"]
    assert first["max_power_kw"] == 150.0
    assert first["latitude"] == pytest.approx(52.0907)
    assert first["price"]["per_kwh"] == "0.39" and first["price"]["summary"] == "€0.39 per kWh."
    assert response.json()["results"][1]["price"] is None


def test_without_a_position_the_list_is_by_name_without_distances(tenant, anonymous):
    with schema_context(tenant.schema_name):
        site("Zwolle", (52.5, 6.1))
        site("Arnhem")  # no coordinates: still listed

    response = anonymous.get("/api/v1/network/locations/")

    assert names(response) == ["Arnhem", "Zwolle"]
    assert {item["distance_m"] for item in response.json()["results"]} == {None}


def test_locations_without_an_accepted_station_are_not_public(tenant, anonymous):
    with schema_context(tenant.schema_name):
        LocationFactory(name="Empty lot")
        pending = site("Not yet commissioned")
        pending.stations.update(registration_status="pending")

    assert names(anonymous.get("/api/v1/network/locations/")) == []


def test_filters_by_connector_type_power_and_availability_on_one_connector(tenant, anonymous):
    with schema_context(tenant.schema_name):
        site("AC free", statuses=("Available",))
        site("DC busy", statuses=("Charging",), standard="IEC_62196_T2_COMBO", power=150000)
        site("DC free", statuses=("Available",), standard="IEC_62196_T2_COMBO", power=50000)
        site("DC free but offline", statuses=("Available",), standard="IEC_62196_T2_COMBO", power=150000, online=False)

    get = anonymous.get
    assert names(get("/api/v1/network/locations/", {"connector_type": "IEC_62196_T2_COMBO"})) == [
        "DC busy",
        "DC free",
        "DC free but offline",
    ]
    assert names(get("/api/v1/network/locations/", {"min_power_kw": "100"})) == ["DC busy", "DC free but offline"]
    assert names(get("/api/v1/network/locations/", {"available": "true"})) == ["AC free", "DC free"]
    # A fast connector that is busy and a free one that is slow do not make a fast free connector.
    assert names(get("/api/v1/network/locations/", {"available": "true", "min_power_kw": "100"})) == []


def test_filters_by_price_per_kwh(tenant, anonymous):
    with schema_context(tenant.schema_name):
        price(site("Cheap"), "0.29")
        price(site("Dear"), "0.79")
        site("No tariff")

    assert names(anonymous.get("/api/v1/network/locations/", {"max_price_per_kwh": "0.50"})) == ["Cheap"]


def test_open_now_reads_opening_hours_in_the_locations_timezone(tenant, anonymous, monkeypatch):
    # Monday 2025-05-12 07:30 UTC: 09:30 in Amsterdam, 03:30 in New York.
    monkeypatch.setattr("apps.stations.network.timezone.now", lambda: datetime(2025, 5, 12, 7, 30, tzinfo=UTC))
    weekdays = {
        "twentyfourseven": False,
        "regular_hours": [{"weekday": d, "period_begin": "08:00", "period_end": "20:00"} for d in range(1, 6)],
    }
    with schema_context(tenant.schema_name):
        site("Always", opening_hours={"twentyfourseven": True})
        site("Amsterdam office", opening_hours=weekdays, timezone="Europe/Amsterdam")
        site("New York office", opening_hours=weekdays, timezone="America/New_York")
        site("Unstated")

    response = anonymous.get("/api/v1/network/locations/", {"open_now": "true"})

    assert names(response) == ["Always", "Amsterdam office"]
    everything = {
        item["name"]: item["open_now"] for item in anonymous.get("/api/v1/network/locations/").json()["results"]
    }
    assert everything == {"Always": True, "Amsterdam office": True, "New York office": False, "Unstated": None}


@pytest.mark.parametrize(
    "query",
    [
        {"lat": "52.1"},
        {"lon": "5.1"},
        {"lat": "91", "lon": "5"},
        {"lat": "nan", "lon": "5"},
        {"lat": "abc", "lon": "5"},
        {"connector_type": "USB"},
        {"min_power_kw": "-1"},
        {"max_price_per_kwh": "cheap"},
        {"available": "maybe"},
    ],
)
def test_bad_filters_are_refused_with_the_field_named(anonymous, query):
    response = anonymous.get("/api/v1/network/locations/", query)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid"
    assert set(response.json()["error"]["fields"]) & ({*query} | {"lat", "lon"})


def test_twenty_locations_cost_a_fixed_number_of_queries(tenant, anonymous, django_assert_max_num_queries):
    with schema_context(tenant.schema_name):
        for number in range(20):
            place = site(f"Site {number:02d}", (52 + number / 100, 5), statuses=("Available", "Charging"))
            price(place, "0.35")
        # Locations, stations, EVSEs, connectors; then the tariffs: station groups, assignments.
        with django_assert_max_num_queries(6):
            summaries = network_location_list(lat=52, lon=5)
        assert len(summaries) == 20

    response = anonymous.get("/api/v1/network/locations/", {"lat": "52", "lon": "5"})

    assert names(response) == [f"Site {number:02d}" for number in range(20)]
    assert all(item["price"]["per_kwh"] == "0.35" for item in response.json()["results"])


def test_another_brands_locations_are_not_listed(tenant, outsider, anonymous):
    with schema_context(outsider.schema_name):
        bravo = site("Bravo site")

    assert names(anonymous.get("/api/v1/network/locations/")) == []
    assert anonymous.get(f"/api/v1/network/locations/{bravo.pk}/").status_code == 404


# --- one location -----------------------------------------------------------------------------------------------------


def test_a_location_lists_its_evses_with_whether_each_can_be_started(tenant, anonymous):
    with schema_context(tenant.schema_name):
        place = site(
            "Depot",
            UTRECHT,
            statuses=("Available",),
            identity="ALPHA-1",
            timezone="Europe/Amsterdam",
            opening_hours={
                "regular_hours": [{"weekday": d, "period_begin": "07:00", "period_end": "22:00"} for d in range(1, 6)]
            },
        )
        station = place.stations.get()
        busy = Evse.objects.create(station=station, evse_id=2)
        Connector.objects.create(evse=busy, connector_id=1, status="Faulted")
        price(place, "0.45")

    response = anonymous.get(f"/api/v1/network/locations/{place.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["opening_times"] == "Mon–Fri 07:00–22:00; Sat–Sun closed"
    assert body["timezone"] == "Europe/Amsterdam"
    assert [(e["code"], e["startable"], e["not_startable_reason"]) for e in body["evses"]] == [
        ("ALPHA*ALPHA-1*1", True, ""),
        ("ALPHA*ALPHA-1*2", False, "faulted"),
    ]
    assert body["evses"][0]["price"]["per_kwh"] == "0.45"
    assert body["evses"][0]["deep_link"].endswith("/app/e/ALPHA%2AALPHA-1%2A1")


def test_an_unknown_location_is_404(anonymous):
    response = anonymous.get("/api/v1/network/locations/999999/")

    assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"


# --- one EVSE by code -------------------------------------------------------------------------------------------------


def test_an_evse_by_its_code_says_whether_it_can_be_started_and_its_price(tenant, anonymous, settings):
    settings.TENANT_SITE_URL = "https://{domain}"
    with schema_context(tenant.schema_name):
        place = site("Depot", UTRECHT, statuses=("Available",), identity="ALPHA-16-01", address="Stationsplein 1")
        price(place, "0.39")

    response = anonymous.get("/api/v1/network/evses/ALPHA*ALPHA-16-01*1/")

    assert response.status_code == 200
    body = response.json()
    assert body["code"] == "ALPHA*ALPHA-16-01*1" and body["evse_id"] == 1
    assert body["station"]["identity"] == "ALPHA-16-01" and body["station"]["online"] is True
    assert body["location"]["name"] == "Depot" and body["location"]["address"] == "Stationsplein 1"
    assert (body["status"], body["startable"], body["not_startable_reason"]) == ("Available", True, "")
    assert body["connectors"] == [
        {
            "connector_id": 1,
            "standard": "IEC_62196_T2",
            "format": "SOCKET",
            "power_type": "AC_3_PHASE",
            "max_power_kw": 22.0,
            "status": "Available",
        }
    ]
    assert body["price"]["per_kwh"] == "0.39"
    assert body["deep_link"] == "https://alpha.localhost/app/e/ALPHA%2AALPHA-16-01%2A1"
    # The deep link's quoted form is accepted too.
    assert anonymous.get("/api/v1/network/evses/ALPHA%2AALPHA-16-01%2A1/").json()["code"] == body["code"]


def test_an_offline_evse_says_why_it_cannot_be_started(tenant, anonymous):
    with schema_context(tenant.schema_name):
        site("Depot", statuses=("Available",), identity="ALPHA-9", online=False)

    body = anonymous.get("/api/v1/network/evses/ALPHA*ALPHA-9*1/").json()

    assert (body["status"], body["startable"], body["not_startable_reason"]) == ("Offline", False, "offline")


@pytest.mark.parametrize(
    "code", ["ALPHA*NOPE*1", "garbage", "ALPHA*ALPHA-16-01*x", "NOBODY*X*1", "ALPHA*ALPHA-16-01*2"]
)
def test_an_unknown_code_is_evse_unknown(tenant, anonymous, code):
    with schema_context(tenant.schema_name):
        site("Depot", identity="ALPHA-16-01")

    response = anonymous.get(f"/api/v1/network/evses/{code}/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "evse_unknown"


def test_another_brands_code_names_that_brand_and_its_app(tenant, outsider, anonymous, settings):
    settings.TENANT_SITE_URL = "https://{domain}"
    with schema_context(outsider.schema_name):
        site("Bravo depot", identity="BRAVO-1")

    response = anonymous.get("/api/v1/network/evses/BRAVO*BRAVO-1*1/")

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "evse_of_another_brand"
    assert error["brand"] == {"name": "Bravo Power", "app_url": "https://bravo.localhost/app/e/BRAVO%2ABRAVO-1%2A1"}
    assert "Bravo depot" not in response.content.decode()  # nothing of the other brand's network leaks
    lowercase = anonymous.get("/api/v1/network/evses/bravo*BRAVO-1*1/").json()["error"]
    assert lowercase["brand"]["app_url"] == "https://bravo.localhost/app/e/BRAVO%2ABRAVO-1%2A1"


def test_a_suspended_brands_code_is_just_unknown(tenant, outsider, anonymous):
    tenant_suspend(tenant=outsider, actor="ops", reason="unpaid")

    response = anonymous.get("/api/v1/network/evses/BRAVO*BRAVO-1*1/")

    assert response.status_code == 404 and response.json()["error"]["code"] == "evse_unknown"
    assert "brand" not in response.json()["error"]


# --- access -----------------------------------------------------------------------------------------------------------


def test_a_token_of_the_brand_may_read_too_and_a_bad_one_is_refused(tenant):
    assert (
        api_client(HOST, key_in(tenant, scopes=["locations:read"])).get("/api/v1/network/locations/").status_code == 200
    )
    assert api_client(HOST, "evk_not-a-key-at-all").get("/api/v1/network/locations/").status_code == 401


def test_anonymous_clients_are_limited_per_address(tenant, settings):
    settings.API_ANONYMOUS_RATE_LIMIT_PER_MINUTE = 3
    me, neighbour = Client(HTTP_HOST=HOST, REMOTE_ADDR="203.0.113.7"), Client(HTTP_HOST=HOST, REMOTE_ADDR="203.0.113.8")

    answers = [me.get("/api/v1/network/locations/").status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    limited = me.get("/api/v1/network/evses/ALPHA*X*1/")
    assert limited.status_code == 429 and int(limited["Retry-After"]) >= 1
    assert neighbour.get("/api/v1/network/locations/").status_code == 200
    # A client with a credential is counted by its credential, not by the address.
    keyed = api_client(HOST, key_in(tenant, scopes=["locations:read"]))
    assert keyed.get("/api/v1/network/locations/", REMOTE_ADDR="203.0.113.7").status_code == 200
