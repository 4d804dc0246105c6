"""The locations module as an eMSP sees our CPO side: the paginated list, objects, statuses and refusals."""

from datetime import UTC, datetime

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.roaming.models import OutboxMessage, PartnerLocation, RoamingSettings
from apps.roaming.modules.locations import location_push, location_validate
from apps.roaming.pull import partner_pull
from apps.stations.models import Connector, Evse, Location
from apps.stations.services import (
    connector_status_report,
    station_boot,
    station_connected,
    station_disconnected,
    station_registration_set,
)
from tests.roaming.conftest import TOKEN_C, b64, ocpi, partner_as, roles_set
from tests.roaming.factories import PartnerFactory
from tests.stations.factories import LocationFactory, StationFactory


def get(path: str, token: str = TOKEN_C, **params):
    return ocpi("GET", path, token=token, **params)


def site(name="Site", *, status="Available", online=True, created=None, reported=None):
    """A location with one station, EVSE 1 and connector 1 (22 kW AC 3 phases)."""
    location = LocationFactory(name=name, address="Main 1", latitude="52.090000", longitude="5.120000")
    station = StationFactory(location=location, is_online=online)
    evse = Evse.objects.create(station=station, evse_id=1)
    connector = Connector.objects.create(
        evse=evse, connector_id=1, status=status, status_reported_at=reported or created
    )
    if created:  # made and last edited then
        for row in (location, station):
            type(row).objects.filter(pk=row.pk).update(created_at=created, updated_at=created)
        Connector.objects.filter(pk=connector.pk).update(updated_at=created)
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


@pytest.mark.parametrize("standard", Connector.Standard.values)
def test_what_we_publish_passes_the_rules_we_hold_partners_to(alpha, partner, standard):
    with schema_context(alpha.schema_name):
        location = site("Depot", reported=timezone.now())
        Connector.objects.filter(evse__station__location=location).update(standard=standard)

    published = get(f"/ocpi/2.2.1/cpo/locations/{location.pk}").json()["data"]

    location_validate(published)  # raises on a value outside OCPI's enums
    assert published["evses"][0]["connectors"][0]["standard"] == standard


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


# --- tariff_ids on connectors -------------------------------------------------------------------------------------


def test_connectors_name_the_tariff_a_driver_without_a_plan_pays(alpha, partner):
    from tests.tariffs.factories import TariffAssignmentFactory, TariffFactory

    with schema_context(alpha.schema_name):
        location = site("Priced")
        bare = site("Free")
        TariffAssignmentFactory(tariff=TariffFactory(code="AC-STD"), location=location)
        TariffAssignmentFactory(
            tariff=TariffFactory(code="FLEET"), location=location, customer_group_type="fleet", customer_group_ref="F1"
        )

    listed = {loc["id"]: loc for loc in get("/ocpi/2.2.1/cpo/locations").json()["data"]}
    assert listed[str(location.pk)]["evses"][0]["connectors"][0]["tariff_ids"] == ["AC-STD"]
    assert "tariff_ids" not in listed[str(bare.pk)]["evses"][0]["connectors"][0]
    one = get(f"/ocpi/2.2.1/cpo/locations/{location.pk}").json()["data"]
    assert one["evses"][0]["connectors"][0]["tariff_ids"] == ["AC-STD"]


# --- CPO pushes: EVSE status PATCHes and location PUTs --------------------------------------------------------------


def test_a_connector_status_report_patches_the_evse_status_at_every_emsp(
    alpha, partner, partner_server, django_capture_on_commit_callbacks
):
    with schema_context(alpha.schema_name):
        location = site("Live")
        station = location.stations.get()
        with django_capture_on_commit_callbacks(execute=True):
            connector_status_report(station_id=station.pk, evse_id=1, connector_id=1, status="Charging")

    patches = partner_server.of("PATCH", "/ocpi/2.2.1/locations/")
    assert [p.path for p in patches] == [f"/ocpi/2.2.1/locations/NL/ALP/{location.pk}/{station.identity}*1"]
    assert patches[0].body["status"] == "CHARGING" and patches[0].body["last_updated"].endswith("Z")
    assert patches[0].headers["Authorization"] == "Token " + b64("alpha-token")


def test_the_patch_shows_the_whole_evse_as_the_get_does(
    alpha, partner, partner_server, django_capture_on_commit_callbacks
):
    with schema_context(alpha.schema_name):
        location = site("Twin")
        station = location.stations.get()
        Connector.objects.create(evse=station.evses.get(), connector_id=2, status="Charging")
        with django_capture_on_commit_callbacks(execute=True):
            connector_status_report(station_id=station.pk, evse_id=1, connector_id=1, status="Faulted")

    # Connector 2 still charges: the EVSE is CHARGING, as GET says.
    assert partner_server.of("PATCH")[0].body["status"] == "CHARGING"
    evse = get(f"/ocpi/2.2.1/cpo/locations/{location.pk}/{station.identity}*1").json()["data"]
    assert evse["status"] == "CHARGING"


def test_no_push_for_an_unpublished_location_or_without_partners(
    alpha, partner, partner_server, django_capture_on_commit_callbacks
):
    with schema_context(alpha.schema_name):
        hidden = site("No coordinates")
        Location.objects.filter(pk=hidden.pk).update(latitude=None, longitude=None)
        with django_capture_on_commit_callbacks(execute=True):
            connector_status_report(station_id=hidden.stations.get().pk, evse_id=1, connector_id=1, status="Charging")
        partner.status = partner.Status.UNREGISTERED
        partner.save()
        shown = site("Shown")
        with django_capture_on_commit_callbacks(execute=True):
            connector_status_report(station_id=shown.stations.get().pk, evse_id=1, connector_id=1, status="Charging")
        assert not OutboxMessage.objects.exists()

    assert partner_server.requests == []


def test_a_station_going_offline_and_back_patches_unknown_then_the_real_status(
    alpha, partner, partner_server, django_capture_on_commit_callbacks
):
    with schema_context(alpha.schema_name):
        location = site("Flaky", status="Available")
        station = location.stations.get()
        with django_capture_on_commit_callbacks(execute=True):
            station_connected(station_id=station.pk, protocol="ocpp1.6", connection_id="c1")
        with django_capture_on_commit_callbacks(execute=True):
            station_disconnected(station_id=station.pk, connection_id="c1")
        with django_capture_on_commit_callbacks(execute=True):
            station_connected(station_id=station.pk, protocol="ocpp1.6", connection_id="c2")

    assert [p.body["status"] for p in partner_server.of("PATCH")] == ["AVAILABLE", "UNKNOWN", "AVAILABLE"]


def test_location_push_puts_the_whole_location_and_accepting_a_station_pushes_it(
    alpha, partner, partner_server, django_capture_on_commit_callbacks
):
    with schema_context(alpha.schema_name):
        location = site("Depot")
        with django_capture_on_commit_callbacks(execute=True):
            assert location_push(location=location) == 1
        pending = StationFactory(location=location, registration_status="pending")
        Evse.objects.create(station=pending, evse_id=1)
        with django_capture_on_commit_callbacks(execute=True):
            station_registration_set(station=pending, status="accepted")

    puts = partner_server.of("PUT", f"/ocpi/2.2.1/locations/NL/ALP/{location.pk}")
    assert len(puts) == 2
    assert puts[0].body["id"] == str(location.pk) and len(puts[0].body["evses"]) == 1
    assert f"{pending.identity}*1" in [evse["uid"] for evse in puts[1].body["evses"]]


def test_edits_of_a_location_or_a_connector_put_the_location_again_and_move_its_last_updated(
    alpha, partner, partner_server, django_capture_on_commit_callbacks
):
    with schema_context(alpha.schema_name):
        location = site("Depot", created=datetime(2026, 1, 1, tzinfo=UTC))
        station = location.stations.get()
        with django_capture_on_commit_callbacks(execute=True):
            location.name = "Depot North"
            location.save()
        connector = Connector.objects.get(evse__station=station)
        with django_capture_on_commit_callbacks(execute=True):
            connector.standard, connector.max_power_w = Connector.Standard.CHADEMO, 50000
            connector.power_type = Connector.PowerType.DC
            connector.save()

    puts = partner_server.of("PUT", f"/ocpi/2.2.1/locations/NL/ALP/{location.pk}")
    assert [put.body["name"] for put in puts] == ["Depot North"] * 2
    assert puts[0].body["last_updated"] > "2026-01-02"
    assert puts[1].body["evses"][0]["connectors"][0]["standard"] == "CHADEMO"
    assert puts[1].body["evses"][0]["connectors"][0]["max_electric_power"] == 50000
    # an incremental pull since the edit finds it too
    since = get("/ocpi/2.2.1/cpo/locations", date_from=puts[0].body["last_updated"]).json()["data"]
    assert [loc["id"] for loc in since] == [str(location.pk)]


def test_a_station_moved_puts_both_locations_and_its_own_reports_put_nothing(
    alpha, partner, partner_server, django_capture_on_commit_callbacks
):
    with schema_context(alpha.schema_name):
        depot, plaza = site("Depot"), site("Plaza")
        station = depot.stations.get()
        with django_capture_on_commit_callbacks(execute=True):
            station.location = plaza
            station.save()
        with django_capture_on_commit_callbacks(execute=True):
            station_boot(station_id=station.pk, vendor="ACME", model="Wallbox 2", firmware_version="2.0")
            connector_status_report(station_id=station.pk, evse_id=1, connector_id=1, status="Charging")

    puts = {put.path.rsplit("/", 1)[1]: put.body for put in partner_server.of("PUT", "/ocpi/2.2.1/locations/")}
    assert set(puts) == {str(depot.pk), str(plaza.pk)} and len(partner_server.of("PUT")) == 2
    assert puts[str(depot.pk)]["evses"] == []
    assert f"{station.identity}*1" in [evse["uid"] for evse in puts[str(plaza.pk)]["evses"]]
    assert [patch.body["status"] for patch in partner_server.of("PATCH")] == ["CHARGING"]


# --- eMSP, receiver interface -------------------------------------------------------------------------------------

EMSP = "/ocpi/2.2.1/emsp/locations/DE/BRV"


def connector_data(connector_id="1", **changes):
    return {
        "id": connector_id,
        "standard": "IEC_62196_T2",
        "format": "SOCKET",
        "power_type": "AC_3_PHASE",
        "max_voltage": 230,
        "max_amperage": 32,
        "last_updated": "2026-03-01T10:00:00Z",
    } | changes


def evse_data(uid="BRV-1", **changes):
    return {
        "uid": uid,
        "status": "AVAILABLE",
        "connectors": [connector_data()],
        "last_updated": "2026-03-01T10:00:00Z",
    } | changes


def location_data(location_id="LOC1", **changes):
    return {
        "country_code": "DE",
        "party_id": "BRV",
        "id": location_id,
        "publish": True,
        "address": "Hauptstr. 1",
        "city": "Berlin",
        "country": "DEU",
        "coordinates": {"latitude": "52.520008", "longitude": "13.404954"},
        "time_zone": "Europe/Berlin",
        "evses": [evse_data()],
        "last_updated": "2026-03-01T10:00:00Z",
    } | changes


@pytest.fixture
def cpo_partner(alpha, partner):
    """Alpha as an eMSP; Bravo a CPO (DE*BRV) pushing its locations."""
    roles_set(alpha, ["EMSP"])
    with schema_context(alpha.schema_name):
        return partner_as(partner, role="CPO", country_code="DE", party_id="BRV", endpoints_role="SENDER")


def stored(alpha, location_id="LOC1") -> PartnerLocation:
    with schema_context(alpha.schema_name):
        return PartnerLocation.objects.get(object_id=location_id)


def test_put_then_get_a_partner_location(alpha, cpo_partner):
    response = ocpi("PUT", f"{EMSP}/LOC1", location_data())

    assert response.status_code == 200 and response.json()["status_code"] == 1000
    row = stored(alpha)
    assert (
        row.country_code == "DE" and row.party_id == "BRV" and row.last_updated == datetime(2026, 3, 1, 10, tzinfo=UTC)
    )
    got = ocpi("GET", f"{EMSP}/LOC1")
    assert got.json()["data"] == location_data()
    assert got.json()["data"]["evses"][0]["connectors"][0]["id"] == "1"

    ocpi("PUT", f"{EMSP}/LOC1", location_data(city="Potsdam", evses=[]))
    assert stored(alpha).data["city"] == "Potsdam" and stored(alpha).data["evses"] == []


def test_patch_merges_and_needs_last_updated(alpha, cpo_partner):
    ocpi("PUT", f"{EMSP}/LOC1", location_data())

    refused = ocpi("PATCH", f"{EMSP}/LOC1", {"name": "Renamed"})
    assert refused.json()["status_code"] == 2001 and "last_updated" in refused.json()["status_message"]
    ok = ocpi("PATCH", f"{EMSP}/LOC1", {"name": "Renamed", "last_updated": "2026-03-02T00:00:00Z"})
    assert ok.json()["status_code"] == 1000
    data = stored(alpha).data
    assert data["name"] == "Renamed" and data["city"] == "Berlin" and len(data["evses"]) == 1
    assert stored(alpha).last_updated == datetime(2026, 3, 2, tzinfo=UTC)


def test_a_status_patch_outside_ocpis_values_is_2001_and_changes_nothing(alpha, cpo_partner):
    ocpi("PUT", f"{EMSP}/LOC1", location_data())

    refused = ocpi("PATCH", f"{EMSP}/LOC1/BRV-1", {"status": "FREE", "last_updated": "2026-03-02T00:00:00Z"})

    assert refused.json()["status_code"] == 2001 and "status 'FREE'" in refused.json()["status_message"]
    data = stored(alpha).data
    assert data["evses"][0]["status"] == "AVAILABLE" and data["last_updated"] == "2026-03-01T10:00:00Z"


def test_evse_and_connector_put_and_patch_go_inside_the_stored_location(alpha, cpo_partner):
    ocpi("PUT", f"{EMSP}/LOC1", location_data())

    assert ocpi("PUT", f"{EMSP}/LOC1/BRV-2", evse_data("BRV-2")).json()["status_code"] == 1000
    status = {"status": "CHARGING", "last_updated": "2026-03-03T08:00:00Z"}
    assert ocpi("PATCH", f"{EMSP}/LOC1/BRV-1", status).json()["status_code"] == 1000
    assert ocpi("PUT", f"{EMSP}/LOC1/BRV-1/2", connector_data("2")).json()["status_code"] == 1000
    patch = {"max_electric_power": 11000, "last_updated": "2026-03-04T00:00:00Z"}
    assert ocpi("PATCH", f"{EMSP}/LOC1/BRV-1/1", patch).json()["status_code"] == 1000

    data = stored(alpha).data
    assert [e["uid"] for e in data["evses"]] == ["BRV-1", "BRV-2"]
    first = data["evses"][0]
    assert first["status"] == "CHARGING" and [c["id"] for c in first["connectors"]] == ["1", "2"]
    assert (
        first["connectors"][0]["max_electric_power"] == 11000 and first["connectors"][0]["standard"] == "IEC_62196_T2"
    )
    assert first["last_updated"] == "2026-03-04T00:00:00Z" and data["last_updated"] == "2026-03-04T00:00:00Z"
    assert ocpi("GET", f"{EMSP}/LOC1/BRV-1").json()["data"]["status"] == "CHARGING"
    assert ocpi("GET", f"{EMSP}/LOC1/BRV-1/1").json()["data"]["max_electric_power"] == 11000


@pytest.mark.parametrize(
    ("suffix", "method", "body"),
    [
        ("NOPE", "GET", None),
        ("NOPE", "PATCH", {"name": "x", "last_updated": "2026-03-02T00:00:00Z"}),
        ("NOPE/BRV-1", "PUT", evse_data()),
        ("LOC1/NOPE", "GET", None),
        ("LOC1/NOPE", "PATCH", {"status": "CHARGING", "last_updated": "2026-03-02T00:00:00Z"}),
        ("LOC1/NOPE/1", "PUT", connector_data()),
        ("LOC1/BRV-1/9", "GET", None),
    ],
)
def test_unknown_partner_objects_are_2003(alpha, cpo_partner, suffix, method, body):
    ocpi("PUT", f"{EMSP}/LOC1", location_data())

    response = ocpi(method, f"{EMSP}/{suffix}", body)
    assert response.status_code == 404 and response.json()["status_code"] == 2003


@pytest.mark.parametrize(
    ("suffix", "body", "field"),
    [
        ("LOC1", location_data(city=None), "city"),
        ("LOC1", location_data(coordinates={"latitude": "1"}), "coordinates"),
        ("LOC1", location_data(evses=[evse_data(status=None)]), "evses[0].status"),
        (
            "LOC1",
            location_data(evses=[evse_data(connectors=[connector_data(standard=None)])]),
            "connectors[0].standard",
        ),
        ("LOC1", location_data(last_updated="yesterday"), "last_updated"),
        ("LOC1", location_data(id="OTHER"), "id"),
        ("LOC1/BRV-1", evse_data(connectors=[]), "connectors"),
        ("LOC1/BRV-1/1", connector_data(max_voltage=None), "max_voltage"),
        # values outside OCPI's enums and types
        ("LOC1", location_data(evses=[evse_data(status="FREE")]), "evses[0].status"),
        ("LOC1", location_data(parking_type="BEACH"), "parking_type"),
        ("LOC1", location_data(publish="yes"), "publish"),
        ("LOC1/BRV-1", evse_data(capabilities=["RFID_READER", "TELEPORT"]), "capabilities[1]"),
        ("LOC1/BRV-1/1", connector_data(standard="TYPE2"), "standard"),
        ("LOC1/BRV-1/1", connector_data(format="PLUG"), "format"),
        ("LOC1/BRV-1/1", connector_data(power_type="AC"), "power_type"),
        ("LOC1/BRV-1/1", connector_data(max_amperage="32A"), "max_amperage"),
    ],
)
def test_invalid_objects_are_2001_naming_the_field(alpha, cpo_partner, suffix, body, field):
    if "/" in suffix:
        ocpi("PUT", f"{EMSP}/LOC1", location_data())

    response = ocpi("PUT", f"{EMSP}/{suffix}", body)
    assert response.status_code == 200 and response.json()["status_code"] == 2001
    assert field in response.json()["status_message"]


def test_another_partys_path_is_refused(alpha, cpo_partner):
    response = ocpi("PUT", "/ocpi/2.2.1/emsp/locations/NL/XYZ/LOC1", location_data(country_code="NL", party_id="XYZ"))

    assert response.json()["status_code"] == 2001
    with schema_context(alpha.schema_name):
        assert not PartnerLocation.objects.exists()


def test_the_receiver_refuses_invalid_json_and_unknown_tokens(alpha, cpo_partner):
    with schema_context(alpha.schema_name):
        pending = PartnerFactory()
    client = Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Token {b64(TOKEN_C)}")

    bad = client.put(f"{EMSP}/LOC1", "{not json", content_type="application/json")
    assert bad.status_code == 400 and bad.json()["status_code"] == 2001
    for token in (pending.token_a, "nobody"):
        response = ocpi("PUT", f"{EMSP}/LOC1", location_data(), token=token)
        assert response.status_code == 401 and response.json()["status_code"] == 2000


def test_the_receiver_is_only_for_an_emsp(alpha, partner):
    response = ocpi("PUT", f"{EMSP}/LOC1", location_data())

    assert response.status_code == 404 and response.json()["status_code"] == 2000


def test_a_pull_follows_the_link_pages_and_stores_the_valid_locations(alpha, cpo_partner, partner_server):
    # The stand-in answers by path: the second page's Link uses its own path (a partner may link anywhere).
    second = f"{partner_server.url}/ocpi/2.2.1/locations/page-2?offset=2&limit=2"
    first_page = [location_data("L1"), location_data("L2", city=None)]
    partner_server.answer("GET", "/ocpi/2.2.1/locations", first_page, headers={"Link": f'<{second}>; rel="next"'})
    partner_server.answer("GET", "/ocpi/2.2.1/locations/page-2", [location_data("L3")])

    with schema_context(alpha.schema_name):
        result = partner_pull(partner=cpo_partner, module="locations")
        assert sorted(PartnerLocation.objects.values_list("object_id", flat=True)) == ["L1", "L3"]

    assert result.pages == 2 and result.stored == 2
    assert len(result.refused) == 1 and result.refused[0].startswith("L2:") and "city" in result.refused[0]
    asked = partner_server.of("GET", "/ocpi/2.2.1/locations")
    assert [r.path for r in asked] == ["/ocpi/2.2.1/locations", "/ocpi/2.2.1/locations/page-2"]
    assert asked[1].query == {"offset": ["2"], "limit": ["2"]}


def test_a_pull_refuses_another_partys_location(alpha, cpo_partner, partner_server):
    partner_server.answer("GET", "/ocpi/2.2.1/locations", [location_data("X1", party_id="OTH")])

    with schema_context(alpha.schema_name):
        result = partner_pull(partner=cpo_partner, module="locations")
        assert result.stored == 0 and not PartnerLocation.objects.exists()
