"""Who may connect, with which protocol, and whether the platform knows a station is there: against real daphne."""

import asyncio
import base64
import os
import socket
import ssl

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus

from apps.stations.models import Station
from tests.ocpp.client import open_station, station_url
from tests.ocpp.server import PING_INTERVAL_S, PING_TIMEOUT_S, eventually

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settled")]

PASSWORD = "correct-horse-battery-staple"
BOOT_16 = {"chargePointVendor": "Acme", "chargePointModel": "AC-22"}


def handshake_status(coroutine) -> int | None:
    """The HTTP status a refused handshake got, or None when the connection was accepted."""

    async def attempt():
        try:
            async with coroutine as station:
                await station.call("Heartbeat", {})
        except InvalidStatus as refused:
            return refused.response.status_code
        return None

    return asyncio.run(attempt())


def _station(in_tenant, identity: str) -> Station:
    with in_tenant():
        return Station.objects.get(identity=identity)


def _station_update(in_tenant, identity: str, **fields) -> None:
    with in_tenant():
        Station.objects.filter(identity=identity).update(**fields)


# --- authentication ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("username", "password", "reason"),
    [
        ("CP-AUTH", "wrong-password", "password"),
        ("CP-OTHER", PASSWORD, "username is not the station identity"),
        (None, None, ""),
    ],
)
def test_profile_1_refuses_bad_credentials(ocpp_server, station_make, username, password, reason):
    station_make("CP-AUTH", password=PASSWORD, profile=1)
    headers = {}
    if username is not None:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()

    status = handshake_status(open_station(station_url(ocpp_server.port, "CP-AUTH"), headers=headers))

    assert status == 403
    assert eventually(lambda: "ocpp connection refused: station 'CP-AUTH'" in ocpp_server.log)
    assert reason in ocpp_server.log
    assert PASSWORD not in ocpp_server.log and "wrong-password" not in ocpp_server.log
    assert "Traceback" not in ocpp_server.log


def test_profile_1_admits_the_right_password_and_long_ones(ocpp_server, station_make, in_tenant):
    long_password = "p" * 64  # the whitepaper's 40 characters are a guideline, not a limit
    station_make("CP-LONG", password=long_password, profile=1)

    status = handshake_status(
        open_station(station_url(ocpp_server.port, "CP-LONG"), identity="CP-LONG", password=long_password)
    )

    assert status is None


def test_profile_2_refuses_a_plain_connection_and_admits_tls(ocpp_server, station_make, in_tenant):
    station_make("CP-TLS", password=PASSWORD, profile=2)
    context = ssl.create_default_context(cafile=str(ocpp_server.cert_path))
    context.minimum_version = ssl.TLSVersion.TLSv1_2

    plain = handshake_status(
        open_station(station_url(ocpp_server.port, "CP-TLS"), identity="CP-TLS", password=PASSWORD)
    )
    # Without OCPP_TRUST_PROXY_HEADERS a client's own X-Forwarded-Proto proves nothing.
    spoofed = handshake_status(
        open_station(
            station_url(ocpp_server.port, "CP-TLS"),
            identity="CP-TLS",
            password=PASSWORD,
            headers={"X-Forwarded-Proto": "https", "X-Client-Cert-CN": "CP-TLS"},
        )
    )
    over_tls = handshake_status(
        open_station(
            station_url(ocpp_server.tls_port, "CP-TLS", scheme="wss"),
            identity="CP-TLS",
            password=PASSWORD,
            ssl_context=context,
        )
    )

    assert (plain, spoofed, over_tls) == (403, 403, None)


def test_a_rejected_station_is_refused(ocpp_server, station_make):
    station_make("CP-BANNED", password=PASSWORD, registration="rejected")

    status = handshake_status(
        open_station(station_url(ocpp_server.port, "CP-BANNED"), identity="CP-BANNED", password=PASSWORD)
    )

    assert status == 403


# --- onboarding -------------------------------------------------------------------------------------------------


def test_onboarding_reject_refuses_unknown_stations(ocpp_server, network_configure, in_tenant):
    network_configure(onboarding_policy="reject")

    status = handshake_status(
        open_station(station_url(ocpp_server.port, "CP-NEW"), identity="CP-NEW", password=PASSWORD)
    )

    assert status == 403
    with in_tenant():
        assert not Station.objects.filter(identity="CP-NEW").exists()


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
def test_onboarding_pending_admits_but_allows_only_boot_until_approved(
    protocol, ocpp_server, network_configure, in_tenant
):
    network_configure(onboarding_policy="pending")
    boot = (
        BOOT_16
        if protocol == "ocpp1.6"
        else {"reason": "PowerUp", "chargingStation": {"vendorName": "Acme", "model": "DC-50"}}
    )

    async def scenario():
        url = station_url(ocpp_server.port, "CP-PENDING")
        async with open_station(url, protocol=protocol, identity="CP-PENDING", password=PASSWORD) as station:
            first_boot = await station.call("BootNotification", boot)
            heartbeat = await station.call_error("Heartbeat", {})
            await asyncio.to_thread(_station_update, in_tenant, "CP-PENDING", registration_status="accepted")
            second_boot = await station.call("BootNotification", boot)
            await station.call("Heartbeat", {})
            return first_boot, heartbeat, second_boot

    first_boot, heartbeat, second_boot = asyncio.run(scenario())

    assert first_boot["status"] == "Pending"
    assert heartbeat.code == "SecurityError"
    assert second_boot["status"] == "Accepted"
    station = _station(in_tenant, "CP-PENDING")
    assert station.vendor == "Acme"
    assert station.security_profile == 1
    assert station.password_hash and PASSWORD not in station.password_hash


def test_onboarding_accept_admits_unknown_stations_accepted(ocpp_server, network_configure, in_tenant):
    network_configure(onboarding_policy="accept")

    async def scenario():
        url = station_url(ocpp_server.port, "CP-AUTO")
        async with open_station(url, identity="CP-AUTO", password=PASSWORD) as station:
            return await station.call("BootNotification", BOOT_16)

    assert asyncio.run(scenario())["status"] == "Accepted"
    assert _station(in_tenant, "CP-AUTO").registration_status == "accepted"


# --- subprotocols and hosts -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offered", "chosen"),
    [(["ocpp1.6"], "ocpp1.6"), (["ocpp2.0.1"], "ocpp2.0.1"), (["ocpp1.6", "ocpp2.0.1"], "ocpp2.0.1")],
)
def test_subprotocol_is_negotiated(ocpp_server, station_make, in_tenant, offered, chosen):
    station_make("CP-PROTO", password=PASSWORD)

    async def scenario():
        url = station_url(ocpp_server.port, "CP-PROTO")
        async with open_station(url, protocol=offered, identity="CP-PROTO", password=PASSWORD) as station:
            await station.call("Heartbeat", {})
            return station.protocol

    assert asyncio.run(scenario()) == chosen
    assert _station(in_tenant, "CP-PROTO").protocol == chosen


@pytest.mark.parametrize("offered", [["ocpp2.1"], ["mqtt"], []])
def test_unsupported_subprotocol_is_refused(ocpp_server, station_make, offered):
    station_make("CP-OLD", password=PASSWORD)

    status = handshake_status(
        open_station(station_url(ocpp_server.port, "CP-OLD"), protocol=offered, identity="CP-OLD", password=PASSWORD)
    )

    assert status == 403
    assert eventually(lambda: "offered no supported subprotocol" in ocpp_server.log)
    assert "Traceback" not in ocpp_server.log


def test_station_reaches_its_tenant_by_host(ocpp_server, station_make, in_tenant):
    station_make("CP-HOST", password=PASSWORD)

    async def scenario():
        url = f"ws://alpha.localhost:{ocpp_server.port}/ocpp/CP-HOST"
        async with open_station(url, identity="CP-HOST", password=PASSWORD, host="127.0.0.1") as station:
            return await station.call("BootNotification", BOOT_16)

    assert asyncio.run(scenario())["status"] == "Accepted"


# --- presence ---------------------------------------------------------------------------------------------------


def test_a_second_connection_replaces_the_first_and_the_station_stays_online(ocpp_server, station_make, in_tenant):
    station_make("CP-TWICE", password=PASSWORD)
    url = station_url(ocpp_server.port, "CP-TWICE")

    async def scenario():
        async with open_station(url, identity="CP-TWICE", password=PASSWORD) as first:
            await first.call("BootNotification", BOOT_16)
            first_connection = (await asyncio.to_thread(_station, in_tenant, "CP-TWICE")).connection_id
            async with open_station(url, identity="CP-TWICE", password=PASSWORD) as second:
                with pytest.raises(ConnectionClosed) as closed:
                    await asyncio.wait_for(first.connection.recv(), 10)
                await asyncio.sleep(0.5)  # the old connection's disconnect has been handled by now
                station = await asyncio.to_thread(_station, in_tenant, "CP-TWICE")
                heartbeat = await second.call("Heartbeat", {})
                return first_connection, closed.value.rcvd.code, station, heartbeat

    first_connection, close_code, station, heartbeat = asyncio.run(scenario())

    assert close_code == 4000
    assert station.is_online
    assert station.connection_id and station.connection_id != first_connection
    assert "currentTime" in heartbeat
    assert eventually(lambda: not _station(in_tenant, "CP-TWICE").is_online)


def test_a_station_that_closes_is_offline(ocpp_server, station_make, in_tenant):
    station_make("CP-BYE", password=PASSWORD)

    async def scenario():
        url = station_url(ocpp_server.port, "CP-BYE")
        async with open_station(url, identity="CP-BYE", password=PASSWORD) as station:
            await station.call("BootNotification", BOOT_16)
            return await asyncio.to_thread(_station, in_tenant, "CP-BYE")

    online = asyncio.run(scenario())

    assert online.is_online and online.connected_at is not None
    assert eventually(lambda: not _station(in_tenant, "CP-BYE").is_online)
    offline = _station(in_tenant, "CP-BYE")
    assert offline.connection_id == "" and offline.disconnected_at is not None


def _open_raw_websocket(port: int, identity: str) -> socket.socket:
    """A station whose network vanished: handshake done, then it never reads or answers a ping again."""
    credentials = base64.b64encode(f"{identity}:{PASSWORD}".encode()).decode()
    request = (
        f"GET /ocpp/alpha/{identity} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
        f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\nAuthorization: Basic {credentials}\r\n\r\n"
    )
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(request.encode())
    assert sock.recv(4096).startswith(b"HTTP/1.1 101")
    return sock


def test_a_dead_connection_is_detected_by_ping_timeout(ocpp_server, station_make, in_tenant):
    station_make("CP-DEAD", password=PASSWORD)
    sock = _open_raw_websocket(ocpp_server.port, "CP-DEAD")
    try:
        assert eventually(lambda: _station(in_tenant, "CP-DEAD").is_online, timeout=5)

        offline = eventually(
            lambda: not _station(in_tenant, "CP-DEAD").is_online, timeout=PING_INTERVAL_S + PING_TIMEOUT_S + 5
        )
    finally:
        sock.close()

    assert offline


def test_a_silent_station_is_closed_by_the_watchdog(ocpp_server, station_make, network_configure, in_tenant):
    network_configure(heartbeat_interval_s=1, offline_after_s=1)
    station_make("CP-MUTE", password=PASSWORD)

    async def scenario():
        url = station_url(ocpp_server.port, "CP-MUTE")
        async with open_station(url, identity="CP-MUTE", password=PASSWORD) as station:
            # The client answers daphne's pings all along; only OCPP frames stop.
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(station.connection.recv(), 10)
            return closed.value.rcvd.code

    assert asyncio.run(scenario()) == 4001
    assert eventually(lambda: not _station(in_tenant, "CP-MUTE").is_online)
