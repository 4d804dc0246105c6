"""Remote operations over the API: one endpoint per operation with its own validation, the outcome in the answer
(or polled), reads of commands, and a real station behind a real server."""

import asyncio
import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.api.models import Scope
from apps.api.services import PREFIX_LENGTH
from apps.commands.models import Command
from apps.commands.operations import OCPP16, OPERATIONS
from apps.commands.services import command_create
from apps.sessions.models import ChargingSession, IdToken
from apps.stations.models import Station
from tests.api.conftest import api_client, key_in
from tests.ocpp.client import open_station, station_url
from tests.ocpp.server import eventually
from tests.stations.factories import STATION_PASSWORD, StationFactory
from tools.simulator.station import StationConfig, VirtualStation, stations_run

IN_A_DAY = (datetime.now(UTC) + timedelta(days=1)).isoformat()

# A valid body for every operation, and a wrong one with the field it gets wrong.
VALID = {
    "reset": {"kind": "hard"},
    "remote_start": {"id_token": "DEMO-TAG-1", "evse_id": 1},
    "remote_stop": {"transaction_id": "42"},
    "unlock_connector": {"evse_id": 1},
    "change_availability": {"operative": False},
    "trigger_message": {"message": "heartbeat"},
    "clear_cache": {},
    "get_configuration": {"keys": ["HeartbeatInterval"]},
    "change_configuration": {"key": "HeartbeatInterval", "value": "60"},
    "get_variables": {"variables": [{"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"}]},
    "set_variables": {"variables": [{"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval", "value": "60"}]},
    "get_base_report": {"report": "SummaryInventory"},
    "update_firmware": {"location": "https://firmware.example.com/ac22-2.1.bin"},
    "get_log": {"log_type": "DiagnosticsLog"},
    "send_local_list": {"update_type": "differential", "id_tokens": ["CARD-1"]},
    "get_local_list_version": {},
    "reserve_now": {"id_token": "CARD-1", "expires_at": IN_A_DAY},
    "cancel_reservation": {"reservation_id": 3},
    "set_charging_profile": {"periods": [{"start_s": 0, "limit": "16.0"}, {"start_s": 3600, "limit": "8.0"}]},
    "clear_charging_profile": {"profile_id": 7},
    "get_composite_schedule": {"duration_s": 600},
    "data_transfer": {"vendor_id": "com.example"},
}
INVALID = {
    "reset": ({"kind": "sideways"}, "kind"),
    "remote_start": ({"evse_id": 1}, "id_token"),
    "remote_stop": ({}, "transaction_id"),
    "unlock_connector": ({"evse_id": 0}, "evse_id"),
    "change_availability": ({"operative": "perhaps"}, "operative"),
    "trigger_message": ({"message": "everything"}, "message"),
    "clear_cache": ({"timeout_s": 0}, "timeout_s"),
    "get_configuration": ({"keys": "HeartbeatInterval"}, "keys"),
    "change_configuration": ({"key": "HeartbeatInterval"}, "value"),
    "get_variables": ({"variables": []}, "variables"),
    "set_variables": ({"variables": [{"component": "OCPPCommCtrlr", "variable": "HeartbeatInterval"}]}, "variables"),
    "get_base_report": ({"report": "Everything"}, "report"),
    "update_firmware": ({"location": "not a url"}, "location"),
    "get_log": ({"since": "2025-03-02T00:00:00Z", "until": "2025-03-01T00:00:00Z"}, "until"),
    "send_local_list": ({"update_type": "differential"}, "id_tokens"),
    "get_local_list_version": ({"wait": "maybe"}, "wait"),
    "reserve_now": ({"id_token": "CARD-1", "expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
    "cancel_reservation": ({"reservation_id": 0}, "reservation_id"),
    "set_charging_profile": ({"periods": [{"start_s": 60, "limit": "16.0"}]}, "periods"),
    "clear_charging_profile": ({"purpose": "all"}, "purpose"),
    "get_composite_schedule": ({"duration_s": 0}, "duration_s"),
    "data_transfer": ({"data": "ping"}, "vendor_id"),
}


def post(client, station_id: int, operation: str, body=None, *, slash: bool = True):
    url = f"/api/v1/stations/{station_id}/commands/{operation}{'/' if slash else ''}"
    return client.post(url, json.dumps(body if body is not None else {}), content_type="application/json")


def test_every_operation_has_a_valid_and_an_invalid_example():
    assert set(VALID) == set(INVALID) == set(OPERATIONS)


@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_wrong_parameters_are_refused_naming_the_field_and_nothing_is_sent(tenant, alpha_api, operation):
    with schema_context(tenant.schema_name):
        station = StationFactory(protocol="")
    body, field = INVALID[operation]

    response = post(alpha_api, station.pk, operation, body)

    assert response.status_code == 400, response.content
    assert response.json()["error"]["code"] == "invalid"
    assert list(response.json()["error"]["fields"]) == [field]
    with schema_context(tenant.schema_name):
        assert not Command.objects.exists()


@pytest.mark.parametrize(
    ("body", "messages"),
    [
        ({"timeout_s": 0}, ["Ensure this value is greater than or equal to 1."]),
        ({"timeout_s": 61}, ["Ensure this value is less than or equal to 60."]),
        ({"timeout_s": "soon"}, ["A valid integer is required."]),
    ],
)
def test_the_timeout_is_bounded(tenant, alpha_api, body, messages):
    with schema_context(tenant.schema_name):
        station = StationFactory()

    response = post(alpha_api, station.pk, "reset", body)

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"timeout_s": messages}


def test_a_body_that_is_not_a_json_object_is_refused(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        station = StationFactory()
    url = f"/api/v1/stations/{station.pk}/commands/reset/"

    broken = alpha_api.post(url, '{"kind": "hard"', content_type="application/json")
    listed = alpha_api.post(url, "[1, 2]", content_type="application/json")

    assert (broken.status_code, broken.json()["error"]["code"]) == (400, "parse_error")
    assert (listed.status_code, listed.json()["error"]["code"]) == (400, "invalid")


def test_an_unknown_operation_is_not_found_and_names_the_operations(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        station = StationFactory()

    response = post(alpha_api, station.pk, "self_destruct")
    without_slash = post(alpha_api, station.pk, "self_destruct", slash=False)

    assert (response.status_code, without_slash.status_code) == (404, 404)
    assert response.json()["error"]["message"].startswith("No operation 'self_destruct'. Operations: reset, ")


def test_another_brands_station_is_not_found_and_gets_nothing(tenant, outsider, alpha_api):
    with schema_context(outsider.schema_name):
        station = StationFactory(is_online=True)

    response = post(alpha_api, station.pk, "reset", {"kind": "hard"})

    assert response.status_code == 404
    for brand in (tenant, outsider):
        with schema_context(brand.schema_name):
            assert not Command.objects.exists()


def test_sending_needs_commands_write_and_this_brands_key(tenant, outsider):
    with schema_context(tenant.schema_name):
        station = StationFactory()
    reader = api_client("alpha.localhost", key_in(tenant, scopes=[Scope.COMMANDS_READ, Scope.STATIONS_READ]))
    stranger = api_client("alpha.localhost", key_in(outsider))

    refused = post(reader, station.pk, "reset")
    unknown = post(stranger, station.pk, "reset")

    assert (refused.status_code, refused.json()["error"]["code"]) == (403, "scope_missing")
    assert "commands:write" in refused.json()["error"]["message"]
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (401, "api_key_unknown")
    assert post(api_client("alpha.localhost", None), station.pk, "reset").status_code == 401


# --- sent: these reach command_send, which runs outside a transaction ----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_every_operation_is_sent_with_or_without_a_slash_and_an_offline_station_says_so(tenant):
    key = key_in(tenant, scopes=[Scope.COMMANDS_WRITE])
    api = api_client("alpha.localhost", key)
    with schema_context(tenant.schema_name):
        v16, v201 = StationFactory(protocol="ocpp1.6"), StationFactory(protocol="ocpp2.0.1")

    for operation, definition in OPERATIONS.items():
        station = v16 if OCPP16 in definition.protocols else v201
        for slash in (True, False):
            response = post(api, station.pk, operation, VALID[operation], slash=slash)

            assert response.status_code == 200, (operation, response.content)
            command = response.json()
            assert (command["station"], command["operation"], command["status"]) == (station.pk, operation, "offline")
            assert command["detail"] == "The station is not connected."
            assert (command["source"], command["client_id"], command["is_final"]) == (
                "api",
                f"key:{key[:PREFIX_LENGTH]}",
                True,
            )
    with schema_context(tenant.schema_name):
        assert Command.objects.count() == 2 * len(OPERATIONS)
        assert set(Command.objects.values_list("requested_by_client", flat=True)) == {f"key:{key[:PREFIX_LENGTH]}"}


@pytest.mark.django_db(transaction=True)
def test_parameters_are_recorded_with_their_defaults_and_the_timeout(tenant):
    api = api_client("alpha.localhost", key_in(tenant))
    with schema_context(tenant.schema_name):
        station = StationFactory(protocol="ocpp2.0.1")

    command = post(api, station.pk, "remote_start", {"id_token": "DEMO-TAG-1", "timeout_s": 5, "wait": True}).json()

    assert command["params"] == {"id_token": "DEMO-TAG-1", "id_token_type": "Central"}
    assert command["timeout_s"] == 5


@pytest.mark.django_db(transaction=True)
def test_without_wait_the_answer_is_202_with_where_to_poll(tenant):
    api = api_client("alpha.localhost", key_in(tenant))
    with schema_context(tenant.schema_name):
        station = StationFactory()

    response = post(api, station.pk, "reset", {"wait": False})

    assert response.status_code == 202
    command = response.json()
    assert response["Location"] == f"http://alpha.localhost/api/v1/commands/{command['id']}/"
    assert api.get(response["Location"]).json()["status"] == "offline"


@pytest.mark.django_db(transaction=True)
def test_an_operation_the_stations_version_lacks_is_refused_naming_operation(tenant):
    api = api_client("alpha.localhost", key_in(tenant))
    with schema_context(tenant.schema_name):
        station = StationFactory(protocol="ocpp2.0.1")

    response = post(api, station.pk, "get_configuration")

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {
        "operation": ["Get configuration exists in ocpp1.6; this station speaks ocpp2.0.1."]
    }
    with schema_context(tenant.schema_name):
        assert not Command.objects.exists()


# --- reads ---------------------------------------------------------------------------------------------------------


def command_make(station, operation="reset", *, status="pending", created_at=None, **fields) -> Command:
    command = command_create(station=station, operation=operation, **fields)
    Command.objects.filter(pk=command.pk).update(status=status, created_at=created_at or timezone.now())
    command.refresh_from_db()
    return command


def test_commands_list_newest_first_and_filter(tenant, outsider, alpha_api):
    with schema_context(tenant.schema_name):
        station, other = StationFactory(), StationFactory()
        early = datetime(2025, 3, 1, tzinfo=UTC)
        reset = command_make(station, status="accepted", created_at=early, source="admin")
        start = command_make(
            station,
            "remote_start",
            params={"id_token": "CARD-1"},
            status="rejected",
            created_at=early + timedelta(hours=2),
            source="api",
            requested_by_client="key:evk_abcdefgh",
        )
        elsewhere = command_make(other, status="timeout", created_at=early + timedelta(days=1))
    with schema_context(outsider.schema_name):
        command_make(StationFactory())

    def ids(**filters):
        response = alpha_api.get("/api/v1/commands/", filters)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [elsewhere.pk, start.pk, reset.pk]
    assert ids(station=station.pk) == [start.pk, reset.pk]
    assert ids(operation="remote_start") == ids(status="rejected") == ids(source="api") == [start.pk]
    assert ids(created_after="2025-03-01T01:00:00Z", created_before="2025-03-02T00:00:00Z") == [start.pk]
    row = alpha_api.get(f"/api/v1/commands/{start.pk}/").json()
    assert (row["operation"], row["params"], row["status"], row["client_id"]) == (
        "remote_start",
        {"id_token": "CARD-1", "id_token_type": "Central"},
        "rejected",
        "key:evk_abcdefgh",
    )
    assert (row["response"], row["completed_at"], row["created_at"]) == (None, None, "2025-03-01T02:00:00Z")


def test_bad_command_filters_are_named(alpha_api):
    response = alpha_api.get(
        "/api/v1/commands/",
        {"station": "-1", "operation": "self_destruct", "status": "done", "source": "fax", "created_after": "today"},
    )
    backwards = alpha_api.get(
        "/api/v1/commands/", {"created_after": "2025-03-02T00:00:00Z", "created_before": "2025-03-01T00:00:00Z"}
    )

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"station", "operation", "status", "source", "created_after"}
    assert backwards.json()["error"]["fields"] == {"created_before": ["Must not be before created_after."]}


def test_reading_commands_needs_commands_read_and_this_brands_ids(tenant, outsider, alpha_api):
    with schema_context(outsider.schema_name):
        theirs = command_make(StationFactory())
    assert alpha_api.get(f"/api/v1/commands/{theirs.pk}/").status_code == 404
    with schema_context(tenant.schema_name):
        ours = command_make(StationFactory())
    writer = api_client("alpha.localhost", key_in(tenant, scopes=[Scope.COMMANDS_WRITE]))
    stranger = api_client("alpha.localhost", key_in(outsider))

    for url in ("/api/v1/commands/", f"/api/v1/commands/{ours.pk}/"):
        assert alpha_api.get(url).status_code == 200
        assert writer.get(url).status_code == 403
        assert stranger.get(url).status_code == 401


# --- end to end: a real server, a real station ---------------------------------------------------------------------


def http(port: int, method: str, path: str, key: str, body: dict | None = None) -> tuple[int, dict, dict]:
    """A request to the real server for the alpha brand: (status, headers, JSON body)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Host": "alpha.localhost", "Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


async def station_boot(cp) -> None:
    await cp.call("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "AC-22"})


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("settled")
def test_a_remote_start_through_the_api_reaches_the_station_and_its_answer_comes_back(
    ocpp_server, station_make, tenant
):
    station = station_make("CP-API-START", password=STATION_PASSWORD)
    key = key_in(tenant, scopes=[Scope.COMMANDS_WRITE])

    async def scenario():
        url = station_url(ocpp_server.port, "CP-API-START")
        async with open_station(url, identity="CP-API-START", password=STATION_PASSWORD) as cp:
            await station_boot(cp)
            sending = asyncio.create_task(
                asyncio.to_thread(
                    http,
                    ocpp_server.port,
                    "POST",
                    f"/api/v1/stations/{station.pk}/commands/remote_start",
                    key,
                    {"id_token": "DEMO-TAG-1", "evse_id": 1},
                )
            )
            call = await cp.receive()
            await cp.connection.send(json.dumps([3, call[1], {"status": "Accepted"}]))
            return call, await sending

    call, (status, _, command) = asyncio.run(scenario())

    assert call[2:] == ["RemoteStartTransaction", {"idTag": "DEMO-TAG-1", "connectorId": 1}]
    assert status == 200
    assert (command["status"], command["answer_status"], command["response"]) == (
        "accepted",
        "Accepted",
        {"status": "Accepted"},
    )
    assert (command["protocol"], command["action"], command["request"]) == (
        "ocpp1.6",
        "RemoteStartTransaction",
        {"idTag": "DEMO-TAG-1", "connectorId": 1},
    )
    assert (command["source"], command["client_id"]) == ("api", f"key:{key[:PREFIX_LENGTH]}")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("settled")
def test_without_wait_the_api_answers_at_once_and_the_outcome_is_polled(ocpp_server, station_make, tenant):
    station = station_make("CP-API-POLL", password=STATION_PASSWORD)
    key = key_in(tenant, scopes=[Scope.COMMANDS_WRITE, Scope.COMMANDS_READ])

    async def scenario():
        url = station_url(ocpp_server.port, "CP-API-POLL")
        async with open_station(url, identity="CP-API-POLL", password=STATION_PASSWORD) as cp:
            await station_boot(cp)
            sent = await asyncio.to_thread(
                http,
                ocpp_server.port,
                "POST",
                f"/api/v1/stations/{station.pk}/commands/reset/",
                key,
                {"kind": "soft", "wait": False},
            )
            call = await cp.receive()  # the API has answered; the station has not yet
            await cp.connection.send(json.dumps([3, call[1], {"status": "Rejected"}]))
            path = urllib.parse.urlsplit(sent[1]["Location"]).path

            def outcome():
                _, _, command = http(ocpp_server.port, "GET", path, key)
                return command if command["is_final"] else None

            return call, sent, await asyncio.to_thread(eventually, outcome)

    call, (status, _, queued), polled = asyncio.run(scenario())

    assert call[2:] == ["Reset", {"type": "Soft"}]
    assert status == 202
    assert queued["status"] in ("pending", "sent")
    assert polled["id"] == queued["id"]
    assert (polled["status"], polled["answer_status"]) == ("rejected", "Rejected")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("settled")
def test_a_remote_start_through_the_api_starts_a_session_on_a_simulated_station(
    ocpp_server, station_make, tenant, in_tenant
):
    """The example in docs/api.md: the simulator's 2.0.1 station accepts and charges."""
    station = station_make("SIM-API", password=STATION_PASSWORD)
    with in_tenant():
        IdToken.objects.create(uid="DEMO-TAG-1", type="ISO14443", status="Accepted")
    key = key_in(tenant, scopes=[Scope.COMMANDS_WRITE])
    config = StationConfig(
        url=station_url(ocpp_server.port, "SIM-API"),
        identity="SIM-API",
        protocol="ocpp2.0.1",
        password=STATION_PASSWORD,
        connectors=1,
        session_seconds=1.5,
        idle_seconds=600,  # no session of its own
        meter_interval=0.3,
        fault_rate=0.0,
        seed=1,
    )

    def online():
        with in_tenant():
            return Station.objects.filter(pk=station.pk, is_online=True, protocol="ocpp2.0.1").exists()

    def session():
        with in_tenant():
            return ChargingSession.objects.filter(station=station, id_token_uid="DEMO-TAG-1").first()

    async def scenario():
        running = asyncio.create_task(stations_run([VirtualStation(config)], duration=6))
        assert await asyncio.to_thread(eventually, online)
        path = f"/api/v1/stations/{station.pk}/commands/remote_start"
        sent = await asyncio.to_thread(
            http, ocpp_server.port, "POST", path, key, {"id_token": "DEMO-TAG-1", "evse_id": 1}
        )
        started = await asyncio.to_thread(eventually, session)
        return sent, started, await running

    (status, _, command), started, [report] = asyncio.run(scenario())

    assert (status, command["status"], command["action"]) == (200, "accepted", "RequestStartTransaction")
    assert command["request"]["idToken"] == {"idToken": "DEMO-TAG-1", "type": "Central"}
    assert started is not None
    assert report.remote_starts == 1
