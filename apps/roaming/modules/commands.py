"""OCPI 2.2.1 commands module, both sides.

- CPO, receiver (`cpo/commands/<command>`): an eMSP asks us to start or stop a session, reserve, cancel a
  reservation or unlock a connector. We answer at once (CommandResponse), send the station the OCPP operation
  (apps.commands), and POST the CommandResult to their response_url when the station's answer comes
  ("command.completed" live event), through the outbox.
- eMSP, sender: `command_to_partner_send` posts a command to a CPO partner; their CommandResult arrives at
  `emsp/commands/<command>/<uid>` and is kept on the SentCommand.
"""

import logging
import uuid

from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError

from apps.commands.models import Command
from apps.commands.operations import errors_text
from apps.commands.services import command_send
from apps.roaming.client import partner_call
from apps.roaming.exceptions import RoamingError
from apps.roaming.models import (
    Partner,
    PartnerLocation,
    PartnerSession,
    ReceivedCommand,
    RoamingSession,
    RoamingSettings,
    SentCommand,
)
from apps.roaming.modules.locations import evse_find, published_locations
from apps.roaming.modules.tokens import (
    OCPP_TOKEN_TYPE,
    partner_token_find,
    token_object,
    token_store,
    token_validate,
)
from apps.roaming.outbox import outbox_push
from apps.roaming.selectors import partner_object_party
from apps.roaming.transport import (
    CLIENT_ERROR,
    INVALID_PARAMETERS,
    Party,
    envelope,
    ocpi_module_view,
    party_of,
    party_text,
    request_json,
)
from apps.sessions.models import ChargingSession, IdToken, Reservation
from apps.stations.models import Connector, Evse, Station

logger = logging.getLogger(__name__)

MODULE = "commands"
COMMAND_TYPES = ("START_SESSION", "STOP_SESSION", "RESERVE_NOW", "CANCEL_RESERVATION", "UNLOCK_CONNECTOR")
RESULT_TYPES = (
    "ACCEPTED",
    "CANCELED_RESERVATION",
    "EVSE_OCCUPIED",
    "EVSE_INOPERATIVE",
    "FAILED",
    "NOT_SUPPORTED",
    "REJECTED",
    "TIMEOUT",
    "UNKNOWN_RESERVATION",
)
# How long the eMSP should wait for the result: the station's own timeout (apps.commands, 30 s) with a margin
# for queued operations and the push.
RESULT_TIMEOUT_S = 60
# Each command's fields: required, then optional (OCPI 2.2.1 §13.3).
FIELDS = {
    "START_SESSION": (
        ("response_url", "token", "location_id"),
        ("evse_uid", "connector_id", "authorization_reference"),
    ),
    "STOP_SESSION": (("response_url", "session_id"), ()),
    "RESERVE_NOW": (
        ("response_url", "token", "expiry_date", "reservation_id", "location_id"),
        ("evse_uid", "authorization_reference"),
    ),
    "CANCEL_RESERVATION": (("response_url", "reservation_id"), ()),
    "UNLOCK_CONNECTOR": (("response_url", "location_id", "evse_uid", "connector_id"), ()),
}
# The station's refusals that say more than REJECTED.
REFUSALS = {
    ("reserve_now", "Occupied"): "EVSE_OCCUPIED",
    ("reserve_now", "Faulted"): "EVSE_INOPERATIVE",
    ("reserve_now", "Unavailable"): "EVSE_INOPERATIVE",
    ("cancel_reservation", "Rejected"): "UNKNOWN_RESERVATION",
    ("unlock_connector", "NotSupported"): "NOT_SUPPORTED",
    ("unlock_connector", "UnlockFailed"): "FAILED",
}
OUTCOMES = {
    Command.Status.ACCEPTED: "ACCEPTED",
    Command.Status.TIMEOUT: "TIMEOUT",
    Command.Status.OFFLINE: "FAILED",
    Command.Status.ERROR: "FAILED",
}


def _invalid(message: str) -> RoamingError:
    return RoamingError(message, status_code=INVALID_PARAMETERS)


def _display_text(text: str) -> list[dict]:
    return [{"language": "en", "text": text[:512]}]


def command_response(result: str, message: str = "") -> dict:
    response = {"result": result, "timeout": RESULT_TIMEOUT_S}
    if message:
        response["message"] = _display_text(message)
    return response


def command_result(command: Command) -> dict:
    """The CommandResult of a station's outcome (accepted, rejected, timeout, offline, error)."""
    if command.status == Command.Status.REJECTED:
        result = REFUSALS.get((command.operation, command.answer_status), "REJECTED")
    elif command.status == Command.Status.ERROR and "NotSupported" in command.detail + command.answer_status:
        result = "NOT_SUPPORTED"
    else:
        result = OUTCOMES.get(command.status, "FAILED")
    message = command.detail or command.answer_status
    return {"result": result, "message": _display_text(message)} if message else {"result": result}


# --- CPO, receiver ------------------------------------------------------------------------------------------------


def _text(body: dict, name: str, max_length: int = 36) -> str:
    value = body.get(name)
    if not isinstance(value, str) or not value or len(value) > max_length:
        raise _invalid(f"{name} is required, a string of at most {max_length} characters")
    return value


def command_validate(command_type: str, body: dict) -> None:
    """Check a command request's fields; RoamingError 2001 naming the field."""
    required, optional = FIELDS[command_type]
    for name in required + optional:
        if name not in required and body.get(name) is None:
            continue
        if name == "response_url":
            url = _text(body, name, 500)
            if not url.startswith(("http://", "https://")):
                raise _invalid("response_url must be an http(s) URL")
        elif name == "token":
            try:
                token_validate(body["token"] if "token" in body else None)
            except RoamingError as error:
                raise _invalid(f"token: {error}") from error
        elif name == "expiry_date":
            if not isinstance(body.get(name), str) or parse_datetime(body[name]) is None:
                raise _invalid("expiry_date is required, an ISO 8601 date-time")
        else:
            _text(body, name)


def _pk(value: str) -> int | None:
    """Our ids as OCPI strings: a primary key, or None for anything else (no query can take it)."""
    return int(value) if value.isdigit() and len(value) <= 18 else None


class CommandRefusedError(Exception):
    """A command we answer with REJECTED or UNKNOWN_SESSION without asking the station."""

    def __init__(self, result: str, message: str):
        super().__init__(message)
        self.result = result


def _evse(location_id: str, uid: str | None) -> tuple[Evse | None, Station]:
    """The EVSE (by uid) at our published location, or the location's only station when no uid is given."""
    location = published_locations().filter(pk=_pk(location_id)).first() if _pk(location_id) else None
    if location is None:
        raise CommandRefusedError("REJECTED", "Unknown location")
    if uid:
        found = evse_find(location, uid)
        if found is None:
            raise CommandRefusedError("REJECTED", "Unknown EVSE at this location")
        return found
    if len(location.accepted_stations) != 1:
        raise CommandRefusedError("REJECTED", "evse_uid is needed at this location")
    return None, location.accepted_stations[0]


def _partner_session(partner: Partner, session_id: str) -> ChargingSession:
    session = ChargingSession.objects.select_related("station").filter(pk=_pk(session_id)).first()
    if session is not None and not RoamingSession.objects.filter(session=session, partner=partner).exists():
        token = partner_token_find(uid=session.id_token_uid) if session.id_token_uid else None
        session = session if token is not None and token.partner_id == partner.pk else None
    if session is None:
        raise CommandRefusedError("UNKNOWN_SESSION", "Unknown session")
    if session.status != ChargingSession.Status.ACTIVE:
        raise CommandRefusedError("REJECTED", "The session has ended")
    return session


def _reservation_of(partner: Partner, reservation_id: str) -> tuple[Station, int] | None:
    """The station and OCPP reservation id of the partner's latest RESERVE_NOW with this reservation_id that
    reached a station."""
    received = (
        ReceivedCommand.objects.select_related("command__station")
        .filter(partner=partner, module=MODULE, type="RESERVE_NOW", request__reservation_id=reservation_id)
        .exclude(command=None)
        .order_by("-created_at")
        .first()
    )
    request = (received.command.request or {}) if received is not None else {}
    if not request:
        return None
    return received.command.station, request.get("reservationId", request.get("id"))


def _reservation_replaced(partner: Partner, reservation_id: str, station: Station) -> int | None:
    """A RESERVE_NOW naming a reservation_id the partner already holds replaces it (OCPI): at the same station, the
    OCPP reservation id to reuse (the station replaces its reservation); at another one, the old reservation is
    cancelled there and None is returned."""
    earlier = _reservation_of(partner, reservation_id)
    if earlier is None:
        return None
    earlier_station, ocpp_id = earlier
    held = Reservation.objects.filter(
        station=earlier_station, reservation_id=ocpp_id, status=Reservation.Status.ACCEPTED
    ).exists()
    if not held:
        return None
    if earlier_station.pk == station.pk:
        return ocpp_id
    try:
        command_send(
            wait=False,
            station=earlier_station,
            operation="cancel_reservation",
            params={"reservation_id": ocpp_id},
            source=Command.Source.API,
            requested_by_client=f"ocpi:{partner.name}"[:120],
        )
    except ValidationError:
        logger.warning("roaming: the replaced reservation %s at %s could not be cancelled", ocpp_id, earlier_station)
    return None


def _token_accept(partner: Partner, body: dict, *, authorized: bool) -> dict:
    """Keep the Token they sent (theirs only); with `authorized`, as freshly authorized by them (START_SESSION),
    so the station's Authorize of the uid needs no real-time call."""
    token = token_store(partner=partner, data=body["token"])
    if not token.valid:
        raise CommandRefusedError("REJECTED", "The token is not valid")
    if authorized:
        token.authorization_reference = str(body.get("authorization_reference") or uuid.uuid4().hex)[:36]
        token.authorized_at = timezone.now()
        token.save(update_fields=["authorization_reference", "authorized_at", "updated_at"])
    return body["token"]


def station_operation(partner: Partner, command_type: str, body: dict) -> tuple[Station, str, dict]:
    """What to ask which station for this command; CommandRefusedError when we answer without the station."""
    if command_type == "START_SESSION":
        evse, station = _evse(body["location_id"], body.get("evse_uid"))
        if body.get("connector_id") is not None:
            # OCPP starts on an EVSE (1.6: its one connector): a connector named must be one of that EVSE's.
            _connector(evse, body["connector_id"])
        token = _token_accept(partner, body, authorized=True)
        params = {"id_token": token["uid"], "id_token_type": OCPP_TOKEN_TYPE[token["type"]]}
        if evse is not None:
            params["evse_id"] = evse.evse_id
        return station, "remote_start", params
    if command_type == "STOP_SESSION":
        session = _partner_session(partner, body["session_id"])
        return session.station, "remote_stop", {"transaction_id": session.transaction_id}
    if command_type == "RESERVE_NOW":
        evse, station = _evse(body["location_id"], body.get("evse_uid"))
        token = _token_accept(partner, body, authorized=False)
        params = {
            "id_token": token["uid"],
            "id_token_type": OCPP_TOKEN_TYPE[token["type"]],
            "expires_at": body["expiry_date"],
            "evse_id": evse.evse_id if evse is not None else 0,
        }
        if token.get("group_id"):
            params["group_id_token"] = token["group_id"]
        replaced = _reservation_replaced(partner, body["reservation_id"], station)
        if replaced is not None:
            params["reservation_id"] = replaced
        return station, "reserve_now", params
    if command_type == "CANCEL_RESERVATION":
        reserved = _reservation_of(partner, body["reservation_id"])
        if reserved is None:
            raise CommandRefusedError("REJECTED", "Unknown reservation")
        station, reservation_id = reserved
        return station, "cancel_reservation", {"reservation_id": reservation_id}
    evse, station = _evse(body["location_id"], body["evse_uid"])
    connector = _connector(evse, body["connector_id"])
    return station, "unlock_connector", {"evse_id": evse.evse_id, "connector_id": connector.connector_id}


def _connector(evse: Evse | None, connector_id) -> Connector:
    connector = None
    if evse is not None:
        connector = next((c for c in evse.connectors.all() if str(c.connector_id) == str(connector_id)), None)
    if connector is None:
        raise CommandRefusedError("REJECTED", "Unknown connector of this EVSE")
    return connector


def received_command_answer(*, received: ReceivedCommand) -> bool:
    """POST the CommandResult of the station's outcome to the response URL, once; whether it was sent now."""
    command = received.command
    if command is None or command.status not in Command.FINAL:
        return False
    result = command_result(command)
    with transaction.atomic():
        answered = ReceivedCommand.objects.filter(pk=received.pk, answered_at=None).update(
            result=result, answered_at=timezone.now()
        )
        if answered:
            outbox_push(
                partner=received.partner,
                module=MODULE,
                method="POST",
                url=received.response_url,
                body=result,
                to=party_of(received.from_party),
            )
    return bool(answered)


def _received_record(partner: Partner, command_type: str, body: dict, sender: Party | None) -> ReceivedCommand:
    """Kept with the party that sent it (the request's OCPI-from, else the token's), which its result goes back to."""
    token = body.get("token") if isinstance(body.get("token"), dict) else {}
    if sender is None and token.get("country_code") and token.get("party_id"):
        sender = (str(token["country_code"]).upper(), str(token["party_id"]).upper())
    return ReceivedCommand.objects.create(
        partner=partner,
        module=MODULE,
        type=command_type,
        request=body,
        response_url=body["response_url"],
        from_party=party_text(sender),
    )


def command_receive(*, partner: Partner, command_type: str, body: dict, sender: Party | None = None) -> dict:
    """Record a partner's command, send the station the operation (outside any transaction: the station's process
    reads the committed command) and return the CommandResponse. An outcome known at once (the station is not
    connected) is posted to the response URL right away. `sender`: the party it came from (OCPI-from)."""
    command_validate(command_type, body)
    try:
        station, operation, params = station_operation(partner, command_type, body)
    except CommandRefusedError as refusal:
        _received_record(partner, command_type, body, sender)
        return command_response(refusal.result, str(refusal))
    received = _received_record(partner, command_type, body, sender)
    try:
        command = command_send(
            wait=False,
            station=station,
            operation=operation,
            params=params,
            source=Command.Source.API,
            requested_by_client=f"ocpi:{partner.name}"[:120],
        )
    except ValidationError as error:
        return command_response("REJECTED", errors_text(error.detail))
    received.command = command
    received.save(update_fields=["command"])
    # The outcome may already be in (offline at once, or a fast station) before the command was linked here.
    command.refresh_from_db()
    received_command_answer(received=received)
    return command_response("ACCEPTED")


@ocpi_module_view(role="CPO", methods=("POST",))
def cpo_command(
    request: HttpRequest, partner: Partner, roaming_settings: RoamingSettings, command: str
) -> HttpResponse:
    if command not in COMMAND_TYPES:
        return envelope(status_code=CLIENT_ERROR, status_message="Unknown command", http_status=404)
    body = request_json(request)
    return envelope(command_receive(partner=partner, command_type=command, body=body, sender=request.ocpi_from))


def command_completed_answer(*, station_id: int, at: str, data: dict) -> None:
    """Live event "command.completed": the CommandResult of a partner's command goes to its response URL."""
    if not data.get("command_id"):
        return
    received = (
        ReceivedCommand.objects.select_related("partner", "command")
        .filter(module=MODULE, command_id=data.get("command_id"))
        .first()
    )
    if received is not None:
        received_command_answer(received=received)


# --- eMSP, sender -------------------------------------------------------------------------------------------------


def _cpo_party(partner: Partner, request: dict) -> Party | None:
    """The CPO a command is for: the owner of its location, of its session, or of the reservation's location."""
    if request.get("location_id"):
        return partner_object_party(PartnerLocation, partner=partner, object_id=request["location_id"])
    if request.get("session_id"):
        return partner_object_party(PartnerSession, partner=partner, object_id=request["session_id"])
    reserved = (
        SentCommand.objects.filter(
            partner=partner, module=MODULE, type="RESERVE_NOW", request__reservation_id=request.get("reservation_id")
        )
        .order_by("-created_at")
        .first()
    )
    return _cpo_party(partner, {"location_id": reserved.request.get("location_id")}) if reserved else None


def command_to_partner_send(*, partner: Partner, type: str, request: dict) -> SentCommand:
    """POST a command to the partner's commands receiver with our response URL, and keep their CommandResponse.
    The SentCommand is committed first: their result may come back before their answer. A partner that refuses or
    cannot be reached raises (RoamingError) and the SentCommand keeps no response. Addressed (OCPI-to) to the CPO
    that owns the location or session, which may be one behind the partner's hub."""
    if type not in COMMAND_TYPES:
        raise ValueError(f"Unknown command {type}")
    roaming_settings = RoamingSettings.objects.get()
    uid = uuid.uuid4()
    body = {
        **request,
        "response_url": f"{roaming_settings.public_url.rstrip('/')}/ocpi/2.2.1/emsp/commands/{type}/{uid}",
    }
    sent = SentCommand.objects.create(partner=partner, uid=uid, module=MODULE, type=type, request=body)
    answer = partner_call(partner, "POST", module=MODULE, path=f"/{type}", body=body, to=_cpo_party(partner, body))
    sent.response = answer.data
    sent.save(update_fields=["response"])
    return sent


def session_start_request(*, partner: Partner, id_token: IdToken, location_id: str, evse_uid: str) -> dict:
    """A START_SESSION request for one of our drivers' tokens at the partner's EVSE (send it with
    command_to_partner_send)."""
    roaming_settings = RoamingSettings.objects.get()
    return {
        "token": token_object(id_token, roaming_settings=roaming_settings),
        "location_id": location_id,
        "evse_uid": evse_uid,
        "authorization_reference": uuid.uuid4().hex,
    }


@ocpi_module_view(role="EMSP", methods=("POST",))
def emsp_command_result(
    request: HttpRequest, partner: Partner, roaming_settings: RoamingSettings, command: str, uid: str
) -> HttpResponse:
    """The CommandResult of a command we sent: kept on its SentCommand (another partner's or unknown: 404)."""
    try:
        sent_uid = uuid.UUID(uid)
    except ValueError:
        sent_uid = None
    sent = (
        SentCommand.objects.filter(uid=sent_uid, partner=partner, module=MODULE, type=command).first()
        if sent_uid
        else None
    )
    if sent is None:
        return envelope(status_code=CLIENT_ERROR, status_message="Unknown command", http_status=404)
    body = request_json(request)
    if body.get("result") not in RESULT_TYPES:
        raise _invalid(f"result must be one of {', '.join(RESULT_TYPES)}")
    sent.result, sent.result_at = body, timezone.now()
    sent.save(update_fields=["result", "result_at"])
    return envelope()


urlpatterns = [
    path("cpo/commands/<str:command>", cpo_command, name="cpo-command"),
    path("emsp/commands/<str:command>/<str:uid>", emsp_command_result, name="emsp-command-result"),
]
