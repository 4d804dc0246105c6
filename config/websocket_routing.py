"""WebSocket routes. The tenant middleware has already resolved scope["tenant"]; unknown paths close cleanly."""

from channels.routing import URLRouter
from django.urls import re_path

from apps.whitelabel.asgi import refuse_websocket

websocket_router = URLRouter(
    [
        re_path(r"", refuse_websocket),
    ]
)
