"""OCPI 2.2.1 chargingprofiles module, both sides.

- CPO, receiver (`cpo/chargingprofiles/<session_id>`): a partner's eMSP asks for the active profile (GET), sets one
  (PUT) or clears it (DELETE) on one of its drivers' sessions with us. We answer at once whether the request goes to
  the station (ChargingProfileResponse), send the station the OCPP operation, and POST the station's answer to the
  partner's `response_url` through the outbox when the command completes (`command_completed_answer`). After any
  profile change accepted at a station, eMSPs managing a session there get its new ActiveChargingProfile (PUT).
- eMSP, sender (`emsp/chargingprofiles/<uid>` and `.../<session_id>`): a CPO partner posts the results of our
  requests (kept on the SentCommand) and PUTs updated ActiveChargingProfiles of our drivers' sessions (kept on the
  PartnerSession). `charging_profile_to_partner_send` and its GET/DELETE siblings send our requests.

Choices (docs/roaming/chargingprofiles-admin-outbox.md): a profile set through OCPI is a TxProfile of the session's
transaction with a profile id fixed per session (so a PUT replaces the previous one and a DELETE clears only it);
`min_charging_rate` goes to the station as the schedule's minChargingRate; limits are cut to one decimal (OCPI
allows one; cutting keeps them maxima).
"""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal, InvalidOperation

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import ValidationError

from apps.billing.ocpi import ocpi_datetime
from apps.commands.models import Command
from apps.commands.services import command_send
from apps.roaming.client import partner_call
from apps.roaming.exceptions import RoamingError
from apps.roaming.models import Partner, PartnerSession, ReceivedCommand, RoamingSettings, SentCommand
from apps.roaming.modules.sessions import ACTIVE_PROFILE
from apps.roaming.outbox import outbox_push
from apps.roaming.selectors import partner_object_party, roaming_settings_get, version_details_url
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
from apps.sessions.models import ChargingSession

MODULE = "chargingprofiles"
SET, GET, CLEAR = "SET", "GET", "CLEAR"
# Not a partner's request: the ActiveChargingProfile we PUT an eMSP after a profile changed at the station.
ACTIVE = "ACTIVE"
PROFILE_CHANGES = frozenset({"set_charging_profile", "clear_charging_profile"})
ACTIVE_SCHEDULE_S = 3600
OPERATIONS = {SET: "set_charging_profile", GET: "get_composite_schedule", CLEAR: "clear_charging_profile"}
# What we tell the partner to wait for the result: the station's command timeout plus the outbox's first tries.
RESPONSE_TIMEOUT_S = 60
COMMAND_TIMEOUT_S = 30
# Profiles set through OCPI: a TxProfile at this stack level, id fixed per session in a range command ids (the
# default profile ids of operators' profiles) reach only after a billion commands.
PROFILE_STACK_LEVEL = 1
PROFILE_ID_BASE = 1_000_000_000
MAX_DURATION_S = 7 * 24 * 3600
RATE_UNITS = ("W", "A")
RESULTS = ("ACCEPTED", "REJECTED", "UNKNOWN")


def _invalid(field: str, problem: str) -> RoamingError:
    return RoamingError(f"{field}: {problem}", status_code=INVALID_PARAMETERS)


# --- mapping ------------------------------------------------------------------------------------------------------


def _number(value, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _invalid(field, "must be a number")
    try:
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise _invalid(field, "must be a number") from error
    if not number.is_finite() or number < 0:
        raise _invalid(field, "must be a number of at least 0")
    return number


def _integer(value, field: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _invalid(field, f"must be an integer of at least {minimum}")
    return value


def charging_profile_validate(profile, field: str = "charging_profile") -> dict:
    """An OCPI ChargingProfile checked field by field: RoamingError 2001 naming the first field that is wrong.
    Returns the profile as the station operation's schedule fields (unit, kind, start, duration, periods)."""
    if not isinstance(profile, dict):
        raise _invalid(field, "must be a ChargingProfile object")
    unit = profile.get("charging_rate_unit")
    if unit not in RATE_UNITS:
        raise _invalid(f"{field}.charging_rate_unit", "must be W or A")
    schedule = {"unit": unit, "kind": "Relative"}
    if profile.get("start_date_time") is not None:
        start = parse_datetime(str(profile["start_date_time"]))
        if start is None:
            raise _invalid(f"{field}.start_date_time", "must be an ISO 8601 date and time")
        # An absolute profile; without a start it is relative to the start of charging (OCPI).
        schedule |= {"kind": "Absolute", "start_at": start if start.tzinfo else start.replace(tzinfo=UTC)}
    if profile.get("duration") is not None:
        schedule["duration_s"] = _integer(profile["duration"], f"{field}.duration", minimum=1)
    if profile.get("min_charging_rate") is not None:
        minimum = _number(profile["min_charging_rate"], f"{field}.min_charging_rate")
        schedule["min_rate"] = str(minimum.quantize(Decimal("0.1"), rounding=ROUND_DOWN))
    periods = profile.get("charging_profile_period")
    if not isinstance(periods, list) or not periods:
        raise _invalid(f"{field}.charging_profile_period", "must be a non-empty list of periods")
    schedule["periods"] = []
    for index, period in enumerate(periods):
        where = f"{field}.charging_profile_period[{index}]"
        if not isinstance(period, dict):
            raise _invalid(where, "must be a ChargingProfilePeriod object")
        start_s = _integer(period.get("start_period"), f"{where}.start_period", minimum=0)
        limit = _number(period.get("limit"), f"{where}.limit").quantize(Decimal("0.1"), rounding=ROUND_DOWN)
        schedule["periods"].append({"start_s": start_s, "limit": str(limit)})
    starts = [period["start_s"] for period in schedule["periods"]]
    if starts[0] != 0 or starts != sorted(set(starts)):
        raise _invalid(f"{field}.charging_profile_period", "periods start at 0 and then at increasing start_period")
    return schedule


def profile_id_of(session: ChargingSession) -> int:
    return PROFILE_ID_BASE + session.pk % PROFILE_ID_BASE


def set_params(session: ChargingSession, schedule: dict) -> dict:
    """The set_charging_profile parameters: a TxProfile of the session's transaction on its EVSE."""
    params = {
        "evse_id": session.evse_id or 0,
        "profile_id": profile_id_of(session),
        "stack_level": PROFILE_STACK_LEVEL,
        "purpose": "tx",
        "transaction_id": session.transaction_id,
        "kind": schedule["kind"],
        "unit": schedule["unit"],
        "periods": schedule["periods"],
    }
    if "start_at" in schedule:
        params["start_at"] = schedule["start_at"].isoformat()
    if "duration_s" in schedule:
        params["duration_s"] = schedule["duration_s"]
    if "min_rate" in schedule:
        params["min_rate"] = schedule["min_rate"]
    return params


def _decimal_json(value) -> int | float:
    """An OCPP number as a JSON number, exactly as a one-decimal limit allows."""
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


def active_profile_of(response: dict | None, *, at: datetime) -> dict | None:
    """The OCPI ActiveChargingProfile of a GetCompositeSchedule answer (OCPP 1.6 `chargingSchedule` or 2.0.1
    `schedule`); None when the answer has no schedule."""
    response = response or {}
    schedule = response.get("schedule") or response.get("chargingSchedule")
    if not isinstance(schedule, dict):
        return None
    start = parse_datetime(str(response.get("scheduleStart") or schedule.get("scheduleStart") or "")) or at
    profile = {
        "charging_rate_unit": schedule.get("chargingRateUnit"),
        "charging_profile_period": [
            {"start_period": period.get("startPeriod", 0), "limit": _decimal_json(period.get("limit", 0))}
            for period in schedule.get("chargingSchedulePeriod") or []
        ],
    }
    if schedule.get("startSchedule"):
        profile["start_date_time"] = schedule["startSchedule"]
    if schedule.get("duration") is not None:
        profile["duration"] = schedule["duration"]
    if schedule.get("minChargingRate") is not None:
        profile["min_charging_rate"] = _decimal_json(schedule["minChargingRate"])
    return {"start_date_time": ocpi_datetime(start), "charging_profile": profile}


def result_of(command: Command, request_type: str) -> dict:
    """The ActiveChargingProfileResult / ChargingProfileResult / ClearProfileResult of a completed command: the
    station's acceptance; "Unknown" (no profile matched, ClearChargingProfile) is UNKNOWN; anything else (rejected,
    no answer, offline, error) is REJECTED."""
    if command.status == Command.Status.ACCEPTED:
        result = {"result": "ACCEPTED"}
        if request_type == GET:
            profile = active_profile_of(command.response, at=command.completed_at or timezone.now())
            if profile is not None:
                result["profile"] = profile
        return result
    if command.answer_status == "Unknown":
        return {"result": "UNKNOWN"}
    return {"result": "REJECTED"}


# --- CPO, receiver interface --------------------------------------------------------------------------------------


def _response(result: str) -> HttpResponse:
    return envelope({"result": result, "timeout": RESPONSE_TIMEOUT_S})


def _response_url(value) -> str:
    if not isinstance(value, str) or len(value) > 500:
        raise _invalid("response_url", "must be a URL of at most 500 characters")
    try:
        URLValidator(schemes=["http", "https"])(value)
    except DjangoValidationError as error:
        raise _invalid("response_url", "must be an http(s) URL") from error
    return value


def partner_session_find(*, partner: Partner, session_id: str) -> ChargingSession | None:
    """Our ongoing session `session_id` charged with one of the partner's tokens; None for any other (unknown,
    ended, or another partner's: the caller cannot tell them apart)."""
    if not session_id.isdigit():
        return None
    return (
        ChargingSession.objects.select_related("station")
        .filter(pk=int(session_id), status=ChargingSession.Status.ACTIVE, roaming__partner=partner)
        .first()
    )


def _too_often(partner: Partner, session: ChargingSession, request_type: str) -> bool:
    """The same request for the same session while the previous one still waits for the station."""
    return ReceivedCommand.objects.filter(
        partner=partner,
        module=MODULE,
        type=request_type,
        request__session_id=str(session.pk),
        answered_at__isnull=True,
        created_at__gte=timezone.now() - timedelta(seconds=RESPONSE_TIMEOUT_S),
    ).exists()


def charging_profile_request_accept(
    *,
    partner: Partner,
    session: ChargingSession,
    request_type: str,
    request: dict,
    response_url: str,
    params: dict,
    sender: Party | None = None,
) -> str:
    """Record the partner's request, send the station the operation, and say what the partner is answered at once:
    ACCEPTED (the result follows at `response_url`), REJECTED (the station is not connected), NOT_SUPPORTED (the
    station cannot take the operation) or TOO_OFTEN. Runs outside a transaction: command_send needs it committed."""
    if _too_often(partner, session, request_type):
        return "TOO_OFTEN"
    received = ReceivedCommand.objects.create(
        partner=partner,
        module=MODULE,
        type=request_type,
        request={"session_id": str(session.pk), **request},
        response_url=response_url,
        # The result goes back to the party that asked (OCPI-from), else the session's driver's eMSP.
        from_party=party_text(sender or getattr(getattr(session, "roaming", None), "emsp_party", None)),
    )
    try:
        command = command_send(
            wait=False,
            station=session.station,
            operation=OPERATIONS[request_type],
            params=params,
            source=Command.Source.API,
            requested_by_client=f"ocpi:{partner.name}"[:120],
            timeout_s=COMMAND_TIMEOUT_S,
        )
    except ValidationError:
        ReceivedCommand.objects.filter(pk=received.pk).update(answered_at=timezone.now())
        return "NOT_SUPPORTED"
    ReceivedCommand.objects.filter(pk=received.pk).update(command=command)
    # The command may have ended before it was linked, and its event found nothing to answer.
    command.refresh_from_db()
    if command.status == Command.Status.OFFLINE:
        ReceivedCommand.objects.filter(pk=received.pk, answered_at__isnull=True).update(answered_at=timezone.now())
        return "REJECTED"
    if command.is_final:
        received_answer(received_id=received.pk)
    return "ACCEPTED"


@ocpi_module_view(role="CPO", methods=("GET", "PUT", "DELETE"))
def charging_profiles_receive(
    request: HttpRequest, partner: Partner, roaming_settings: RoamingSettings, session_id: str
) -> HttpResponse:
    """GET ?duration=&response_url= (the active profile), PUT SetChargingProfile, DELETE ?response_url=."""
    if request.method == "PUT":
        body = request_json(request)
        schedule = charging_profile_validate(body.get("charging_profile"))
        response_url = _response_url(body.get("response_url"))
        request_type, stored = SET, {"charging_profile": body["charging_profile"]}
    elif request.method == "GET":
        raw = request.GET.get("duration", "")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_DURATION_S:
            raise _invalid("duration", f"must be a number of seconds from 1 to {MAX_DURATION_S}")
        response_url = _response_url(request.GET.get("response_url"))
        request_type, stored = GET, {"duration": int(raw)}
    else:
        response_url = _response_url(request.GET.get("response_url"))
        request_type, stored = CLEAR, {}
    session = partner_session_find(partner=partner, session_id=session_id)
    if session is None:
        return _response("UNKNOWN_SESSION")
    if request_type == SET:
        params = set_params(session, schedule)
    elif request_type == GET:
        params = {"evse_id": session.evse_id or 0, "duration_s": stored["duration"]}
    else:
        params = {"profile_id": profile_id_of(session)}
    return _response(
        charging_profile_request_accept(
            partner=partner,
            session=session,
            request_type=request_type,
            request=stored,
            response_url=response_url,
            params=params,
            sender=request.ocpi_from,
        )
    )


def received_answer(*, received_id: int) -> bool:
    """POST the station's result to the partner's response URL, once (whoever comes first: the live event or the
    request that linked an already completed command); whether this call sent it."""
    with transaction.atomic():
        claimed = ReceivedCommand.objects.filter(pk=received_id, answered_at__isnull=True).update(
            answered_at=timezone.now()
        )
        if not claimed:
            return False
        received = ReceivedCommand.objects.select_related("partner", "command").get(pk=received_id)
        if received.type == ACTIVE:
            return _active_profile_put(received)
        received.result = result_of(received.command, received.type)
        received.save(update_fields=["result"])
        outbox_push(
            partner=received.partner,
            module=MODULE,
            method="POST",
            url=received.response_url,
            body=received.result,
            to=party_of(received.from_party),
        )
    return True


def _active_profile_put(received: ReceivedCommand) -> bool:
    """PUT the station's new composite schedule to the eMSP as the session's ActiveChargingProfile; nothing when
    the station did not give one."""
    command = received.command
    profile = None
    if command.status == Command.Status.ACCEPTED:
        profile = active_profile_of(command.response, at=command.completed_at or timezone.now())
    received.result = profile or {}
    received.save(update_fields=["result"])
    if profile is None:
        return False
    outbox_push(
        partner=received.partner,
        module=MODULE,
        method="PUT",
        url=received.response_url,
        body=profile,
        to=party_of(received.from_party),
    )
    return True


def active_profiles_refresh(*, station_id: int) -> int:
    """A charging profile changed at the station (ours or the operator's): ask it for the composite schedule of
    each running session there whose eMSP manages its profile (it sent us a chargingprofiles request for it), to
    PUT the eMSP the new ActiveChargingProfile when it answers. How many were asked. Runs outside a transaction."""
    sessions = ChargingSession.objects.filter(
        station_id=station_id, status=ChargingSession.Status.ACTIVE, roaming__partner__status=Partner.Status.REGISTERED
    ).select_related("roaming__partner", "station")
    asked = 0
    for session in sessions:
        partner = session.roaming.partner
        sender = partner.endpoint_url(MODULE, "SENDER")
        managed = (
            ReceivedCommand.objects.filter(partner=partner, module=MODULE, request__session_id=str(session.pk))
            .exclude(type=ACTIVE)
            .exists()
        )
        if not sender or not managed:
            continue
        received = ReceivedCommand.objects.create(
            partner=partner,
            module=MODULE,
            type=ACTIVE,
            request={"session_id": str(session.pk)},
            response_url=f"{sender.rstrip('/')}/{session.pk}",
            from_party=party_text(session.roaming.emsp_party),
        )
        try:
            command = command_send(
                wait=False,
                station=session.station,
                operation=OPERATIONS[GET],
                params={"evse_id": session.evse_id or 0, "duration_s": ACTIVE_SCHEDULE_S},
                source=Command.Source.SYSTEM,
                requested_by_client=f"ocpi:{partner.name}"[:120],
                timeout_s=COMMAND_TIMEOUT_S,
            )
        except ValidationError:
            ReceivedCommand.objects.filter(pk=received.pk).update(answered_at=timezone.now())
            continue
        ReceivedCommand.objects.filter(pk=received.pk).update(command=command)
        command.refresh_from_db()
        if command.is_final:
            received_answer(received_id=received.pk)
        asked += 1
    return asked


def command_completed_answer(*, station_id, at: str, data: dict) -> None:
    """Live event "command.completed": answer the partner whose charging-profile request it was."""
    if not data.get("command_id"):
        return  # (a filter on None would match the requests not linked to their command yet)
    received_id = (
        ReceivedCommand.objects.filter(module=MODULE, command_id=data.get("command_id"), answered_at__isnull=True)
        .values_list("pk", flat=True)
        .first()
    )
    if received_id is not None:
        received_answer(received_id=received_id)
    if data.get("operation") in PROFILE_CHANGES and data.get("status") == Command.Status.ACCEPTED:
        from apps.roaming.tasks import active_profiles_refresh_task

        active_profiles_refresh_task.delay(connection.schema_name, station_id)


# --- eMSP, sender interface ---------------------------------------------------------------------------------------


def _unknown(what: str) -> HttpResponse:
    return envelope(status_code=CLIENT_ERROR, status_message=f"Unknown {what}", http_status=404)


def active_charging_profile_validate(body: dict) -> None:
    if parse_datetime(str(body.get("start_date_time") or "")) is None:
        raise _invalid("start_date_time", "must be an ISO 8601 date and time")
    charging_profile_validate(body.get("charging_profile"))


@ocpi_module_view(role="EMSP", methods=("POST", "PUT"))
def charging_profiles_sender(
    request: HttpRequest, partner: Partner, roaming_settings: RoamingSettings, key: str
) -> HttpResponse:
    """POST <uid>: the result of our request `uid`. PUT <session_id>: the CPO's updated ActiveChargingProfile of
    one of our drivers' sessions."""
    body = request_json(request)
    if request.method == "POST":
        try:
            uid = uuid.UUID(key)
        except ValueError:
            return _unknown("request")
        sent = SentCommand.objects.filter(partner=partner, module=MODULE, uid=uid).first()
        if sent is None:
            return _unknown("request")
        if body.get("result") not in RESULTS:
            raise _invalid("result", "must be ACCEPTED, REJECTED or UNKNOWN")
        if sent.type == GET and body.get("profile") is not None:
            active_charging_profile_validate(body["profile"])
        sent.result, sent.result_at = body, timezone.now()
        sent.save(update_fields=["result", "result_at"])
        return envelope()
    session = PartnerSession.objects.filter(partner=partner, object_id=key).order_by("pk").first()
    if session is None:
        return _unknown("session")
    active_charging_profile_validate(body)
    session.data = {**session.data, ACTIVE_PROFILE: body}
    session.save(update_fields=["data", "updated_at"])
    return envelope()


def _to_partner(
    *, partner: Partner, session_id: str, request_type: str, method: str, body: dict | None, params: dict
) -> SentCommand:
    """Record our request (committed first: the CPO may post the result before answering) and send it; the
    SentCommand with their ChargingProfileResponse. RoamingError when they refuse or cannot be reached (recorded)."""
    sent = SentCommand.objects.create(
        partner=partner,
        uid=uuid.uuid4(),
        module=MODULE,
        type=request_type,
        request={"session_id": session_id, **(body or params)},
    )
    response_url = version_details_url(roaming_settings=roaming_settings_get()) + f"emsp/{MODULE}/{sent.uid}"
    if body is not None:
        body = {**body, "response_url": response_url}
    else:
        params = {**params, "response_url": response_url}
    sent.request = {"session_id": session_id, **(body or params)}
    try:
        answer = partner_call(
            partner,
            method,
            module=MODULE,
            role="RECEIVER",
            path=f"/{session_id}",
            body=body,
            params=params or None,
            to=partner_object_party(PartnerSession, partner=partner, object_id=session_id),
        )
    except RoamingError as error:
        sent.response = {"error": str(error), "status_code": error.status_code}
        sent.save(update_fields=["request", "response"])
        raise
    sent.response = answer.data
    sent.save(update_fields=["request", "response"])
    return sent


def charging_profile_to_partner_send(*, partner: Partner, session_id: str, charging_profile: dict) -> SentCommand:
    """Set `charging_profile` on a CPO partner's session of one of our drivers (PUT SetChargingProfile); the
    station's result comes later to our response URL. Call outside a transaction."""
    charging_profile_validate(charging_profile)
    return _to_partner(
        partner=partner,
        session_id=session_id,
        request_type=SET,
        method="PUT",
        body={"charging_profile": charging_profile},
        params={},
    )


def active_charging_profile_from_partner_request(*, partner: Partner, session_id: str, duration: int) -> SentCommand:
    """Ask a CPO partner for the active profile of its session (GET ?duration=); it comes to our response URL."""
    return _to_partner(
        partner=partner, session_id=session_id, request_type=GET, method="GET", body=None, params={"duration": duration}
    )


def charging_profile_at_partner_clear(*, partner: Partner, session_id: str) -> SentCommand:
    """Ask a CPO partner to clear the profile we set on its session (DELETE)."""
    return _to_partner(
        partner=partner, session_id=session_id, request_type=CLEAR, method="DELETE", body=None, params={}
    )


urlpatterns = [
    path(f"cpo/{MODULE}/<str:session_id>", charging_profiles_receive, name="cpo-chargingprofiles"),
    path(f"emsp/{MODULE}/<str:key>", charging_profiles_sender, name="emsp-chargingprofiles"),
]
