"""Where tariffs apply, over the API (assignments validated by `tariff_assignment_create`), and a tariff as the OCPI
2.2.1 object partners get."""

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django_tenants.utils import schema_context

from apps.api.models import Scope
from apps.billing.ocpi import canonical_json
from apps.tariffs.models import Tariff, TariffAssignment
from apps.tariffs.ocpi import tariff_to_ocpi
from apps.tariffs.selectors import CustomerGroup, tariff_for_station
from tests.api.conftest import api_client, key_in
from tests.groups.factories import StationGroupFactory
from tests.stations.factories import LocationFactory, StationFactory
from tests.tariffs.factories import ConnectorFactory, EvseFactory, TariffAssignmentFactory, TariffFactory

ALPHA, BRAVO = "alpha.localhost", "bravo.localhost"
URL = "/api/v1/tariff-assignments/"
SCOPES = ("location", "station_group", "connector")


def post_json(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def fields_of(response) -> dict:
    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
    return response.json()["error"]["fields"]


def assignment_count(tenant) -> int:
    with schema_context(tenant.schema_name):
        return TariffAssignment.objects.count()


def test_an_assigned_tariff_prices_the_location_until_the_assignment_is_deleted(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        tariff = TariffFactory(code="AC-1")
        station = StationFactory()

    created = post_json(alpha_api, URL, {"tariff": tariff.pk, "location": station.location_id, "priority": 5})

    assert created.status_code == 201, created.content
    body = created.json()
    assert {key: body[key] for key in ("tariff", "tariff_code", "scope", "location", "station_group", "connector")} == {
        "tariff": tariff.pk,
        "tariff_code": "AC-1",
        "scope": "location",
        "location": station.location_id,
        "station_group": None,
        "connector": None,
    }
    assert (body["customer_group_type"], body["customer_group_ref"], body["priority"]) == ("all", "", 5)
    assert (body["valid_from"], body["valid_until"]) == (None, None)
    with schema_context(tenant.schema_name):
        assert tariff_for_station(station, at=datetime.now(UTC)) == tariff
    assert alpha_api.get(f"{URL}{body['id']}/").json() == body
    assert alpha_api.get(URL).json()["results"] == [body]
    # While assigned the tariff cannot be deleted; once the assignment is gone, it can.
    assert alpha_api.delete(f"/api/v1/tariffs/{tariff.pk}/").status_code == 409

    deleted = alpha_api.delete(f"{URL}{body['id']}/")

    assert deleted.status_code == 204
    assert alpha_api.get(f"{URL}{body['id']}/").status_code == 404
    with schema_context(tenant.schema_name):
        assert tariff_for_station(station, at=datetime.now(UTC)) is None
    assert alpha_api.delete(f"/api/v1/tariffs/{tariff.pk}/").status_code == 204


def test_a_connector_is_named_by_its_station_evse_and_connector_numbers(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        tariff = TariffFactory()
        station = StationFactory(identity="CP-DC-1")
        connector = ConnectorFactory(evse=EvseFactory(station=station, evse_id=2), connector_id=1)

    created = post_json(
        alpha_api, URL, {"tariff": tariff.pk, "connector": {"station": station.pk, "evse_id": 2, "connector_id": 1}}
    )

    assert created.status_code == 201, created.content
    assert created.json()["scope"] == "connector"
    assert created.json()["connector"] == {
        "station": station.pk,
        "station_identity": "CP-DC-1",
        "evse_id": 2,
        "connector_id": 1,
    }
    with schema_context(tenant.schema_name):
        assert TariffAssignment.objects.get().connector_id == connector.pk
    missing = post_json(
        alpha_api, URL, {"tariff": tariff.pk, "connector": {"station": station.pk, "evse_id": 2, "connector_id": 2}}
    )
    assert list(fields_of(missing)) == ["connector"]


def test_a_station_group_and_a_customer_group_with_a_validity(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        tariff = TariffFactory()
        station = StationFactory()
        group = StationGroupFactory(stations=[station])

    created = post_json(
        alpha_api,
        URL,
        {
            "tariff": tariff.pk,
            "station_group": group.pk,
            "customer_group_type": "fleet",
            "customer_group_ref": "TAXI-CO",
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": "2027-01-01T00:00:00+01:00",
        },
    )

    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["scope"], body["station_group"]) == ("station_group", group.pk)
    assert (body["customer_group_type"], body["customer_group_ref"]) == ("fleet", "TAXI-CO")
    assert (body["valid_from"], body["valid_until"]) == ("2026-01-01T00:00:00Z", "2026-12-31T23:00:00Z")
    with schema_context(tenant.schema_name):
        during = datetime(2026, 6, 1, tzinfo=UTC)
        assert tariff_for_station(station, at=during, customer_group=CustomerGroup("fleet", "TAXI-CO")) == tariff
        assert tariff_for_station(station, at=during) is None  # not for everyone


def test_none_or_several_places_are_refused_naming_them_and_nothing_is_stored(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        tariff = TariffFactory()
        station = StationFactory()
        group = StationGroupFactory(stations=[station])

    nowhere = post_json(alpha_api, URL, {"tariff": tariff.pk})
    twice = post_json(alpha_api, URL, {"tariff": tariff.pk, "location": station.location_id, "station_group": group.pk})

    assert fields_of(nowhere) == {name: ["Give one of location, station_group or connector."] for name in SCOPES}
    assert fields_of(twice) == {
        name: ["Give only one of location, station_group or connector."] for name in ("location", "station_group")
    }
    assert assignment_count(tenant) == 0


def test_customer_groups_and_validity_are_checked_by_the_domains_rules(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        tariff = TariffFactory()
        location = LocationFactory()
    at = {"tariff": tariff.pk, "location": location.pk}

    plan_without_ref = post_json(alpha_api, URL, {**at, "customer_group_type": "plan"})
    everyone_with_ref = post_json(alpha_api, URL, {**at, "customer_group_ref": "GOLD"})
    backwards = post_json(
        alpha_api, URL, {**at, "valid_from": "2026-02-01T00:00:00Z", "valid_until": "2026-01-01T00:00:00Z"}
    )

    assert fields_of(plan_without_ref) == {"customer_group_ref": ["Name the plan, fleet or roaming partner."]}
    assert fields_of(everyone_with_ref) == {"customer_group_ref": ["Leave empty for all customers."]}
    assert fields_of(backwards) == {"valid_until": ["Must be after valid from."]}
    assert assignment_count(tenant) == 0


def test_badly_typed_input_is_refused_naming_the_field(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        location = LocationFactory()

    assert list(fields_of(post_json(alpha_api, URL, {"location": location.pk}))) == ["tariff"]
    wrong = post_json(
        alpha_api,
        URL,
        {"tariff": "AC-1", "location": location.pk, "priority": 40000, "customer_group_type": "vip", "connector": 7},
    )
    assert sorted(fields_of(wrong)) == ["connector", "customer_group_type", "priority", "tariff"]
    listed = alpha_api.post(URL, "[1]", content_type="application/json")
    assert (listed.status_code, listed.json()["error"]["code"]) == (400, "invalid")
    assert assignment_count(tenant) == 0


def test_another_brands_tariff_location_group_or_connector_is_unknown_here(tenant, outsider, alpha_api):
    """Ids in the body that this brand does not have are a 400 naming the field (not a 404: the path exists)."""
    with schema_context(outsider.schema_name):
        theirs = TariffFactory()
        their_station = StationFactory()
        their_group = StationGroupFactory(stations=[their_station])
        ConnectorFactory(evse=EvseFactory(station=their_station))
    with schema_context(tenant.schema_name):
        ours = TariffFactory()
        location = LocationFactory()

    cases = {
        "tariff": {"tariff": theirs.pk, "location": location.pk},
        "location": {"tariff": ours.pk, "location": their_station.location_id},
        "station_group": {"tariff": ours.pk, "station_group": their_group.pk},
        "connector": {"tariff": ours.pk, "connector": {"station": their_station.pk, "evse_id": 1, "connector_id": 1}},
    }
    for field, body in cases.items():
        errors = fields_of(post_json(alpha_api, URL, body))
        assert list(errors) == [field]
        assert errors[field][0].startswith("No ") and "this brand" in errors[field][0]

    assert assignment_count(tenant) == 0
    assert assignment_count(outsider) == 0


def test_assignments_are_filtered_by_tariff_place_customer_group_and_time(tenant, alpha_api):
    now = datetime.now(UTC)
    with schema_context(tenant.schema_name):
        ac, dc = TariffFactory(), TariffFactory()
        station = StationFactory()
        group = StationGroupFactory(stations=[station])
        plug = ConnectorFactory(evse=EvseFactory(station=station, evse_id=1), connector_id=2)
        other_plug = ConnectorFactory(evse=plug.evse, connector_id=3)
        at_location = TariffAssignmentFactory(tariff=ac, location=station.location)
        at_group = TariffAssignmentFactory(
            tariff=ac, station_group=group, customer_group_type="plan", customer_group_ref="GOLD"
        )
        at_plug = TariffAssignmentFactory(tariff=dc, connector=plug, valid_until=now - timedelta(days=1))
        at_other_plug = TariffAssignmentFactory(tariff=dc, connector=other_plug, valid_from=now + timedelta(days=1))

    def ids(**query) -> list[int]:
        response = alpha_api.get(URL, query)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [at_location.pk, at_group.pk, at_plug.pk, at_other_plug.pk]
    assert ids(ordering="-id") == [at_other_plug.pk, at_plug.pk, at_group.pk, at_location.pk]
    assert ids(tariff=dc.pk) == [at_plug.pk, at_other_plug.pk]
    assert ids(location=station.location_id) == [at_location.pk]
    assert ids(station_group=group.pk) == [at_group.pk]
    assert ids(station=station.pk) == [at_plug.pk, at_other_plug.pk]
    assert ids(station=station.pk, evse_id=1, connector_id=3) == [at_other_plug.pk]
    assert ids(station=station.pk, evse_id=2) == []
    assert ids(customer_group_type="plan") == [at_group.pk]
    assert ids(customer_group_ref="GOLD") == [at_group.pk]
    assert ids(active_at=now.isoformat()) == [at_location.pk, at_group.pk]
    assert ids(active_at=(now + timedelta(days=2)).isoformat()) == [at_location.pk, at_group.pk, at_other_plug.pk]


def test_bad_filters_are_refused_naming_them(alpha_api):
    assert list(fields_of(alpha_api.get(URL, {"evse_id": 1}))) == ["evse_id"]
    assert list(fields_of(alpha_api.get(URL, {"station": 1, "connector_id": 1}))) == ["connector_id"]
    assert list(fields_of(alpha_api.get(URL, {"active_at": "yesterday"}))) == ["active_at"]
    assert list(fields_of(alpha_api.get(URL, {"customer_group_type": "vip"}))) == ["customer_group_type"]
    assert list(fields_of(alpha_api.get(URL, {"tariff": 0}))) == ["tariff"]


def test_another_brands_assignment_is_not_found_and_not_deleted(tenant, outsider, alpha_api):
    with schema_context(outsider.schema_name):
        theirs = TariffAssignmentFactory(location=LocationFactory())
    with schema_context(tenant.schema_name):
        TariffAssignmentFactory(location=LocationFactory())

    assert alpha_api.get(f"{URL}{theirs.pk}/").status_code == 404
    deleted = alpha_api.delete(f"{URL}{theirs.pk}/")
    listed = alpha_api.get(URL, {"tariff": theirs.tariff_id}).json()["results"]

    assert (deleted.status_code, deleted.json()["error"]["code"]) == (404, "not_found")
    assert theirs.pk not in [row["id"] for row in listed]
    assert assignment_count(outsider) == 1
    bravo = api_client(BRAVO, key_in(outsider, scopes=[Scope.TARIFFS_READ]))
    assert bravo.get(f"{URL}{theirs.pk}/").status_code == 200


def test_another_brands_key_is_unknown_here(tenant, outsider):
    with schema_context(tenant.schema_name):
        assignment = TariffAssignmentFactory(location=LocationFactory())
        tariff = assignment.tariff
    stranger = api_client(ALPHA, key_in(outsider))

    for response in (
        stranger.get(URL),
        post_json(stranger, URL, {"tariff": tariff.pk, "location": assignment.location_id}),
        stranger.get(f"{URL}{assignment.pk}/"),
        stranger.delete(f"{URL}{assignment.pk}/"),
        stranger.get(f"/api/v1/tariffs/{tariff.pk}/ocpi/"),
    ):
        assert (response.status_code, response.json()["error"]["code"]) == (401, "api_key_unknown")
    assert assignment_count(tenant) == 1


def test_reading_needs_tariffs_read_and_writing_tariffs_write(tenant):
    with schema_context(tenant.schema_name):
        assignment = TariffAssignmentFactory(location=LocationFactory())
    reader = api_client(ALPHA, key_in(tenant, scopes=[Scope.TARIFFS_READ]))
    writer = api_client(ALPHA, key_in(tenant, scopes=[Scope.TARIFFS_WRITE]))
    body = {"tariff": assignment.tariff_id, "location": assignment.location_id}

    for refused, scope in (
        (post_json(reader, URL, body), "tariffs:write"),
        (reader.delete(f"{URL}{assignment.pk}/"), "tariffs:write"),
        (writer.get(URL), "tariffs:read"),
        (writer.get(f"{URL}{assignment.pk}/"), "tariffs:read"),
        (writer.get(f"/api/v1/tariffs/{assignment.tariff_id}/ocpi/"), "tariffs:read"),
    ):
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "scope_missing")
        assert scope in refused.json()["error"]["message"]
    assert reader.get(f"{URL}{assignment.pk}/").status_code == 200
    assert assignment_count(tenant) == 1


# --- the OCPI Tariff object ---------------------------------------------------------------------------------------

DAY_AND_NIGHT = [
    {
        "price_components": [
            {"type": "ENERGY", "price": "0.350", "vat": "21", "step_size": 1},
            {"type": "PARKING_TIME", "price": "2.40", "vat": "21", "step_size": 300},
        ],
        "restrictions": {"start_time": "07:00", "end_time": "23:00", "day_of_week": ["MONDAY", "FRIDAY"]},
    },
    {"price_components": [{"type": "ENERGY", "price": "0.25", "step_size": 1}], "restrictions": {"max_kwh": "50"}},
    {"price_components": [{"type": "FLAT", "price": "1"}]},
]


def test_the_ocpi_form_of_a_tariff_has_ocpi_numbers_and_the_brands_party(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        tariff = TariffFactory(
            code="AC-DAY",
            elements=DAY_AND_NIGHT,
            type=Tariff.Type.REGULAR,
            min_price_excl_vat=Decimal("0.50"),
            tariff_alt_text=[{"language": "en", "text": "35 ct/kWh by day"}],
            end_date_time=datetime(2027, 1, 1, 12, 30, 15, 123456, tzinfo=UTC),
            parking_grace_minutes=10,
        )
        tariff.refresh_from_db()
        expected = json.loads(
            canonical_json(
                tariff_to_ocpi(tariff, country_code=settings.OCPI_COUNTRY_CODE, party_id=settings.OCPI_PARTY_ID)
            )
        )

    response = alpha_api.get(f"/api/v1/tariffs/{tariff.pk}/ocpi/")

    assert response.status_code == 200, response.content
    ocpi = response.json()
    assert ocpi == expected  # exactly what a CDR carries in its `tariffs`
    assert (ocpi["country_code"], ocpi["party_id"], ocpi["id"]) == (
        settings.OCPI_COUNTRY_CODE,
        settings.OCPI_PARTY_ID,
        "AC-DAY",
    )
    assert (ocpi["currency"], ocpi["type"], ocpi["min_price"]) == ("EUR", "REGULAR", {"excl_vat": 0.5})
    assert ocpi["elements"] == [
        {
            "price_components": [
                {"type": "ENERGY", "price": 0.35, "vat": 21, "step_size": 1},
                {"type": "PARKING_TIME", "price": 2.4, "vat": 21, "step_size": 300},
            ],
            "restrictions": {"start_time": "07:00", "end_time": "23:00", "day_of_week": ["MONDAY", "FRIDAY"]},
        },
        {"price_components": [{"type": "ENERGY", "price": 0.25, "step_size": 1}], "restrictions": {"max_kwh": 50}},
        {"price_components": [{"type": "FLAT", "price": 1, "step_size": 1}]},
    ]
    assert ocpi["end_date_time"] == "2027-01-01T12:30:15Z"
    assert ocpi["last_updated"].endswith("Z")
    assert "parking_grace_minutes" not in ocpi and "max_price" not in ocpi and "start_date_time" not in ocpi


def test_another_brands_tariff_has_no_ocpi_form_here(tenant, outsider, alpha_api):
    with schema_context(outsider.schema_name):
        theirs = TariffFactory()

    response = alpha_api.get(f"/api/v1/tariffs/{theirs.pk}/ocpi/")

    assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
