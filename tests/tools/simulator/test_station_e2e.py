"""Virtual stations of both versions against the real daphne: sessions, network losses, faults, bad credentials."""

import asyncio

import pytest
from django.core.management import CommandError, call_command

from apps.sessions.models import ChargingSession, IdToken, MeterSample
from apps.stations.models import Fault, MessageLogEntry, Station
from apps.stations.services import station_registration_set
from tests.ocpp.client import station_url
from tests.ocpp.server import eventually
from tools.simulator.station import StationConfig, VirtualStation, stations_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settled")]

PASSWORD = "a-simulated-station-password"
FAST = {"session_seconds": 1.5, "idle_seconds": 0.2, "meter_interval": 0.3, "fault_rate": 0.0, "connectors": 1}


@pytest.fixture
def fleet(ocpp_server, station_make, in_tenant):
    """Two registered stations, one per version, and the cards their drivers use."""
    station_make("SIM-16", password=PASSWORD)
    station_make("SIM-201", password=PASSWORD)
    with in_tenant():
        for uid in ("SIM-TAG-A", "SIM-TAG-B"):
            IdToken.objects.create(uid=uid, type="ISO14443", status="Accepted")

    def configs(**overrides):
        return [
            StationConfig(
                url=station_url(ocpp_server.port, identity),
                identity=identity,
                protocol=protocol,
                password=PASSWORD,
                id_tags=(tag,),
                seed=1,
                **(FAST | overrides),
            )
            for identity, protocol, tag in (("SIM-16", "ocpp1.6", "SIM-TAG-A"), ("SIM-201", "ocpp2.0.1", "SIM-TAG-B"))
        ]

    return configs


def test_sessions_survive_network_losses_and_end_with_the_energy_the_station_metered(fleet, in_tenant):
    stations = [VirtualStation(config) for config in fleet(sessions=2, drop_rate=1.0, offline_seconds=0.5)]
    reports = asyncio.run(stations_run(stations, duration=60))

    for report in reports:
        assert (report.sessions_completed, report.drops, report.call_errors) == (2, 2, 0), report
        assert report.connects == 3 and report.replayed > 0
    with in_tenant():
        for report in reports:
            station = Station.objects.get(identity=report.identity)
            sessions = ChargingSession.objects.filter(station=station).order_by("started_at")
            assert [(s.transaction_id, s.status, s.meter_start_wh, s.meter_stop_wh) for s in sessions] == [
                (str(tx), ChargingSession.Status.COMPLETED, start, stop) for tx, start, stop in report.transactions
            ]
            assert sum(s.energy_wh for s in sessions) == report.energy_wh > 0
            assert all(s.id_token_uid in ("SIM-TAG-A", "SIM-TAG-B") for s in sessions)
            assert MeterSample.objects.filter(session__station=station, measurand="SoC").exists()
            assert (station.vendor, station.serial_number) == ("OpenCharge Sim", f"SN-{report.identity}")
            actions = set(MessageLogEntry.objects.filter(station=station).values_list("action", flat=True))
            assert {"BootNotification", "StatusNotification", "Authorize"} <= actions
        v201 = ChargingSession.objects.filter(station__identity="SIM-201")
        assert all(session.offline for session in v201)  # its queued events said so
        assert set(MessageLogEntry.objects.filter(station__identity="SIM-16").values_list("action", flat=True)) >= {
            "StartTransaction",
            "MeterValues",
            "StopTransaction",
        }


def test_a_station_reports_every_connector_as_soon_as_it_is_accepted(fleet, in_tenant):
    stations = [VirtualStation(config) for config in fleet(connectors=2, idle_seconds=60)]
    asyncio.run(stations_run(stations, duration=1.5))

    with in_tenant():
        reported = {
            identity: sorted(
                (entry.payload.get("connectorId"), entry.payload.get("evseId"), entry.payload.get("connectorStatus"))
                if entry.payload.get("evseId")
                else (entry.payload["connectorId"], entry.payload["status"])
                for entry in MessageLogEntry.objects.filter(
                    station__identity=identity, direction="in", action="StatusNotification"
                )
            )
            for identity in ("SIM-16", "SIM-201")
        }
    assert reported == {
        "SIM-16": [(0, "Available"), (1, "Available"), (2, "Available")],
        "SIM-201": [(1, 1, "Available"), (1, 2, "Available")],
    }


def test_faults_are_reported_and_cleared(fleet, in_tenant):
    stations = [VirtualStation(config) for config in fleet(fault_rate=1.0, fault_seconds=0.3, idle_seconds=0.1)]
    asyncio.run(stations_run(stations, duration=2.5))

    with in_tenant():
        for identity in ("SIM-16", "SIM-201"):
            faults = Fault.objects.filter(station__identity=identity)
            closed = faults.exclude(closed_at=None)
            assert closed.exists(), identity
            assert set(faults.values_list("fault_class", flat=True)) - {"connector"} <= {
                "ground_fault",
                "over_temperature",
                "over_current",
                "power_meter",
                "reader",
            }
        assert not ChargingSession.objects.exists()


def test_the_command_runs_the_named_stations_and_prints_a_summary(fleet, ocpp_server, in_tenant, capsys):
    call_command(
        "simulate_stations",
        f"ws://127.0.0.1:{ocpp_server.port}/ocpp/alpha",
        "--identities", "SIM-16:1.6,SIM-201:2.0.1",
        "--password", PASSWORD,
        "--id-tags", "SIM-TAG-A,SIM-TAG-B",
        "--connectors", "1", "--sessions", "1", "--session-seconds", "1", "--idle-seconds", "0.2",
        "--meter-interval", "0.3", "--fault-rate", "0", "--quiet",
    )  # fmt: skip
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[:4] for line in lines[1:]] == [
        ["SIM-16", "ocpp1.6", "1", "1"],
        ["SIM-201", "ocpp2.0.1", "1", "1"],
    ]
    with in_tenant():
        assert ChargingSession.objects.filter(status=ChargingSession.Status.COMPLETED).count() == 2


def test_a_station_with_the_wrong_password_keeps_trying_and_says_why(fleet, ocpp_server, in_tenant, capsys):
    with pytest.raises(CommandError, match="never connected"):
        call_command(
            "simulate_stations",
            f"ws://127.0.0.1:{ocpp_server.port}/ocpp/alpha",
            "--identities", "SIM-16:1.6",
            "--password", "not-the-password",
            "--duration", "2.5", "--quiet",
        )  # fmt: skip
    summary = capsys.readouterr().out.splitlines()[1]
    assert summary.split()[:3] == ["SIM-16", "ocpp1.6", "0"] and summary.endswith(
        "connect: HTTP 403"
    )  # the handshake is refused
    with in_tenant():
        assert MessageLogEntry.objects.count() == 0 and not Station.objects.get(identity="SIM-16").is_online


def test_an_unknown_station_waits_as_pending_until_an_operator_accepts_it(
    ocpp_server, network_configure, in_tenant, station_registration_wait
):
    network_configure(onboarding_policy="pending", boot_retry_interval_s=1)
    with in_tenant():
        IdToken.objects.create(uid="SIM-TAG-A", type="ISO14443", status="Accepted")
    config = StationConfig(
        url=station_url(ocpp_server.port, "SIM-NEW"),
        identity="SIM-NEW",
        protocol="ocpp2.0.1",
        password="its-own-new-password",
        id_tags=("SIM-TAG-A",),
        sessions=1,
        **FAST,
    )

    async def scenario():
        run = asyncio.create_task(stations_run([VirtualStation(config)], duration=30))
        await asyncio.to_thread(station_registration_wait, "SIM-NEW")
        return await run

    (report,) = asyncio.run(scenario())

    assert report.boots >= 3 and report.sessions_completed == 1  # Pending, Pending..., then Accepted
    with in_tenant():
        assert ChargingSession.objects.get().station.identity == "SIM-NEW"


@pytest.fixture
def station_registration_wait(in_tenant):
    """Wait until the station has asked to boot twice while Pending, then accept it as an operator would."""

    def accept(identity: str) -> None:
        def pending_boots() -> int:
            with in_tenant():
                return MessageLogEntry.objects.filter(
                    station__identity=identity, action="BootNotification", direction="out", message_type=3
                ).count()

        assert eventually(lambda: pending_boots() >= 2)
        with in_tenant():
            station_registration_set(station=Station.objects.get(identity=identity), status="accepted")

    return accept
