"""Every remote operation, in both versions, against a simulated station (tools/simulator) connected to the real
daphne: the outcome the platform records and what the station did because of it."""

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.commands.models import Command, StationFile
from apps.commands.services import command_send
from apps.sessions.models import ChargingSession, IdToken, Reservation
from apps.stations.models import Station, StationVariable
from tests.ocpp.client import station_url
from tests.ocpp.server import eventually
from tools.simulator.station import StationConfig, VirtualStation, stations_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settled", "same_channel_layer")]

PASSWORD = "a-simulated-station-password"
TAG = "SIM-OPS-TAG"


@pytest.fixture
def simulated(ocpp_server, station_make, in_tenant):
    """A connected virtual station of `protocol` with two idle connectors, and a way to send it commands."""

    def make(identity: str, protocol: str):
        station_make(identity, password=PASSWORD)
        with in_tenant():
            IdToken.objects.get_or_create(uid=TAG, type="ISO14443", status="Accepted")
        config = StationConfig(
            url=station_url(ocpp_server.port, identity),
            identity=identity,
            protocol=protocol,
            password=PASSWORD,
            id_tags=(TAG,),
            connectors=2,
            idle_seconds=3600,  # no car arrives on its own: only what the operations cause happens
            session_seconds=3600,
            meter_interval=1,
            fault_rate=0,
            seed=7,
        )
        return VirtualStation(config)

    return make


def send(in_tenant, identity: str, operation: str, params: dict | None = None) -> Command:
    with in_tenant():
        station = Station.objects.get(identity=identity)
        return command_send(station=station, operation=operation, params=params or {}, timeout_s=10)


def recorder(in_tenant, identity: str, outcome: dict):
    """`do(name, operation, params)`: send a command and note its (status, answer status) under `name`."""

    def do(name, operation, params=None) -> Command:
        command = send(in_tenant, identity, operation, params)
        outcome[name] = (command.status, command.answer_status)
        return command

    return do


def active_transaction(in_tenant, identity: str) -> str | None:
    with in_tenant():
        session = ChargingSession.objects.filter(station__identity=identity, status="active").first()
        return session.transaction_id if session else None


def run_against(station: VirtualStation, steps) -> list:
    """Run the station, wait until it is online, then `steps(send)` in a thread; the station stops afterwards."""

    async def scenario():
        running = asyncio.create_task(stations_run([station], duration=90))
        await asyncio.wait_for(station.online.wait(), 15)
        try:
            return await asyncio.to_thread(steps)
        finally:
            running.cancel()
            await asyncio.gather(running, return_exceptions=True)

    return asyncio.run(scenario())


def test_every_1_6_operation_against_a_simulated_station(simulated, in_tenant):
    station = simulated("SIM-OPS-16", "ocpp1.6")
    identity = "SIM-OPS-16"

    def steps():
        outcome = {}
        do = recorder(in_tenant, identity, outcome)

        do("get_configuration", "get_configuration")
        do("heartbeat_interval", "change_configuration", {"key": "HeartbeatInterval", "value": "120"})
        do("read_only_key", "change_configuration", {"key": "NumberOfConnectors", "value": "5"})
        do("trigger", "trigger_message", {"message": "status_notification", "evse_id": 1})
        do("clear_cache", "clear_cache")
        do("unavailable", "change_availability", {"operative": False, "evse_id": 2})
        do("start_on_unavailable", "remote_start", {"id_token": TAG, "evse_id": 2})
        do("remote_start", "remote_start", {"id_token": TAG, "evse_id": 1})
        transaction_id = eventually(lambda: active_transaction(in_tenant, identity))
        do("remote_stop", "remote_stop", {"transaction_id": transaction_id})
        eventually(lambda: active_transaction(in_tenant, identity) is None)
        do("unlock", "unlock_connector", {"evse_id": 1})
        do("data_transfer", "data_transfer", {"vendor_id": "OpenChargeSim", "data": "ping"})
        do("unknown_vendor", "data_transfer", {"vendor_id": "com.other"})
        do("reset", "reset", {"kind": "soft"})
        outcome["rebooted"] = eventually(lambda: station.report.boots >= 2, timeout=15)
        return outcome, transaction_id

    outcome, transaction_id = run_against(station, steps)

    assert outcome == {
        "get_configuration": ("accepted", outcome["get_configuration"][1]),
        "heartbeat_interval": ("accepted", "Accepted"),
        "read_only_key": ("rejected", "Rejected"),
        "trigger": ("accepted", "Accepted"),
        "clear_cache": ("accepted", "Accepted"),
        "unavailable": ("accepted", "Accepted"),
        "start_on_unavailable": ("rejected", "Rejected"),
        "remote_start": ("accepted", "Accepted"),
        "remote_stop": ("accepted", "Accepted"),
        "unlock": ("accepted", "Unlocked"),
        "data_transfer": ("accepted", "Accepted"),
        "unknown_vendor": ("rejected", "UnknownVendorId"),
        "reset": ("accepted", "Accepted"),
        "rebooted": True,
    }
    assert outcome["get_configuration"][1].endswith("keys")
    with in_tenant():
        session = ChargingSession.objects.get(transaction_id=transaction_id)
        assert (session.status, session.stop_reason, session.id_token_uid) == ("completed", "Remote", TAG)
        assert StationVariable.objects.get(station__identity=identity, variable="HeartbeatInterval").value == "120"
        assert StationVariable.objects.filter(station__identity=identity).count() > 10


def test_every_2_0_1_operation_against_a_simulated_station(simulated, in_tenant):
    station = simulated("SIM-OPS-201", "ocpp2.0.1")
    identity = "SIM-OPS-201"

    def steps():
        outcome = {}
        do = recorder(in_tenant, identity, outcome)

        heartbeat = {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"}
        do("get_variables", "get_variables", {"variables": [heartbeat, {"component": "Nope", "variable": "X"}]})
        do("set_variables", "set_variables", {"variables": [{**heartbeat, "value": "90"}]})
        do("base_report", "get_base_report", {"report": "FullInventory"})
        do("trigger", "trigger_message", {"message": "heartbeat"})
        do("clear_cache", "clear_cache")
        do("unavailable", "change_availability", {"operative": False, "evse_id": 2})
        start = do("remote_start", "remote_start", {"id_token": TAG, "evse_id": 1})
        transaction_id = eventually(lambda: active_transaction(in_tenant, identity))
        do("trigger_transaction", "trigger_message", {"message": "transaction_event", "evse_id": 1})
        do("unlock_while_charging", "unlock_connector", {"evse_id": 1})
        do("remote_stop", "remote_stop", {"transaction_id": transaction_id})
        eventually(lambda: active_transaction(in_tenant, identity) is None)
        do("data_transfer", "data_transfer", {"vendor_id": "OpenChargeSim", "data": "ping"})
        do("reset", "reset", {"kind": "hard"})
        outcome["rebooted"] = eventually(lambda: station.report.boots >= 2, timeout=15)
        return outcome, transaction_id, start

    outcome, transaction_id, start = run_against(station, steps)

    assert outcome == {
        "get_variables": ("accepted", "1 Accepted, 1 UnknownComponent"),
        "set_variables": ("accepted", "1 Accepted"),
        "base_report": ("accepted", "Accepted"),
        "trigger": ("accepted", "Accepted"),
        "clear_cache": ("accepted", "Accepted"),
        "unavailable": ("accepted", "Accepted"),
        "remote_start": ("accepted", "Accepted"),
        "trigger_transaction": ("accepted", "Accepted"),
        "unlock_while_charging": ("rejected", "OngoingAuthorizedTransaction"),
        "remote_stop": ("accepted", "Accepted"),
        "data_transfer": ("accepted", "Accepted"),
        "reset": ("accepted", "Accepted"),
        "rebooted": True,
    }
    with in_tenant():
        session = ChargingSession.objects.get(transaction_id=transaction_id)
        assert (session.status, session.stop_reason, session.remote_start_id) == ("completed", "Remote", start.pk)
        assert (
            StationVariable.objects.get(
                station__identity=identity, component="OCPPCommCtrlr", variable="HeartbeatInterval"
            ).value
            == "90"
        )
        # the base report's NotifyReport filled in the device model
        assert StationVariable.objects.filter(station__identity=identity).count() > 10


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
def test_firmware_logs_lists_reservations_and_profiles_against_a_simulated_station(simulated, in_tenant, protocol):
    identity = f"SIM-MORE-{protocol[-3:].replace('.', '')}"
    station = simulated(identity, protocol)

    def steps():
        outcome = {}
        do = recorder(in_tenant, identity, outcome)

        def progress(command) -> list[str]:
            with in_tenant():
                return [step["status"] for step in Command.objects.get(pk=command.pk).progress]

        firmware = do("firmware", "update_firmware", {"location": "https://firmware.example.com/sim-2.4.1.bin"})
        outcome["installed"] = bool(eventually(lambda: "Installed" in progress(firmware), timeout=20))
        log = do("log", "get_log")
        outcome["uploaded"] = bool(eventually(lambda: "Uploaded" in progress(log), timeout=20))
        do("full_list", "send_local_list")
        do("list_version", "get_local_list_version")
        expires = (timezone.now() + timedelta(hours=1)).isoformat()
        reserve = do("reserve", "reserve_now", {"id_token": TAG, "expires_at": expires, "evse_id": 1})
        do("reserve_taken", "reserve_now", {"id_token": "OTHER", "expires_at": expires, "evse_id": 1})
        with in_tenant():
            reservation_id = reserve.request.get("reservationId", reserve.request.get("id"))
        do("cancel", "cancel_reservation", {"reservation_id": reservation_id})
        do("cancel_again", "cancel_reservation", {"reservation_id": reservation_id})
        profile = {"evse_id": 1, "purpose": "tx_default", "periods": [{"start_s": 0, "limit": "6"}]}
        do("profile", "set_charging_profile", profile)
        schedule = do("schedule", "get_composite_schedule", {"evse_id": 1, "duration_s": 600, "unit": "A"})
        do("clear", "clear_charging_profile", {"evse_id": 1})
        do("clear_nothing", "clear_charging_profile", {"profile_id": 999})
        return outcome, firmware, log, schedule

    outcome, firmware, log, schedule = run_against(station, steps)

    v16 = protocol == "ocpp1.6"
    assert outcome == {
        "firmware": ("accepted", "" if v16 else "Accepted"),
        "installed": True,
        "log": ("accepted", outcome["log"][1]),
        "uploaded": True,
        "full_list": ("accepted", "Accepted"),
        "list_version": ("accepted", "version 1"),
        "reserve": ("accepted", "Accepted"),
        "reserve_taken": ("rejected", outcome["reserve_taken"][1]),
        "cancel": ("accepted", "Accepted"),
        "cancel_again": ("rejected", "Rejected"),
        "profile": ("accepted", "Accepted"),
        "schedule": ("accepted", "Accepted"),
        "clear": ("accepted", "Accepted"),
        "clear_nothing": ("rejected", "Unknown"),
    }
    periods = (
        schedule.response["chargingSchedule"]["chargingSchedulePeriod"]
        if v16
        else schedule.response["schedule"]["chargingSchedulePeriod"]
    )
    assert periods[0]["limit"] == 6
    with in_tenant():
        assert StationFile.objects.get(command=log).size > 0
        db_station = Station.objects.get(identity=identity)
        assert (db_station.local_list_version, db_station.firmware_status) == (1, "Installed")
        assert db_station.firmware_version != "1.0.0"
        assert list(Reservation.objects.values_list("status", flat=True).order_by("created_at")) == [
            "cancelled",
            "rejected",
        ]
