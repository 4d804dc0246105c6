"""Scenarios e and f end to end against a real daphne on the test database: seeded data, a real API key, real
stations held by the load generator. Requests the server does not have yet come back as "not available", the rest
must run without a single error. No timing is asserted."""

import pytest
from django_tenants.utils import schema_context

from apps.stations.models import Station
from apps.stations.services import station_password_hash
from bench.apidata import commands_fixture, reads_fixture, sessions_seed
from bench.apiload import api_reads, remote_starts
from bench.loadgen import Fleet, Target
from bench.run import PASSWORD, Server
from tests.processes import DaphneProcess

pytestmark = pytest.mark.django_db(transaction=True)


def _server(daphne: DaphneProcess) -> Server:
    return Server("platform", daphne.process, daphne.port, f"ws://127.0.0.1:{daphne.port}/ocpp/alpha")


def _all_ran_or_not_available(rows) -> None:
    for row in rows:
        if row.available:
            assert row.alone.errors == 0 and (row.loaded is None or row.loaded.errors == 0), (row.request, row.note)
        else:
            assert row.note.startswith("not available") and "404" in row.note, row.note


def test_the_reads_run_against_the_platform_on_a_seeded_tenant(tenant, tmp_path, monkeypatch):
    monkeypatch.setattr("bench.apidata.STATIONS", 8)
    monkeypatch.setattr("bench.apidata.sessions_seed", lambda *, sessions: sessions_seed(sessions=sessions, stations=8))
    with schema_context(tenant.schema_name):
        fixture = {"host": "alpha.localhost", **reads_fixture(300)}

    with DaphneProcess(tmp_path / "daphne.log") as daphne:
        rows = api_reads(_server(daphne), fixture, count=5, clients=2, sessions=300)

    assert len(rows) == 7
    by_request = {row.request: row for row in rows}
    for always in ("GET /healthz (before DRF)", "GET /api/v1/locations/ (empty table)"):
        assert by_request[always].available
    assert by_request["GET /api/v1/stations/?page_size=50"].available
    _all_ran_or_not_available(rows)
    assert "Traceback" not in daphne.log


def test_the_remote_starts_run_against_the_platform_with_stations_connected(tenant, tmp_path):
    with schema_context(tenant.schema_name):
        password_hash = station_password_hash(PASSWORD)
        Station.objects.bulk_create(
            Station(identity=f"BENCH-{n:05d}", password_hash=password_hash, registration_status="Accepted")
            for n in (1, 2)
        )
        fixture = {"host": "alpha.localhost", **commands_fixture(2)}

    with DaphneProcess(tmp_path / "daphne.log") as daphne:
        server = _server(daphne)
        fleet = Fleet("responder", Target("platform", server.url, PASSWORD), 2, 1, duration=60)
        fleet.start()
        try:
            assert fleet.meet(timeout=60)
            fleet.meet()
            rows = remote_starts(server, fixture, count=6)
        finally:
            fleet.barrier.abort()
            for process in fleet.processes:
                process.terminate()

    assert rows[0].available and rows[0].baseline
    _all_ran_or_not_available(rows)
    if rows[1].available:
        assert rows[1].alone.outcomes == {"accepted": 6}
