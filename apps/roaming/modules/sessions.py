"""OCPI 2.2.1 sessions module.

CPO side: a session of ours charged with an eMSP partner's token becomes a RoamingSession when it starts; the
Session object is pushed to that partner (PUT on start, PATCH while it runs, at most one every
ROAMING_SESSION_PATCH_SECONDS, PATCH COMPLETED when it ends) through the outbox, listed at `cpo/sessions` (the
calling partner's sessions only) and takes charging preferences at `cpo/sessions/<id>/charging_preferences`.

eMSP side: a CPO partner's Sessions of our drivers, received at `emsp/sessions/<cc>/<pid>/<id>` (GET, PUT, PATCH)
or pulled (`session_store`), kept as sent in PartnerSession.

Choices (docs/roaming/sessions-cdrs-settlement.md): the cost is the running rating of billing (the session's tariff
for its payer); an ended session (completed, interrupted, stopped without a known start) is COMPLETED; auth_method
is COMMAND for a session started by a START_SESSION (a remote start id, or the partner's START_SESSION carrying the
same authorization reference), AUTH_REQUEST otherwise."""

import json
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.billing.ocpi import canonical_json, price
from apps.billing.services.cdrs import session_rate
from apps.roaming.exceptions import RoamingError
from apps.roaming.models import (
    OutboxMessage,
    Partner,
    PartnerSession,
    PartnerToken,
    ReceivedCommand,
    RoamingSession,
    RoamingSettings,
)
from apps.roaming.modules.tokens import partner_token_find
from apps.roaming.outbox import outbox_push
from apps.roaming.pagination import page_answer
from apps.roaming.transport import (
    CLIENT_ERROR,
    INVALID_PARAMETERS,
    envelope,
    ocpi_decimal,
    ocpi_module_view,
    partner_is_party,
    request_json,
)
from apps.sessions.models import ChargingSession

logger = logging.getLogger(__name__)

MODULE = "sessions"
ENDED = frozenset(
    {
        ChargingSession.Status.COMPLETED,
        ChargingSession.Status.INTERRUPTED,
        ChargingSession.Status.STOPPED_UNKNOWN_START,
    }
)
SESSION_STATUSES = frozenset({"ACTIVE", "COMPLETED", "INVALID", "PENDING", "RESERVATION"})
AUTH_METHODS = frozenset({"AUTH_REQUEST", "COMMAND", "WHITELIST"})
PROFILE_TYPES = frozenset({"CHEAP", "FAST", "GREEN", "REGULAR"})
# Where the chargingprofiles module keeps a session's ActiveChargingProfile in the stored Session.
ACTIVE_PROFILE = "active_charging_profile"
# OCPI 2.2.1 §9.3.1: what a Session must carry.
REQUIRED_FIELDS = (
    "country_code",
    "party_id",
    "id",
    "start_date_time",
    "kwh",
    "cdr_token",
    "auth_method",
    "location_id",
    "evse_uid",
    "connector_id",
    "currency",
    "status",
    "last_updated",
)


def ocpi_json(value):
    """A JSON-ready copy with Decimals as JSON numbers and datetimes as OCPI DateTimes (the canonical rendering,
    read back: the numbers keep their exact text when dumped again)."""
    return json.loads(canonical_json(value))


# --- mapping of our sessions (CPO) ----------------------------------------------------------------------------------


def session_status(session: ChargingSession) -> str:
    return "COMPLETED" if session.status in ENDED else "ACTIVE"


def auth_method(roaming: RoamingSession) -> str:
    session = roaming.session
    if session.remote_start_id is not None:
        return "COMMAND"
    if roaming.authorization_reference and (
        ReceivedCommand.objects.filter(
            partner_id=roaming.partner_id,
            module="commands",
            type="START_SESSION",
            request__authorization_reference=roaming.authorization_reference,
        ).exists()
    ):
        return "COMMAND"
    return "AUTH_REQUEST"


def _cost(session: ChargingSession) -> dict:
    """currency, total_cost (when a tariff applies) and charging_periods of the running rating."""
    rated = session_rate(session)
    out: dict = {"currency": rated.currency}
    if rated.rating is not None:
        out["total_cost"] = price(rated.rating.total_excl_vat.amount, rated.rating.total_incl_vat.amount)
        if rated.rating.charging_periods:
            out["charging_periods"] = rated.rating.charging_periods
    return out


def _kwh(session: ChargingSession) -> Decimal:
    return (session.energy_wh / 1000).quantize(Decimal("0.0001"))


def session_object(roaming: RoamingSession, *, roaming_settings: RoamingSettings) -> dict:
    """The OCPI Session of one of our roaming sessions (JSON-ready)."""
    session = roaming.session
    station = session.station
    data = {
        "country_code": roaming_settings.country_code,
        "party_id": roaming_settings.party_id,
        "id": str(session.pk),
        "start_date_time": session.started_at or session.created_at,
        "kwh": _kwh(session),
        "cdr_token": roaming.cdr_token,
        "auth_method": auth_method(roaming),
        "location_id": str(station.location_id or ""),
        "evse_uid": f"{station.identity}*{session.evse_id or 1}",
        "connector_id": str(session.connector_id or 1),
        "status": session_status(session),
        "last_updated": session.updated_at,
    }
    if session.stopped_at:
        data["end_date_time"] = session.stopped_at
    if roaming.authorization_reference:
        data["authorization_reference"] = roaming.authorization_reference
    if station.meter_serial:
        data["meter_id"] = station.meter_serial
    data.update(_cost(session))
    return ocpi_json(data)


def _session_path(roaming_settings: RoamingSettings, session: ChargingSession) -> str:
    return f"/{roaming_settings.country_code}/{roaming_settings.party_id}/{session.pk}"


def _cdr_token(token: PartnerToken) -> dict:
    return {
        "country_code": token.country_code,
        "party_id": token.party_id,
        "uid": token.object_id,
        "type": token.type,
        "contract_id": token.contract_id or token.object_id,
    }


def _roaming_start(session: ChargingSession) -> tuple[RoamingSession | None, bool]:
    """The session's RoamingSession, created when its token is a registered eMSP partner's; (roaming, created)."""
    roaming = RoamingSession.objects.select_related("partner").filter(session=session).first()
    if roaming is not None:
        return roaming, False
    token = partner_token_find(uid=session.id_token_uid) if session.id_token_uid else None
    if token is None or token.partner.status != Partner.Status.REGISTERED:
        return None, False
    # get_or_create: two events racing for the same session create one (the session is unique).
    return RoamingSession.objects.get_or_create(
        session=session,
        defaults={
            "partner": token.partner,
            "cdr_token": _cdr_token(token),
            "authorization_reference": token.authorization_reference,
        },
    )


def _recently_pushed(roaming: RoamingSession, push_path: str) -> bool:
    seconds = settings.ROAMING_SESSION_PATCH_SECONDS
    if seconds <= 0:
        return False
    return OutboxMessage.objects.filter(
        partner_id=roaming.partner_id,
        module=MODULE,
        path=push_path,
        created_at__gt=timezone.now() - timedelta(seconds=seconds),
    ).exists()


def session_changed_push(*, station_id: int, at: str, data: dict) -> OutboxMessage | None:
    """Live events session.started/updated/ended: PUT the Session of a roaming session when it is first seen
    (normally at its start), PATCH its figures while it runs (throttled), PATCH COMPLETED when it ends. Sessions
    charged with tokens that are not a registered partner's are not pushed anywhere."""
    session = (
        ChargingSession.objects.select_related("station__location")
        .filter(pk=data.get("session_id"), station_id=station_id)
        .first()
    )
    if session is None:
        return None
    roaming, created = _roaming_start(session)
    if roaming is None:
        return None
    roaming.session = session
    partner = roaming.partner
    if partner.status != Partner.Status.REGISTERED or not partner.endpoint_url(MODULE, "RECEIVER"):
        return None
    roaming_settings = RoamingSettings.objects.get()
    push_path = _session_path(roaming_settings, session)
    if created:
        body = session_object(roaming, roaming_settings=roaming_settings)
        return outbox_push(
            partner=partner, module=MODULE, method="PUT", path=push_path, body=body, to=roaming.emsp_party
        )
    ended = session.status in ENDED
    if not ended and _recently_pushed(roaming, push_path):
        return None
    patch: dict = {"kwh": _kwh(session), "status": session_status(session), "last_updated": session.updated_at}
    if ended:
        patch["end_date_time"] = session.stopped_at or session.updated_at
    patch.update(_cost(session))
    return outbox_push(
        partner=partner, module=MODULE, method="PATCH", path=push_path, body=ocpi_json(patch), to=roaming.emsp_party
    )


# --- CPO, sender interface --------------------------------------------------------------------------------------------


def partner_roaming_sessions(partner: Partner):
    return (
        RoamingSession.objects.filter(partner=partner)
        .select_related("session__station__location", "partner")
        .order_by("session_id")
    )


@ocpi_module_view(role="CPO", methods=("GET",))
def sessions_get(request: HttpRequest, partner: Partner, roaming_settings: RoamingSettings) -> HttpResponse:
    """The calling partner's sessions (its drivers' sessions at our stations), paginated on their last update."""

    return page_answer(
        request,
        partner_roaming_sessions(partner),
        date_field="session__updated_at",
        render=lambda sessions: [session_object(roaming, roaming_settings=roaming_settings) for roaming in sessions],
    )


def _preferences_check(body: dict) -> None:
    if body.get("profile_type") not in PROFILE_TYPES:
        raise RoamingError(f"profile_type must be one of {', '.join(sorted(PROFILE_TYPES))}", INVALID_PARAMETERS)
    if body.get("departure_time") is not None and _datetime(body["departure_time"]) is None:
        raise RoamingError("departure_time is not an ISO 8601 date-time", INVALID_PARAMETERS)
    if body.get("energy_need") is not None:
        ocpi_decimal(body["energy_need"], "energy_need")
    if body.get("discharge_allowed") is not None and not isinstance(body["discharge_allowed"], bool):
        raise RoamingError("discharge_allowed must be true or false", INVALID_PARAMETERS)


@ocpi_module_view(role="CPO", methods=("PUT",))
def charging_preferences_put(
    request: HttpRequest, partner: Partner, roaming_settings: RoamingSettings, session_id: str
) -> HttpResponse:
    """The driver's charging preferences for a running session: stored (ACCEPTED); NOT_POSSIBLE once it ended.
    We do not steer charging by them yet: they are kept for the operator and smart charging."""
    body = request_json(request)
    roaming = (
        partner_roaming_sessions(partner).filter(session_id=int(session_id)).first() if session_id.isdigit() else None
    )
    if roaming is None:
        return envelope(status_code=CLIENT_ERROR, status_message="Unknown session", http_status=404)
    _preferences_check(body)
    if roaming.session.status in ENDED:
        return envelope("NOT_POSSIBLE")
    roaming.charging_preferences = body
    roaming.save(update_fields=["charging_preferences"])
    return envelope("ACCEPTED")


# --- eMSP, receiver interface and pulls -------------------------------------------------------------------------------


def _datetime(value) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        return None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def session_check(data: dict) -> None:
    """RoamingError 2001 naming the first field that breaks the Session object's rules."""
    for name in REQUIRED_FIELDS:
        if data.get(name) in (None, ""):
            raise RoamingError(f"{name} is required", INVALID_PARAMETERS)
    for name in ("start_date_time", "last_updated"):
        if _datetime(data[name]) is None:
            raise RoamingError(f"{name} is not an ISO 8601 date-time", INVALID_PARAMETERS)
    if data.get("end_date_time") is not None and _datetime(data["end_date_time"]) is None:
        raise RoamingError("end_date_time is not an ISO 8601 date-time", INVALID_PARAMETERS)
    if not isinstance(data["id"], str) or len(data["id"]) > 36:
        raise RoamingError("id must be a string of at most 36 characters", INVALID_PARAMETERS)
    ocpi_decimal(data["kwh"], "kwh")
    token = data["cdr_token"]
    if not isinstance(token, dict) or not token.get("uid") or not token.get("type"):
        raise RoamingError("cdr_token needs uid and type", INVALID_PARAMETERS)
    if data["status"] not in SESSION_STATUSES:
        raise RoamingError(f"status must be one of {', '.join(sorted(SESSION_STATUSES))}", INVALID_PARAMETERS)
    if data["auth_method"] not in AUTH_METHODS:
        raise RoamingError(f"auth_method must be one of {', '.join(sorted(AUTH_METHODS))}", INVALID_PARAMETERS)
    if not isinstance(data["currency"], str) or len(data["currency"]) != 3:
        raise RoamingError("currency must be an ISO 4217 code", INVALID_PARAMETERS)
    total = data.get("total_cost")
    if total is not None:
        if not isinstance(total, dict) or "excl_vat" not in total:
            raise RoamingError("total_cost needs excl_vat", INVALID_PARAMETERS)
        ocpi_decimal(total["excl_vat"], "total_cost.excl_vat")


def _columns(data: dict) -> dict:
    total = data.get("total_cost") or {}
    return {
        "data": data,
        "last_updated": _datetime(data["last_updated"]),
        "status": data["status"],
        "kwh": ocpi_decimal(data["kwh"], "kwh"),
        "currency": data["currency"],
        "total_cost_excl_vat": ocpi_decimal(total["excl_vat"], "total_cost.excl_vat") if total else None,
        "token_uid": str(data["cdr_token"]["uid"])[:36],
        "start_date_time": _datetime(data["start_date_time"]),
        "end_date_time": _datetime(data.get("end_date_time")),
    }


def session_store(*, partner: Partner, data: dict) -> PartnerSession:
    """Store (insert or replace) a CPO partner's Session, e.g. from a pull; RoamingError 2001 naming the field when
    it is not valid or not the partner's own."""
    if not isinstance(data, dict):
        raise RoamingError("A Session is an object", INVALID_PARAMETERS)
    session_check(data)
    if not partner_is_party(partner, str(data["country_code"]), str(data["party_id"])):
        raise RoamingError("country_code/party_id is not one of the partner's roles", INVALID_PARAMETERS)
    key = {
        "partner": partner,
        "country_code": str(data["country_code"]).upper(),
        "party_id": str(data["party_id"]).upper(),
        "object_id": str(data["id"]),
    }
    # The active charging profile the CPO reported (chargingprofiles module) is kept across a new Session PUT.
    before = PartnerSession.objects.filter(**key).values_list("data", flat=True).first() or {}
    if ACTIVE_PROFILE in before and ACTIVE_PROFILE not in data:
        data = {**data, ACTIVE_PROFILE: before[ACTIVE_PROFILE]}
    stored, _ = PartnerSession.objects.update_or_create(**key, defaults=_columns(data))
    return stored


def _session_merge(stored: dict, patch: dict) -> dict:
    """A PATCH merged into the stored Session: fields replaced, charging_periods appended (OCPI 2.2.1 §9.2.2: a
    PATCH's charging periods are added to the list; an empty list changes nothing)."""
    merged = {**stored, **{key: value for key, value in patch.items() if key != "charging_periods"}}
    if patch.get("charging_periods"):
        merged["charging_periods"] = list(stored.get("charging_periods") or []) + list(patch["charging_periods"])
    return merged


def _unknown_session() -> HttpResponse:
    return envelope(status_code=CLIENT_ERROR, status_message="Unknown session", http_status=404)


@ocpi_module_view(role="EMSP", methods=("GET", "PUT", "PATCH"))
def session_receive(
    request: HttpRequest,
    partner: Partner,
    roaming_settings: RoamingSettings,
    country_code: str,
    party_id: str,
    session_id: str,
) -> HttpResponse:
    """A CPO partner's Session of one of our drivers: GET what we have, PUT it whole, PATCH a part of it."""
    stored = PartnerSession.objects.filter(
        partner=partner, country_code=country_code.upper(), party_id=party_id.upper(), object_id=session_id
    ).first()
    if request.method == "GET":
        return envelope(stored.data) if stored else _unknown_session()
    body = request_json(request)
    if not partner_is_party(partner, country_code, party_id):
        raise RoamingError("country_code/party_id is not one of the partner's roles", INVALID_PARAMETERS)
    if request.method == "PATCH":
        if stored is None:
            return _unknown_session()
        if not body.get("last_updated"):
            raise RoamingError("last_updated is required", INVALID_PARAMETERS)
        body = _session_merge(stored.data, body)
    for name, value in (("country_code", country_code), ("party_id", party_id), ("id", session_id)):
        if str(body.get(name, value)).upper() != value.upper():
            raise RoamingError(f"{name} differs from the URL", INVALID_PARAMETERS)
    session_store(partner=partner, data={"country_code": country_code, "party_id": party_id, "id": session_id} | body)
    return envelope()


urlpatterns = [
    path("cpo/sessions", sessions_get, name="cpo-sessions"),
    path(
        "cpo/sessions/<str:session_id>/charging_preferences",
        charging_preferences_put,
        name="cpo-session-charging-preferences",
    ),
    path("emsp/sessions/<str:country_code>/<str:party_id>/<str:session_id>", session_receive, name="emsp-session"),
]
