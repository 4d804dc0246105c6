"""Readiness checks of what a web process needs: the database, the channel layer and the Celery broker."""

import asyncio
import uuid
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import connection

TIMEOUT_SECONDS = 3.0


@dataclass(frozen=True)
class ProbeResult:
    name: str
    ok: bool
    detail: str


def _database() -> ProbeResult:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any failure means not ready; the reason goes into the answer
        return ProbeResult("database", False, type(exc).__name__)
    return ProbeResult("database", True, connection.vendor)


async def _channel_layer() -> ProbeResult:
    layer = get_channel_layer()
    backend = type(layer).__name__
    try:
        channel = await layer.new_channel()
        token = uuid.uuid4().hex
        await layer.send(channel, {"type": "readyz.ping", "token": token})
        message = await asyncio.wait_for(layer.receive(channel), TIMEOUT_SECONDS)
    except Exception as exc:
        return ProbeResult("channel_layer", False, f"{backend}: {type(exc).__name__}")
    if message.get("token") != token:
        return ProbeResult("channel_layer", False, f"{backend}: wrong message")
    return ProbeResult("channel_layer", True, backend)


def _broker() -> ProbeResult:
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return ProbeResult("broker", True, "eager (tasks run in-process)")
    from config.celery_app import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=TIMEOUT_SECONDS)
    except Exception as exc:
        return ProbeResult("broker", False, type(exc).__name__)
    return ProbeResult("broker", True, app.conf.broker_url.split("://", 1)[0])


async def readiness() -> list[ProbeResult]:
    database, broker = await asyncio.gather(
        sync_to_async(_database, thread_sensitive=True)(),
        sync_to_async(_broker, thread_sensitive=False)(),
    )
    return [database, await _channel_layer(), broker]
