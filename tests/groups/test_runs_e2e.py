"""A run on real connected stations: this process sends each wave through Redis to the daphne that holds the
stations' connections, and each station's answer becomes its outcome in the run's progress."""

import asyncio
import json

import pytest

from apps.groups.models import GroupRun
from apps.groups.selectors import group_run_progress
from apps.groups.services import group_run_start, group_run_wave
from tests.groups.factories import StationGroupFactory
from tests.ocpp.client import open_station, station_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settled", "same_channel_layer")]

PASSWORD = "a-station-password-of-some-length"
BOOT = ("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "AC-22"})


async def answer(station, status: str) -> list:
    call = await station.receive()
    await station.connection.send(json.dumps([3, call[1], {"status": status}]))
    return call


def test_a_rollout_in_two_waves_records_each_stations_answer(ocpp_server, station_make, in_tenant):
    stations = [station_make(identity, password=PASSWORD) for identity in ("CP-GRP-A", "CP-GRP-B")]
    with in_tenant():
        group = StationGroupFactory(name="Both", stations=stations)
        run = group_run_start(group=group, operation="reset", params={"kind": "soft"}, wave_size=1, source="admin")

    def wave():
        """group_run_wave in a thread, as a Celery worker would run it."""
        with in_tenant():
            return group_run_wave(GroupRun.objects.get(pk=run.pk))

    async def scenario():
        async with (
            open_station(station_url(ocpp_server.port, "CP-GRP-A"), identity="CP-GRP-A", password=PASSWORD) as a,
            open_station(station_url(ocpp_server.port, "CP-GRP-B"), identity="CP-GRP-B", password=PASSWORD) as b,
        ):
            await a.call(*BOOT)
            await b.call(*BOOT)
            first = asyncio.create_task(asyncio.to_thread(wave))
            call_a = await answer(a, "Accepted")
            after_first = await first
            # The second wave has not gone out: B has received nothing.
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(b.connection.recv(), 0.3)
            second = asyncio.create_task(asyncio.to_thread(wave))
            call_b = await answer(b, "Rejected")
            return call_a, call_b, after_first, await second

    call_a, call_b, after_first, after_second = asyncio.run(scenario())

    assert call_a[2:] == call_b[2:] == ["Reset", {"type": "Soft"}]
    assert (after_first.status, after_first.current_wave) == ("running", 1)
    assert (after_second.status, after_second.current_wave) == ("completed", 2)
    with in_tenant():
        items = after_second.items.select_related("station", "command")
        outcomes = [(i.station.identity, i.wave, i.command.status, i.command.answer_status) for i in items]
        progress = group_run_progress(after_second)
    assert outcomes == [("CP-GRP-A", 1, "accepted", "Accepted"), ("CP-GRP-B", 2, "rejected", "Rejected")]
    assert str(progress) == "2/2 done: 1 accepted, 1 rejected"
