"""Credentials, TLS and client certificates as the middleware reads them; profile 3 through a trusted proxy."""

import asyncio
import base64
import json

import pytest
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from apps.ocpp.auth import basic_credentials, client_certificate_identity, connection_is_tls
from config.asgi import application

PASSWORD = "profile-three-fallback-password"


def _scope(headers: dict[str, str] | None = None, **extra) -> dict:
    encoded = [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    return {"type": "websocket", "headers": encoded, **extra}


def _basic(value: str) -> str:
    return "Basic " + base64.b64encode(value.encode()).decode()


def test_basic_credentials_are_split_at_the_first_colon():
    assert basic_credentials(_basic("CP-1:pa:ss")) == ("CP-1", "pa:ss")
    assert basic_credentials(_basic("CP-1:")) == ("CP-1", "")
    assert basic_credentials(None) is None


@pytest.mark.parametrize("value", ["Bearer abc", "Basic", "Basic !!!", _basic("no-colon")])
def test_malformed_authorization_is_an_error(value):
    with pytest.raises(ValueError):
        basic_credentials(value)


@override_settings(OCPP_TLS_PORTS=[8443], OCPP_TRUST_PROXY_HEADERS=False)
def test_tls_is_the_servers_port_or_scheme_never_a_clients_header():
    assert connection_is_tls(_scope(server=["10.0.0.1", 8443]))
    assert connection_is_tls(_scope(scheme="wss", server=["10.0.0.1", 8000]))
    assert not connection_is_tls(_scope(server=["10.0.0.1", 8000]))
    assert not connection_is_tls(_scope({"X-Forwarded-Proto": "https"}, server=["10.0.0.1", 8000]))
    assert client_certificate_identity(_scope({"X-Client-Cert-CN": "CP-1"})) is None


@override_settings(OCPP_TRUST_PROXY_HEADERS=True, OCPP_CLIENT_CERT_HEADER="X-Client-Cert-CN")
def test_a_trusted_proxy_vouches_for_tls_and_the_client_certificate():
    assert connection_is_tls(_scope({"X-Forwarded-Proto": "https"}, server=["10.0.0.1", 8000]))
    assert not connection_is_tls(_scope({"X-Forwarded-Proto": "http"}, server=["10.0.0.1", 8000]))
    assert client_certificate_identity(_scope({"X-Client-Cert-CN": "CP-1"})) == "CP-1"
    assert client_certificate_identity(_scope({"X-Client-Cert-CN": ""})) is None


async def _connect(identity: str, headers: dict[str, str]) -> tuple[bool, str | None]:
    """Through the whole ASGI application (tenant middleware, routing, auth, consumer), in process."""
    communicator = WebsocketCommunicator(
        application,
        f"/ocpp/alpha/{identity}",
        headers=[(name.lower().encode(), value.encode()) for name, value in headers.items()],
        subprotocols=["ocpp1.6"],
    )
    connected, _ = await communicator.connect(timeout=10)
    answer = None
    if connected:
        await communicator.send_to(text_data=json.dumps([2, "1", "Heartbeat", {}]))
        answer = await communicator.receive_from(timeout=10)
    await communicator.disconnect()
    return connected, answer


PROXY = {"X-Forwarded-Proto": "https", "X-Client-Cert-CN": "CP-CERT"}


@pytest.mark.django_db(transaction=True)
@override_settings(OCPP_TRUST_PROXY_HEADERS=True)
def test_profile_3_needs_the_proxy_verified_certificate_of_the_station(tenant, station_make):
    station_make("CP-CERT", profile=3)

    admitted, answer = asyncio.run(_connect("CP-CERT", PROXY))
    wrong_certificate, _ = asyncio.run(_connect("CP-CERT", dict(PROXY, **{"X-Client-Cert-CN": "CP-OTHER"})))
    no_tls, _ = asyncio.run(_connect("CP-CERT", {"X-Client-Cert-CN": "CP-CERT"}))
    password_only, _ = asyncio.run(
        _connect("CP-CERT", {"X-Forwarded-Proto": "https", "Authorization": _basic("CP-CERT:x")})
    )

    assert admitted and json.loads(answer)[0] == 3
    assert not wrong_certificate and not no_tls and not password_only


@pytest.mark.django_db(transaction=True)
@override_settings(OCPP_TRUST_PROXY_HEADERS=False)
def test_proxy_headers_are_ignored_unless_trusted(tenant, station_make):
    station_make("CP-CERT", profile=3)

    connected, _ = asyncio.run(_connect("CP-CERT", PROXY))

    assert not connected


@pytest.mark.django_db(transaction=True)
@override_settings(OCPP_TRUST_PROXY_HEADERS=True)
def test_profile_2_behind_a_trusted_proxy(tenant, station_make):
    station_make("CP-PROXIED", password=PASSWORD, profile=2)
    basic = {"Authorization": _basic(f"CP-PROXIED:{PASSWORD}")}

    behind_tls, _ = asyncio.run(_connect("CP-PROXIED", dict(basic, **{"X-Forwarded-Proto": "https"})))
    plain, _ = asyncio.run(_connect("CP-PROXIED", dict(basic, **{"X-Forwarded-Proto": "http"})))

    assert behind_tls and not plain
