"""Which stations a group has: location groups follow their locations, custom groups are their list, and a group
never reaches into another brand's network."""

import pytest
from django_tenants.utils import schema_context

from apps.groups.models import StationGroup
from apps.groups.selectors import group_list, group_stations
from tests.groups.factories import StationGroupFactory
from tests.stations.factories import LocationFactory, StationFactory


def identities(stations) -> list[str]:
    return sorted(station.identity for station in stations)


@pytest.mark.usefixtures("tenant_schema")
def test_a_location_group_follows_its_locations():
    depot, harbour, elsewhere = LocationFactory.create_batch(3)
    StationFactory(identity="CP-D1", location=depot)
    StationFactory(identity="CP-H1", location=harbour)
    StationFactory(identity="CP-X1", location=elsewhere)
    group = StationGroupFactory(kind=StationGroup.Kind.LOCATION, locations=[depot, harbour])

    assert identities(group_stations(group)) == ["CP-D1", "CP-H1"]

    StationFactory(identity="CP-D2", location=depot)  # a station added to the location is in the group
    group.locations.remove(harbour)

    assert identities(group_stations(group)) == ["CP-D1", "CP-D2"]


@pytest.mark.usefixtures("tenant_schema")
def test_a_location_group_gains_new_stations_and_loses_moved_ones():
    depot, elsewhere = LocationFactory.create_batch(2)
    StationFactory(identity="CP-D1", location=depot)
    moving = StationFactory(identity="CP-D2", location=depot)
    group = StationGroupFactory(kind=StationGroup.Kind.LOCATION, locations=[depot])

    StationFactory(identity="CP-D3", location=depot)
    moving.location = elsewhere
    moving.save()

    assert identities(group_stations(group)) == ["CP-D1", "CP-D3"]


@pytest.mark.usefixtures("tenant_schema")
def test_a_custom_group_is_its_list_wherever_its_stations_are():
    depot = LocationFactory()
    listed = [StationFactory(identity="CP-A", location=depot), StationFactory(identity="CP-B")]
    StationFactory(identity="CP-C", location=depot)
    group = StationGroupFactory(stations=listed, locations=[])

    assert identities(group_stations(group)) == ["CP-A", "CP-B"]


@pytest.mark.usefixtures("tenant_schema")
def test_the_group_list_counts_each_groups_stations():
    depot = LocationFactory()
    StationFactory.create_batch(3, location=depot)
    StationGroupFactory(name="By site", kind=StationGroup.Kind.LOCATION, locations=[depot])
    StationGroupFactory(name="Hand-picked", stations=StationFactory.create_batch(2))
    StationGroupFactory(name="Empty")

    counts = {group.name: group.station_count for group in group_list()}

    assert counts == {"By site": 3, "Hand-picked": 2, "Empty": 0}


def test_another_brands_stations_are_never_in_a_group(tenant, outsider):
    # The same primary keys exist in both schemas: the outsider's location 1 and stations are not the tenant's.
    with schema_context(outsider.schema_name):
        foreign_site = LocationFactory()
        StationFactory(identity="CP-BRAVO-1", location=foreign_site)
        StationFactory(identity="CP-BRAVO-2", location=foreign_site)
    with schema_context(tenant.schema_name):
        site = LocationFactory()
        StationFactory(identity="CP-ALPHA-1", location=site)
        by_site = StationGroupFactory(kind=StationGroup.Kind.LOCATION, locations=[site])
        listed = StationGroupFactory(stations=[StationFactory(identity="CP-ALPHA-2")])

        assert identities(group_stations(by_site)) == ["CP-ALPHA-1"]
        assert identities(group_stations(listed)) == ["CP-ALPHA-2"]
        assert {group.station_count for group in group_list()} == {1}
    with schema_context(outsider.schema_name):
        assert not StationGroup.objects.exists()
