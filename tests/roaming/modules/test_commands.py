"""The commands module: an eMSP's commands become operations for our stations and their outcomes CommandResults at
the eMSP's response URL; our own commands to a CPO partner and the results it posts back.

Transactional: a command is sent to a station only once committed (apps.commands.services.command_send)."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.commands.models import Command
from apps.commands.services import command_create, command_finish
from apps.roaming.models import Partner, PartnerToken, ReceivedCommand, SentCommand, token_hash
from apps.roaming.modules.commands import command_to_partner_send, session_start_request
from apps.sessions.models import ChargingSession, Reservation
from apps.sessions.services import id_token_authorize, reservation_record
from apps.stations.models import Connector, Evse
from tests.roaming.conftest import ocpi, partner_as, roles_set
from tests.roaming.factories import PartnerFactory
from tests.roaming.modules.test_tokens import their_token
from tests.sessions.factories import ChargingSessionFactory, IdTokenFactory
from tests.stations.factories import LocationFactory, StationFactory

pytestmark = pytest.mark.django_db(transaction=True)

COMMANDS = "/ocpi/2.2.1/cpo/commands"


@pytest.fixture
def station(alpha):
    """An offline 1.6 station at a published location, EVSE 1 with connector 1."""
    with schema_context(alpha.schema_name):
        location = LocationFactory(latitude="52.090000", longitude="5.120000")
        station = StationFactory(location=location, protocol="ocpp1.6", is_online=False)
        evse = Evse.objects.create(station=station, evse_id=1)
        Connector.objects.create(evse=evse, connector_id=1, status="Available")
        return station


def response_url(server, command: str, name: str = "r1") -> str:
    return f"{server.url}/ocpi/2.2.1/emsp/commands/{command}/{name}"


def start_body(server, station, **fields) -> dict:
    return {
        "response_url": response_url(server, "START_SESSION"),
        "token": their_token(),
        "location_id": str(station.location_id),
        "evse_uid": f"{station.identity}*1",
        "authorization_reference": "AUTH-1",
    } | fields


def the_command():
    return Command.objects.get()


# --- CPO, receiver ------------------------------------------------------------------------------------------------


def test_start_session_at_an_offline_station_answers_accepted_then_failed_at_the_response_url(
    alpha, partner, partner_server, station
):
    response = ocpi("POST", f"{COMMANDS}/START_SESSION", start_body(partner_server, station))

    assert response.status_code == 200 and response.json()["data"] == {"result": "ACCEPTED", "timeout": 60}
    (result,) = partner_server.of("POST", "/ocpi/2.2.1/emsp/commands/START_SESSION/r1")
    assert result.body == {
        "result": "FAILED",
        "message": [{"language": "en", "text": "The station is not connected."}],
    }
    with schema_context(alpha.schema_name):
        command = the_command()
        assert (command.station_id, command.operation, command.status, command.source) == (
            station.pk,
            "remote_start",
            "offline",
            "api",
        )
        assert command.params == {"id_token": "CARD-1", "id_token_type": "ISO14443", "evse_id": 1}
        received = ReceivedCommand.objects.get()
        assert (received.module, received.type, received.command_id) == ("commands", "START_SESSION", command.pk)
        assert received.result == result.body and received.answered_at is not None
        token = PartnerToken.objects.get()
        assert token.authorization_reference == "AUTH-1" and token.authorized_at is not None


def test_start_session_naming_a_connector_must_name_one_of_the_evses(alpha, partner, partner_server, station):
    known = ocpi("POST", f"{COMMANDS}/START_SESSION", start_body(partner_server, station, connector_id="1"))
    unknown = ocpi("POST", f"{COMMANDS}/START_SESSION", start_body(partner_server, station, connector_id="2"))

    assert known.json()["data"]["result"] == "ACCEPTED"
    assert unknown.json()["data"]["result"] == "REJECTED"
    assert unknown.json()["data"]["message"][0]["text"] == "Unknown connector of this EVSE"
    with schema_context(alpha.schema_name):
        assert Command.objects.count() == 1  # the refused one reached no station


def test_a_started_token_is_accepted_by_the_station_without_a_real_time_call(alpha, partner, partner_server, station):
    with schema_context(alpha.schema_name):
        partner_as(partner, role="EMSP", country_code="DE", party_id="BRV", endpoints_role="SENDER")
    ocpi("POST", f"{COMMANDS}/START_SESSION", start_body(partner_server, station))

    with schema_context(alpha.schema_name):
        authorization = id_token_authorize(uid="CARD-1", type="ISO14443", station_id=station.pk)

    assert authorization.status == "Accepted"
    assert not partner_server.of("POST", "/ocpi/2.2.1/tokens/")


def test_an_online_station_gets_the_command_through_the_channel_layer(alpha, partner, partner_server, station):
    # Online in the database but no process holds its connection: the layer finds no one (a real station would
    # take it), and the eMSP hears FAILED.
    with schema_context(alpha.schema_name):
        type(station).objects.filter(pk=station.pk).update(is_online=True)

    response = ocpi("POST", f"{COMMANDS}/START_SESSION", start_body(partner_server, station))

    assert response.json()["data"]["result"] == "ACCEPTED"
    with schema_context(alpha.schema_name):
        assert the_command().detail == "No server process holds a connection of the station."
    assert partner_server.of("POST", "/ocpi/2.2.1/emsp/commands/")[0].body["result"] == "FAILED"


@pytest.mark.parametrize(
    ("operation", "command_type", "status", "answer_status", "result"),
    [
        ("remote_start", "START_SESSION", "accepted", "Accepted", "ACCEPTED"),
        ("remote_start", "START_SESSION", "rejected", "Rejected", "REJECTED"),
        ("reserve_now", "RESERVE_NOW", "rejected", "Occupied", "EVSE_OCCUPIED"),
        ("cancel_reservation", "CANCEL_RESERVATION", "rejected", "Rejected", "UNKNOWN_RESERVATION"),
        ("unlock_connector", "UNLOCK_CONNECTOR", "timeout", "", "TIMEOUT"),
    ],
)
def test_the_stations_answer_is_posted_as_the_command_result(
    alpha, partner, partner_server, station, operation, command_type, status, answer_status, result
):
    params = {
        "remote_start": {"id_token": "CARD-1"},
        "reserve_now": {"id_token": "CARD-1", "expires_at": (timezone.now() + timedelta(hours=1)).isoformat()},
        "cancel_reservation": {"reservation_id": 7},
        "unlock_connector": {"evse_id": 1},
    }[operation]
    url = response_url(partner_server, command_type)
    with schema_context(alpha.schema_name):
        command = command_create(station=station, operation=operation, params=params)
        ReceivedCommand.objects.create(
            partner=partner, module="commands", type=command_type, request={}, response_url=url, command=command
        )
        # chargingprofiles answers its own commands: this one is not ours to answer.
        ReceivedCommand.objects.create(
            partner=partner, module="chargingprofiles", type="SET", request={}, response_url=url + "x", command=command
        )

        command_finish(command_id=command.pk, status=status, answer_status=answer_status)
        command_finish(command_id=command.pk, status="error")  # an outcome is final: nothing more is posted

        answered = ReceivedCommand.objects.get(module="commands")
        assert answered.result["result"] == result and answered.answered_at is not None
    # One result for the commands row (the chargingprofiles row gets its own, at its own URL).
    (posted,) = [r for r in partner_server.of("POST", "/ocpi/2.2.1/emsp/commands/") if r.path.endswith("/r1")]
    assert posted.path.endswith(f"/{command_type}/r1") and posted.body["result"] == result


def test_stop_session_stops_the_partners_session_only(alpha, partner, partner_server, station):
    ocpi("PUT", "/ocpi/2.2.1/cpo/tokens/DE/BRV/CARD-1", their_token())
    with schema_context(alpha.schema_name):
        theirs = ChargingSessionFactory(station=station, id_token_uid="CARD-1")
        local = ChargingSessionFactory(station=station, id_token_uid="LOCAL-1")
        ended = ChargingSessionFactory(station=station, id_token_uid="CARD-1", status=ChargingSession.Status.COMPLETED)
    url = response_url(partner_server, "STOP_SESSION")

    stopped = ocpi("POST", f"{COMMANDS}/STOP_SESSION", {"response_url": url, "session_id": str(theirs.pk)})
    not_theirs = ocpi("POST", f"{COMMANDS}/STOP_SESSION", {"response_url": url, "session_id": str(local.pk)})
    unknown = ocpi("POST", f"{COMMANDS}/STOP_SESSION", {"response_url": url, "session_id": "999999"})
    over = ocpi("POST", f"{COMMANDS}/STOP_SESSION", {"response_url": url, "session_id": str(ended.pk)})

    assert stopped.json()["data"]["result"] == "ACCEPTED"
    assert not_theirs.json()["data"]["result"] == "UNKNOWN_SESSION"
    assert unknown.json()["data"]["result"] == "UNKNOWN_SESSION"
    assert over.json()["data"]["result"] == "REJECTED"
    with schema_context(alpha.schema_name):
        command = the_command()
        assert (command.operation, command.params) == ("remote_stop", {"transaction_id": theirs.transaction_id})
        assert ReceivedCommand.objects.count() == 4


def test_reserve_now_then_cancel_the_reservation_the_station_knows(alpha, partner, partner_server, station):
    expiry = (timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    reserve = {
        "response_url": response_url(partner_server, "RESERVE_NOW"),
        "token": their_token(group_id="FLEET"),
        "expiry_date": expiry,
        "reservation_id": "RES-1",
        "location_id": str(station.location_id),
        "evse_uid": f"{station.identity}*1",
    }
    cancel = {"response_url": response_url(partner_server, "CANCEL_RESERVATION"), "reservation_id": "RES-1"}

    reserved = ocpi("POST", f"{COMMANDS}/RESERVE_NOW", reserve)
    with schema_context(alpha.schema_name):
        reservation = the_command()
        assert reservation.operation == "reserve_now"
        assert reservation.params["evse_id"] == 1 and reservation.params["group_id_token"] == "FLEET"
        # What the station's connection records when it sends ReserveNow (1.6).
        Command.objects.filter(pk=reservation.pk).update(request={"reservationId": 77})
    cancelled = ocpi("POST", f"{COMMANDS}/CANCEL_RESERVATION", cancel)
    unknown = ocpi("POST", f"{COMMANDS}/CANCEL_RESERVATION", cancel | {"reservation_id": "RES-9"})

    assert reserved.json()["data"]["result"] == cancelled.json()["data"]["result"] == "ACCEPTED"
    assert unknown.json()["data"]["result"] == "REJECTED"
    with schema_context(alpha.schema_name):
        cancelling = Command.objects.get(operation="cancel_reservation")
        assert cancelling.params == {"reservation_id": 77}


def test_reserve_now_with_a_held_reservation_id_replaces_it(alpha, partner, partner_server, station):
    """Again at the same station: the station's reservation id is reused (the station replaces it). At another
    station: the first one is cancelled there and a new reservation made."""
    expiry = (timezone.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with schema_context(alpha.schema_name):
        other = StationFactory(location=station.location, protocol="ocpp1.6", is_online=False)
        Connector.objects.create(evse=Evse.objects.create(station=other, evse_id=1), connector_id=1)

    def reserve(at):
        body = {
            "response_url": response_url(partner_server, "RESERVE_NOW"),
            "token": their_token(),
            "expiry_date": expiry,
            "reservation_id": "RES-1",
            "location_id": str(station.location_id),
            "evse_uid": f"{at.identity}*1",
        }
        assert ocpi("POST", f"{COMMANDS}/RESERVE_NOW", body).json()["data"]["result"] == "ACCEPTED"
        with schema_context(alpha.schema_name):
            command = Command.objects.filter(operation="reserve_now").latest("pk")
            ocpp_id = command.params.get("reservation_id", 70 + command.pk)
            # What the station's connection records when it sends ReserveNow and the station accepts (1.6).
            Command.objects.filter(pk=command.pk).update(request={"reservationId": ocpp_id})
            reservation_record(
                station_id=at.pk,
                reservation_id=ocpp_id,
                evse_id=1,
                id_token_uid="CARD-1",
                expires_at=timezone.now() + timedelta(hours=1),
                accepted=True,
                answer_status="Accepted",
            )
            return command

    first = reserve(station)
    again = reserve(station)
    moved = reserve(other)

    first_id = first.params.get("reservation_id", 70 + first.pk)
    assert "reservation_id" not in first.params and again.params["reservation_id"] == first_id
    assert "reservation_id" not in moved.params and moved.station_id == other.pk
    with schema_context(alpha.schema_name):
        cancelling = Command.objects.get(operation="cancel_reservation")
        assert (cancelling.station_id, cancelling.params) == (station.pk, {"reservation_id": first_id})
        assert Reservation.objects.filter(station=station).count() == 1  # replaced, not doubled


def test_unlock_connector_names_the_evse_and_connector(alpha, partner, partner_server, station):
    body = {
        "response_url": response_url(partner_server, "UNLOCK_CONNECTOR"),
        "location_id": str(station.location_id),
        "evse_uid": f"{station.identity}*1",
        "connector_id": "1",
    }

    unlocked = ocpi("POST", f"{COMMANDS}/UNLOCK_CONNECTOR", body)
    no_connector = ocpi("POST", f"{COMMANDS}/UNLOCK_CONNECTOR", body | {"connector_id": "9"})
    no_evse = ocpi("POST", f"{COMMANDS}/UNLOCK_CONNECTOR", body | {"evse_uid": "X*1"})
    no_location = ocpi("POST", f"{COMMANDS}/UNLOCK_CONNECTOR", body | {"location_id": "999999"})

    assert unlocked.json()["data"]["result"] == "ACCEPTED"
    for refused, text in ((no_connector, "connector"), (no_evse, "EVSE"), (no_location, "location")):
        assert refused.json()["data"]["result"] == "REJECTED" and text in refused.json()["data"]["message"][0]["text"]
    with schema_context(alpha.schema_name):
        assert the_command().params == {"evse_id": 1, "connector_id": 1}


@pytest.mark.parametrize(
    ("command_type", "body", "field"),
    [
        ("STOP_SESSION", {"session_id": "1"}, "response_url"),
        ("STOP_SESSION", {"response_url": "ftp://x", "session_id": "1"}, "response_url"),
        ("STOP_SESSION", {"response_url": "http://x/r"}, "session_id"),
        ("START_SESSION", {"response_url": "http://x/r", "location_id": "1"}, "token"),
        ("START_SESSION", {"response_url": "http://x/r", "location_id": "1", "token": {"uid": "A"}}, "token: "),
        ("RESERVE_NOW", {"response_url": "http://x/r", "token": their_token(), "location_id": "1"}, "expiry_date"),
        ("UNLOCK_CONNECTOR", {"response_url": "http://x/r", "location_id": "1", "evse_uid": "E"}, "connector_id"),
    ],
)
def test_a_request_that_breaks_the_rules_is_2001_naming_the_field(alpha, partner, command_type, body, field):
    response = ocpi("POST", f"{COMMANDS}/{command_type}", body)

    assert response.status_code == 200 and response.json()["status_code"] == 2001
    assert field in response.json()["status_message"]


def test_unknown_commands_invalid_json_and_another_partys_token_are_refused(alpha, partner, partner_server, station):
    unknown = ocpi("POST", f"{COMMANDS}/SELF_DESTRUCT", {"response_url": "http://x/r"})
    not_json = ocpi("POST", f"{COMMANDS}/STOP_SESSION", "{")
    foreign = ocpi(
        "POST",
        f"{COMMANDS}/START_SESSION",
        start_body(partner_server, station, token=their_token(country_code="FR", party_id="XYZ")),
    )

    assert unknown.status_code == 404 and unknown.json()["status_code"] == 2000
    assert not_json.status_code == 400 and not_json.json()["status_code"] == 2001
    assert foreign.json()["status_code"] == 2001 and "party" in foreign.json()["status_message"]
    with schema_context(alpha.schema_name):
        assert not Command.objects.exists() and not PartnerToken.objects.exists()


# --- eMSP, sender -------------------------------------------------------------------------------------------------


@pytest.fixture
def cpo_partner(alpha, partner):
    roles_set(alpha, ["EMSP"])
    with schema_context(alpha.schema_name):
        return partner_as(partner, role="CPO", country_code="DE", party_id="BRV", endpoints_role="RECEIVER")


def test_we_send_a_start_session_and_keep_their_response_and_result(alpha, cpo_partner, partner_server):
    partner_server.answer("POST", "/ocpi/2.2.1/commands/START_SESSION", {"result": "ACCEPTED", "timeout": 30})
    with schema_context(alpha.schema_name):
        token = IdTokenFactory(uid="04AABBCC")
        request = session_start_request(partner=cpo_partner, id_token=token, location_id="LOC1", evse_uid="EVSE1")
        sent = command_to_partner_send(partner=cpo_partner, type="START_SESSION", request=request)

    (call,) = partner_server.of("POST", "/ocpi/2.2.1/commands/START_SESSION")
    our_url = f"http://alpha.localhost/ocpi/2.2.1/emsp/commands/START_SESSION/{sent.uid}"
    assert call.body["response_url"] == our_url and call.body["token"]["uid"] == "04AABBCC"
    assert (call.body["location_id"], call.body["evse_uid"]) == ("LOC1", "EVSE1")
    assert sent.response == {"result": "ACCEPTED", "timeout": 30}

    posted = ocpi("POST", our_url.removeprefix("http://alpha.localhost"), {"result": "ACCEPTED"})

    assert posted.status_code == 200 and posted.json()["status_code"] == 1000
    with schema_context(alpha.schema_name):
        sent.refresh_from_db()
        assert sent.result == {"result": "ACCEPTED"} and sent.result_at is not None


def test_a_result_for_an_unknown_command_or_from_another_partner_is_404(alpha, cpo_partner, partner_server):
    with schema_context(alpha.schema_name):
        sent = command_to_partner_send(partner=cpo_partner, type="STOP_SESSION", request={"session_id": "S1"})
        other = PartnerFactory(name="Charlie")
        Partner.objects.filter(pk=other.pk).update(
            token_c_hash=token_hash("charlie-token"),
            status=Partner.Status.REGISTERED,
            roles=[{"role": "CPO", "country_code": "FR", "party_id": "CHA"}],
        )
    path = f"/ocpi/2.2.1/emsp/commands/STOP_SESSION/{sent.uid}"

    for response in (
        ocpi("POST", f"/ocpi/2.2.1/emsp/commands/STOP_SESSION/{uuid.uuid4()}", {"result": "ACCEPTED"}),
        ocpi("POST", "/ocpi/2.2.1/emsp/commands/STOP_SESSION/not-a-uuid", {"result": "ACCEPTED"}),
        ocpi("POST", f"/ocpi/2.2.1/emsp/commands/START_SESSION/{sent.uid}", {"result": "ACCEPTED"}),
        ocpi("POST", path, {"result": "ACCEPTED"}, token="charlie-token"),
    ):
        assert response.status_code == 404 and response.json()["status_code"] == 2000
    bad = ocpi("POST", path, {"result": "MAYBE"})
    assert bad.json()["status_code"] == 2001 and "result" in bad.json()["status_message"]
    with schema_context(alpha.schema_name):
        assert SentCommand.objects.get().result is None
