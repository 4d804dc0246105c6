"""A real HTTP endpoint for webhook tests: http.server on a thread, on 127.0.0.1 and a free port. It keeps every
request it gets and answers with the status the test sets; it verifies signatures with the code docs/webhooks.md
gives integrators (extracted from the page and executed, so the docs and the tests cannot drift)."""

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


def docs_verify_function():
    """`webhook_verify` as docs/webhooks.md prints it under "Verifying a delivery"."""
    text = DOCS.read_text()
    section = text[text.index("## Verifying a delivery") :]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    namespace: dict = {}
    exec(compile(code, str(DOCS), "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["webhook_verify"]


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    raw_headers: object = field(repr=False)


class Receiver:
    def __init__(self):
        self.requests: list[Received] = []
        self.status = 200
        self.reply = b"thanks"
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.requests.append(Received(self.path, dict(self.headers), body, self.headers))
                    status = receiver.status
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(receiver.reply)))
                self.end_headers()
                self.wfile.write(receiver.reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def on(self, path: str) -> list[Received]:
        return [request for request in self.requests if request.path == path]


def receiving() -> Iterator[Receiver]:
    """The body of a test module's `receiver` fixture: `yield from receiving()`."""
    receiver = Receiver()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()
