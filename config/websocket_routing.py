"""WebSocket routes. The tenant middleware has already resolved scope["tenant"]; unknown paths close cleanly."""

from channels.routing import URLRouter
from django.urls import re_path

from apps.ocpp.auth import StationAuthMiddleware
from apps.ocpp.consumer import OcppConsumer
from apps.portal.consumers import PortalLiveConsumer
from apps.portal.live import PortalAuthMiddleware
from apps.whitelabel.asgi import refuse_websocket

# URLRouter matches without the leading slash. A station identity is at most 48 characters and has no '/'
# (OCPP 2.0.1 identity: CiString48); a trailing slash, which some chargers append, is tolerated.
websocket_router = URLRouter(
    [
        re_path(r"^ocpp/(?P<identity>[^/]{1,48})/?$", StationAuthMiddleware(OcppConsumer.as_asgi())),
        re_path(r"^portal/live/$", PortalAuthMiddleware(PortalLiveConsumer.as_asgi())),
        re_path(r"", refuse_websocket),
    ]
)
