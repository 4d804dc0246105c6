"""A small OCPI client: the Token header (base64 or plain per partner), request and correlation ids, the envelope.

Hosts under `.localhost` are loopback (RFC 6761) but Python's resolver does not know them: for http, the client
connects to 127.0.0.1 and keeps the name in the Host header, so brands' test hosts (bravo.localhost) are reachable.
"""

import base64
import uuid
from urllib.parse import urlsplit, urlunsplit

import requests

from apps.roaming.exceptions import PartnerUnreachableError

TIMEOUT_SECONDS = 10


def authorization(token: str, *, base64_encoded: bool) -> str:
    return "Token " + (base64.b64encode(token.encode()).decode() if base64_encoded else token)


def _loopback(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    if parts.scheme != "http" or not (hostname == "localhost" or hostname.endswith(".localhost")):
        return url, {}
    netloc = "127.0.0.1" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc)), {"Host": parts.netloc}


def ocpi_request(
    method: str,
    url: str,
    *,
    token: str,
    base64_encoded: bool = True,
    body: dict | None = None,
    correlation_id: str | None = None,
) -> dict:
    """Send one OCPI request; the envelope's `data` if status_code is 1000, else PartnerUnreachableError (3001)."""
    target, headers = _loopback(url)
    headers |= {
        "Authorization": authorization(token, base64_encoded=base64_encoded),
        "X-Request-ID": str(uuid.uuid4()),
        "X-Correlation-ID": correlation_id or str(uuid.uuid4()),
    }
    try:
        response = requests.request(method, target, json=body, headers=headers, timeout=TIMEOUT_SECONDS)
        payload = response.json()
    except (requests.RequestException, ValueError) as error:
        raise PartnerUnreachableError(f"{method} {url}: {error}") from error
    if not isinstance(payload, dict) or payload.get("status_code") != 1000:
        status = payload.get("status_code") if isinstance(payload, dict) else None
        message = payload.get("status_message", "") if isinstance(payload, dict) else ""
        raise PartnerUnreachableError(f"{method} {url}: HTTP {response.status_code}, OCPI {status} {message}".strip())
    return payload.get("data")
