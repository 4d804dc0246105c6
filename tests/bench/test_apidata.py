"""The seed of the API scenarios (bench/apidata.py): a few hundred rows into the test tenant, by COPY."""

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from apps.api.models import ApiKey, Scope
from apps.sessions.models import ChargingSession, IdToken, MeterSample
from apps.stations.models import Connector, Evse, Station
from bench.apidata import commands_fixture, reads_fixture, sessions_seed

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


@pytest.fixture
def seeded(tenant_schema):
    return sessions_seed(
        sessions=600, stations=12, evses_per_station=2, tokens=30, sampled_sessions=100, samples_per_session=4, now=NOW
    )


def test_the_seed_writes_the_counts_it_was_asked_for(seeded):
    assert (seeded.stations, seeded.evses, seeded.tokens, seeded.sessions) == (12, 24, 30, 600)
    assert Station.objects.count() == 12
    assert Evse.objects.count() == Connector.objects.count() == 24
    assert IdToken.objects.count() == 30
    assert ChargingSession.objects.count() == 600
    assert MeterSample.objects.count() == seeded.samples
    # Four samples for each of the 100 most recent sessions, fewer only for one still running at NOW.
    assert 100 * 3 < seeded.samples <= 100 * 4
    assert MeterSample.objects.values("session").distinct().count() == 100


def test_the_sessions_spread_over_two_years_and_every_station(seeded):
    started = list(ChargingSession.objects.order_by("id").values_list("started_at", flat=True))
    assert started == sorted(started)  # ids ascend with time, as in production
    assert started[0] < NOW - timedelta(days=700) and started[-1] > NOW - timedelta(days=30)
    per_station = defaultdict(int)
    for station_id in ChargingSession.objects.values_list("station_id", flat=True):
        per_station[station_id] += 1
    assert len(per_station) == 12
    assert max(per_station.values()) > min(per_station.values())  # some stations are busier than others


def test_an_evse_never_has_two_sessions_at_once(seeded):
    by_evse = defaultdict(list)
    for session in ChargingSession.objects.order_by("started_at"):
        by_evse[(session.station_id, session.evse_id)].append(session)
    for sessions in by_evse.values():
        for earlier, later in zip(sessions, sessions[1:], strict=False):
            assert earlier.stopped_at is not None and earlier.stopped_at <= later.started_at


def test_seeded_sessions_are_complete_rows_the_orm_reads_back(seeded):
    session = ChargingSession.objects.select_related("station", "id_token").get(pk=seeded.first_session_id)
    assert session.status == ChargingSession.Status.COMPLETED
    assert session.energy_wh == session.meter_stop_wh - session.meter_start_wh > 0
    assert session.id_token.uid == session.id_token_uid
    assert session.station.identity.startswith("API-")
    newest = ChargingSession.objects.get(pk=seeded.last_session_id)
    samples = list(newest.meter_samples.order_by("sampled_at"))
    assert samples and samples[0].value_normalised == newest.meter_start_wh


def test_the_id_sequence_continues_after_the_seeded_ids(seeded):
    station = Station.objects.first()
    made = ChargingSession.objects.create(station=station, transaction_id="after-seed")
    assert made.pk == seeded.last_session_id + 1


def test_the_tables_are_analyzed_after_the_seed(seeded):
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'charging_chargingsession'::regclass")
        assert cursor.fetchone()[0] == 600


def test_the_reads_fixture_seeds_once_and_gives_a_key_with_every_scope(tenant_schema, monkeypatch):
    monkeypatch.setattr("bench.apidata.STATIONS", 5)
    monkeypatch.setattr("bench.apidata.sessions_seed", _small_seed)
    first = reads_fixture(200)
    again = reads_fixture(200)

    assert (first["reseeded"], again["reseeded"]) == (True, False)
    assert len(first["stations"]) == 5 and first["sessions"][1] - first["sessions"][0] == 199
    assert ChargingSession.objects.count() == 200
    key = ApiKey.objects.get(prefix=first["key"][:12])
    assert set(key.scopes) == set(Scope.values)


def _small_seed(*, sessions):
    return sessions_seed(sessions=sessions, stations=5, sampled_sessions=20, now=NOW)


def test_the_commands_fixture_gives_the_bench_stations_an_evse_and_a_token(tenant_schema):
    Station.objects.bulk_create(Station(identity=f"BENCH-{number:05d}") for number in range(1, 6))
    fixture = commands_fixture(3)
    commands_fixture(3)  # twice: nothing doubled

    assert len(fixture["stations"]) == 3
    assert Evse.objects.filter(station_id__in=fixture["stations"], evse_id=1).count() == 3
    assert Connector.objects.count() == 3
    assert IdToken.objects.filter(uid=fixture["id_token"]).exists()
