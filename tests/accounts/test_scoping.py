"""Object scopes: a staff user limited to some locations and station groups sees and acts on those stations only,
in the scoping functions (what portal pages build on), the admin and the API with the person's token alike."""

from dataclasses import dataclass

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from apps.accounts.models import AuditEntry
from apps.accounts.roles import Role
from apps.accounts.scoping import by_station_filter, location_filter, queryset_filter, station_filter
from apps.commands.models import Command
from apps.groups.models import StaffScope, StationGroup
from apps.groups.services import staff_scope_set
from apps.stations.models import Location, Station
from tests.accounts.rbac import api_as, person_token, signed_in, staff_of
from tests.api.conftest import api_client, key_in
from tests.groups.factories import StationGroupFactory
from tests.stations.factories import LocationFactory, StationFactory

pytestmark = pytest.mark.django_db


@dataclass
class Network:
    """Site A and B; a custom group listing a station at site C; a location group of site D."""

    site_a: Location
    site_b: Location
    a1: Station
    b1: Station
    c1: Station
    d1: Station
    custom: StationGroup
    by_location: StationGroup


def network_in(tenant) -> Network:
    with schema_context(tenant.schema_name):
        site_a, site_b, site_c, site_d = (LocationFactory(name=f"Site {name}") for name in "ABCD")
        a1 = StationFactory(identity="CP-A1", location=site_a, protocol="ocpp1.6")
        b1 = StationFactory(identity="CP-B1", location=site_b, protocol="ocpp1.6")
        c1 = StationFactory(identity="CP-C1", location=site_c)
        d1 = StationFactory(identity="CP-D1", location=site_d)
        custom = StationGroupFactory(name="Listed", stations=[c1])
        by_location = StationGroupFactory(name="Site D", kind=StationGroup.Kind.LOCATION, locations=[site_d])
        return Network(site_a, site_b, a1, b1, c1, d1, custom, by_location)


def technician_for(tenant, *, locations=(), groups=()):
    user = staff_of(tenant, Role.TECHNICIAN)
    with schema_context(tenant.schema_name):
        staff_scope_set(user=user, locations=locations, groups=groups)
    return user


def identities(queryset) -> set[str]:
    return set(queryset.values_list("identity", flat=True))


# --- the scoping functions ----------------------------------------------------------------------------------------


def test_a_scoped_user_sees_the_stations_of_their_locations_and_groups_only(tenant):
    net = network_in(tenant)
    user = technician_for(tenant, locations=[net.site_a], groups=[net.custom, net.by_location])
    with schema_context(tenant.schema_name):
        assert identities(station_filter(user, Station.objects.all())) == {"CP-A1", "CP-C1", "CP-D1"}
        assert set(location_filter(user, Location.objects.all()).values_list("name", flat=True)) == {
            "Site A",
            "Site C",
            "Site D",
        }
        assert set(queryset_filter(user, StationGroup.objects.all())) == {net.custom, net.by_location}


def test_a_user_without_scope_and_a_superuser_see_the_whole_brand(tenant):
    network_in(tenant)
    operator = staff_of(tenant, Role.OPERATOR)
    with schema_context(tenant.schema_name):
        assert identities(station_filter(operator, Station.objects.all())) == {"CP-A1", "CP-B1", "CP-C1", "CP-D1"}
        operator.is_superuser = True
        assert station_filter(operator, Station.objects.all()).count() == 4


def test_rows_of_a_station_are_narrowed_through_their_station(tenant):
    net = network_in(tenant)
    user = technician_for(tenant, locations=[net.site_a])
    with schema_context(tenant.schema_name):
        Command.objects.create(station=net.a1, operation="reset")
        Command.objects.create(station=net.b1, operation="reset")
        visible = by_station_filter(user, Command.objects.all())
        assert [command.station_id for command in visible] == [net.a1.pk]
        assert [command.station_id for command in queryset_filter(user, Command.objects.all())] == [net.a1.pk]


def test_narrowing_costs_one_query_for_the_scope_and_none_per_row(tenant):
    net = network_in(tenant)
    user = technician_for(tenant, locations=[net.site_a], groups=[net.custom])
    with schema_context(tenant.schema_name):
        with CaptureQueriesContext(connection) as queries:
            list(station_filter(user, Station.objects.all()))
            list(by_station_filter(user, Command.objects.all()))
        sql = [query["sql"] for query in queries.captured_queries if not query["sql"].startswith("SET search_path")]
        # The scope's id once (then cached on the user), and one query per list: the scope is a subquery.
        assert len(sql) == 3 and sum("groups_staffscope" in statement for statement in sql) == 3


def test_setting_a_scope_is_audited_and_an_empty_scope_gives_back_the_whole_brand(tenant):
    net = network_in(tenant)
    user = technician_for(tenant, locations=[net.site_a])
    with schema_context(tenant.schema_name):
        staff_scope_set(user=user, locations=[net.site_a, net.site_b])
        staff_scope_set(user=user)
        assert not StaffScope.objects.filter(user=user).exists()
        entries = list(AuditEntry.objects.filter(action="scope.changed", target_id=str(user.pk)).order_by("id"))
    assert [entry.changes["locations"] for entry in entries] == [
        [[], [net.site_a.pk]],
        [[net.site_a.pk], sorted([net.site_a.pk, net.site_b.pk])],
        [sorted([net.site_a.pk, net.site_b.pk]), []],
    ]


@pytest.mark.parametrize("role", [Role.OWNER, Role.DRIVER])
def test_owners_and_drivers_cannot_be_scoped_and_nothing_changes(tenant, role):
    net = network_in(tenant)
    user = staff_of(tenant, role)
    with schema_context(tenant.schema_name):
        with pytest.raises(ValidationError):
            staff_scope_set(user=user, locations=[net.site_a])
        assert not StaffScope.objects.exists() and not AuditEntry.objects.filter(action="scope.changed").exists()


# --- the admin ----------------------------------------------------------------------------------------------------


def test_a_scoped_technician_lists_and_opens_only_their_stations_in_the_admin(tenant):
    net = network_in(tenant)
    admin = signed_in(tenant, technician_for(tenant, locations=[net.site_a]))

    listed = admin.get("/admin/stations/station/").content.decode()
    own = admin.get(f"/admin/stations/station/{net.a1.pk}/change/")
    other = admin.get(f"/admin/stations/station/{net.b1.pk}/change/")
    locations = admin.get("/admin/stations/location/").content.decode()

    assert "CP-A1" in listed and "CP-B1" not in listed and "CP-C1" not in listed
    assert own.status_code == 200 and other.status_code == 404
    assert "Site A" in locations and "Site B" not in locations


@pytest.mark.django_db(transaction=True)
def test_a_scoped_technician_cannot_send_a_command_to_another_sites_station_from_the_admin(tenant):
    net = network_in(tenant)
    admin = signed_in(tenant, technician_for(tenant, locations=[net.site_a]))

    response = admin.post("/admin/stations/station/", {"action": "reset_soft", "_selected_action": [net.b1.pk]})

    assert response.status_code == 302  # the action ran on the listed stations among those selected: none
    with schema_context(tenant.schema_name):
        assert not Command.objects.exists()


def test_an_admin_limits_a_technician_on_the_staff_scope_page_and_it_is_audited(tenant):
    net = network_in(tenant)
    technician = staff_of(tenant, Role.TECHNICIAN)
    admin = signed_in(tenant, staff_of(tenant, Role.ADMIN))

    response = admin.post(
        "/admin/groups/staffscope/add/",
        {"user": technician.pk, "locations": [net.site_a.pk], "groups": [net.custom.pk]},
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    with schema_context(tenant.schema_name):
        scope = StaffScope.objects.get(user=technician)
        assert list(scope.locations.all()) == [net.site_a] and list(scope.groups.all()) == [net.custom]
        entry = AuditEntry.objects.get(action="scope.changed")
    assert entry.actor_label.endswith("@example.test") and entry.target_id == str(technician.pk)


def test_the_staff_scope_page_refuses_an_empty_scope(tenant):
    network_in(tenant)
    technician = staff_of(tenant, Role.TECHNICIAN)
    admin = signed_in(tenant, staff_of(tenant, Role.ADMIN))

    response = admin.post("/admin/groups/staffscope/add/", {"user": technician.pk})

    assert response.status_code == 200 and "at least one location" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert not StaffScope.objects.exists()


def test_an_operator_cannot_change_scopes(tenant):
    admin = signed_in(tenant, staff_of(tenant, Role.OPERATOR))
    assert admin.get("/admin/groups/staffscope/add/").status_code == 403


# --- the API, with the person's token -----------------------------------------------------------------------------


def test_a_scoped_technicians_token_lists_and_reads_only_their_stations(tenant):
    net = network_in(tenant)
    user = technician_for(tenant, locations=[net.site_a])
    api = api_as(tenant, person_token(tenant, user))

    listed = api.get("/api/v1/stations/").json()["results"]
    own = api.get(f"/api/v1/stations/{net.a1.pk}/")
    other = api.get(f"/api/v1/stations/{net.b1.pk}/")
    other_evses = api.get(f"/api/v1/stations/{net.b1.pk}/evses/")
    locations = api.get("/api/v1/locations/").json()["results"]

    assert [station["identity"] for station in listed] == ["CP-A1"]
    assert own.status_code == 200
    assert other.status_code == 404 and other.json()["error"]["code"] == "not_found"
    assert other_evses.status_code == 404
    assert [location["name"] for location in locations] == ["Site A"]


def test_a_scoped_technicians_token_cannot_command_another_sites_station(tenant):
    net = network_in(tenant)
    api = api_as(tenant, person_token(tenant, technician_for(tenant, locations=[net.site_a])))

    response = api.post(f"/api/v1/stations/{net.b1.pk}/commands/reset/", {"kind": "soft"}, "application/json")

    assert response.status_code == 404
    with schema_context(tenant.schema_name):
        assert not Command.objects.exists()


def test_a_scoped_technicians_token_lists_only_their_stations_commands(tenant):
    net = network_in(tenant)
    api = api_as(tenant, person_token(tenant, technician_for(tenant, locations=[net.site_a])))
    with schema_context(tenant.schema_name):
        own = Command.objects.create(station=net.a1, operation="reset")
        other = Command.objects.create(station=net.b1, operation="reset")

    listed = api.get("/api/v1/commands/").json()["results"]

    assert [command["id"] for command in listed] == [own.pk]
    assert api.get(f"/api/v1/commands/{other.pk}/").status_code == 404


def test_an_api_key_sees_the_whole_brand_whoever_is_scoped(tenant):
    net = network_in(tenant)
    technician_for(tenant, locations=[net.site_a])
    api = api_client("alpha.localhost", key_in(tenant))

    assert len(api.get("/api/v1/stations/").json()["results"]) == 4


def test_another_brand_sees_none_of_these_stations(tenant, outsider):
    net = network_in(tenant)
    owner = staff_of(outsider, Role.OWNER)
    api = api_as(outsider, person_token(outsider, owner))

    assert api.get("/api/v1/stations/").json()["results"] == []
    assert api.get(f"/api/v1/stations/{net.a1.pk}/").status_code == 404


def test_a_scoped_person_neither_sees_nor_runs_a_group_outside_their_scope(tenant):
    net = network_in(tenant)
    api = api_as(tenant, person_token(tenant, technician_for(tenant, locations=[net.site_a], groups=[net.custom])))

    listed = [group["name"] for group in api.get("/api/v1/groups/").json()["results"]]
    run = api.post(f"/api/v1/groups/{net.by_location.pk}/runs/reset/", {"kind": "soft"}, "application/json")

    assert listed == ["Listed"]
    assert api.get(f"/api/v1/groups/{net.by_location.pk}/").status_code == 404
    assert run.status_code == 404
