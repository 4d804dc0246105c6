"""The locations module as an eMSP sees our CPO side: the paginated list, objects, statuses and refusals."""

from datetime import UTC, datetime

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.roaming.models import RoamingSettings
from apps.stations.models import Connector, Evse, Location
from tests.roaming.conftest import TOKEN_C, ocpi
from tests.roaming.factories import PartnerFactory
from tests.stations.factories import LocationFactory, StationFactory


def get(path: str, token: str = TOKEN_C, **params):
    return ocpi("GET", path, token=token, **params)


def site(name="Site", *, status="Available", online=True, created=None, reported=None):
    """A location with one station, EVSE 1 and connector 1 (22 kW AC 3 phases)."""
    location = LocationFactory(name=name, address="Main 1", latitude="52.090000", longitude="5.120000")
    if created:
        Location.objects.filter(pk=location.pk).update(created_at=created)
    station = StationFactory(location=location, is_online=online)
    if created:
        type(station).objects.filter(pk=station.pk).update(created_at=created)
    evse = Evse.objects.create(station=station, evse_id=1)
    Connector.objects.create(evse=evse, connector_id=1, status=status, status_reported_at=reported or created)
    return location


@pytest.fixture
def three(alpha):
    with schema_context(alpha.schema_name):
        return [site(f"Site {day}", created=datetime(2026, 1, day, tzinfo=UTC)).pk for day in (1, 2, 3)]


def test_the_list_pages_with_a_link_keeping_the_filters(partner, three):
    first = get("/ocpi/2.2.1/cpo/locations", limit=2, date_from="2025-01-01T00:00:00Z")

    assert first.status_code == 200 and first.json()["status_code"] == 1000
    assert [loc["id"] for loc in first.json()["data"]] == [str(pk) for pk in three[:2]]
    assert first["X-Total-Count"] == "3" and first["X-Limit"] == "2"
    link = first["Link"]
    assert link.endswith('>; rel="next"') and "offset=2" in link and "date_from=2025-01-01T00%3A00%3A00Z" in link
    next_url = link[1 : link.index(">")].replace("http://alpha.localhost", "")
    second = get(next_url)
    assert [loc["id"] for loc in second.json()["data"]] == [str(three[2])]
    assert "Link" not in second


def test_a_larger_limit_is_capped(partner, three):
    response = get("/ocpi/2.2.1/cpo/locations", limit=1000)

    assert response["X-Limit"] == "100" and len(response.json()["data"]) == 3


def test_date_from_and_date_to_filter_on_last_updated(partner, three):
    response = get("/ocpi/2.2.1/cpo/locations", date_from="2026-01-02T00:00:00Z", date_to="2026-01-03T00:00:00Z")

    assert [loc["id"] for loc in response.json()["data"]] == [str(three[1])]
    assert response["X-Total-Count"] == "1"


@pytest.mark.parametrize(
    "params", [{"limit": "x"}, {"limit": "-1"}, {"limit": "0"}, {"offset": "-3"}, {"date_from": "yesterday"}]
)
def test_bad_pagination_values_are_2001(partner, params):
    response = get("/ocpi/2.2.1/cpo/locations", **params)

    assert response.status_code == 200 and response.json()["status_code"] == 2001


def test_location_evse_and_connector_objects(alpha, partner):
    with schema_context(alpha.schema_name):
        location = site("Depot", reported=timezone.now())
        Location.objects.filter(pk=location.pk).update(opening_hours={"twentyfourseven": True})
        identity = location.stations.get().identity

    response = get(f"/ocpi/2.2.1/cpo/locations/{location.pk}")
    data = response.json()["data"]
    assert data["country_code"] == "NL" and data["party_id"] == "ALP" and data["id"] == str(location.pk)
    assert data["publish"] is True and data["country"] == "NLD" and data["time_zone"] == "Europe/Amsterdam"
    assert data["coordinates"] == {"latitude": "52.090000", "longitude": "5.120000"}
    assert data["opening_times"] == {"twentyfourseven": True}
    assert data["evses"][0]["uid"] == f"{identity}*1" and data["evses"][0]["status"] == "AVAILABLE"
    assert response["OCPI-from-party-id"] == "ALP" and response["OCPI-to-party-id"] == "BRV"
    assert response["OCPI-to-country-code"] == "DE" and response["OCPI-from-country-code"] == "NL"

    evse = get(f"/ocpi/2.2.1/cpo/locations/{location.pk}/{identity}*1").json()["data"]
    assert evse["uid"] == f"{identity}*1" and len(evse["connectors"]) == 1

    connector = get(f"/ocpi/2.2.1/cpo/locations/{location.pk}/{identity}*1/1").json()["data"]
    assert connector == {
        "id": "1",
        "standard": "IEC_62196_T2",
        "format": "SOCKET",
        "power_type": "AC_3_PHASE",
        "max_voltage": 230,
        "max_amperage": 32,
        "max_electric_power": 22000,
        "last_updated": connector["last_updated"],
    }
    assert data["last_updated"] >= connector["last_updated"]


@pytest.mark.parametrize(
    ("status", "online", "expected"),
    [
        ("Available", True, "AVAILABLE"),
        ("Charging", True, "CHARGING"),
        ("Faulted", True, "OUTOFORDER"),
        ("Unavailable", True, "INOPERATIVE"),
        ("Available", False, "UNKNOWN"),
    ],
)
def test_statuses_are_mapped(alpha, partner, status, online, expected):
    with schema_context(alpha.schema_name):
        location = site(status=status, online=online)

    data = get(f"/ocpi/2.2.1/cpo/locations/{location.pk}").json()["data"]
    assert data["evses"][0]["status"] == expected


@pytest.mark.parametrize("suffix", ["999999", "abc", "{pk}/NOPE*1", "{pk}/{uid}/9"])
def test_unknown_objects_are_2003(alpha, partner, suffix):
    with schema_context(alpha.schema_name):
        location = site()
        uid = f"{location.stations.get().identity}*1"

    response = get("/ocpi/2.2.1/cpo/locations/" + suffix.format(pk=location.pk, uid=uid))
    assert response.status_code == 404 and response.json()["status_code"] == 2003


def test_another_brands_location_is_unknown(outsider, partner):
    with schema_context(outsider.schema_name):
        theirs = site("Bravo site")

    response = get(f"/ocpi/2.2.1/cpo/locations/{theirs.pk}")
    assert response.status_code == 404 and response.json()["status_code"] == 2003
    assert get("/ocpi/2.2.1/cpo/locations").json()["data"] == []


def test_token_a_and_unknown_tokens_are_refused(alpha, partner):
    with schema_context(alpha.schema_name):
        pending = PartnerFactory()

    for token in (pending.token_a, "nobody"):
        response = get("/ocpi/2.2.1/cpo/locations", token=token)
        assert response.status_code == 401 and response.json()["status_code"] == 2000


def test_version_details_list_the_locations_sender_for_a_cpo_and_the_receiver_for_an_emsp(alpha, partner):
    endpoints = get("/ocpi/2.2.1/").json()["data"]["endpoints"]
    assert {"identifier": "locations", "role": "SENDER", "url": "http://alpha.localhost/ocpi/2.2.1/cpo/locations"} in (
        endpoints
    )

    with schema_context(alpha.schema_name):
        RoamingSettings.objects.update(roles=["EMSP"])
    endpoints = get("/ocpi/2.2.1/").json()["data"]["endpoints"]
    locations = [endpoint for endpoint in endpoints if endpoint["identifier"] == "locations"]
    assert locations == [
        {"identifier": "locations", "role": "RECEIVER", "url": "http://alpha.localhost/ocpi/2.2.1/emsp/locations"}
    ]


def test_the_list_queries_do_not_grow_with_the_locations(alpha, partner, django_assert_max_num_queries):
    with schema_context(alpha.schema_name):
        for day in (1, 2, 3):
            site(f"Site {day}")
    with django_assert_max_num_queries(12) as few:
        get("/ocpi/2.2.1/cpo/locations", limit=1)
    with django_assert_max_num_queries(len(few)):
        get("/ocpi/2.2.1/cpo/locations")
