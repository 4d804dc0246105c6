"""A stand-in for a browser vendor's push service, and the browser's side of a subscription, for the Web Push tests.

`PushService` is a real HTTP server on a free 127.0.0.1 port (a thread). Like a push service it checks the VAPID
header of each POST (RFC 8292: `Authorization: vapid t=<JWT>, k=<public key>`, ES256 signature by that key, `aud` the
endpoint's origin, `exp` in the future and within 24 h); like the browser it decrypts the aes128gcm body (RFC 8291)
with the subscription's private key and auth secret, made here by `Browser`. What it received is kept in `received`.
"""

import base64
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Browser:
    """The browser's half of a subscription: its P-256 key pair and auth secret (what PushManager.subscribe makes)."""

    def __init__(self):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = secrets.token_bytes(16)

    @property
    def p256dh(self) -> str:
        point = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return b64url(point)

    def subscription(self, endpoint: str) -> dict:
        """The PushSubscription JSON the app posts."""
        return {
            "endpoint": endpoint,
            "expirationTime": None,
            "keys": {"p256dh": self.p256dh, "auth": b64url(self.auth)},
        }

    def decrypt(self, body: bytes) -> bytes:
        return http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth, version="aes128gcm")


@dataclass
class Received:
    path: str
    headers: dict
    claims: dict
    vapid_key: str
    payload: dict | None


@dataclass
class PushService:
    """Answers 201 to a valid push to a known path, `statuses[path]` when set (410: the browser unsubscribed)."""

    port: int = 0
    browsers: dict = field(default_factory=dict)  # path → Browser
    statuses: dict = field(default_factory=dict)  # path → status to answer
    received: list = field(default_factory=list)
    refused: list = field(default_factory=list)  # (path, why)

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def endpoint(self, path: str, browser: Browser) -> str:
        self.browsers[path] = browser
        return f"{self.origin}{path}"

    def handle(self, path: str, headers: dict, body: bytes) -> int:
        try:
            claims, key = self._vapid_verified(headers.get("authorization", ""))
        except ValueError as error:
            self.refused.append((path, str(error)))
            return 401
        if headers.get("content-encoding") != "aes128gcm" or "ttl" not in headers:
            self.refused.append((path, "not an aes128gcm push with a TTL"))
            return 400
        browser = self.browsers.get(path)
        payload = json.loads(browser.decrypt(body)) if browser is not None else None
        self.received.append(Received(path, headers, claims, key, payload))
        return self.statuses.get(path, 201)

    def _vapid_verified(self, authorization: str) -> tuple[dict, str]:
        scheme, _, params = authorization.partition(" ")
        if scheme.lower() != "vapid":
            raise ValueError("no VAPID authorization")
        values = dict(part.strip().split("=", 1) for part in params.split(","))
        token, key = values["t"], values["k"]
        header_b64, claims_b64, signature_b64 = token.split(".")
        header = json.loads(b64url_decode(header_b64))
        if header.get("alg") != "ES256":
            raise ValueError(f"alg {header.get('alg')}")
        public_key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), b64url_decode(key))
        signature = b64url_decode(signature_b64)
        if len(signature) != 64:
            raise ValueError("an ES256 signature is r || s, 64 bytes")
        der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
        try:
            public_key.verify(der, f"{header_b64}.{claims_b64}".encode(), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature as error:
            raise ValueError("bad signature") from error
        claims = json.loads(b64url_decode(claims_b64))
        if claims.get("aud") != self.origin:
            raise ValueError(f"aud {claims.get('aud')} is not {self.origin}")
        now = time.time()
        if not now < claims.get("exp", 0) <= now + 24 * 3600:
            raise ValueError("exp not within the next 24 h")
        if not str(claims.get("sub", "")).startswith(("mailto:", "https:")):
            raise ValueError("sub is no contact")
        return claims, key


def serving():
    """Yields a running PushService; stops it afterwards."""
    service = PushService()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {name.lower(): value for name, value in self.headers.items()}  # names are case-insensitive
            status = service.handle(self.path, headers, body)
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
