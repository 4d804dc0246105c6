"""Who may open the portal's live websocket, and which live events they may see.

django-tenants and Channels' own session middleware do not meet: the session and the user live in the brand's
schema, which database calls from async code must enter themselves. So the session cookie is read here, in the
brand's schema the tenant middleware resolved from the Host, with the same rule as the portal's pages: staff whose
role grants stations.view_station.
"""

import logging
from http.cookies import SimpleCookie
from importlib import import_module
from types import SimpleNamespace
from urllib.parse import urlsplit

from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth import get_user
from django_tenants.utils import schema_context

from apps.accounts import scoping
from apps.stations.models import Station
from apps.whitelabel.asgi import refuse_websocket, scope_header

logger = logging.getLogger(__name__)

LIVE_PERMISSION = "stations.view_station"


@database_sync_to_async
def _user_of(schema_name: str, session_key: str):
    """The session's user in the brand's schema, or None; sessions of another brand's host mean nothing here."""
    store = import_module(settings.SESSION_ENGINE).SessionStore
    with schema_context(schema_name):
        user = get_user(SimpleNamespace(session=store(session_key)))
        if not user.is_authenticated or not user.is_staff or not user.has_perm(LIVE_PERMISSION):
            return None
        return user


class PortalAuthMiddleware:
    """Puts the signed-in staff user in scope["user"], or closes the handshake (HTTP 403) for anyone else: no
    session, a driver, a role without stations.view_station, or a page of another origin (a cross-site websocket
    would carry the cookie)."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        host = scope_header(scope, b"host")
        origin = scope_header(scope, b"origin")
        if origin and urlsplit(origin).netloc != host:
            logger.info("portal websocket refused: origin %r on host %r", origin, host)
            return await refuse_websocket(scope, receive, send)
        cookies = SimpleCookie()
        cookies.load(scope_header(scope, b"cookie"))
        morsel = cookies.get(settings.SESSION_COOKIE_NAME)
        user = await _user_of(scope["tenant"].schema_name, morsel.value) if morsel else None
        if user is None:
            return await refuse_websocket(scope, receive, send)
        return await self.app(dict(scope, user=user), receive, send)


class StationScope:
    """Whether a live event's station is one the user may see, remembered per station for the connection's life
    (a scope change applies from the next connection, as it does from the next page load)."""

    def __init__(self, schema_name: str, user):
        self.schema_name = schema_name
        self.user = user
        self.known: dict[int, bool] = {}

    async def allows(self, station_id: int | None) -> bool:
        if station_id is None:
            return False  # events about no station (statements) are not the live pages' business
        if station_id not in self.known:
            self.known[station_id] = await self._visible(station_id)
        return self.known[station_id]

    @database_sync_to_async
    def _visible(self, station_id: int) -> bool:
        with schema_context(self.schema_name):
            return scoping.station_filter(self.user, Station.objects.filter(pk=station_id)).exists()
