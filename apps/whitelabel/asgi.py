"""Tenant resolution for WebSockets, which django-tenants (HTTP middleware) does not cover.

The tenant comes from the Host header, or for chargers that accept a single URL from the path
`/ocpp/<tenant-slug>/<station-id>`, which is rewritten to `/ocpp/<station-id>` so that routes are
the same either way. A connection that resolves to no tenant, or to a suspended one, is closed before the
handshake completes (HTTP 403), with a log line and no traceback.
"""

import logging
import re

from channels.db import database_sync_to_async
from django.db import close_old_connections
from django_tenants.utils import get_public_schema_name

from apps.whitelabel import selectors
from apps.whitelabel.models import Tenant

logger = logging.getLogger(__name__)

TENANT_PATH = re.compile(r"^/ocpp/(?P<slug>[^/]+)/(?P<rest>[^/]+/?)$")


def scope_header(scope, name: bytes) -> str:
    """A request header of an ASGI scope, as text ('' when absent)."""
    for key, value in scope.get("headers", ()):
        if key == name:
            return value.decode("latin-1")
    return ""


@database_sync_to_async
def _resolve(host: str, path: str) -> tuple[Tenant | None, str]:
    """(the tenant, the path to route) or (None, why the connection is refused)."""
    close_old_connections()
    host_tenant = selectors.tenant_get_by_host(host) if host else None
    on_platform_host = host_tenant is not None and host_tenant.schema_name == get_public_schema_name()
    if on_platform_host:
        host_tenant = None

    match = TENANT_PATH.match(path)
    if match:
        path_tenant = selectors.tenant_get_by_slug(match["slug"])
        if path_tenant is None:
            return None, f"unknown tenant {match['slug']!r} in path"
        if host_tenant is not None and host_tenant.pk != path_tenant.pk:
            return None, f"path names tenant {match['slug']!r} but host {host!r} belongs to another"
        tenant, path = path_tenant, f"/ocpp/{match['rest']}"
    elif host_tenant is None:
        return None, "platform host without a tenant in the path" if on_platform_host else f"unknown host {host!r}"
    else:
        tenant = host_tenant
    if tenant.is_suspended:
        return None, f"tenant {tenant.slug!r} is suspended"
    return tenant, path


async def refuse_websocket(scope, receive, send):
    """Close a websocket before accepting it: the client sees HTTP 403 and the server logs no error."""
    message = await receive()
    if message["type"] == "websocket.connect":
        await send({"type": "websocket.close", "code": 4404})


class TenantWebsocketMiddleware:
    """Puts the resolved tenant in scope["tenant"] and the tenant-free path in scope["path"]."""

    def __init__(self, app):
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "websocket":
            return await self.app(scope, receive, send)
        host = scope_header(scope, b"host")
        tenant, path_or_reason = await _resolve(host, scope["path"])
        if tenant is None:
            logger.info("websocket refused: %s (host %r, path %r)", path_or_reason, host, scope["path"])
            return await refuse_websocket(scope, receive, send)
        scope = dict(scope, tenant=tenant, path=path_or_reason)
        return await self.app(scope, receive, send)
