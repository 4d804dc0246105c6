"""The ASGI application daphne serves: Django for HTTP, tenant-resolved routing for WebSockets."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

# Django must be set up before anything imports models (consumers, the tenant middleware).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter  # noqa: E402

from apps.whitelabel.asgi import TenantWebsocketMiddleware  # noqa: E402
from config.websocket_routing import websocket_router  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": TenantWebsocketMiddleware(websocket_router),
    }
)
