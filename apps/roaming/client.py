"""A small OCPI client: the Token header (base64 or plain per partner), request and correlation ids, the envelope.

Hosts under `.localhost` are loopback (RFC 6761) but Python's resolver does not know them: for http, the client
connects to 127.0.0.1 and keeps the name in the Host header, so brands' test hosts (bravo.localhost) are reachable.
"""

import base64
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

import requests

from apps.roaming.exceptions import EndpointsMissingError, PartnerRefusedError, PartnerUnreachableError
from apps.roaming.models import Partner, RoamingSettings
from apps.roaming.transport import Party, partner_party, routing_headers

TIMEOUT_SECONDS = 10


@dataclass
class Answer:
    """A partner's answer: the HTTP status, the envelope's status code, message and data, and the headers."""

    http_status: int
    status_code: int | None
    status_message: str = ""
    data: object = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status_code == 1000


def authorization(token: str, *, base64_encoded: bool) -> str:
    return "Token " + (base64.b64encode(token.encode()).decode() if base64_encoded else token)


def _loopback(url: str) -> tuple[str, dict[str, str]]:
    parts = urlsplit(url)
    hostname = parts.hostname or ""
    if parts.scheme != "http" or not (hostname == "localhost" or hostname.endswith(".localhost")):
        return url, {}
    netloc = "127.0.0.1" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc)), {"Host": parts.netloc}


def ocpi_exchange(
    method: str,
    url: str,
    *,
    token: str,
    base64_encoded: bool = True,
    body: dict | list | None = None,
    params: dict | None = None,
    headers: dict | None = None,
    correlation_id: str | None = None,
    timeout: float = TIMEOUT_SECONDS,
) -> Answer:
    """Send one OCPI request and return the answer whatever its status; PartnerUnreachableError (3001) when there
    is no answer or it is not an OCPI envelope."""
    target, sent_headers = _loopback(url)
    sent_headers |= (headers or {}) | {
        "Authorization": authorization(token, base64_encoded=base64_encoded),
        "X-Request-ID": str(uuid.uuid4()),
        "X-Correlation-ID": correlation_id or str(uuid.uuid4()),
    }
    try:
        response = requests.request(method, target, json=body, params=params, headers=sent_headers, timeout=timeout)
    except requests.RequestException as error:
        raise PartnerUnreachableError(f"{method} {url}: {error}") from error
    try:
        payload = response.json()
    except ValueError:
        # Say what came back (a 502 page of their proxy, a 503): that is what an operator reading the error needs.
        payload = None
    if not isinstance(payload, dict):
        raise PartnerUnreachableError(f"{method} {url}: HTTP {response.status_code}, not an OCPI envelope")
    return Answer(
        http_status=response.status_code,
        status_code=payload.get("status_code"),
        status_message=str(payload.get("status_message") or ""),
        data=payload.get("data"),
        headers=dict(response.headers),
    )


def answer_check(answer: Answer, what: str) -> Answer:
    """The answer if it is a success; PartnerRefusedError for an OCPI client error (2xxx) with a 2xx/4xx HTTP
    status, PartnerUnreachableError (3001) for anything else (their server error, 5xx, 401)."""
    if answer.ok:
        return answer
    text = f"{what}: HTTP {answer.http_status}, OCPI {answer.status_code} {answer.status_message}".strip()
    if (
        isinstance(answer.status_code, int)
        and 2000 <= answer.status_code < 3000
        and answer.http_status not in {401, 403}
    ):
        if answer.http_status < 500:
            raise PartnerRefusedError(text, status_code=answer.status_code)
    raise PartnerUnreachableError(text)


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
    answer = ocpi_exchange(
        method, url, token=token, base64_encoded=base64_encoded, body=body, correlation_id=correlation_id
    )
    if not answer.ok:
        raise PartnerUnreachableError(
            f"{method} {url}: HTTP {answer.http_status}, OCPI {answer.status_code} {answer.status_message}".strip()
        )
    return answer.data


def partner_endpoint(partner: Partner, identifier: str, role: str) -> str:
    """The partner's URL of module `identifier` in `role` (SENDER/RECEIVER); EndpointsMissingError without it."""
    url = partner.endpoint_url(identifier, role)
    if not url:
        raise EndpointsMissingError(f"{partner} has no {identifier} {role} endpoint")
    return url


def partner_call(
    partner: Partner,
    method: str,
    *,
    module: str = "",
    role: str = "RECEIVER",
    path: str = "",
    url: str = "",
    body: dict | list | None = None,
    params: dict | None = None,
    timeout: float = TIMEOUT_SECONDS,
    to: Party | None = None,
    open_routing: bool = False,
) -> Answer:
    """Call a registered partner's functional module: `url` as given (a response URL, a Link), or their `module`
    endpoint in `role` plus `path`. Routing headers: from our party to `to` (a party behind the partner's hub), else
    to the partner's own party (a direct partner, or the hub itself: a broadcast push, a GET of all); none with
    `open_routing` (the hub finds the receiver from the content). Returns a successful Answer;
    PartnerRefusedError / PartnerUnreachableError otherwise."""
    target = url or partner_endpoint(partner, module, role).rstrip("/") + path
    ours = RoamingSettings.objects.values_list("country_code", "party_id").first() or ("", "")
    answer = ocpi_exchange(
        method,
        target,
        token=partner.token_b,
        base64_encoded=partner.tokens_base64,
        body=body,
        params=params,
        headers=routing_headers(ours=ours, to=None if open_routing else to or partner_party(partner)),
        timeout=timeout,
    )
    return answer_check(answer, f"{method} {target}")
