"""A roaming partner's platform as seen on the wire: a real HTTP server on 127.0.0.1 that records every OCPI request
(method, path, query, headers, JSON body) and answers with OCPI envelopes. What it answers can be set per request
(`answer(...)`), and it can be taken down (`down = True`: HTTP 503 without an envelope) to test the outbox.

The partner is outside the platform, so this is the one stand-in allowed at the transport boundary; two real
brands talking over two daphne processes are in the end-to-end tests."""

import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Recorded:
    method: str
    path: str
    query: dict
    headers: dict
    body: object


@dataclass
class Reply:
    data: object = None
    status_code: int = 1000
    http_status: int = 200
    headers: dict = field(default_factory=dict)


class PartnerServer:
    def __init__(self):
        self.requests: list[Recorded] = []
        self.replies: list[tuple[str, str, Reply]] = []  # (method, path prefix, reply), first match wins
        self.down = False
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                parts = urlsplit(self.path)
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                outer.requests.append(
                    Recorded(self.command, parts.path, parse_qs(parts.query), dict(self.headers), body)
                )
                if outer.down:
                    self.send_response(503)
                    self.end_headers()
                    self.wfile.write(b"down")
                    return
                reply = next(
                    (r for m, p, r in outer.replies if m == self.command and parts.path.startswith(p)), Reply()
                )
                payload = json.dumps(
                    {
                        "data": reply.data,
                        "status_code": reply.status_code,
                        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                    }
                ).encode()
                self.send_response(reply.http_status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815 (http.server names)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    def answer(self, method: str, path_prefix: str, data=None, *, status_code=1000, http_status=200, headers=None):
        self.replies.insert(0, (method, path_prefix, Reply(data, status_code, http_status, headers or {})))

    def of(self, method: str, path_prefix: str = "") -> list[Recorded]:
        return [r for r in self.requests if r.method == method and r.path.startswith(path_prefix)]

    def endpoints(self, role: str) -> list[dict]:
        """Every module at <url>/ocpi/2.2.1/<module> in `role` (their side of our interfaces), plus credentials."""
        modules = ["locations", "sessions", "cdrs", "tariffs", "tokens", "commands", "chargingprofiles"]
        return (
            [{"identifier": "credentials", "role": "RECEIVER", "url": f"{self.url}/ocpi/2.2.1/credentials"}]
            + [{"identifier": module, "role": role, "url": f"{self.url}/ocpi/2.2.1/{module}"} for module in modules]
            + [{"identifier": "hubclientinfo", "role": "RECEIVER", "url": f"{self.url}/ocpi/2.2.1/hubclientinfo"}]
        )

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()
