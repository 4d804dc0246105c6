"""Webhooks listen to the platform's live events (apps.stations.live.live_event, sent after commit). Connected in
ApiConfig.ready."""

from datetime import datetime

from django.dispatch import receiver
from django_tenants.utils import schema_context

from apps.api.models.webhooks import ALL_KINDS
from apps.api.selectors import webhook_kinds_subscribed
from apps.api.services.webhooks import webhook_event_record
from apps.stations.live import live_event


@receiver(live_event, dispatch_uid="api.webhooks")
def live_event_to_webhooks(sender, *, schema_name: str, kind: str, station_id, at: str, data: dict, **kwargs) -> None:
    # The hot path: a brand that subscribes to nothing of this kind costs a lookup in a dict, not a query.
    kinds = webhook_kinds_subscribed(schema_name=schema_name)
    if kind not in kinds and ALL_KINDS not in kinds:
        return
    with schema_context(schema_name):
        webhook_event_record(kind=kind, station_id=station_id, at=datetime.fromisoformat(at), data=data)
