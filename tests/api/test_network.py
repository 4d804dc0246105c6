"""The network read endpoints beyond stations: EVSEs and connectors with live status, station groups, faults."""

from datetime import UTC, datetime, timedelta

import pytest
from django_tenants.utils import schema_context

from apps.api.models import Scope
from apps.stations.models import Connector, Evse, Fault
from tests.api.conftest import api_client, key_in
from tests.groups.factories import StationGroupFactory
from tests.stations.factories import LocationFactory, StationFactory

REPORTED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def connector_make(station, evse_id: int, connector_id: int = 1, **fields) -> Connector:
    evse, _ = Evse.objects.get_or_create(station=station, evse_id=evse_id)
    return Connector.objects.create(evse=evse, connector_id=connector_id, **fields)


def fault_make(station, *, opened_at=REPORTED, closed_at=None, **fields) -> Fault:
    defaults = {"fault_class": "connector", "severity": "error", "code": "ConnectorLockFailure"}
    return Fault.objects.create(station=station, opened_at=opened_at, closed_at=closed_at, **{**defaults, **fields})


# --- every endpoint: credentials of another brand, scopes ----------------------------------------------------------

ENDPOINTS = [
    ("/api/v1/stations/{station}/evses/", Scope.STATIONS_READ),
    ("/api/v1/stations/{station}/evses/1/", Scope.STATIONS_READ),
    ("/api/v1/connectors/", Scope.STATIONS_READ),
    ("/api/v1/groups/", Scope.GROUPS_READ),
    ("/api/v1/groups/{group}/", Scope.GROUPS_READ),
    ("/api/v1/faults/", Scope.FAULTS_READ),
    ("/api/v1/faults/{fault}/", Scope.FAULTS_READ),
]


@pytest.fixture
def alpha_network(tenant):
    with schema_context(tenant.schema_name):
        station = StationFactory()
        connector_make(station, 1)
        return {
            "station": station.pk,
            "group": StationGroupFactory(stations=[station]).pk,
            "fault": fault_make(station).pk,
        }


@pytest.mark.parametrize(("template", "scope"), ENDPOINTS)
def test_every_endpoint_answers_with_the_right_scope_and_refuses_without_it(tenant, alpha_network, template, scope):
    url = template.format(**alpha_network)
    other_scopes = [other for other in Scope.values if other != scope]

    assert api_client("alpha.localhost", key_in(tenant, scopes=[scope])).get(url).status_code == 200
    refused = api_client("alpha.localhost", key_in(tenant, scopes=other_scopes)).get(url)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "scope_missing"
    assert scope in refused.json()["error"]["message"]


@pytest.mark.parametrize(("template", "scope"), ENDPOINTS)
def test_another_brands_key_is_unknown_on_this_brands_host(tenant, outsider, alpha_network, template, scope):
    response = api_client("alpha.localhost", key_in(outsider)).get(template.format(**alpha_network))

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "api_key_unknown"


@pytest.mark.parametrize("template", [template for template, _ in ENDPOINTS if "{" in template])
def test_another_brands_ids_are_not_found_with_this_brands_key(outsider, alpha_api, template):
    with schema_context(outsider.schema_name):
        station = StationFactory()
        connector_make(station, 1)
        bravo = {
            "station": station.pk,
            "group": StationGroupFactory(stations=[station]).pk,
            "fault": fault_make(station).pk,
        }

    response = alpha_api.get(template.format(**bravo))

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


# --- EVSEs and connectors ------------------------------------------------------------------------------------------


def test_a_stations_evses_list_their_connectors_with_the_status_last_reported(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        station = StationFactory()
        connector_make(station, 2, status="Available", status_reported_at=REPORTED)
        connector_make(station, 1, 2, standard="IEC_62196_T2_COMBO", power_type="DC", max_power_w=150000)
        connector_make(
            station, 1, 1, status="Faulted", error_code="GroundFailure", status_reported_at=REPORTED, format="CABLE"
        )
        connector_make(StationFactory(), 1)  # another station's

    response = alpha_api.get(f"/api/v1/stations/{station.pk}/evses/")

    assert response.status_code == 200, response.content
    evses = response.json()["results"]
    assert [(evse["station"], evse["evse_id"]) for evse in evses] == [(station.pk, 1), (station.pk, 2)]
    assert evses[0]["connectors"] == [
        {
            "connector_id": 1,
            "standard": "IEC_62196_T2",
            "format": "CABLE",
            "power_type": "AC_3_PHASE",
            "max_power_w": 22000,
            "status": "Faulted",
            "error_code": "GroundFailure",
            "status_reported_at": "2025-03-01T12:00:00Z",
        },
        {
            "connector_id": 2,
            "standard": "IEC_62196_T2_COMBO",
            "format": "SOCKET",
            "power_type": "DC",
            "max_power_w": 150000,
            "status": "Unknown",
            "error_code": "",
            "status_reported_at": None,
        },
    ]


def test_evses_page_in_the_stations_order(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        station = StationFactory()
        for evse_id in (3, 1, 2):
            connector_make(station, evse_id)

    first = alpha_api.get(f"/api/v1/stations/{station.pk}/evses/", {"page_size": 2}).json()
    second = alpha_api.get(first["next"]).json()

    assert [evse["evse_id"] for evse in first["results"] + second["results"]] == [1, 2, 3]


def test_one_evse_by_the_stations_number_or_404(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        station = StationFactory()
        connector_make(station, 2, status="Charging")

    found = alpha_api.get(f"/api/v1/stations/{station.pk}/evses/2/")
    missing = alpha_api.get(f"/api/v1/stations/{station.pk}/evses/1/")
    no_station = alpha_api.get("/api/v1/stations/999999/evses/")

    assert found.status_code == 200
    assert (found.json()["evse_id"], found.json()["connectors"][0]["status"]) == (2, "Charging")
    assert (missing.status_code, no_station.status_code) == (404, 404)


def test_connectors_across_the_network_filter_by_status_station_online_and_power(tenant, outsider, alpha_api):
    with schema_context(tenant.schema_name):
        online, offline = StationFactory(identity="CP-ON", is_online=True), StationFactory(is_online=False)
        connector_make(online, 1, status="Available")
        connector_make(online, 2, status="Charging")
        connector_make(online, 3, status="Available", power_type="DC")
        connector_make(offline, 1, status="Available")
    with schema_context(outsider.schema_name):
        connector_make(StationFactory(is_online=True), 1, status="Available")

    def rows(**filters):
        response = alpha_api.get("/api/v1/connectors/", filters)
        assert response.status_code == 200, response.content
        return [(row["station"], row["evse_id"], row["connector_id"]) for row in response.json()["results"]]

    assert len(rows()) == 4
    assert rows(status="Available", online="true") == [(online.pk, 1, 1), (online.pk, 3, 1)]
    assert rows(status="Available", online="true", power_type="AC_3_PHASE") == [(online.pk, 1, 1)]
    assert rows(station=offline.pk) == [(offline.pk, 1, 1)]
    row = alpha_api.get("/api/v1/connectors/", {"station": online.pk}).json()["results"][0]
    assert (row["station_identity"], row["station_online"], row["status"]) == ("CP-ON", True, "Available")


def test_bad_connector_filters_are_named(alpha_api):
    response = alpha_api.get("/api/v1/connectors/", {"status": "Exploded", "online": "perhaps", "station": "0"})

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"status", "online", "station"}
    assert response.json()["error"]["fields"]["status"] == ['"Exploded" is not a valid choice.']


# --- groups --------------------------------------------------------------------------------------------------------


def test_groups_list_their_kind_locations_and_size(tenant, outsider, alpha_api):
    with schema_context(tenant.schema_name):
        site = LocationFactory()
        at_site = StationFactory.create_batch(2, location=site)
        by_location = StationGroupFactory(name="Depot", kind="location", locations=[site])
        listed = StationGroupFactory(name="Fast chargers", stations=[at_site[0]], description="DC only")
    with schema_context(outsider.schema_name):
        StationGroupFactory(name="Bravo's")

    response = alpha_api.get("/api/v1/groups/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [(row["id"], row["name"], row["kind"], row["locations"], row["station_count"]) for row in rows] == [
        (by_location.pk, "Depot", "location", [site.pk], 2),
        (listed.pk, "Fast chargers", "custom", [], 1),
    ]
    assert rows[1]["description"] == "DC only"


def test_groups_filter_by_kind_and_by_a_station_they_hold(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        site = LocationFactory()
        station, elsewhere = StationFactory(location=site), StationFactory()
        by_location = StationGroupFactory(kind="location", locations=[site])
        listed = StationGroupFactory(stations=[station, elsewhere])
        StationGroupFactory(stations=[elsewhere])

    def ids(**filters):
        return [row["id"] for row in alpha_api.get("/api/v1/groups/", filters).json()["results"]]

    assert ids(kind="location") == [by_location.pk]
    assert sorted(ids(station=station.pk)) == sorted([by_location.pk, listed.pk])


def test_a_group_lists_its_member_stations_now(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        site = LocationFactory()
        first = StationFactory(location=site)
        group = StationGroupFactory(kind="location", locations=[site])
        later = StationFactory(location=site)  # joins the group by its location
        StationFactory()

    response = alpha_api.get(f"/api/v1/groups/{group.pk}/")

    assert response.status_code == 200
    assert (response.json()["stations"], response.json()["station_count"]) == ([first.pk, later.pk], 2)


def test_bad_group_filters_are_named(alpha_api):
    response = alpha_api.get("/api/v1/groups/", {"kind": "everything", "station": "x"})

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"kind", "station"}


# --- faults --------------------------------------------------------------------------------------------------------


def test_faults_list_newest_first_with_where_and_what(tenant, outsider, alpha_api):
    with schema_context(tenant.schema_name):
        station = StationFactory()
        older = fault_make(station, closed_at=REPORTED + timedelta(minutes=5))
        newer = fault_make(
            station,
            evse_id=1,
            connector_id=1,
            fault_class="ground_fault",
            severity="critical",
            code="GroundFailure",
            description="RCD tripped",
            opened_at=REPORTED + timedelta(hours=1),
        )
    with schema_context(outsider.schema_name):
        fault_make(StationFactory())

    response = alpha_api.get("/api/v1/faults/")

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [row["id"] for row in rows] == [newer.pk, older.pk]
    assert rows[0] == {
        "id": newer.pk,
        "station": station.pk,
        "evse_id": 1,
        "connector_id": 1,
        "fault_class": "ground_fault",
        "severity": "critical",
        "code": "GroundFailure",
        "description": "RCD tripped",
        "opened_at": "2025-03-01T13:00:00Z",
        "closed_at": None,
        "closed_by": "",
        "is_open": True,
    }
    assert (rows[1]["is_open"], rows[1]["closed_at"]) == (False, "2025-03-01T12:05:00Z")


def test_faults_filter_by_state_station_severity_class_code_and_time(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        station, other = StationFactory(), StationFactory()
        closed = fault_make(station, closed_at=REPORTED + timedelta(minutes=1))
        hot = fault_make(
            station, fault_class="over_temperature", severity="warning", code="HighTemperature", opened_at=REPORTED
        )
        late = fault_make(other, opened_at=REPORTED + timedelta(days=1))

    def ids(**filters):
        response = alpha_api.get("/api/v1/faults/", filters)
        assert response.status_code == 200, response.content
        return sorted(row["id"] for row in response.json()["results"])

    assert ids(open="true") == sorted([hot.pk, late.pk])
    assert ids(open="false") == [closed.pk]
    assert ids(station=other.pk) == [late.pk]
    assert ids(severity="warning") == ids(fault_class="over_temperature") == ids(code="HighTemperature") == [hot.pk]
    assert ids(opened_after="2025-03-01T18:00:00Z") == [late.pk]
    assert ids(opened_before="2025-03-01T18:00:00Z") == sorted([closed.pk, hot.pk])


def test_bad_fault_filters_are_named(alpha_api):
    response = alpha_api.get(
        "/api/v1/faults/", {"open": "sometimes", "severity": "meh", "fault_class": "gremlins", "opened_after": "noon"}
    )
    backwards = alpha_api.get(
        "/api/v1/faults/", {"opened_after": "2025-03-02T00:00:00Z", "opened_before": "2025-03-01T00:00:00Z"}
    )

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"open", "severity", "fault_class", "opened_after"}
    assert backwards.status_code == 400
    assert backwards.json()["error"]["fields"] == {"opened_before": ["Must not be before opened_after."]}


def test_one_fault(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        fault = fault_make(StationFactory(), code="PowerMeterFailure", fault_class="power_meter")

    response = alpha_api.get(f"/api/v1/faults/{fault.pk}/")

    assert response.status_code == 200
    assert (response.json()["code"], response.json()["fault_class"]) == ("PowerMeterFailure", "power_meter")
    assert alpha_api.get(f"/api/v1/faults/{fault.pk + 1000}/").status_code == 404
