"""Authentication of a charging station before its WebSocket is accepted (OCPP security profiles 0-3).

The station identity comes from the URL; the credentials from HTTP Basic (profiles 1 and 2), whether the
connection is TLS, and the identity of a client certificate a trusted TLS-terminating proxy verified (profile 3).
The decision is `stations.services.station_authenticate`'s; a refusal closes the handshake (HTTP 403) with one INFO
line naming the reason, which the station never learns.
"""

import base64
import binascii
import logging

from django.conf import settings

from apps.stations.services import station_authenticate
from apps.whitelabel.asgi import refuse_websocket
from apps.whitelabel.tenancy import run_in_tenant

logger = logging.getLogger(__name__)


def header(scope, name: str) -> str | None:
    """The first value of a request header (names compared case-insensitively), or None."""
    wanted = name.lower().encode("latin-1")
    for key, value in scope.get("headers", ()):
        if key.lower() == wanted:
            return value.decode("latin-1")
    return None


def basic_credentials(value: str | None) -> tuple[str, str] | None:
    """(username, password) of an `Authorization: Basic` header; ValueError if the header is malformed."""
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() != "basic" or not token.strip():
        raise ValueError("authorization header is not HTTP Basic")
    try:
        decoded = base64.b64decode(token.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("HTTP Basic credentials are not base64") from None
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        text = decoded.decode("latin-1")
    username, colon, password = text.partition(":")
    if not colon:
        raise ValueError("HTTP Basic credentials have no ':'")
    return username, password


def connection_is_tls(scope) -> bool:
    """TLS as the server saw it: an ASGI server's wss scheme, daphne's TLS port, or a trusted proxy's header."""
    if scope.get("scheme") == "wss":
        return True
    server = scope.get("server")
    if server and server[1] in settings.OCPP_TLS_PORTS:
        return True
    if settings.OCPP_TRUST_PROXY_HEADERS:
        forwarded = (header(scope, "x-forwarded-proto") or "").split(",")[0].strip().lower()
        return forwarded in {"https", "wss"}
    return False


def client_certificate_identity(scope) -> str | None:
    """The verified client certificate's identity, only as forwarded by a trusted proxy (never from the client)."""
    if not settings.OCPP_TRUST_PROXY_HEADERS or not settings.OCPP_CLIENT_CERT_HEADER:
        return None
    value = (header(scope, settings.OCPP_CLIENT_CERT_HEADER) or "").strip()
    return value or None


class StationAuthMiddleware:
    """Admits a station's WebSocket only when `station_authenticate` allows it; puts station_id in the scope."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        identity = scope["url_route"]["kwargs"]["identity"]
        tenant = scope["tenant"]
        try:
            credentials = basic_credentials(header(scope, "authorization"))
        except ValueError as error:
            return await self._refuse(scope, receive, send, identity, str(error))
        if credentials is not None and credentials[0] != identity:
            return await self._refuse(scope, receive, send, identity, "HTTP Basic username is not the station identity")

        result = await run_in_tenant(
            tenant,
            station_authenticate,
            identity=identity,
            password=credentials[1] if credentials else None,
            tls=connection_is_tls(scope),
            client_cert_identity=client_certificate_identity(scope),
        )
        if not result.allowed:
            return await self._refuse(scope, receive, send, identity, result.reason)
        scope = dict(scope, station_id=result.station_id, station_identity=identity)
        return await self.app(scope, receive, send)

    async def _refuse(self, scope, receive, send, identity: str, reason: str):
        logger.info(
            "ocpp connection refused: station %r of tenant %s: %s (client %s)",
            identity,
            scope["tenant"].schema_name,
            reason,
            scope.get("client"),
        )
        return await refuse_websocket(scope, receive, send)
