"""Charging sessions: authorisation, and energy that is never lost or counted twice whatever stations send."""

import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.sessions import services
from apps.sessions.metering import MeterValue, SampledValue
from apps.sessions.models import ChargingSession, IdToken, MeterSample, Reservation
from tests.sessions.factories import IdTokenFactory
from tests.stations.factories import StationFactory

T0 = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def register(minutes: float, kwh: str) -> MeterValue:
    return MeterValue(
        timestamp=T0 + timedelta(minutes=minutes),
        sampled_values=[SampledValue(value=Decimal(kwh), unit="kWh")],
    )


def authorize(uid, station, type="ISO14443"):
    return services.id_token_authorize(uid=uid, type=type, station_id=station.pk).status


# --- authorisation ------------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("tenant_schema")
def test_tokens_are_authorised_by_status_expiry_group_and_case_insensitive_uid():
    station = StationFactory()
    fleet = IdTokenFactory(uid="FLEET-1", type=IdToken.Type.CENTRAL)
    IdTokenFactory(uid="CARD-OK")
    IdTokenFactory(uid="CARD-BLOCKED", status=IdToken.Status.BLOCKED)
    IdTokenFactory(uid="CARD-OLD", expires_at=timezone.now() - timedelta(days=1))
    IdTokenFactory(uid="CARD-FLEET", group=fleet)

    assert authorize("card-ok", station) == "Accepted"
    assert authorize("CARD-BLOCKED", station) == "Blocked"
    assert authorize("CARD-OLD", station) == "Expired"
    assert authorize("NOBODY", station) == "Unknown"
    assert services.id_token_authorize(uid="CARD-FLEET", type="", station_id=station.pk).group_uid == "FLEET-1"
    fleet.status = IdToken.Status.BLOCKED
    fleet.save()
    assert authorize("CARD-FLEET", station) == "Blocked"


@pytest.mark.usefixtures("tenant_schema")
def test_a_token_already_charging_is_concurrent_tx_unless_allowed():
    station = StationFactory()
    IdTokenFactory(uid="CARD-1")
    IdTokenFactory(uid="SHARED", allow_concurrent=True)
    for uid, evse in (("CARD-1", 1), ("SHARED", 2)):
        services.session_start(
            station_id=station.pk, evse_id=evse, connector_id=1, id_token_uid=uid, meter_start_wh=0, started_at=T0
        )

    assert authorize("CARD-1", station) == "ConcurrentTx"
    assert authorize("SHARED", station) == "Accepted"


# --- OCPP 1.6 shaped ----------------------------------------------------------------------------------------------


def start(station, meter_start="1000", uid="CARD-1"):
    return services.session_start(
        station_id=station.pk,
        evse_id=1,
        connector_id=1,
        id_token_uid=uid,
        meter_start_wh=Decimal(meter_start),
        started_at=T0,
    )


def stop(station, transaction_id, meter_stop, meter_values=()):
    return services.session_stop(
        station_id=station.pk,
        transaction_id=transaction_id,
        meter_stop_wh=Decimal(meter_stop),
        stopped_at=T0 + timedelta(hours=1),
        reason="Local",
        meter_values=list(meter_values),
    )


@pytest.mark.usefixtures("tenant_schema")
def test_a_retransmitted_start_returns_the_same_transaction():
    station = StationFactory()
    IdTokenFactory(uid="CARD-1")

    first, again = start(station), start(station)

    assert first.session.pk == again.session.pk
    assert first.session.transaction_id == str(first.session.pk)
    assert again.authorization.status == "Accepted"  # not ConcurrentTx with itself
    assert ChargingSession.objects.count() == 1


@pytest.mark.usefixtures("tenant_schema")
def test_stopping_twice_counts_energy_and_samples_once():
    station = StationFactory()
    session = start(station).session
    readings = [register(30, "5.5"), register(60, "9.0")]

    stop(station, session.transaction_id, "9000", readings)
    again = stop(station, session.transaction_id, "9000", readings)

    assert again.session.energy_wh == Decimal(8000)
    session.refresh_from_db()
    assert (session.status, session.energy_wh) == ("completed", Decimal(8000))
    assert MeterSample.objects.filter(session=session).count() == 2


@pytest.mark.usefixtures("tenant_schema")
def test_a_stop_for_an_unknown_transaction_is_recorded():
    station = StationFactory()

    result = stop(station, "424242", "5000")

    assert result.session.status == "stopped_unknown_start"
    assert result.session.meter_stop_wh == Decimal(5000)


@pytest.mark.usefixtures("tenant_schema")
def test_a_register_that_goes_backwards_is_flagged_and_not_counted_negative():
    station = StationFactory()
    session = start(station, meter_start="50000").session
    # 50 → 52 kWh, then the meter is replaced and counts again from 0 → 3 kWh: 5 kWh delivered in all.
    services.meter_values_record(
        station_id=station.pk,
        evse_id=1,
        transaction_id=session.transaction_id,
        meter_values=[register(20, "52.0"), register(40, "1.0")],
    )

    ended = stop(station, session.transaction_id, "3000").session

    assert ended.register_anomaly
    assert ended.energy_wh == Decimal(5000)


@pytest.mark.usefixtures("tenant_schema")
def test_a_new_start_on_an_evse_ends_a_session_its_station_lost_at_the_last_reading():
    station = StationFactory()
    IdTokenFactory(uid="CARD-1")
    IdTokenFactory(uid="CARD-2")
    lost = start(station, meter_start="1000", uid="CARD-1").session
    other_evse = services.session_start(
        station_id=station.pk, evse_id=2, connector_id=1, id_token_uid="CARD-2", meter_start_wh=0, started_at=T0
    ).session
    services.meter_values_record(
        station_id=station.pk, evse_id=1, transaction_id=lost.transaction_id, meter_values=[register(20, "4.5")]
    )
    assert authorize("CARD-1", station) == "ConcurrentTx"

    # The station rebooted without the stop and starts the next car on EVSE 1.
    services.session_start(
        station_id=station.pk,
        evse_id=1,
        connector_id=1,
        id_token_uid="CARD-2",
        meter_start_wh=Decimal(6000),
        started_at=T0 + timedelta(hours=2),
    )

    lost.refresh_from_db()
    assert (lost.status, lost.stopped_at, lost.energy_wh) == ("interrupted", T0 + timedelta(minutes=20), 3500)
    assert authorize("CARD-1", station) == "Accepted"  # the driver is not locked out by the lost session
    other_evse.refresh_from_db()
    assert other_evse.status == "active"

    # The stop turns up after all: the station's own figures complete the session, counted once.
    stop(station, lost.transaction_id, "5200")
    lost.refresh_from_db()
    assert (lost.status, lost.meter_stop_wh, lost.energy_wh) == ("completed", 5200, 4200)


@pytest.mark.usefixtures("tenant_schema")
def test_an_evse_reported_free_ends_only_the_sessions_that_began_before():
    station = StationFactory()
    session = start(station, meter_start="1000").session
    services.meter_values_record(
        station_id=station.pk, evse_id=1, transaction_id=session.transaction_id, meter_values=[register(10, "2.5")]
    )

    # A status older than the session (delivered late) says nothing about it; another EVSE neither.
    assert services.session_evse_freed(station_id=station.pk, evse_id=1, at=T0 - timedelta(minutes=1)) == 0
    assert services.session_evse_freed(station_id=station.pk, evse_id=2, at=T0 + timedelta(minutes=30)) == 0
    assert services.session_evse_freed(station_id=station.pk, evse_id=1, at=T0 + timedelta(minutes=30)) == 1

    session.refresh_from_db()
    assert (session.status, session.meter_stop_wh, session.energy_wh) == ("interrupted", 2500, 1500)


@pytest.mark.usefixtures("tenant_schema")
def test_a_started_event_ends_an_older_session_on_the_same_evse_only():
    station = StationFactory()
    event(station, "Started", 0, 0, "2.0", evse_id=1, connector_id=1, transaction_id="TX-OLD")
    event(station, "Updated", 1, 10, "3.0", transaction_id="TX-OLD")
    event(station, "Started", 0, 5, "7.0", evse_id=2, connector_id=1, transaction_id="TX-EVSE-2")

    event(station, "Started", 0, 90, "3.0", evse_id=1, connector_id=1, transaction_id="TX-NEW")

    sessions = {s.transaction_id: s for s in ChargingSession.objects.all()}
    assert (sessions["TX-OLD"].status, sessions["TX-OLD"].energy_wh) == ("interrupted", 1000)
    assert sessions["TX-EVSE-2"].status == sessions["TX-NEW"].status == "active"
    event(station, "Ended", 2, 12, "3.2", transaction_id="TX-OLD", stopped_reason="PowerLoss", offline=True)
    old = ChargingSession.objects.get(transaction_id="TX-OLD")
    assert (old.status, old.energy_wh, old.stop_reason) == ("completed", 1200, "PowerLoss")


# --- OCPP 2.0.1 shaped --------------------------------------------------------------------------------------------


def event(station, event_type, seq_no, minutes, kwh=None, **extra):
    return services.session_event(
        station_id=station.pk,
        event_type=event_type,
        transaction_id=extra.pop("transaction_id", "TX-1"),
        seq_no=seq_no,
        timestamp=T0 + timedelta(minutes=minutes),
        trigger_reason="MeterValuePeriodic",
        meter_values=[register(minutes, kwh)] if kwh else [],
        **extra,
    )


@pytest.mark.usefixtures("tenant_schema")
def test_events_replayed_out_of_order_give_the_same_session():
    station = StationFactory()

    event(station, "Ended", 3, 60, "12.0", stopped_reason="EVDisconnected", offline=True)
    event(station, "Updated", 1, 20, "5.0", offline=True)
    event(station, "Started", 0, 0, "2.0", evse_id=1, connector_id=1, offline=True)
    duplicate = event(station, "Updated", 1, 20, "5.0", offline=True)

    assert duplicate.duplicate
    session = ChargingSession.objects.get(transaction_id="TX-1")
    assert (session.status, session.started_at, session.stopped_at) == ("completed", T0, T0 + timedelta(hours=1))
    assert (session.energy_wh, session.last_seq_no, session.offline) == (Decimal(10000), 3, True)
    assert session.stop_reason == "EVDisconnected" and not session.register_anomaly
    assert MeterSample.objects.filter(session=session).count() == 3


@pytest.mark.usefixtures("tenant_schema")
def test_an_active_session_shows_energy_and_power_so_far():
    station = StationFactory()
    event(station, "Started", 0, 0, "2.0", evse_id=1, connector_id=1)
    services.session_event(
        station_id=station.pk,
        event_type="Updated",
        transaction_id="TX-1",
        seq_no=1,
        timestamp=T0 + timedelta(minutes=10),
        trigger_reason="MeterValuePeriodic",
        meter_values=[
            MeterValue(
                T0 + timedelta(minutes=10),
                [
                    SampledValue(Decimal("3.8"), unit="kWh"),
                    SampledValue(Decimal("3.6"), measurand="Power.Active.Import", phase="L1", unit="kW"),
                    SampledValue(Decimal("3.6"), measurand="Power.Active.Import", phase="L2", unit="kW"),
                    SampledValue(Decimal("3.6"), measurand="Power.Active.Import", phase="L3", unit="kW"),
                ],
            )
        ],
    )

    session = ChargingSession.objects.get(transaction_id="TX-1")
    assert (session.status, session.energy_wh, session.power_w) == ("active", Decimal(1800), Decimal(10800))


@pytest.mark.django_db(transaction=True)
def test_a_start_and_a_stop_racing_on_two_connections_make_one_correct_session(tenant):
    """A station that reconnected mid-transaction: its old and new connection deliver Started and Ended at once."""
    with schema_context(tenant.schema_name):
        station = StationFactory()
    barrier = threading.Barrier(2)
    errors = []

    def deliver(event_type, seq_no, minutes, kwh):
        try:
            with schema_context(tenant.schema_name):
                barrier.wait()
                event(station, event_type, seq_no, minutes, kwh, evse_id=1, connector_id=1)
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=deliver, args=("Started", 0, 0, "1.0")),
        threading.Thread(target=deliver, args=("Ended", 1, 45, "8.5")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)

    assert errors == []
    with schema_context(tenant.schema_name):
        session = ChargingSession.objects.get()
        assert (session.status, session.energy_wh, session.started_at) == ("completed", Decimal(7500), T0)


@pytest.mark.usefixtures("tenant_schema")
def test_held_reservations_past_their_expiry_expire_and_others_stay():
    station = StationFactory()
    now = timezone.now()

    def reservation(number, status, minutes):
        return Reservation.objects.create(
            station=station,
            reservation_id=number,
            id_token_uid="CARD-1",
            expires_at=now + timedelta(minutes=minutes),
            status=status,
        )

    past, future, cancelled = (
        reservation(1, "accepted", -1),
        reservation(2, "accepted", 30),
        reservation(3, "cancelled", -5),
    )

    assert services.reservations_expire(now=now) == 1
    for item in (past, future, cancelled):
        item.refresh_from_db()
    assert (past.status, future.status, cancelled.status) == ("expired", "accepted", "cancelled")
