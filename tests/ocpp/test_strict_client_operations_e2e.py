"""Every remote operation, in both versions, as received by the independent strict station (npm ocpp-rpc in
strictMode): any CALL of the CSMS that breaks the official schema fails the run."""

import json
import subprocess

import pytest

from apps.commands.operations import OPERATIONS
from apps.commands.services import command_send
from apps.stations.models import Station
from tests.conftest import BASE_DIR
from tests.ocpp.client import station_url
from tests.ocpp.test_commands import EXAMPLES
from tests.ocpp.test_strict_client_e2e import CLIENT_DIR, PASSWORD, strict_client_ready

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settled", "same_channel_layer")]


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
def test_the_strict_station_receives_every_operation_of_its_version_without_a_schema_violation(
    ocpp_server, station_make, in_tenant, protocol
):
    identity = f"STRICT-OPS-{protocol[-3:].replace('.', '')}"
    station_make(identity, password=PASSWORD)
    operations = [
        (name, params)
        for name, operation in OPERATIONS.items()
        if protocol in operation.protocols
        for params in EXAMPLES[name]
    ]
    command = [strict_client_ready(), str(CLIENT_DIR / "flows.mjs"), "--url", station_url(ocpp_server.port, "")]
    command += ["--identity", identity, "--password", PASSWORD, "--protocol", protocol, "--serve", str(len(operations))]
    client = subprocess.Popen(command, cwd=BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert client.stderr.readline().strip() == "serving"
        with in_tenant():
            station = Station.objects.get(identity=identity)
            outcomes = [
                (name, command_send(station=station, operation=name, params=params, timeout_s=10).status)
                for name, params in operations
            ]
        out, err = client.communicate(timeout=60)
    finally:
        if client.poll() is None:
            client.kill()
    summary = json.loads(out)

    assert client.returncode == 0 and summary["ok"], f"{err}\n{json.dumps(summary.get('validationFailures'))}"
    assert summary["validationFailures"] == [] and summary["protocolFailures"] == []
    assert outcomes == [(name, "accepted") for name, _ in operations]
    assert len(summary["serverCalls"]) == len(operations)
