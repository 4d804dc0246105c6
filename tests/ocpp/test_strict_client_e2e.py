"""Sessions of an independent station (npm `ocpp-rpc`, strict mode) against the real daphne, down to the database.

The station is not built on the Python `ocpp` library: ocpp-rpc validates every request it sends and every answer
it gets against the official OCPP JSON schemas, and `flows.mjs` exits non-zero on any schema failure or CALLERROR.
`make test` installs it from the committed package-lock (`npm ci --prefix tests/ocpp/strict_client`).
"""

import json
import shutil
import subprocess
import threading
from decimal import Decimal

import pytest
from websockets.sync.server import serve

from apps.sessions.models import ChargingSession, IdToken, MeterSample
from apps.stations.models import Connector, MessageLogEntry, StationEvent
from tests.conftest import BASE_DIR

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settled")]

CLIENT_DIR = BASE_DIR / "tests" / "ocpp" / "strict_client"
PASSWORD = "a-station-password-of-some-length"
ID_TAG = "TAG-STRICT-1"
FLOW_TIMEOUT_S = 90


def strict_client_ready() -> str:
    """The node binary, once the client's pinned dependencies are installed; otherwise the test fails and says how."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (>= 18) is needed for the strict OCPP client test: install Node.js")
    pinned = json.loads((CLIENT_DIR / "package.json").read_text())["dependencies"]["ocpp-rpc"]
    installed = CLIENT_DIR / "node_modules" / "ocpp-rpc" / "package.json"
    if not installed.exists() or json.loads(installed.read_text())["version"] != pinned:
        pytest.fail(
            f"ocpp-rpc {pinned} is not installed for the strict OCPP client: run "
            "`npm ci --prefix tests/ocpp/strict_client` (make test does it)"
        )
    return node


def run_flow(url: str, identity: str, protocol: str) -> tuple[int, dict, str]:
    """(exit code, JSON summary, stderr) of one flows.mjs run."""
    command = [strict_client_ready(), str(CLIENT_DIR / "flows.mjs"), "--url", url, "--identity", identity]
    command += ["--password", PASSWORD, "--protocol", protocol, "--id-tag", ID_TAG]
    done = subprocess.run(command, cwd=BASE_DIR, capture_output=True, text=True, timeout=FLOW_TIMEOUT_S)
    try:
        summary = json.loads(done.stdout)
    except json.JSONDecodeError:
        summary = {}
    return done.returncode, summary, done.stderr


def assert_flow_passed(returncode: int, summary: dict, stderr: str) -> None:
    report = json.dumps({key: summary.get(key) for key in ("failure", "validationFailures", "protocolFailures")})
    assert returncode == 0 and summary.get("ok"), f"strict client failed ({returncode}): {stderr}\n{report}"
    assert not summary["validationFailures"] and not summary["protocolFailures"]


def assert_every_call_answered_and_logged(station, summary: dict) -> None:
    """Each CALL the client sent is in the message log, with its CALLRESULT under the same message id."""
    entries = MessageLogEntry.objects.filter(station=station)
    logged = {(e.direction, e.message_type, e.message_id, e.action) for e in entries}
    for call in summary["calls"]:
        assert ("in", 2, call["messageId"], call["action"]) in logged, call
        assert ("out", 3, call["messageId"], call["action"]) in logged, call
    assert not entries.filter(message_type=4).exists()
    assert entries.count() == 2 * len(summary["calls"])


@pytest.fixture
def id_token(in_tenant):
    with in_tenant():
        return IdToken.objects.create(uid=ID_TAG, type="ISO14443", status="Accepted")


def test_v16_strict_client_session_is_completed_with_its_energy(ocpp_server, station_make, id_token, in_tenant):
    station = station_make("STRICT-16", password=PASSWORD)

    returncode, summary, stderr = run_flow(f"ws://127.0.0.1:{ocpp_server.port}/ocpp/alpha", "STRICT-16", "ocpp1.6")

    assert_flow_passed(returncode, summary, stderr)
    statuses = summary["statuses"]
    assert [statuses[key] for key in ("boot", "authorize", "start", "stop")] == ["Accepted"] * 4
    assert statuses["dataTransfer"] == "UnknownVendorId"  # no vendor extension configured
    expected_actions = [
        "BootNotification",
        "StatusNotification",
        "StatusNotification",
        "Authorize",
        "StartTransaction",
        "StatusNotification",
        "MeterValues",
        "StatusNotification",
        "StopTransaction",
        "StatusNotification",
        "StatusNotification",
        "Heartbeat",
        "DataTransfer",
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
    ]
    assert [call["action"] for call in summary["calls"]] == expected_actions
    with in_tenant():
        session = ChargingSession.objects.get(station=station)
        assert (session.transaction_id, session.status, session.stop_reason) == (
            summary["transactionId"],
            "completed",
            "Local",
        )
        assert (session.meter_start_wh, session.meter_stop_wh) == (Decimal(1000), Decimal(13250))
        assert session.energy_wh == Decimal(summary["meterStopWh"] - summary["meterStartWh"]) == Decimal(12250)
        samples = MeterSample.objects.filter(session=session)
        assert samples.count() == 9 + 3 + 1 + 3  # MeterValues (two meterValues), then transactionData Begin and End
        assert set(samples.values_list("measurand", "phase", "unit")) >= {
            ("Energy.Active.Import.Register", "", "Wh"),
            ("Energy.Active.Import.Register", "", "kWh"),
            ("Power.Active.Import", "", "W"),
            ("Power.Active.Import", "", "kW"),
            ("Current.Import", "L1", "A"),
            ("Current.Import", "L2", "A"),
            ("Current.Import", "L3", "A"),
            ("Voltage", "L1-N", "V"),
            ("SoC", "", "Percent"),
        }
        in_kwh = samples.get(measurand="Energy.Active.Import.Register", unit="kWh", context="Sample.Periodic")
        assert (in_kwh.value, in_kwh.value_normalised) == (Decimal("9.75"), Decimal(9750))
        assert Connector.objects.get(evse__station=station, evse__evse_id=1, connector_id=1).status == "Available"
        station.refresh_from_db()
        assert (station.vendor, station.model, station.protocol) == ("StrictVendor", "AC-Strict-22", "ocpp1.6")
        assert (station.firmware_status, station.diagnostics_status) == ("Installed", "Uploaded")
        assert StationEvent.objects.filter(station=station, kind="data_transfer").count() == 1
        assert_every_call_answered_and_logged(station, summary)


def test_v201_strict_client_session_is_completed_with_its_energy(ocpp_server, station_make, id_token, in_tenant):
    station = station_make("STRICT-201", password=PASSWORD)

    returncode, summary, stderr = run_flow(f"ws://127.0.0.1:{ocpp_server.port}/ocpp/alpha", "STRICT-201", "ocpp2.0.1")

    assert_flow_passed(returncode, summary, stderr)
    statuses = summary["statuses"]
    assert (statuses["boot"], statuses["authorize"], statuses["started"]) == ("Accepted", "Accepted", "Accepted")
    assert statuses["dataTransfer"] == "UnknownVendorId"  # no vendor extension configured
    assert {call["action"] for call in summary["calls"]} == {
        "BootNotification",
        "StatusNotification",
        "Authorize",
        "TransactionEvent",
        "MeterValues",
        "Heartbeat",
        "NotifyEvent",
        "SecurityEventNotification",
        "FirmwareStatusNotification",
        "LogStatusNotification",
        "NotifyReport",
        "DataTransfer",
        "ReservationStatusUpdate",
        "NotifyChargingLimit",
        "ClearedChargingLimit",
    }
    with in_tenant():
        session = ChargingSession.objects.get(station=station)
        assert (session.transaction_id, session.status, session.stop_reason) == (
            summary["transactionId"],
            "completed",
            "Local",
        )
        assert (session.meter_start_wh, session.meter_stop_wh) == (Decimal(2000), Decimal(17500))
        assert session.energy_wh == Decimal(summary["meterStopWh"] - summary["meterStartWh"]) == Decimal(15500)
        assert session.last_seq_no == 2
        samples = MeterSample.objects.filter(session=session)
        assert set(samples.values_list("measurand", "phase")) >= {
            ("Energy.Active.Import.Register", ""),
            ("Power.Active.Import", ""),
            ("Current.Import", "L1"),
            ("Current.Import", "L2"),
            ("Current.Import", "L3"),
            ("Voltage", "L1-N"),
            ("SoC", ""),
        }
        assert samples.get(measurand="Power.Active.Import").value == Decimal(49500)  # multiplier 3 applied
        station.refresh_from_db()
        assert (station.vendor, station.model, station.protocol) == ("StrictVendor", "DC-Strict-50", "ocpp2.0.1")
        assert (station.firmware_status, station.diagnostics_status) == ("Installed", "Uploaded")
        kinds = set(StationEvent.objects.filter(station=station).values_list("kind", flat=True))
        assert kinds >= {
            "data_transfer",
            "security_event",
            "notify_event",
            "report",
            "reservation_status",
            "charging_limit",
        }
        assert_every_call_answered_and_logged(station, summary)


BAD_BOOT_ANSWER = {"status": "Accepted", "currentTime": "yesterday", "interval": 300}


@pytest.mark.parametrize(
    ("boot_answer", "error_code"),
    [
        pytest.param([3, BAD_BOOT_ANSWER], "FormatViolation", id="answer-off-schema"),
        pytest.param([4, "InternalError", "boom", {}], "InternalError", id="callerror"),
    ],
)
def test_strict_client_fails_when_the_csms_answers_wrong(boot_answer, error_code):
    """The guard of the tests above: a CSMS answering BootNotification off-schema or with a CALLERROR fails the run."""

    def answer(connection):
        for text in connection:
            _, message_id, action, _ = json.loads(text)
            reply = (
                [boot_answer[0], message_id, *boot_answer[1:]] if action == "BootNotification" else [3, message_id, {}]
            )
            connection.send(json.dumps(reply))

    with serve(answer, "127.0.0.1", 0, subprotocols=["ocpp1.6"]) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/ocpp/alpha"
        returncode, summary, stderr = run_flow(url, "STRICT-BAD", "ocpp1.6")
        server.shutdown()

    assert returncode == 1, stderr
    failure = summary["failure"]
    assert (failure["action"], failure["error"]["code"]) == ("BootNotification", error_code)
    assert [call["action"] for call in summary["calls"]] == ["BootNotification"]
    if boot_answer[0] == 3:
        assert failure["answer"] == BAD_BOOT_ANSWER
        assert failure["validation"]["error"]["details"][0]["instancePath"] == "/currentTime"
