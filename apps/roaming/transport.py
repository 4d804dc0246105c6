"""OCPI 2.2.1 transport rules for every OCPI view: the response envelope, the Token authorization (base64 or plain
per partner), the request and correlation ids echoed back, invalid JSON as 2001, and message routing (the
OCPI-from/to headers of functional modules, read on requests and written on answers and on our own requests)."""

import base64
import binascii
import functools
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from apps.roaming.exceptions import NotAllowedError, RoamingError
from apps.roaming.models import Partner, RoamingSettings, token_hash

# OCPI 2.2.1 status codes (chapter "Status codes").
SUCCESS = 1000
CLIENT_ERROR = 2000
INVALID_PARAMETERS = 2001
NOT_ENOUGH_INFORMATION = 2002
UNKNOWN_LOCATION = 2003
UNKNOWN_TOKEN = 2004
SERVER_ERROR = 3000
CLIENT_API_UNUSABLE = 3001
UNSUPPORTED_VERSION = 3002
NO_MATCHING_ENDPOINTS = 3003
HUB_ERROR = 4000
UNKNOWN_RECEIVER = 4001
HUB_TIMEOUT = 4002
HUB_CONNECTION_PROBLEM = 4003


def timestamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def envelope(data=None, *, status_code: int = SUCCESS, status_message: str = "", http_status: int = 200):
    body = {"data": data, "status_code": status_code, "timestamp": timestamp()}
    if status_message:
        body["status_message"] = status_message
    return JsonResponse(body, status=http_status)


class InvalidJsonError(Exception):
    pass


def request_json(request: HttpRequest) -> dict:
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise InvalidJsonError(str(error)) from error
    if not isinstance(body, dict):
        raise InvalidJsonError("the body must be a JSON object")
    return body


def ocpi_datetime_parse(value, field: str) -> datetime:
    """An OCPI DateTime of a request body (UTC when it has no offset); RoamingError 2001 naming `field` otherwise."""
    try:
        moment = parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        moment = None
    if moment is None:
        raise RoamingError(f"{field} is not an RFC 3339 date-time", status_code=INVALID_PARAMETERS)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def ocpi_decimal(value, field: str) -> Decimal:
    """An OCPI number of a request body (a JSON number, or a numeric string); RoamingError 2001 naming `field`."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RoamingError(f"{field} must be a number", status_code=INVALID_PARAMETERS)
    try:
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise RoamingError(f"{field} must be a number", status_code=INVALID_PARAMETERS) from error
    if not number.is_finite():
        raise RoamingError(f"{field} must be a number", status_code=INVALID_PARAMETERS)
    return number


def token_from_header(header: str) -> list[tuple[str, bool]]:
    """The token of `Authorization: Token <token>` as (token, was_base64) candidates: decoded first, then as sent."""
    scheme, _, raw = header.partition(" ")
    raw = raw.strip()
    if scheme.lower() != "token" or not raw:
        return []
    candidates = []
    try:
        decoded = base64.b64decode(raw, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if decoded:
        candidates.append((decoded, True))
    candidates.append((raw, False))
    return candidates


def partner_by_token(header: str) -> tuple[Partner | None, str, str]:
    """The partner whose token A or token C is in `header`, which one it is ("A" or "C"), and the token."""
    for token, was_base64 in token_from_header(header):
        digest = token_hash(token)
        partner = (
            Partner.objects.filter(Q(token_c_hash=digest) | Q(token_a_hash=digest))
            .exclude(status=Partner.Status.UNREGISTERED)
            .first()
        )
        if partner is None or partner.tokens_base64 != was_base64:
            continue
        return partner, "C" if partner.token_c_hash == digest else "A", token
    return None, "", ""


def ocpi_view(*, tokens: set[str]) -> Callable:
    """Wrap an OCPI view: authenticate with one of `tokens` ("A", "C"), map errors to the envelope, echo the ids.
    The view gets (request, partner, token_kind)."""

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        @csrf_exempt
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            partner, kind, request.ocpi_token = partner_by_token(request.headers.get("Authorization", ""))
            if partner is None or kind not in tokens:
                response = envelope(
                    status_code=CLIENT_ERROR, status_message="Unknown or missing token", http_status=401
                )
            else:
                try:
                    response = view(request, partner, kind, *args, **kwargs)
                except InvalidJsonError as error:
                    response = envelope(status_code=INVALID_PARAMETERS, status_message=str(error), http_status=400)
                except NotAllowedError as error:
                    response = envelope(status_code=error.status_code, status_message=str(error), http_status=405)
                except RoamingError as error:
                    # Valid JSON on an existing resource reached the OCPI layer: no HTTP error (2.2.1 §5).
                    response = envelope(status_code=error.status_code, status_message=str(error))
            response["X-Request-ID"] = request.headers.get("X-Request-ID") or str(uuid.uuid4())
            response["X-Correlation-ID"] = request.headers.get("X-Correlation-ID") or str(uuid.uuid4())
            return response

        return wrapper

    return decorate


# --- message routing (OCPI 2.2.1 "Message Routing"): who a functional module's message is from and to ------------

Party = tuple[str, str]  # (country_code, party_id), upper case


def party_text(party: Party | None) -> str:
    """A party as kept in a text field: "NL*ALP" ("" for none)."""
    return f"{party[0]}*{party[1]}" if party else ""


def party_of(text: str) -> Party | None:
    country_code, _, party_id = (text or "").partition("*")
    return (country_code.upper(), party_id.upper()) if country_code and party_id else None


def partner_party(partner: Partner) -> Party | None:
    """The partner's own party: its first role's (a hub's first role is the hub itself)."""
    role = next((role for role in partner.roles if isinstance(role, dict)), {})
    if role.get("country_code") and role.get("party_id"):
        return str(role["country_code"]).upper(), str(role["party_id"]).upper()
    return None


def partner_is_hub(partner: Partner) -> bool:
    return any(isinstance(role, dict) and role.get("role") == "HUB" for role in partner.roles)


def routing_headers(*, ours: Party, to: Party | None) -> dict[str, str]:
    """The OCPI-from/to headers of a message from us; no OCPI-to for an open routing request (a hub decides)."""
    headers = {"OCPI-from-country-code": ours[0], "OCPI-from-party-id": ours[1]}
    if to is not None:
        headers |= {"OCPI-to-country-code": to[0], "OCPI-to-party-id": to[1]}
    return headers


def _header_party(request: HttpRequest, direction: str) -> Party | None:
    country_code = request.headers.get(f"OCPI-{direction}-country-code", "").strip()
    party_id = request.headers.get(f"OCPI-{direction}-party-id", "").strip()
    return (country_code.upper(), party_id.upper()) if country_code and party_id else None


def request_routing_check(request: HttpRequest, partner: Partner, roaming_settings: RoamingSettings) -> Party | None:
    """Read a functional module's request headers; the party it comes from (None when not said). 2001 when it is
    addressed to another party than us (we route for no one) or comes from a party that is not the partner's (its
    own, or one its hub connects: the ClientInfos it sent)."""
    to = _header_party(request, "to")
    ours = (roaming_settings.country_code.upper(), roaming_settings.party_id.upper())
    if to is not None and to != ours:
        raise RoamingError(
            f"OCPI-to-* names {party_text(to)}, not this platform's party {party_text(ours)}", INVALID_PARAMETERS
        )
    sender = _header_party(request, "from")
    if sender is not None and not partner_is_party(partner, *sender):
        raise RoamingError(
            f"OCPI-from-* names {party_text(sender)}, which is not one of your parties", INVALID_PARAMETERS
        )
    return sender


def party_headers(
    response: HttpResponse, partner: Partner, roaming_settings: RoamingSettings, *, to: Party | None = None
) -> HttpResponse:
    """OCPI-from/to headers, on functional modules' answers (not credentials, versions, hubclientinfo): from us to
    the party the request came from (through a hub: the party behind it), else to the partner's own party."""
    to = to or partner_party(partner)
    headers = routing_headers(ours=(roaming_settings.country_code, roaming_settings.party_id), to=to)
    for name, value in headers.items():
        response[name] = value
    return response


def partner_is_party(partner: Partner, country_code: str, party_id: str) -> bool:
    """Whether (country_code, party_id) is one of the partner's roles: a partner writes only its own objects."""
    return any(
        isinstance(role, dict)
        and str(role.get("country_code", "")).upper() == country_code.upper()
        and str(role.get("party_id", "")).upper() == party_id.upper()
        for role in partner.roles
    )


def ocpi_module_view(*, role: str, methods: tuple[str, ...], party_headers_on: bool = True) -> Callable:
    """Wrap a functional module's view of our `role` ("CPO" or "EMSP"): token C of a registered partner only, the
    brand must hold the role (else 404/2000), other methods 405, OCPI-from/to headers on the answer.
    The view gets (request, partner, roaming_settings, **url kwargs)."""

    def decorate(view: Callable) -> Callable:
        @ocpi_view(tokens={"C"})
        @functools.wraps(view)
        def wrapper(request: HttpRequest, partner: Partner, kind: str, *args, **kwargs) -> HttpResponse:
            if request.method not in methods:
                return HttpResponseNotAllowed(list(methods))
            roaming_settings = RoamingSettings.objects.get()
            if role not in roaming_settings.roles:
                return envelope(status_code=CLIENT_ERROR, status_message=f"Not a {role}", http_status=404)
            if partner.status != Partner.Status.REGISTERED:
                return envelope(status_code=CLIENT_ERROR, status_message="Not registered", http_status=405)
            if not party_headers_on:
                return view(request, partner, roaming_settings, *args, **kwargs)
            try:
                request.ocpi_from = request_routing_check(request, partner, roaming_settings)
            except RoamingError as error:
                response = envelope(status_code=error.status_code, status_message=str(error))
                return party_headers(response, partner, roaming_settings)
            response = view(request, partner, roaming_settings, *args, **kwargs)
            return party_headers(response, partner, roaming_settings, to=request.ocpi_from)

        return wrapper

    return decorate
