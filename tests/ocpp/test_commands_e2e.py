"""Remote operations end to end: this process sends commands through Redis to the daphne that holds the station's
connection; a raw station answers as it likes (accepts, rejects, errs, breaks the schema, says nothing)."""

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django.contrib.auth.hashers import make_password
from django_tenants.utils import schema_context

from apps.commands.models import Command, StationFile
from apps.commands.services import command_send
from apps.sessions.models import IdToken, Reservation
from apps.stations.models import MessageLogEntry, Station, StationVariable
from tests.ocpp.client import open_station, station_url
from tests.ocpp.server import eventually

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settled", "same_channel_layer")]

PASSWORD = "a-station-password-of-some-length"
BOOT = {
    "ocpp1.6": ("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "AC-22"}),
    "ocpp2.0.1": ("BootNotification", {"chargingStation": {"vendorName": "Acme", "model": "AC"}, "reason": "PowerUp"}),
}


@pytest.fixture
def command(in_tenant):
    """`await command(identity, operation, params, ...)`: command_send in a thread, as a web request would."""

    def send(identity, operation, params=None, **fields):
        with in_tenant():
            station = Station.objects.get(identity=identity)
            return command_send(station=station, operation=operation, params=params, source="cli", **fields)

    async def run(identity, operation, params=None, **fields):
        return await asyncio.to_thread(send, identity, operation, params, **fields)

    return run


def connect(server, identity, protocol):
    return open_station(station_url(server.port, identity), protocol=protocol, identity=identity, password=PASSWORD)


async def answer(station, payload: dict) -> list:
    """Receive the server's CALL and answer it with `payload` (a list is sent as the whole frame)."""
    call = await station.receive()
    assert call[0] == 2, call
    await station.connection.send(json.dumps([3, call[1], payload]))
    return call


@pytest.mark.parametrize(
    ("protocol", "operation", "params", "action", "request_payload", "reply", "outcome"),
    [
        ("ocpp1.6", "reset", {"kind": "hard"}, "Reset", {"type": "Hard"}, {"status": "Accepted"}, "accepted"),
        ("ocpp2.0.1", "reset", {"kind": "soft"}, "Reset", {"type": "OnIdle"}, {"status": "Scheduled"}, "accepted"),
        (
            "ocpp1.6",
            "remote_start",
            {"id_token": "TAG-1", "evse_id": 2},
            "RemoteStartTransaction",
            {"idTag": "TAG-1", "connectorId": 2},
            {"status": "Rejected"},
            "rejected",
        ),
        (
            "ocpp2.0.1",
            "remote_start",
            {"id_token": "TAG-1", "remote_start_id": 77},
            "RequestStartTransaction",
            {"idToken": {"idToken": "TAG-1", "type": "Central"}, "remoteStartId": 77},
            {"status": "Accepted"},
            "accepted",
        ),
        (
            "ocpp2.0.1",
            "unlock_connector",
            {"evse_id": 1},
            "UnlockConnector",
            {"evseId": 1, "connectorId": 1},
            {"status": "UnlockFailed"},
            "rejected",
        ),
        (
            "ocpp1.6",
            "change_availability",
            {"operative": False},
            "ChangeAvailability",
            {"connectorId": 0, "type": "Inoperative"},
            {"status": "Scheduled"},
            "accepted",
        ),
    ],
)
def test_an_operation_reaches_the_station_in_its_version_and_its_answer_is_the_outcome(
    ocpp_server, station_make, command, in_tenant, protocol, operation, params, action, request_payload, reply, outcome
):
    station_make("CP-CMD", password=PASSWORD)

    async def scenario():
        async with connect(ocpp_server, "CP-CMD", protocol) as cp:
            await cp.call(*BOOT[protocol])
            sending = asyncio.create_task(command("CP-CMD", operation, params))
            call = await answer(cp, reply)
            return call, await sending

    call, result = asyncio.run(scenario())

    assert call[2:] == [action, request_payload]
    assert (result.status, result.answer_status, result.response) == (outcome, reply["status"], reply)
    assert (result.action, result.message_id, result.protocol) == (action, call[1], protocol)
    assert result.sent_at <= result.completed_at
    with in_tenant():
        log = MessageLogEntry.objects.filter(message_id=call[1]).order_by("created_at")
        assert [(e.direction, e.message_type, e.action) for e in log] == [("out", 2, action), ("in", 3, action)]
        assert log[1].latency_ms is not None


def test_the_station_keeps_talking_while_a_command_waits_and_commands_go_one_at_a_time(
    ocpp_server, station_make, command
):
    station_make("CP-BUSY", password=PASSWORD)

    async def scenario():
        async with connect(ocpp_server, "CP-BUSY", "ocpp1.6") as cp:
            await cp.call(*BOOT["ocpp1.6"])
            first = asyncio.create_task(command("CP-BUSY", "clear_cache"))
            second = asyncio.create_task(command("CP-BUSY", "reset", {"kind": "soft"}))
            call = await cp.receive()
            # With a CALL of the server outstanding, the station's own requests are still answered...
            heartbeat = await cp.call("Heartbeat", {})
            # ...and the next command waits until the first is answered.
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(cp.connection.recv(), 0.5)
            await cp.connection.send(json.dumps([3, call[1], {"status": "Accepted"}]))
            next_call = await answer(cp, {"status": "Rejected"})
            return call, heartbeat, next_call, await first, await second

    call, heartbeat, next_call, first, second = asyncio.run(scenario())

    assert "currentTime" in heartbeat
    assert {call[2], next_call[2]} == {"ClearCache", "Reset"}
    assert {first.status, second.status} == {"accepted", "rejected"}


def test_a_station_that_errs_breaks_the_schema_or_says_nothing_gets_the_matching_outcome(
    ocpp_server, station_make, command
):
    station_make("CP-ODD", password=PASSWORD)

    async def scenario():
        async with connect(ocpp_server, "CP-ODD", "ocpp2.0.1") as cp:
            await cp.call(*BOOT["ocpp2.0.1"])
            sending = asyncio.create_task(command("CP-ODD", "clear_cache"))
            call = await cp.receive()
            await cp.connection.send(json.dumps([4, call[1], "NotSupported", "No cache here", {}]))
            errored = await sending

            sending = asyncio.create_task(command("CP-ODD", "clear_cache"))
            await answer(cp, {"status": "Maybe"})
            broken = await sending

            sending = asyncio.create_task(command("CP-ODD", "clear_cache", timeout_s=1))
            await cp.receive()
            silent = await sending
            return errored, broken, silent

    errored, broken, silent = asyncio.run(scenario())

    assert (errored.status, errored.answer_status, errored.detail) == (
        "error",
        "NotSupported",
        "NotSupported: No cache here",
    )
    assert broken.status == "error" and broken.detail.startswith("The answer breaks the schema: ClearCache: status")
    assert (silent.status, silent.detail) == ("timeout", "No answer within 1 s.")


def test_a_command_for_a_station_not_connected_is_offline_at_once(ocpp_server, station_make, command):
    station_make("CP-AWAY", password=PASSWORD)

    result = asyncio.run(command("CP-AWAY", "reset", {"kind": "hard"}))

    assert (result.status, result.detail, result.sent_at) == ("offline", "The station is not connected.", None)


def test_a_command_in_flight_when_the_station_goes_away_is_an_error(ocpp_server, station_make, command, in_tenant):
    station_make("CP-GONE", password=PASSWORD)

    async def scenario():
        async with connect(ocpp_server, "CP-GONE", "ocpp1.6") as cp:
            await cp.call(*BOOT["ocpp1.6"])
            sending = asyncio.create_task(command("CP-GONE", "clear_cache"))
            await cp.receive()
        return await sending

    result = asyncio.run(scenario())

    assert (result.status, result.detail) == ("error", "The connection closed before the answer.")


def test_parameters_a_version_cannot_express_are_refused_before_sending(ocpp_server, station_make, command):
    station_make("CP-OLD", password=PASSWORD)

    async def scenario():
        async with connect(ocpp_server, "CP-OLD", "ocpp1.6") as cp:
            await cp.call(*BOOT["ocpp1.6"])
            result = await command("CP-OLD", "remote_start", {"id_token": "A-TOKEN-LONGER-THAN-TWENTY"})
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(cp.connection.recv(), 0.3)
            return result

    result = asyncio.run(scenario())

    assert (result.status, result.detail) == ("error", "id_token: OCPP 1.6 idTags are at most 20 characters.")


def test_configuration_and_device_model_answers_are_kept_per_station(ocpp_server, station_make, command, in_tenant):
    station_make("CP-CONF-16", password=PASSWORD)
    station_make("CP-CONF-201", password=PASSWORD)

    async def scenario():
        async with connect(ocpp_server, "CP-CONF-16", "ocpp1.6") as cp:
            await cp.call(*BOOT["ocpp1.6"])
            sending = asyncio.create_task(command("CP-CONF-16", "get_configuration"))
            await answer(
                cp,
                {
                    "configurationKey": [
                        {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
                        {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
                    ],
                    "unknownKey": [],
                },
            )
            got = await sending
            sending = asyncio.create_task(
                command("CP-CONF-16", "change_configuration", {"key": "HeartbeatInterval", "value": "60"})
            )
            await answer(cp, {"status": "Accepted"})
            changed = await sending
        async with connect(ocpp_server, "CP-CONF-201", "ocpp2.0.1") as cp:
            await cp.call(*BOOT["ocpp2.0.1"])
            wanted = [
                {"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"},
                {"component": "EVSE", "variable": "AvailabilityState", "evse_id": 1},
                {"component": "Nothing", "variable": "Here"},
            ]
            sending = asyncio.create_task(command("CP-CONF-201", "get_variables", {"variables": wanted}))
            call = await answer(
                cp,
                {
                    "getVariableResult": [
                        {
                            "attributeStatus": "Accepted",
                            "attributeValue": "120",
                            "component": {"name": "OCPPCommCtrlr"},
                            "variable": {"name": "HeartbeatInterval"},
                        },
                        {
                            "attributeStatus": "Accepted",
                            "attributeValue": "Available",
                            "component": {"name": "EVSE", "evse": {"id": 1}},
                            "variable": {"name": "AvailabilityState"},
                        },
                        {
                            "attributeStatus": "UnknownComponent",
                            "component": {"name": "Nothing"},
                            "variable": {"name": "Here"},
                        },
                    ]
                },
            )
            variables = await sending
        return got, changed, call, variables

    got, changed, call, variables = asyncio.run(scenario())

    assert (got.status, got.answer_status, changed.status) == ("accepted", "2 keys", "accepted")
    assert call[3]["getVariableData"][1] == {
        "component": {"name": "EVSE", "evse": {"id": 1}},
        "variable": {"name": "AvailabilityState"},
        "attributeType": "Actual",
    }
    assert (variables.status, variables.answer_status) == ("accepted", "2 Accepted, 1 UnknownComponent")
    with in_tenant():
        stored = {
            (v.station.identity, v.component, v.evse_id, v.variable): (v.value, v.mutability)
            for v in StationVariable.objects.select_related("station")
        }
    assert stored == {
        ("CP-CONF-16", "", 0, "HeartbeatInterval"): ("60", "ReadWrite"),
        ("CP-CONF-16", "", 0, "NumberOfConnectors"): ("2", "ReadOnly"),
        ("CP-CONF-201", "OCPPCommCtrlr", 0, "HeartbeatInterval"): ("120", ""),
        ("CP-CONF-201", "EVSE", 1, "AvailabilityState"): ("Available", ""),
    }


def test_every_command_is_recorded_with_who_and_where_from(ocpp_server, station_make, command, in_tenant):
    station_make("CP-REC", password=PASSWORD)

    asyncio.run(command("CP-REC", "trigger_message", {"message": "heartbeat"}))

    with in_tenant():
        recorded = Command.objects.get()
    assert (recorded.operation, recorded.params, recorded.source) == (
        "trigger_message",
        {"message": "heartbeat"},
        "cli",
    )


def upload(url: str, body: bytes, *, multipart_name: str | None = None) -> int:
    """Upload as a station does, to the URL it was given (its host resolved to this machine)."""
    parts = urllib.parse.urlsplit(url)
    if multipart_name:
        boundary = "----station-upload"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{multipart_name}"\r\n'
                f"Content-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + body
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers, method = {"Content-Type": f"multipart/form-data; boundary={boundary}"}, "POST"
    else:
        headers, method = {"Content-Type": "application/octet-stream"}, "PUT"
    request = urllib.request.Request(
        f"http://127.0.0.1:{parts.port}{parts.path}",
        data=body,
        method=method,
        headers={"Host": f"{parts.hostname}:{parts.port}", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
def test_a_log_is_uploaded_to_the_platform_and_its_progress_followed(
    ocpp_server, station_make, command, in_tenant, protocol
):
    station_make("CP-LOG", password=PASSWORD)
    v16 = protocol == "ocpp1.6"

    async def scenario():
        async with connect(ocpp_server, "CP-LOG", protocol) as cp:
            await cp.call(*BOOT[protocol])
            sending = asyncio.create_task(command("CP-LOG", "get_log", {"since": "2030-01-01T00:00:00Z"}))
            call = await answer(cp, {"fileName": "diag.zip"} if v16 else {"status": "Accepted", "filename": "log.zip"})
            result = await sending
            url = call[3]["location"] if v16 else call[3]["log"]["remoteLocation"]
            statuses = {"status": "Uploading"} if v16 else {"status": "Uploading", "requestId": call[3]["requestId"]}
            await cp.call("DiagnosticsStatusNotification" if v16 else "LogStatusNotification", statuses)
            codes = [
                await asyncio.to_thread(upload, url, b"line 1\nline 2\n", multipart_name="diag.zip" if v16 else None),
                await asyncio.to_thread(upload, url.replace(url.rsplit("/", 1)[1], "not-the-token"), b"x"),
            ]
            done = {"status": "Uploaded"} if v16 else {"status": "Uploaded", "requestId": call[3]["requestId"]}
            await cp.call("DiagnosticsStatusNotification" if v16 else "LogStatusNotification", done)
            return call, result, url, codes

    call, result, url, codes = asyncio.run(scenario())

    assert url.startswith(f"http://alpha.localhost:{ocpp_server.port}/station-uploads/") and len(url) > 70
    assert (result.status, codes) == ("accepted", [201, 404])
    if not v16:
        assert call[3]["logType"] == "DiagnosticsLog" and call[3]["log"]["oldestTimestamp"] == "2030-01-01T00:00:00Z"
    with in_tenant():
        command_row = Command.objects.get()
        stored = StationFile.objects.get()
        assert [step["status"] for step in command_row.progress] == ["Uploading", "Uploaded"]
        kept = (ocpp_server.media_root / stored.file.name).read_bytes()
        assert (stored.command_id, stored.size, kept) == (command_row.pk, 14, b"line 1\nline 2\n")
        assert Station.objects.get(identity="CP-LOG").diagnostics_status == "Uploaded"


def test_a_firmware_update_is_followed_through_its_notifications(ocpp_server, station_make, command, in_tenant):
    station_make("CP-FW", password=PASSWORD)

    async def scenario():
        async with connect(ocpp_server, "CP-FW", "ocpp2.0.1") as cp:
            await cp.call(*BOOT["ocpp2.0.1"])
            params = {"location": "https://firmware.example.com/ac-2.4.bin", "retries": 2}
            sending = asyncio.create_task(command("CP-FW", "update_firmware", params))
            call = await answer(cp, {"status": "Accepted"})
            await sending
            for status in ("Downloading", "Downloaded", "Installing", "Installed"):
                await cp.call("FirmwareStatusNotification", {"status": status, "requestId": call[3]["requestId"]})
            return call

    call = asyncio.run(scenario())

    assert call[3]["firmware"]["location"] == "https://firmware.example.com/ac-2.4.bin" and call[3]["retries"] == 2
    with in_tenant():
        progress = Command.objects.get().progress
        assert [step["status"] for step in progress] == ["Downloading", "Downloaded", "Installing", "Installed"]
        assert Station.objects.get(identity="CP-FW").firmware_status == "Installed"


def test_the_local_list_goes_out_versioned_full_then_differential(ocpp_server, station_make, command, in_tenant):
    station_make("CP-LIST", password=PASSWORD)
    with in_tenant():
        IdToken.objects.create(uid="CARD-A", type="ISO14443", status="Accepted")
        IdToken.objects.create(uid="CARD-B", type="ISO14443", status="Blocked")

    async def scenario():
        async with connect(ocpp_server, "CP-LIST", "ocpp1.6") as cp:
            await cp.call(*BOOT["ocpp1.6"])
            sending = asyncio.create_task(command("CP-LIST", "send_local_list"))
            full = await answer(cp, {"status": "Accepted"})
            await sending
            params = {"update_type": "differential", "id_tokens": ["CARD-B", "CARD-GONE"]}
            sending = asyncio.create_task(command("CP-LIST", "send_local_list", params))
            differential = await answer(cp, {"status": "Failed"})
            failed = await sending
            sending = asyncio.create_task(command("CP-LIST", "get_local_list_version"))
            await answer(cp, {"listVersion": 1})
            await sending
            return full, differential, failed

    full, differential, failed = asyncio.run(scenario())

    assert full[3] == {
        "listVersion": 1,
        "updateType": "Full",
        "localAuthorizationList": [
            {"idTag": "CARD-A", "idTagInfo": {"status": "Accepted"}},
            {"idTag": "CARD-B", "idTagInfo": {"status": "Blocked"}},
        ],
    }
    assert differential[3] == {
        "listVersion": 2,
        "updateType": "Differential",
        "localAuthorizationList": [{"idTag": "CARD-B", "idTagInfo": {"status": "Blocked"}}, {"idTag": "CARD-GONE"}],
    }
    assert (failed.status, failed.answer_status) == ("rejected", "Failed")
    with in_tenant():
        assert Station.objects.get(identity="CP-LIST").local_list_version == 1  # the failed version 2 never took


def test_a_reservation_is_held_used_or_cancelled_as_the_station_says(ocpp_server, station_make, command, in_tenant):
    station_make("CP-RES", password=PASSWORD)
    expires = "2099-06-01T12:00:00Z"

    async def scenario():
        async with connect(ocpp_server, "CP-RES", "ocpp2.0.1") as cp:
            await cp.call(*BOOT["ocpp2.0.1"])
            ids = []
            for reply in ({"status": "Accepted"}, {"status": "Occupied"}, {"status": "Accepted"}):
                params = {"id_token": "CARD-R", "expires_at": expires, "evse_id": 1}
                sending = asyncio.create_task(command("CP-RES", "reserve_now", params))
                ids.append((await answer(cp, reply))[3]["id"])
                await sending
            sending = asyncio.create_task(command("CP-RES", "cancel_reservation", {"reservation_id": ids[0]}))
            await answer(cp, {"status": "Accepted"})
            await sending
            await cp.call("ReservationStatusUpdate", {"reservationId": ids[2], "reservationUpdateStatus": "Expired"})
            return ids

    ids = asyncio.run(scenario())

    with in_tenant():
        reservations = {r.reservation_id: (r.status, r.answer_status, r.evse_id) for r in Reservation.objects.all()}
    assert reservations == {
        ids[0]: ("cancelled", "Accepted", 1),
        ids[1]: ("rejected", "Occupied", 1),
        ids[2]: ("expired", "Accepted", 1),
    }


def test_charging_profiles_are_set_cleared_and_the_composite_schedule_read(ocpp_server, station_make, command):
    station_make("CP-SC", password=PASSWORD)

    async def scenario():
        async with connect(ocpp_server, "CP-SC", "ocpp1.6") as cp:
            await cp.call(*BOOT["ocpp1.6"])
            profile = {"evse_id": 1, "periods": [{"start_s": 0, "limit": "16"}, {"start_s": 1800, "limit": "6"}]}
            sending = asyncio.create_task(command("CP-SC", "set_charging_profile", profile))
            set_call = await answer(cp, {"status": "Accepted"})
            await sending
            schedule = {
                "status": "Accepted",
                "connectorId": 1,
                "scheduleStart": "2030-01-01T00:00:00Z",
                "chargingSchedule": {
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}],
                },
            }
            sending = asyncio.create_task(command("CP-SC", "get_composite_schedule", {"evse_id": 1}))
            await answer(cp, schedule)
            composite = await sending
            sending = asyncio.create_task(command("CP-SC", "clear_charging_profile", {"profile_id": 9}))
            await answer(cp, {"status": "Unknown"})
            cleared = await sending
            return set_call, composite, cleared

    set_call, composite, cleared = asyncio.run(scenario())

    profile = set_call[3]["csChargingProfiles"]
    assert (set_call[3]["connectorId"], profile["chargingProfilePurpose"], profile["chargingProfileKind"]) == (
        1,
        "TxDefaultProfile",
        "Relative",
    )
    assert profile["chargingSchedule"]["chargingSchedulePeriod"] == [
        {"startPeriod": 0, "limit": 16},
        {"startPeriod": 1800, "limit": 6},
    ]
    assert (composite.status, composite.response["chargingSchedule"]["chargingRateUnit"]) == ("accepted", "A")
    assert (cleared.status, cleared.answer_status) == ("rejected", "Unknown")


def test_a_command_reaches_only_its_own_brands_station_of_the_same_identity_and_id(
    ocpp_server, station_make, command, in_tenant, outsider
):
    ours = station_make("CP-TWIN", password=PASSWORD)
    with schema_context(outsider.schema_name):
        theirs = Station.objects.create(
            identity="CP-TWIN",
            security_profile=1,
            password_hash=make_password(PASSWORD),
            registration_status="accepted",
        )
    assert ours.pk == theirs.pk  # each brand's schema numbers its own stations

    async def scenario():
        url_theirs = station_url(ocpp_server.port, "CP-TWIN", tenant="bravo")
        async with (
            connect(ocpp_server, "CP-TWIN", "ocpp1.6") as mine,
            open_station(url_theirs, identity="CP-TWIN", password=PASSWORD) as other,
        ):
            await mine.call(*BOOT["ocpp1.6"])
            await other.call(*BOOT["ocpp1.6"])
            sending = asyncio.create_task(command("CP-TWIN", "clear_cache"))
            await answer(mine, {"status": "Accepted"})
            with pytest.raises(TimeoutError):
                await asyncio.wait_for(other.connection.recv(), 0.5)
            return await sending

    assert asyncio.run(scenario()).status == "accepted"
    with schema_context(outsider.schema_name):
        assert not Command.objects.exists()
        assert eventually(lambda: not Station.objects.filter(is_online=True).exists())  # settled, as for ours
