"""The consumer in process, where a handler can be made to fail: the station gets InternalError, nothing else breaks."""

import asyncio
import base64
import json

import pytest
from channels.testing import WebsocketCommunicator

from apps.ocpp import dispatch
from apps.ocpp.consumer import negotiate_subprotocol
from apps.stations.live import connection_group
from apps.stations.models import MessageLogEntry
from config.asgi import application

PASSWORD = "in-process-station-password"


def test_2_0_1_is_preferred_when_both_are_offered():
    assert negotiate_subprotocol(["ocpp1.6", "ocpp2.0.1"]) == "ocpp2.0.1"
    assert negotiate_subprotocol(["ocpp1.5", "ocpp1.6"]) == "ocpp1.6"
    assert negotiate_subprotocol(["ocpp2.1"]) is None
    assert negotiate_subprotocol([]) is None


def test_connection_group_is_a_valid_channel_layer_group_name():
    from channels.layers import BaseChannelLayer

    assert BaseChannelLayer().require_valid_group_name(connection_group("alpha", 17))
    assert connection_group("alpha", 17) != connection_group("bravo", 17)


@pytest.mark.django_db(transaction=True)
def test_a_failing_handler_answers_internal_error_and_the_connection_carries_on(station_make, monkeypatch, in_tenant):
    station = station_make("CP-OOPS", password=PASSWORD)

    def broken_heartbeat(station_id, payload):
        raise RuntimeError("the database fell over")

    monkeypatch.setitem(dispatch.HANDLERS["ocpp1.6"], "Heartbeat", broken_heartbeat)

    async def scenario():
        credentials = base64.b64encode(f"CP-OOPS:{PASSWORD}".encode())
        communicator = WebsocketCommunicator(
            application,
            "/ocpp/alpha/CP-OOPS",
            headers=[(b"authorization", b"Basic " + credentials)],
            subprotocols=["ocpp1.6"],
        )
        connected, protocol = await communicator.connect(timeout=10)
        assert (connected, protocol) == (True, "ocpp1.6")
        answers = []
        for frame in (
            [2, "hb-1", "Heartbeat", {}],
            [2, "boot-1", "BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "AC-22"}],
        ):
            await communicator.send_to(text_data=json.dumps(frame))
            answers.append(json.loads(await communicator.receive_from(timeout=10)))
        await communicator.disconnect()
        return answers

    failed, boot = asyncio.run(scenario())

    assert failed[:3] == [4, "hb-1", "InternalError"]
    assert "Heartbeat" in failed[3]
    assert boot[0] == 3 and boot[2]["status"] == "Accepted"
    with in_tenant():
        logged = MessageLogEntry.objects.get(station=station, message_id="hb-1", direction="out")
        assert logged.error_code == "InternalError"
