"""Baseline 2: a bare Channels consumer through daphne, answering every CALL with a canned CALLRESULT: Channels
and daphne without the platform (no tenancy, authentication, validation or database).

daphne -p PORT bench.baselines.channels_asgi:application
"""

import django
from django.conf import settings

if not settings.configured:
    settings.configure(
        INSTALLED_APPS=["channels"],
        CHANNEL_LAYERS={"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}},
        USE_TZ=True,
    )
    django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import re_path  # noqa: E402

from bench.baselines.canned import answer  # noqa: E402


class CannedConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        offered = self.scope.get("subprotocols", [])
        protocol = next((p for p in ("ocpp2.0.1", "ocpp1.6") if p in offered), None)
        if protocol is None:
            await self.close()
            return
        await self.accept(protocol)

    async def receive(self, text_data=None, bytes_data=None):
        reply = answer(text_data) if text_data is not None else None
        if reply is not None:
            await self.send(text_data=reply)


application = ProtocolTypeRouter({"websocket": URLRouter([re_path(r"^ocpp/(?P<path>.+)$", CannedConsumer.as_asgi())])})
