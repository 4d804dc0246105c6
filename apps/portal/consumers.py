"""The portal's live websocket: forwards the brand's live events about stations the user may see.

It only routes: authentication is PortalAuthMiddleware's (apps/portal/live.py), the events come from the domain's
publisher (apps/stations/live.py) through the tenant's channel-layer group.
"""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.portal.live import StationScope
from apps.stations.live import tenant_group

# What the pages show live; other kinds (invoices, statements) stay on the server.
FORWARDED_KINDS = frozenset(
    {
        "station.status_changed",
        "station.connected",
        "station.disconnected",
        "station.booted",
        "session.started",
        "session.updated",
        "session.ended",
        "fault.opened",
        "fault.closed",
        "command.completed",
    }
)


class PortalLiveConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.group = tenant_group(self.scope["tenant"].schema_name)
        self.station_scope = StationScope(self.scope["tenant"].schema_name, self.scope["user"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        """The page has nothing to say; whatever it sends is ignored."""

    async def live_event(self, message):
        if message["kind"] not in FORWARDED_KINDS or not await self.station_scope.allows(message["station_id"]):
            return
        await self.send_json(
            {"kind": message["kind"], "station_id": message["station_id"], "at": message["at"], "data": message["data"]}
        )
