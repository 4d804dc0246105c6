"""The chargingprofiles module: a partner's eMSP sets, reads and clears profiles on its drivers' sessions with us
(the station's answer is posted to its response URL), and as an eMSP we send such requests and take the CPO's
results and updates.

The station side stops at the command layer: a station "connection" that takes the command (command_deliver
answers at once) and then records the station's answer with command_finish, as apps/ocpp does."""

import uuid
from decimal import Decimal

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.commands import services as command_services
from apps.commands.models import Command
from apps.commands.services import command_finish
from apps.roaming.exceptions import PartnerRefusedError
from apps.roaming.models import PartnerSession, ReceivedCommand, RoamingSession, SentCommand
from apps.roaming.modules.chargingprofiles import (
    PROFILE_ID_BASE,
    active_charging_profile_from_partner_request,
    charging_profile_at_partner_clear,
    charging_profile_to_partner_send,
)
from apps.sessions.models import ChargingSession
from tests.roaming.conftest import ocpi, roles_set
from tests.sessions.factories import ChargingSessionFactory
from tests.stations.factories import StationFactory

PROFILE = {
    "start_date_time": "2026-12-07T10:00:00Z",
    "duration": 3600,
    "charging_rate_unit": "W",
    "min_charging_rate": 1400.5,
    "charging_profile_period": [{"start_period": 0, "limit": 11000}, {"start_period": 1800, "limit": 7400.25}],
}


def roaming_session(partner, *, online=True, status=ChargingSession.Status.ACTIVE) -> ChargingSession:
    station = StationFactory(is_online=online, protocol="ocpp2.0.1")
    session = ChargingSessionFactory(station=station, evse_id=2, transaction_id="TX-77", status=status)
    RoamingSession.objects.create(
        session=session, partner=partner, cdr_token={"uid": "BRV-1", "type": "RFID", "contract_id": "DE-BRV-1"}
    )
    return session


@pytest.fixture
def station_takes_commands(monkeypatch):
    """A connection holds the station and queues what it is sent (the answer comes with command_finish)."""

    async def queued(schema_name, command, *, wait=True):
        return None

    monkeypatch.setattr(command_services, "command_deliver", queued)


def response_url(partner_server, name="r1") -> str:
    return f"{partner_server.url}/emsp/chargingprofiles/{name}"


def posted_results(partner_server, name="r1") -> list:
    return [r.body for r in partner_server.of("POST", f"/emsp/chargingprofiles/{name}")]


# --- CPO, receiver ---------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_put_sends_a_tx_profile_and_posts_the_station_result(alpha, partner, partner_server, station_takes_commands):
    with schema_context(alpha.schema_name):
        session = roaming_session(partner)

    response = ocpi(
        "PUT",
        f"/ocpi/2.2.1/cpo/chargingprofiles/{session.pk}",
        {"charging_profile": PROFILE, "response_url": response_url(partner_server)},
    )

    assert response.status_code == 200 and response.json()["status_code"] == 1000
    assert response.json()["data"] == {"result": "ACCEPTED", "timeout": 60}
    with schema_context(alpha.schema_name):
        command = Command.objects.get()
        received = ReceivedCommand.objects.get()
        assert (received.module, received.type, received.command_id) == ("chargingprofiles", "SET", command.pk)
        assert command.operation == "set_charging_profile" and command.station_id == session.station_id
        assert command.params["purpose"] == "tx" and command.params["transaction_id"] == "TX-77"
        assert command.params["evse_id"] == 2 and command.params["kind"] == "Absolute"
        assert command.params["unit"] == "W" and command.params["duration_s"] == 3600
        assert command.params["start_at"].startswith("2026-12-07T10:00:00")
        # OCPI allows one decimal in a limit: more is cut (a limit stays a maximum).
        assert command.params["periods"] == [{"start_s": 0, "limit": "11000.0"}, {"start_s": 1800, "limit": "7400.2"}]
        assert command.params["min_rate"] == "1400.5"
        assert command.params["profile_id"] == PROFILE_ID_BASE + session.pk
        assert posted_results(partner_server) == []

        command_finish(
            command_id=command.pk,
            status=Command.Status.ACCEPTED,
            response={"status": "Accepted"},
            answer_status="Accepted",
        )

        assert posted_results(partner_server) == [{"result": "ACCEPTED"}]
        received.refresh_from_db()
        assert received.result == {"result": "ACCEPTED"} and received.answered_at is not None
        # A second outcome event (another process) does not post twice.
        from apps.roaming.modules.chargingprofiles import command_completed_answer

        command_completed_answer(station_id=command.station_id, at="", data={"command_id": command.pk})
    assert len(posted_results(partner_server)) == 1


@pytest.mark.django_db(transaction=True)
def test_a_second_put_replaces_the_first_profile_by_its_session_profile_id(
    alpha, partner, partner_server, station_takes_commands
):
    with schema_context(alpha.schema_name):
        session = roaming_session(partner)
    body = {"charging_profile": PROFILE, "response_url": response_url(partner_server)}
    ocpi("PUT", f"/ocpi/2.2.1/cpo/chargingprofiles/{session.pk}", body)

    # Still waiting for the station: the same request again is too often.
    again = ocpi("PUT", f"/ocpi/2.2.1/cpo/chargingprofiles/{session.pk}", body)
    assert again.json()["data"]["result"] == "TOO_OFTEN"

    with schema_context(alpha.schema_name):
        first = Command.objects.get()
        command_finish(command_id=first.pk, status=Command.Status.REJECTED, answer_status="Rejected")
    assert posted_results(partner_server) == [{"result": "REJECTED"}]
    ocpi("PUT", f"/ocpi/2.2.1/cpo/chargingprofiles/{session.pk}", body)
    with schema_context(alpha.schema_name):
        profile_ids = {c.params["profile_id"] for c in Command.objects.all()}
    assert profile_ids == {PROFILE_ID_BASE + session.pk}


@pytest.mark.django_db(transaction=True)
def test_get_posts_the_active_profile_from_the_station_composite_schedule(
    alpha, partner, partner_server, station_takes_commands
):
    with schema_context(alpha.schema_name):
        session = roaming_session(partner)

    response = ocpi(
        "GET",
        f"/ocpi/2.2.1/cpo/chargingprofiles/{session.pk}",
        duration="900",
        response_url=response_url(partner_server),
    )

    assert response.json()["data"]["result"] == "ACCEPTED"
    with schema_context(alpha.schema_name):
        command = Command.objects.get()
        assert command.operation == "get_composite_schedule"
        assert command.params["evse_id"] == 2 and command.params["duration_s"] == 900
        assert ReceivedCommand.objects.get().type == "GET"
        schedule = {
            "evseId": 2,
            "duration": 900,
            "scheduleStart": "2026-12-07T10:00:00Z",
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16.0}, {"startPeriod": 600, "limit": 10.5}],
        }
        command_finish(
            command_id=command.pk,
            status=Command.Status.ACCEPTED,
            response={"status": "Accepted", "schedule": schedule},
            answer_status="Accepted",
        )

    assert posted_results(partner_server) == [
        {
            "result": "ACCEPTED",
            "profile": {
                "start_date_time": "2026-12-07T10:00:00Z",
                "charging_profile": {
                    "charging_rate_unit": "A",
                    "duration": 900,
                    "charging_profile_period": [{"start_period": 0, "limit": 16}, {"start_period": 600, "limit": 10.5}],
                },
            },
        }
    ]


@pytest.mark.django_db(transaction=True)
def test_a_profile_change_at_the_station_puts_the_new_active_profile_to_the_emsp_managing_it(
    alpha, partner, partner_server, station_takes_commands
):
    """After their own profile and after the operator's station maximum, the eMSP hears the session's new
    ActiveChargingProfile (the station's composite schedule); a session whose eMSP never managed it is left alone."""
    sender = f"{partner_server.url}/emsp/chargingprofiles"
    with schema_context(alpha.schema_name):
        partner.endpoints = [*partner.endpoints, {"identifier": "chargingprofiles", "role": "SENDER", "url": sender}]
        partner.save()
        session = roaming_session(partner)
        unmanaged = ChargingSessionFactory(station=session.station, evse_id=1, transaction_id="TX-78")
        RoamingSession.objects.create(session=unmanaged, partner=partner, cdr_token={"uid": "BRV-2", "type": "RFID"})
    ocpi(
        "PUT",
        f"/ocpi/2.2.1/cpo/chargingprofiles/{session.pk}",
        {"charging_profile": PROFILE, "response_url": response_url(partner_server)},
    )

    def station_answers(command, schedule_limit=None):
        response = {"status": "Accepted"}
        if schedule_limit is not None:
            response["schedule"] = {
                "evseId": 2,
                "duration": 3600,
                "scheduleStart": "2026-12-07T10:00:00Z",
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": schedule_limit}],
            }
        command_finish(
            command_id=command.pk, status=Command.Status.ACCEPTED, response=response, answer_status="Accepted"
        )

    with schema_context(alpha.schema_name):
        station_answers(Command.objects.get(operation="set_charging_profile"))  # theirs is set
        asked = Command.objects.get(operation="get_composite_schedule")
        assert asked.params == {"evse_id": 2, "duration_s": 3600} and asked.source == "system"
        station_answers(asked, schedule_limit=11000)
        operators = command_services.command_create(
            station=session.station,
            operation="set_charging_profile",
            params={"purpose": "station_max", "evse_id": 0, "unit": "W", "periods": [{"start_s": 0, "limit": "7000"}]},
        )
        station_answers(operators)  # the operator caps the station
        station_answers(Command.objects.filter(operation="get_composite_schedule").latest("pk"), schedule_limit=7000)
        assert Command.objects.filter(operation="get_composite_schedule").count() == 2  # none for `unmanaged`

    puts = partner_server.of("PUT", f"/emsp/chargingprofiles/{session.pk}")
    assert [put.body["charging_profile"]["charging_profile_period"][0]["limit"] for put in puts] == [11000, 7000]
    assert puts[0].body["start_date_time"] == "2026-12-07T10:00:00Z"
    assert puts[0].body["charging_profile"]["charging_rate_unit"] == "W"
    assert posted_results(partner_server) == [{"result": "ACCEPTED"}]  # their SET's result, once


@pytest.mark.django_db(transaction=True)
def test_delete_clears_the_session_profile_and_unknown_is_reported(
    alpha, partner, partner_server, station_takes_commands
):
    with schema_context(alpha.schema_name):
        session = roaming_session(partner)

    response = ocpi(
        "DELETE", f"/ocpi/2.2.1/cpo/chargingprofiles/{session.pk}?response_url={response_url(partner_server)}"
    )

    assert response.json()["data"]["result"] == "ACCEPTED"
    with schema_context(alpha.schema_name):
        command = Command.objects.get()
        assert command.operation == "clear_charging_profile"
        assert command.params == {"profile_id": PROFILE_ID_BASE + session.pk}
        command_finish(
            command_id=command.pk,
            status=Command.Status.REJECTED,
            response={"status": "Unknown"},
            answer_status="Unknown",
        )
    assert posted_results(partner_server) == [{"result": "UNKNOWN"}]


@pytest.mark.django_db(transaction=True)
def test_an_offline_station_is_rejected_at_once_and_nothing_is_posted(alpha, partner, partner_server):
    with schema_context(alpha.schema_name):
        session = roaming_session(partner, online=False)

    response = ocpi(
        "PUT",
        f"/ocpi/2.2.1/cpo/chargingprofiles/{session.pk}",
        {"charging_profile": PROFILE, "response_url": response_url(partner_server)},
    )

    assert response.json()["data"] == {"result": "REJECTED", "timeout": 60}
    with schema_context(alpha.schema_name):
        assert Command.objects.get().status == Command.Status.OFFLINE
        assert ReceivedCommand.objects.get().answered_at is not None
    assert partner_server.requests == []


def test_unknown_ended_or_another_partners_session_is_unknown_session(alpha, partner, partner_server):
    with schema_context(alpha.schema_name):
        ended = roaming_session(partner, status=ChargingSession.Status.COMPLETED)
        other = ChargingSessionFactory()  # one of our own drivers' sessions, no partner's
    body = {"charging_profile": PROFILE, "response_url": response_url(partner_server)}

    for session_id in (ended.pk, other.pk, 999999, "not-a-number"):
        response = ocpi("PUT", f"/ocpi/2.2.1/cpo/chargingprofiles/{session_id}", body)
        assert response.status_code == 200 and response.json()["status_code"] == 1000
        assert response.json()["data"] == {"result": "UNKNOWN_SESSION", "timeout": 60}
    with schema_context(alpha.schema_name):
        assert not Command.objects.exists() and not ReceivedCommand.objects.exists()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"charging_rate_unit": "kW"}, "charging_profile.charging_rate_unit"),
        ({"start_date_time": "tomorrow"}, "charging_profile.start_date_time"),
        ({"duration": 0}, "charging_profile.duration"),
        ({"min_charging_rate": "lots"}, "charging_profile.min_charging_rate"),
        ({"charging_profile_period": []}, "charging_profile.charging_profile_period"),
        ({"charging_profile_period": [{"start_period": 0, "limit": -1}]}, "charging_profile_period[0].limit"),
        ({"charging_profile_period": [{"start_period": 60, "limit": 6}]}, "charging_profile.charging_profile_period"),
    ],
)
def test_a_profile_that_breaks_the_rules_is_2001_naming_the_field(alpha, partner, partner_server, change, field):
    with schema_context(alpha.schema_name):
        session = roaming_session(partner)

    response = ocpi(
        "PUT",
        f"/ocpi/2.2.1/cpo/chargingprofiles/{session.pk}",
        {"charging_profile": {**PROFILE, **change}, "response_url": response_url(partner_server)},
    )

    assert response.status_code == 200 and response.json()["status_code"] == 2001
    assert field in response.json()["status_message"]


def test_missing_parameters_invalid_json_and_unknown_tokens_are_refused(alpha, partner, partner_server):
    with schema_context(alpha.schema_name):
        session = roaming_session(partner)
    url = f"/ocpi/2.2.1/cpo/chargingprofiles/{session.pk}"

    no_url = ocpi("PUT", url, {"charging_profile": PROFILE})
    assert no_url.json()["status_code"] == 2001 and "response_url" in no_url.json()["status_message"]
    no_duration = ocpi("GET", url, response_url=response_url(partner_server))
    assert no_duration.json()["status_code"] == 2001 and "duration" in no_duration.json()["status_message"]
    assert ocpi("DELETE", url).json()["status_code"] == 2001
    from django.test import Client

    broken = Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=ocpi_auth()).generic(
        "PUT", url, "{not json", content_type="application/json"
    )
    assert broken.status_code == 400 and broken.json()["status_code"] == 2001
    assert ocpi("PUT", url, {"charging_profile": PROFILE}, token="nobody").status_code == 401
    assert ocpi("POST", url, {}).status_code == 405


def ocpi_auth() -> str:
    from tests.roaming.conftest import TOKEN_C, b64

    return f"Token {b64(TOKEN_C)}"


def test_the_cpo_interface_is_offered_only_by_a_cpo(alpha, partner, partner_server):
    roles_set(alpha, ["EMSP"])

    response = ocpi("DELETE", "/ocpi/2.2.1/cpo/chargingprofiles/1?response_url=http://x.example/r")

    assert response.status_code == 404 and response.json()["status_code"] == 2000


# --- eMSP, sender -----------------------------------------------------------------------------------------------


@pytest.fixture
def cpo_partner(alpha, partner):
    """Alpha as an eMSP; Bravo a CPO whose chargingprofiles RECEIVER is on partner_server."""
    roles_set(alpha, ["EMSP"])
    with schema_context(alpha.schema_name):
        partner.roles = [{"role": "CPO", "country_code": "DE", "party_id": "BRV"}]
        partner.save()
    return partner


def test_a_profile_sent_to_a_cpo_and_its_result_are_kept(alpha, cpo_partner, partner_server):
    partner_server.answer("PUT", "/ocpi/2.2.1/chargingprofiles/S-1", {"result": "ACCEPTED", "timeout": 30})
    with schema_context(alpha.schema_name):
        sent = charging_profile_to_partner_send(partner=cpo_partner, session_id="S-1", charging_profile=PROFILE)

    [put] = partner_server.of("PUT", "/ocpi/2.2.1/chargingprofiles/S-1")
    assert put.body == {
        "charging_profile": PROFILE,
        "response_url": f"http://alpha.localhost/ocpi/2.2.1/emsp/chargingprofiles/{sent.uid}",
    }
    assert sent.response == {"result": "ACCEPTED", "timeout": 30} and sent.type == "SET"

    posted = ocpi("POST", f"/ocpi/2.2.1/emsp/chargingprofiles/{sent.uid}", {"result": "ACCEPTED"})

    assert posted.status_code == 200 and posted.json()["status_code"] == 1000
    with schema_context(alpha.schema_name):
        sent.refresh_from_db()
    assert sent.result == {"result": "ACCEPTED"} and sent.result_at is not None
    bad = ocpi("POST", f"/ocpi/2.2.1/emsp/chargingprofiles/{sent.uid}", {"result": "MAYBE"})
    assert bad.json()["status_code"] == 2001 and "result" in bad.json()["status_message"]
    for unknown in (uuid.uuid4(), "not-a-uid"):
        missing = ocpi("POST", f"/ocpi/2.2.1/emsp/chargingprofiles/{unknown}", {"result": "ACCEPTED"})
        assert missing.status_code == 404 and missing.json()["status_code"] == 2000


def test_get_and_clear_requests_carry_their_parameters(alpha, cpo_partner, partner_server):
    with schema_context(alpha.schema_name):
        asked = active_charging_profile_from_partner_request(partner=cpo_partner, session_id="S-1", duration=900)
        cleared = charging_profile_at_partner_clear(partner=cpo_partner, session_id="S-1")

    [get] = partner_server.of("GET", "/ocpi/2.2.1/chargingprofiles/S-1")
    assert get.query["duration"] == ["900"] and get.query["response_url"][0].endswith(str(asked.uid))
    [delete] = partner_server.of("DELETE", "/ocpi/2.2.1/chargingprofiles/S-1")
    assert delete.query["response_url"][0].endswith(f"emsp/chargingprofiles/{cleared.uid}")
    assert (asked.type, cleared.type) == ("GET", "CLEAR")


def test_a_refused_request_is_recorded_and_raised(alpha, cpo_partner, partner_server):
    partner_server.answer("PUT", "/ocpi/2.2.1/chargingprofiles/", status_code=2001)

    with schema_context(alpha.schema_name), pytest.raises(PartnerRefusedError):
        charging_profile_to_partner_send(partner=cpo_partner, session_id="S-2", charging_profile=PROFILE)

    with schema_context(alpha.schema_name):
        assert SentCommand.objects.get().response["status_code"] == 2001


def test_an_updated_active_profile_is_stored_on_the_partner_session(alpha, cpo_partner):
    with schema_context(alpha.schema_name):
        stored = PartnerSession.objects.create(
            partner=cpo_partner,
            country_code="DE",
            party_id="BRV",
            object_id="S-1",
            data={"id": "S-1", "kwh": 1},
            last_updated=timezone.now(),
            kwh=Decimal(1),
        )
    active = {"start_date_time": "2026-12-07T10:00:00Z", "charging_profile": PROFILE}

    response = ocpi("PUT", "/ocpi/2.2.1/emsp/chargingprofiles/S-1", active)

    assert response.status_code == 200 and response.json()["status_code"] == 1000
    with schema_context(alpha.schema_name):
        stored.refresh_from_db()
    assert stored.data == {"id": "S-1", "kwh": 1, "active_charging_profile": active}
    missing = ocpi("PUT", "/ocpi/2.2.1/emsp/chargingprofiles/S-404", active)
    assert missing.status_code == 404 and missing.json()["status_code"] == 2000
    invalid = ocpi("PUT", "/ocpi/2.2.1/emsp/chargingprofiles/S-1", {"charging_profile": PROFILE})
    assert invalid.json()["status_code"] == 2001 and "start_date_time" in invalid.json()["status_message"]


def test_an_ocpp_1_6_composite_schedule_and_a_station_without_answer_map_to_ocpi():
    from datetime import UTC, datetime

    from apps.roaming.modules.chargingprofiles import active_profile_of, result_of

    answer = {
        "status": "Accepted",
        "connectorId": 1,
        "scheduleStart": "2026-12-07T10:00:00Z",
        "chargingSchedule": {
            "chargingRateUnit": "W",
            "minChargingRate": 1400.0,
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400.0, "numberPhases": 3}],
        },
    }
    assert active_profile_of(answer, at=datetime(2026, 12, 7, tzinfo=UTC)) == {
        "start_date_time": "2026-12-07T10:00:00Z",
        "charging_profile": {
            "charging_rate_unit": "W",
            "min_charging_rate": 1400,
            "charging_profile_period": [{"start_period": 0, "limit": 7400}],
        },
    }
    assert result_of(Command(status=Command.Status.TIMEOUT), "SET") == {"result": "REJECTED"}
    assert result_of(Command(status=Command.Status.ACCEPTED, response={"status": "Accepted"}), "GET") == {
        "result": "ACCEPTED"
    }


@pytest.mark.parametrize("protocol, transaction_id", [("ocpp1.6", "41"), ("ocpp2.0.1", "TX-77")])
def test_the_station_requests_meet_the_ocpp_schemas(protocol, transaction_id):
    """What a partner's requests become on the wire to the station, in both versions, is valid OCPP."""
    from apps.commands.operations import OPERATIONS
    from apps.ocpp.commands import BuildContext, request_build
    from apps.ocpp.framing import validate_call_payload
    from apps.roaming.modules.chargingprofiles import charging_profile_validate, profile_id_of, set_params

    session = ChargingSession(pk=41, evse_id=1, transaction_id=transaction_id)
    for operation, params in (
        ("set_charging_profile", set_params(session, charging_profile_validate(PROFILE))),
        ("set_charging_profile", set_params(session, charging_profile_validate({**PROFILE, "start_date_time": None}))),
        ("get_composite_schedule", {"evse_id": 1, "duration_s": 900}),
        ("clear_charging_profile", {"profile_id": profile_id_of(session)}),
    ):
        serializer = OPERATIONS[operation].params(data=params)
        assert serializer.is_valid(), serializer.errors
        action, payload = request_build(protocol, operation, serializer.data, BuildContext(command_id=7))
        validate_call_payload(protocol, action, payload)
        if operation == "set_charging_profile":  # the EV's lowest rate reaches the station
            profile = payload.get("csChargingProfiles") or payload["chargingProfile"]
            schedule = profile["chargingSchedule"]
            assert (schedule[0] if isinstance(schedule, list) else schedule)["minChargingRate"] == 1400.5
