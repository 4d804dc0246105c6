"""Which tariff applies: the most specific assignment valid at the moment, never another brand's; and what a
stored session costs so far."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from apps.groups.models import StationGroup
from apps.sessions.models import ChargingSession, MeterSample
from apps.tariffs.models import TariffAssignment
from apps.tariffs.selectors import CustomerGroup, session_cost_running, tariff_for_connector
from tests.groups.factories import StationGroupFactory
from tests.stations.factories import LocationFactory, StationFactory
from tests.tariffs.factories import ConnectorFactory, TariffAssignmentFactory

NOW = datetime(2025, 5, 12, 10, 0, tzinfo=UTC)
FLEET = CustomerGroup(TariffAssignment.CustomerGroupType.FLEET, "ACME-VANS")


@pytest.fixture
def connector(tenant_schema):
    return ConnectorFactory(evse__station=StationFactory(location=LocationFactory()))


def assign(connector_or_scope, **kwargs):
    return TariffAssignmentFactory(**connector_or_scope, **kwargs).tariff


def test_connector_beats_group_beats_location(connector):
    station = connector.evse.station
    at_location = assign({"location": station.location})
    assert tariff_for_connector(connector, at=NOW) == at_location
    group = StationGroupFactory(stations=[station])
    in_group = assign({"station_group": group})
    assert tariff_for_connector(connector, at=NOW) == in_group
    on_connector = assign({"connector": connector})
    assert tariff_for_connector(connector, at=NOW) == on_connector


def test_a_location_group_counts_for_its_stations(connector):
    group = StationGroupFactory(kind=StationGroup.Kind.LOCATION, locations=[connector.evse.station.location])
    assert tariff_for_connector(connector, at=NOW) is None
    tariff = assign({"station_group": group})
    assert tariff_for_connector(connector, at=NOW) == tariff


def test_a_customer_groups_tariff_beats_all_customers_and_only_for_that_group(connector):
    public = assign({"connector": connector})
    fleet = assign(
        {"location": connector.evse.station.location}, customer_group_type="fleet", customer_group_ref="ACME-VANS"
    )
    assert tariff_for_connector(connector, at=NOW) == public
    assert tariff_for_connector(connector, at=NOW, customer_group=FLEET) == fleet
    other_fleet = CustomerGroup(TariffAssignment.CustomerGroupType.FLEET, "OTHER")
    assert tariff_for_connector(connector, at=NOW, customer_group=other_fleet) == public


def test_validity_periods_and_priority(connector):
    location = {"location": connector.evse.station.location}
    old = assign(location, valid_until=NOW)
    current = assign(location, valid_from=NOW - timedelta(days=1))
    assert tariff_for_connector(connector, at=NOW - timedelta(hours=1)) == current  # the later start wins
    assert tariff_for_connector(connector, at=NOW - timedelta(days=2)) == old
    preferred = assign(location, priority=5)
    assert tariff_for_connector(connector, at=NOW) == preferred
    expired_tariff = assign(location, priority=9, tariff__end_date_time=NOW)
    assert tariff_for_connector(connector, at=NOW) == preferred
    assert tariff_for_connector(connector, at=NOW - timedelta(seconds=1)) == expired_tariff


def test_another_brands_tariffs_are_never_visible(tenant, outsider):
    with schema_context(outsider.schema_name):
        theirs = ConnectorFactory(evse__station=StationFactory(identity="CP-OUT", location=LocationFactory()))
        TariffAssignmentFactory(location=theirs.evse.station.location, tariff__code="THEIRS")
    with schema_context(tenant.schema_name):
        ours = ConnectorFactory(evse__station=StationFactory(identity="CP-OURS", location=LocationFactory()))
        assert tariff_for_connector(ours, at=NOW) is None
        mine = TariffAssignmentFactory(location=ours.evse.station.location, tariff__code="THEIRS").tariff
        assert tariff_for_connector(ours, at=NOW) == mine


def sample(session, at, measurand, value, unit):
    return MeterSample(
        station=session.station,
        session=session,
        evse_id=1,
        sampled_at=at,
        measurand=measurand,
        unit=unit,
        value=value,
        value_normalised=value,
    )


def test_the_running_cost_of_a_stored_session(connector):
    TariffAssignmentFactory(
        location=connector.evse.station.location,
        tariff__elements=[
            {"price_components": [{"type": "ENERGY", "price": "0.30", "vat": "21", "step_size": 1}]},
            {"price_components": [{"type": "PARKING_TIME", "price": "6.00", "step_size": 60}]},
        ],
        tariff__parking_grace_minutes=10,
    )
    session = ChargingSession.objects.create(
        station=connector.evse.station, evse_id=1, connector_id=1, transaction_id="tx-1", started_at=NOW
    )
    MeterSample.objects.bulk_create(
        [
            sample(session, NOW, "Energy.Active.Import.Register", Decimal(1000), "Wh"),
            sample(session, NOW, "Power.Active.Import", Decimal(11000), "W"),
            sample(session, NOW + timedelta(hours=1), "Energy.Active.Import.Register", Decimal(12000), "Wh"),
            sample(session, NOW + timedelta(hours=1), "Power.Active.Import", Decimal(0), "W"),
        ]
    )
    rating = session_cost_running(session, at=NOW + timedelta(minutes=90))

    assert rating.costs["ENERGY"].volume == Decimal(11)
    assert rating.costs["ENERGY"].incl_vat.amount == Decimal("3.99")  # 11 kWh x 0.30 x 1.21
    assert rating.costs["PARKING_TIME"].excl_vat.amount == Decimal("2.00")  # 30 min parked, 10 of them free
    assert rating.total_excl_vat.amount == Decimal("5.30")
    assert not rating.needs_review


def test_a_session_without_meter_data_is_rated_and_flagged(connector):
    TariffAssignmentFactory(location=connector.evse.station.location)
    session = ChargingSession.objects.create(
        station=connector.evse.station, evse_id=1, connector_id=1, transaction_id="tx-2", started_at=NOW
    )
    rating = session_cost_running(session, at=NOW + timedelta(minutes=30))
    assert rating.total_excl_vat.amount == Decimal("0.00")
    assert rating.needs_review
    assert any("No energy register readings" in reason for reason in rating.review_reasons)


def test_garbled_samples_are_ignored_and_reported(connector):
    TariffAssignmentFactory(location=connector.evse.station.location)
    session = ChargingSession.objects.create(
        station=connector.evse.station, evse_id=1, connector_id=1, transaction_id="tx-3", started_at=NOW
    )
    MeterSample.objects.bulk_create(
        [
            sample(session, NOW, "Energy.Active.Import.Register", Decimal(0), "Wh"),
            sample(session, NOW + timedelta(minutes=10), "Energy.Active.Import.Register", Decimal(5), "furlong"),
            sample(session, NOW + timedelta(minutes=20), "Energy.Active.Import.Register", Decimal(2000), "Wh"),
            sample(session, NOW + timedelta(minutes=30), "Energy.Active.Import.Register", Decimal(500), "Wh"),
        ]
    )
    rating = session_cost_running(session, at=NOW + timedelta(minutes=30))
    assert rating.costs["ENERGY"].volume == Decimal(2)  # the drop back to 500 Wh is not billed (nor refunded)
    assert any("unexpected unit" in reason for reason in rating.review_reasons)
    assert any("went backwards" in reason for reason in rating.review_reasons)


def test_no_tariff_no_running_cost(connector):
    session = ChargingSession.objects.create(
        station=connector.evse.station, evse_id=1, connector_id=1, transaction_id="tx-4", started_at=NOW
    )
    assert session_cost_running(session, at=NOW) is None
