"""OCPI 2.2.1 transport rules for every OCPI view: the response envelope, the Token authorization (base64 or plain
per partner), the request and correlation ids echoed back, invalid JSON as 2001."""

import base64
import binascii
import functools
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from django.db.models import Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from apps.roaming.exceptions import NotAllowedError, RoamingError
from apps.roaming.models import Partner, token_hash

SUCCESS = 1000
CLIENT_ERROR = 2000
INVALID_PARAMETERS = 2001
UNKNOWN_LOCATION = 2003
UNKNOWN_TOKEN = 2004
SERVER_ERROR = 3000
CLIENT_API_UNUSABLE = 3001
UNSUPPORTED_VERSION = 3002
NO_MATCHING_ENDPOINTS = 3003


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
