"""Whether a driver may start at an EVSE, and the EVSE codes printed on stickers and opened by the app."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.sessions.models import Reservation
from apps.stations.models import Connector, Evse
from apps.stations.selectors import (
    code_brand,
    evse_availabilities,
    evse_availability,
    evse_by_code,
    evse_code,
    evse_deep_link,
)
from apps.whitelabel.services import tenant_suspend
from tests.sessions.factories import ChargingSessionFactory
from tests.stations.factories import StationFactory

pytestmark = pytest.mark.usefixtures("tenant_schema")


def make_evse(*statuses: str, online: bool = True, identity: str | None = None, evse_id: int = 1) -> Evse:
    station = StationFactory(is_online=online, **({"identity": identity} if identity else {}))
    evse = Evse.objects.create(station=station, evse_id=evse_id)
    for number, status in enumerate(statuses, start=1):
        Connector.objects.create(evse=evse, connector_id=number, status=status)
    return evse


def reason(evse: Evse) -> str:
    availability = evse_availability(Evse.objects.select_related("station").get(pk=evse.pk))
    assert availability.startable == (availability.reason == "")
    return availability.reason


def test_a_free_connector_at_an_online_station_can_be_started():
    evse = make_evse("Available")

    assert evse_availability(evse).startable is True


def test_an_offline_station_cannot_start_whatever_its_connectors_say():
    assert reason(make_evse("Available", online=False)) == "offline"


def test_one_faulted_connector_makes_the_evse_faulted():
    assert reason(make_evse("Available", "Faulted")) == "faulted"


@pytest.mark.parametrize("status", ["Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"])
def test_a_transaction_in_progress_ocpp16_is_occupied(status):
    assert reason(make_evse(status)) == "occupied"


@pytest.mark.parametrize("status", ["Preparing", "Occupied"])
def test_a_plugged_in_car_without_a_session_is_the_driver_about_to_start(status):
    # 1.6 Preparing and 2.0.1 Occupied come as soon as a cable is in: the driver plugs in, then starts in the app.
    assert reason(make_evse(status)) == ""


@pytest.mark.parametrize("status", ["Preparing", "Occupied", "Available"])
def test_a_running_session_makes_the_evse_occupied(status):
    evse = make_evse(status)
    ChargingSessionFactory(station=evse.station, evse_id=evse.evse_id)

    assert reason(evse) == "occupied"


def test_a_completed_session_does_not_occupy_the_evse():
    evse = make_evse("Available")
    ChargingSessionFactory(station=evse.station, evse_id=evse.evse_id, status="completed")

    assert reason(evse) == ""


def test_a_held_reservation_reserves_the_evse_until_it_expires():
    evse = make_evse("Available")
    reservation = Reservation.objects.create(
        station=evse.station,
        reservation_id=7,
        evse_id=evse.evse_id,
        id_token_uid="TAG",
        expires_at=timezone.now() + timedelta(minutes=10),
        status=Reservation.Status.ACCEPTED,
    )
    assert reason(evse) == "reserved"

    reservation.expires_at = timezone.now() - timedelta(seconds=1)
    reservation.save()
    assert reason(evse) == ""


def test_a_reservation_for_any_evse_holds_only_the_stations_last_free_one():
    evse = make_evse("Available")
    other = Evse.objects.create(station=evse.station, evse_id=2)
    Connector.objects.create(evse=other, connector_id=1, status="Available")
    Reservation.objects.create(
        station=evse.station,
        reservation_id=8,
        evse_id=0,
        id_token_uid="TAG",
        expires_at=timezone.now() + timedelta(minutes=10),
        status=Reservation.Status.ACCEPTED,
    )
    assert reason(evse) == "" and reason(other) == ""

    Connector.objects.filter(evse=other).update(status="Charging")
    assert reason(evse) == "reserved"


def test_the_station_reporting_reserved_is_reserved():
    assert reason(make_evse("Reserved")) == "reserved"


@pytest.mark.parametrize("statuses", [("Unavailable",), ("Unknown",), ()])
def test_unavailable_unknown_or_no_connector_is_unavailable(statuses):
    assert reason(make_evse(*statuses)) == "unavailable"


def test_a_station_not_yet_accepted_is_unavailable():
    evse = make_evse("Available")
    evse.station.registration_status = "pending"
    evse.station.save()

    assert reason(evse) == "unavailable"


def test_many_evses_are_judged_in_a_fixed_number_of_queries(django_assert_max_num_queries):
    evses = [make_evse("Available") for _ in range(10)]
    evses = list(
        Evse.objects.filter(pk__in=[e.pk for e in evses]).select_related("station").prefetch_related("connectors")
    )

    with django_assert_max_num_queries(2):
        result = evse_availabilities(evses)

    assert all(availability.startable for availability in result.values())


# --- codes --------------------------------------------------------------------------------------------------------


def test_the_code_names_brand_station_and_evse_and_finds_the_evse_again(tenant):
    evse = make_evse("Available", identity="ALPHA-16-01", evse_id=2)

    assert evse_code(evse) == "ALPHA*ALPHA-16-01*2"
    assert evse_by_code("ALPHA*ALPHA-16-01*2") == evse
    assert evse_by_code("alpha*ALPHA-16-01*2") == evse


def test_station_identities_with_a_star_still_resolve():
    evse = make_evse("Available", identity="SITE*7")

    assert evse_by_code(evse_code(evse)) == evse


@pytest.mark.parametrize(
    "code", ["", "ALPHA", "ALPHA*X", "ALPHA*ALPHA-16-01*", "ALPHA*ALPHA-16-01*one", "ALPHA*NOPE*1", "*ALPHA-16-01*1"]
)
def test_malformed_or_unknown_codes_find_nothing(code):
    make_evse("Available", identity="ALPHA-16-01")

    assert evse_by_code(code) is None


def test_a_code_of_another_brand_is_not_found_here_but_names_that_brand(outsider):
    make_evse("Available", identity="BRAVO-1")

    assert evse_by_code("BRAVO*BRAVO-1*1") is None
    assert code_brand("BRAVO*BRAVO-1*1") == outsider
    assert code_brand("NOBODY*X*1") is None


def test_a_suspended_brand_is_not_named(outsider):
    tenant_suspend(tenant=outsider, actor="ops", reason="unpaid")

    assert code_brand("BRAVO*BRAVO-1*1") is None


def test_the_deep_link_opens_the_evse_page_on_the_brands_primary_domain(tenant, settings):
    settings.TENANT_SITE_URL = "https://{domain}"
    evse = make_evse("Available", identity="ALPHA-16-01")

    assert evse_deep_link(evse, tenant) == "https://alpha.localhost/app/e/ALPHA%2AALPHA-16-01%2A1"
