"""Firmware updates and diagnostics/log uploads as a virtual station runs them, in both versions, without a WebSocket:
the answer, every status it reports (schema-valid, after the answer), the reboot into the new firmware, and the file
really uploaded over HTTP to a small server of the test's."""

import asyncio
import http.server
import re
import threading
import time
from datetime import UTC, datetime, timedelta
from email import policy
from email.parser import BytesParser

import pytest

from tests.tools.simulator.support import V16, V201, ask, reconnected, sent, session_start, until
from tools.simulator import operations
from tools.simulator.dialects import iso
from tools.simulator.operations import firmware_version

pytestmark = pytest.mark.asyncio

FIRMWARE = "https://files.example.com/firmware/ac22-2.4.1.bin"


@pytest.fixture(autouse=True)
def brisk(monkeypatch):
    monkeypatch.setattr(operations, "FIRMWARE_STEP_S", 0.01)
    monkeypatch.setattr(operations, "UPLOAD_STEP_S", 0.01)


@pytest.fixture
def station_make(offline_stations):
    return offline_stations


def moment(seconds: float = 0) -> str:
    return iso(datetime.now(UTC) + timedelta(seconds=seconds))


def update_firmware(protocol: str, location: str = FIRMWARE, *, retrieve_in: float = -60, **more) -> tuple:
    if protocol == V16:
        return "UpdateFirmware", {"location": location, "retrieveDate": moment(retrieve_in)} | more
    firmware = {"location": location, "retrieveDateTime": moment(retrieve_in)}
    return "UpdateFirmware", {"requestId": more.pop("requestId", 41), "firmware": firmware} | more


def firmware_statuses(station) -> list:
    return [p["status"] for p in sent(station, "FirmwareStatusNotification")]


def log_statuses(station) -> list:
    action = "DiagnosticsStatusNotification" if station.config.protocol == V16 else "LogStatusNotification"
    return [p["status"] for p in sent(station, action)]


# --- firmware ---------------------------------------------------------------------------------------------------------


async def test_a_16_firmware_update_installs_reboots_and_boots_with_the_new_version(station_make):
    station = station_make(V16)
    assert await ask(station, *update_firmware(V16)) == {}

    await reconnected(station)  # Installing ends with a reboot
    await until(lambda: "Installed" in firmware_statuses(station))

    assert firmware_statuses(station) == ["Downloading", "Downloaded", "Installing", "Installed"]
    names = sent(station)
    installing = names.index("FirmwareStatusNotification", 0) + 2
    assert names[installing + 1 :] == ["BootNotification", "FirmwareStatusNotification"]  # Installed after the boot
    (boot,) = sent(station, "BootNotification")
    assert boot["firmwareVersion"] == "2.4.1" == station.dialect.firmware
    assert (station.report.firmware_updates, station.report.resets, station.firmware_status) == (1, 1, "Idle")

    assert await ask(station, "TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}) == {
        "status": "Accepted"
    }
    assert sent(station, "FirmwareStatusNotification")[-1] == {"status": "Idle"}


async def test_a_201_firmware_update_reports_its_request_and_boots_for_a_firmware_update(station_make):
    station = station_make(V201)
    request = update_firmware(V201, "https://files.example.com/SIM-AC22_3.1.0.bin", requestId=77)
    assert await ask(station, *request) == {"status": "Accepted"}

    await reconnected(station)
    await until(lambda: "Installed" in firmware_statuses(station))

    reports = sent(station, "FirmwareStatusNotification")
    assert reports == [
        {"status": status, "requestId": 77} for status in ("Downloading", "Downloaded", "Installing", "Installed")
    ]
    (boot,) = sent(station, "BootNotification")
    assert boot["reason"] == "FirmwareUpdate" and boot["chargingStation"]["firmwareVersion"] == "3.1.0"
    assert sent(station)[-2:] == ["BootNotification", "FirmwareStatusNotification"]


async def test_a_signed_201_update_scheduled_later_says_so(station_make):
    station = station_make(V201)
    action, payload = update_firmware(V201, retrieve_in=0.4)
    payload["firmware"] |= {"signature": "c2lnbmF0dXJl", "signingCertificate": "-----BEGIN CERTIFICATE-----"}
    started = time.monotonic()
    assert await ask(station, action, payload) == {"status": "Accepted"}

    await until(lambda: "Downloading" in firmware_statuses(station))
    assert time.monotonic() - started >= 0.35  # not before the retrieve time
    await reconnected(station)
    await until(lambda: "Installed" in firmware_statuses(station))
    assert firmware_statuses(station) == [
        "DownloadScheduled",
        "Downloading",
        "Downloaded",
        "SignatureVerified",
        "Installing",
        "Installed",
    ]


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_a_download_that_fails_is_reported_and_changes_nothing(station_make, protocol):
    station = station_make(protocol)
    request = update_firmware(protocol, "https://files.example.com/fail/ac22-9.9.9.bin", retries=2)
    await ask(station, *request)

    await until(lambda: "DownloadFailed" in firmware_statuses(station))
    await until(lambda: station.firmware_status == "Idle")
    assert firmware_statuses(station) == ["Downloading", "DownloadFailed"]
    assert station.dialect.firmware == "1.0.0" and station.online.is_set() and station.report.resets == 0


async def test_the_install_waits_for_the_running_session_and_takes_no_new_one(station_make):
    station = station_make(V16)
    transaction = await session_start(station, 1)
    await ask(station, *update_firmware(V16))

    await until(lambda: "Downloaded" in firmware_statuses(station))
    await asyncio.sleep(0.1)
    assert "Installing" not in firmware_statuses(station) and station.connectors[1].transaction is transaction
    assert not station.connector_free(2)  # the install is coming: no new session
    assert await ask(station, "RemoteStartTransaction", {"idTag": "T", "connectorId": 2}) == {"status": "Rejected"}

    await ask(station, "RemoteStopTransaction", {"transactionId": transaction.id})
    await reconnected(station)
    await until(lambda: "Installed" in firmware_statuses(station))
    assert sent(station, "StopTransaction")[0]["reason"] == "Remote"  # it ended as asked, not for the reboot
    assert station.connector_free(2)


async def test_a_201_update_replaces_the_one_not_yet_installed(station_make):
    station = station_make(V201)
    assert await ask(station, *update_firmware(V201, retrieve_in=30, requestId=1)) == {"status": "Accepted"}
    await until(lambda: firmware_statuses(station) == ["DownloadScheduled"])

    assert await ask(station, *update_firmware(V201, requestId=2)) == {"status": "AcceptedCanceled"}
    await reconnected(station)
    await until(lambda: "Installed" in firmware_statuses(station))
    assert [p.get("requestId") for p in sent(station, "FirmwareStatusNotification")] == [1, 2, 2, 2, 2]


@pytest.mark.parametrize(
    ("location", "version"),
    [
        ("https://files.example.com/firmware/ac22-2.4.1.bin", "2.4.1"),
        ("http://cdn.example.com/v3.10.0-rc1.tar.gz?token=abc", "3.10.0"),
        ("ftp://files.example.com/releases/firmware-latest.bin", "firmware-latest"),
        ("https://files.example.com/", "1.0.0-update"),
    ],
)
async def test_the_new_firmware_version_comes_from_the_file_name(location, version):
    assert firmware_version(location, "1.0.0") == version


# --- diagnostics and logs -----------------------------------------------------------------------------------------


class Recorder(http.server.BaseHTTPRequestHandler):
    """Keeps what every upload sent: method, path, headers, body; answers with the server's `status`."""

    def do_POST(self):
        self._record()

    def do_PUT(self):
        self._record()

    def _record(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append((self.command, self.path, self.headers, body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def upload_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    server.received, server.status = [], 201
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join()


def form_fields(headers, body: bytes) -> dict:
    """The parts of a multipart/form-data body: field name → (file name, content)."""
    message = BytesParser(policy=policy.default).parsebytes(
        f"Content-Type: {headers['Content-Type']}\r\n\r\n".encode() + body
    )
    return {
        part.get_param("name", header="content-disposition"): (part.get_filename(), part.get_payload(decode=True))
        for part in message.iter_parts()
    }


async def test_a_16_get_diagnostics_uploads_the_recent_activity_as_a_multipart_form(station_make, upload_server):
    station = station_make(V16, fault_seconds=0.01)
    transaction = await session_start(station, 1)
    await ask(station, "RemoteStopTransaction", {"transactionId": transaction.id})
    await until(lambda: station.report.sessions_completed == 1)
    await station._fault(2)
    port = upload_server.server_address[1]
    location = f"http://alpha.localhost:{port}/station-uploads/secret-token"  # a brand's domain in development

    answer = await ask(station, "GetDiagnostics", {"location": location, "startTime": moment(-3600)})
    assert re.fullmatch(r"diagnostics-SIM-1-\d{8}T\d{6}Z\.log", answer["fileName"])
    await until(lambda: len(log_statuses(station)) == 2)

    assert log_statuses(station) == ["Uploading", "Uploaded"]
    ((method, path, headers, body),) = upload_server.received
    assert (method, path, headers["Host"]) == ("POST", "/station-uploads/secret-token", f"alpha.localhost:{port}")
    assert headers["Content-Type"].startswith("multipart/form-data; boundary=")
    ((name, content),) = form_fields(headers, body).values()
    assert list(form_fields(headers, body)) == ["file"] and name == answer["fileName"]
    text = content.decode()
    assert text.startswith("# DiagnosticsLog of SIM-1: OpenCharge Sim SIM-AC22, serial SN-SIM-1, firmware 1.0.0")
    assert f"connector 1: session {transaction.id} started with SIM-TAG-9" in text
    assert "connector 2 faulted" in text and "connector 2 recovered" in text
    assert station.report.uploads == 1 and station.log_status == "Idle"


async def test_a_201_get_log_puts_the_raw_file_and_reports_with_its_request_id(station_make, upload_server):
    station = station_make(V201)
    station.log("boot (PowerUp) accepted, firmware 1.0.0, heartbeat every 300 s")
    location = f"http://127.0.0.1:{upload_server.server_address[1]}/station-uploads/tok"
    request = {"log": {"remoteLocation": location}, "logType": "DiagnosticsLog", "requestId": 12}

    answer = await ask(station, "GetLog", request)
    assert answer["status"] == "Accepted" and answer["filename"].startswith("diagnostics-SIM-1-")
    await until(lambda: len(log_statuses(station)) == 2)

    assert sent(station, "LogStatusNotification") == [
        {"status": "Uploading", "requestId": 12},
        {"status": "Uploaded", "requestId": 12},
    ]
    ((method, path, headers, body),) = upload_server.received
    assert (method, path, headers["Content-Type"]) == ("PUT", "/station-uploads/tok", "text/plain")
    assert headers["Content-Disposition"] == f'attachment; filename="{answer["filename"]}"'
    assert b"boot (PowerUp) accepted" in body and body.startswith(b"# DiagnosticsLog of SIM-1")


async def test_a_201_security_log_holds_what_concerns_security_within_the_period(station_make, upload_server):
    station = station_make(V201)
    long_ago = datetime.now(UTC) - timedelta(days=3)
    station.activity.extend(
        [
            (long_ago, "boot (PowerUp) accepted, firmware 0.9.0"),
            (datetime.now(UTC), "connected (ocpp2.0.1)"),
            (datetime.now(UTC), "connector 1: session abc started with SIM-TAG-1"),
        ]
    )
    location = f"http://127.0.0.1:{upload_server.server_address[1]}/up"
    log = {"remoteLocation": location, "oldestTimestamp": moment(-3600), "latestTimestamp": moment(60)}
    answer = await ask(station, "GetLog", {"log": log, "logType": "SecurityLog", "requestId": 3})
    assert answer["filename"].startswith("security-SIM-1-")
    await until(lambda: upload_server.received)

    body = upload_server.received[0][3].decode()
    assert "connected (ocpp2.0.1)" in body
    assert "firmware 0.9.0" not in body and "session abc" not in body


@pytest.mark.parametrize(("protocol", "failed"), [(V16, "UploadFailed"), (V201, "UploadFailure")])
async def test_an_upload_the_server_refuses_is_retried_then_reported_failed(
    station_make, upload_server, protocol, failed
):
    station = station_make(protocol)
    upload_server.status = 404
    location = f"http://127.0.0.1:{upload_server.server_address[1]}/station-uploads/unknown"
    if protocol == V16:
        await ask(station, "GetDiagnostics", {"location": location, "retries": 1})
    else:
        await ask(station, "GetLog", {"log": {"remoteLocation": location}, "logType": "DiagnosticsLog", "requestId": 5})
    await until(lambda: len(log_statuses(station)) == 2)

    assert log_statuses(station) == ["Uploading", failed]
    assert len(upload_server.received) == (2 if protocol == V16 else 1)
    assert station.report.uploads == 0


@pytest.mark.parametrize("location", ["http://127.0.0.1:9/nobody-listens", "ftp://files.example.com/upload/"])
async def test_a_location_that_cannot_be_reached_fails_the_upload(station_make, location):
    station = station_make(V16)
    await ask(station, "GetDiagnostics", {"location": location})
    await until(lambda: len(log_statuses(station)) == 2)
    assert log_statuses(station) == ["Uploading", "UploadFailed"]


async def test_a_201_new_log_request_cancels_the_upload_under_way(station_make):
    station = station_make(V201)
    hold = asyncio.Event()
    station.log_task = asyncio.create_task(hold.wait())
    request = {"log": {"remoteLocation": "http://127.0.0.1:9/x"}, "logType": "DiagnosticsLog", "requestId": 8}
    answer = await ask(station, "GetLog", request)
    assert answer["status"] == "AcceptedCanceled"
    await until(lambda: len(log_statuses(station)) == 2)
    assert log_statuses(station) == ["Uploading", "UploadFailure"]
