"""`manage.py station_command`: one remote operation from the command line, its outcome printed as JSON."""

import asyncio
import json

import pytest
from django.core.management import CommandError, call_command

from tests.ocpp.client import open_station, station_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settled", "same_channel_layer")]

PASSWORD = "a-station-password-of-some-length"


def test_the_command_line_sends_an_operation_and_prints_the_outcome(ocpp_server, station_make, capsys):
    station_make("CP-CLI", password=PASSWORD)

    async def scenario():
        async with open_station(station_url(ocpp_server.port, "CP-CLI"), identity="CP-CLI", password=PASSWORD) as cp:
            await cp.call("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "AC-22"})
            sending = asyncio.create_task(
                asyncio.to_thread(
                    call_command,
                    "station_command",
                    "alpha",
                    "CP-CLI",
                    "data_transfer",
                    "--params",
                    '{"vendor_id": "x"}',
                )
            )
            call = await cp.receive()
            await cp.connection.send(json.dumps([3, call[1], {"status": "Accepted", "data": "pong"}]))
            await sending
            return call

    call = asyncio.run(scenario())

    assert call[2:] == ["DataTransfer", {"vendorId": "x"}]
    printed = json.loads(capsys.readouterr().out)
    assert (printed["status"], printed["response"]) == ("accepted", {"status": "Accepted", "data": "pong"})


def test_the_command_line_names_what_is_wrong(ocpp_server, station_make):
    station_make("CP-CLI-2", password=PASSWORD)

    with pytest.raises(CommandError, match="No brand 'nobody'"):
        call_command("station_command", "nobody", "CP-CLI-2", "reset")
    with pytest.raises(CommandError, match="has no station 'CP-NONE'"):
        call_command("station_command", "alpha", "CP-NONE", "reset")
    with pytest.raises(CommandError, match='Not sent: {"kind": \\["\\\\"sideways\\\\" is not a valid choice."\\]}'):
        call_command("station_command", "alpha", "CP-CLI-2", "reset", "--params", '{"kind": "sideways"}')
    with pytest.raises(CommandError, match="reset: offline"):
        call_command("station_command", "alpha", "CP-CLI-2", "reset")
