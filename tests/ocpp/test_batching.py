"""MeterValues and Heartbeats of many stations go to the database together; each station still gets its own answer
after its rows are stored, and one station's failing message costs the others nothing."""

import asyncio
import base64
import json

import pytest
from channels.testing import WebsocketCommunicator

from apps.ocpp import batching, dispatch
from apps.ocpp.v16 import handlers as v16_handlers
from apps.sessions.models import MeterSample
from apps.stations.models import MessageLogEntry
from config.asgi import application

PASSWORD = "batched-station-password"


def meter_values(message_id: str, register_wh: int) -> list:
    sampled = [
        {"value": str(register_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": "11000", "measurand": "Power.Active.Import", "unit": "W"},
    ]
    payload = {"connectorId": 1, "meterValue": [{"timestamp": "2026-11-25T10:00:00Z", "sampledValue": sampled}]}
    return [2, message_id, "MeterValues", payload]


async def connected(identity: str) -> WebsocketCommunicator:
    credentials = base64.b64encode(f"{identity}:{PASSWORD}".encode())
    communicator = WebsocketCommunicator(
        application,
        f"/ocpp/alpha/{identity}",
        headers=[(b"authorization", b"Basic " + credentials)],
        subprotocols=["ocpp1.6"],
    )
    assert (await communicator.connect(timeout=10))[0]
    return communicator


@pytest.mark.django_db(transaction=True)
def test_stations_sending_at_once_are_each_answered_after_their_samples_are_stored(station_make, in_tenant):
    stations = [station_make(f"CP-BATCH-{number}", password=PASSWORD) for number in range(12)]

    async def scenario():
        communicators = [await connected(station.identity) for station in stations]
        for number, communicator in enumerate(communicators):
            await communicator.send_to(text_data=json.dumps(meter_values(f"mv-{number}", 1000 + number)))
        answers = [json.loads(await communicator.receive_from(timeout=10)) for communicator in communicators]
        for communicator in communicators:
            await communicator.disconnect()
        return answers

    answers = asyncio.run(scenario())

    assert answers == [[3, f"mv-{number}", {}] for number in range(12)]
    with in_tenant():
        for number, station in enumerate(stations):
            registers = MeterSample.objects.filter(station=station, measurand="Energy.Active.Import.Register")
            assert [sample.value for sample in registers] == [1000 + number]
            assert MeterSample.objects.filter(station=station).count() == 2
        assert MessageLogEntry.objects.filter(action="MeterValues").count() == 24  # each CALL and its answer


@pytest.mark.django_db(transaction=True)
def test_one_stations_failing_message_does_not_fail_the_others_in_its_batch(
    station_make, in_tenant, monkeypatch, caplog
):
    monkeypatch.setattr(batching, "BATCHES_IN_FLIGHT", 1)  # the first CALL goes alone, the others wait together
    stations = [station_make(f"CP-MIXED-{number}", password=PASSWORD) for number in range(6)]
    broken = stations[2].pk
    real_handler = v16_handlers.meter_values

    def fails_for_one_station(station_id, payload):
        if station_id == broken:
            raise RuntimeError("this station's message breaks the handler")
        return real_handler(station_id, payload)

    monkeypatch.setitem(dispatch.HANDLERS["ocpp1.6"], "MeterValues", fails_for_one_station)

    async def scenario():
        communicators = [await connected(station.identity) for station in stations]
        for number, communicator in enumerate(communicators):
            await communicator.send_to(text_data=json.dumps(meter_values(f"mv-{number}", 500 + number)))
        answers = [json.loads(await communicator.receive_from(timeout=10)) for communicator in communicators]
        for communicator in communicators:
            await communicator.disconnect()
        return answers

    answers = asyncio.run(scenario())

    failed_batches = [record.message for record in caplog.records if "CALLs failed" in record.message]
    assert failed_batches and not failed_batches[0].startswith("a batch of 1 ")
    assert answers[2][:3] == [4, "mv-2", "InternalError"]
    assert [answer for number, answer in enumerate(answers) if number != 2] == [
        [3, f"mv-{number}", {}] for number in (0, 1, 3, 4, 5)
    ]
    with in_tenant():
        assert not MeterSample.objects.filter(station_id=broken).exists()
        assert MeterSample.objects.filter(station__in=stations).count() == 10
        assert MessageLogEntry.objects.get(station_id=broken, direction="out").error_code == "InternalError"
