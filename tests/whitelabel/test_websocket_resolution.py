"""WebSockets reach the brand named by their Host, or by the path /ocpp/<tenant>/<station> for single-URL chargers."""

import base64
import os
import socket

import pytest
from channels.testing import WebsocketCommunicator

from apps.whitelabel.asgi import TenantWebsocketMiddleware
from tests.processes import DaphneProcess

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


async def _record_scope(scope, receive, send):
    """Stands in for the routed consumer: accepts and reports what the middleware resolved."""
    await receive()
    await send({"type": "websocket.accept"})
    await send({"type": "websocket.send", "text": f"{scope['tenant'].slug} {scope['path']}"})


async def _connect(path: str, host: str | None):
    headers = [(b"host", host.encode())] if host else []
    communicator = WebsocketCommunicator(TenantWebsocketMiddleware(_record_scope), path, headers=headers)
    connected, code = await communicator.connect()
    resolved = await communicator.receive_from() if connected else None
    await communicator.disconnect()
    return connected, code, resolved


@pytest.mark.parametrize(
    ("host", "path", "resolved"),
    [
        ("alpha.localhost", "/ocpp/CP-1", "alpha /ocpp/CP-1"),
        ("alpha.localhost:9000", "/ocpp/CP-1", "alpha /ocpp/CP-1"),
        ("bravo.localhost", "/ocpp/CP-1", "bravo /ocpp/CP-1"),
        ("localhost:8000", "/ocpp/alpha/CP-7", "alpha /ocpp/CP-7"),
        ("10.0.0.5", "/ocpp/bravo/CP-7", "bravo /ocpp/CP-7"),
        (None, "/ocpp/alpha/CP-8", "alpha /ocpp/CP-8"),
        ("alpha.localhost", "/ocpp/alpha/CP-9", "alpha /ocpp/CP-9"),
    ],
)
async def test_websocket_is_resolved_to_its_brand(tenant, outsider, host, path, resolved):
    connected, _, seen = await _connect(path, host)

    assert connected
    assert seen == resolved


@pytest.mark.parametrize(
    ("host", "path"),
    [
        ("evil.example", "/ocpp/CP-1"),
        ("localhost", "/ocpp/CP-1"),
        ("localhost", "/ocpp/nobody/CP-1"),
        ("alpha.localhost", "/ocpp/bravo/CP-1"),
        (None, "/ocpp/CP-1"),
    ],
)
async def test_websocket_to_no_brand_or_the_wrong_brand_is_refused(tenant, outsider, host, path):
    connected, code, _ = await _connect(path, host)

    assert not connected
    assert code == 4404


def _handshake_status(port: int, host: str, path: str) -> bytes:
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request.encode())
        return sock.recv(4096).split(b"\r\n", 1)[0]


async def test_daphne_refuses_an_unknown_tenant_cleanly(tenant, tmp_path):
    with DaphneProcess(tmp_path / "daphne.log") as server:
        unknown_host = _handshake_status(server.port, "nobody.example", "/ocpp/CP-1")
        unknown_slug = _handshake_status(server.port, "localhost", "/ocpp/nobody/CP-1")
        healthy = server.get("/healthz", host="alpha.localhost")

    assert unknown_host.startswith(b"HTTP/1.1 403")
    assert unknown_slug.startswith(b"HTTP/1.1 403")
    assert healthy[0] == 200  # the server survived both
    assert "websocket refused: unknown host 'nobody.example'" in server.log
    assert "websocket refused: unknown tenant 'nobody'" in server.log
    assert "Traceback" not in server.log
