"""The portal's live websocket through the whole ASGI application: staff of the brand receive its events about
stations they may see; anonymous visitors, drivers, roles without stations.view_station, other origins and another
brand's sessions are refused; another brand's events never arrive."""

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.stations.live import live_publish
from config.asgi import application
from tests.portal.conftest import client_of
from tests.stations.factories import StationFactory


def session_cookie(tenant, role, scoped_to=()) -> str:
    return client_of(tenant, role, scoped_to=scoped_to).cookies["sessionid"].value


def communicator_for(host: str, cookie: str | None, origin: str | None = None) -> WebsocketCommunicator:
    headers = [(b"host", host.encode())]
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    headers.append((b"origin", (origin or f"http://{host}").encode()))
    return WebsocketCommunicator(application, "/portal/live/", headers=headers)


@database_sync_to_async
def status_change(tenant, station_id: int, status: str) -> None:
    """What the station service publishes after a StatusNotification commits."""
    with schema_context(tenant.schema_name), transaction.atomic():
        live_publish(
            "station.status_changed",
            station_id=station_id,
            data={"evse_id": 1, "connector_id": 1, "status": status, "error_code": "NoError"},
        )


async def connects(communicator) -> bool:
    connected, _ = await communicator.connect(timeout=10)
    if connected:
        await communicator.disconnect()
    return connected


@pytest.mark.django_db(transaction=True)
def test_staff_receive_a_status_change_of_their_brand(tenant):
    with schema_context(tenant.schema_name):
        station = StationFactory(identity="ALPHA-LIVE")
    cookie = session_cookie(tenant, Role.TECHNICIAN)

    async def scenario():
        communicator = communicator_for("alpha.localhost", cookie)
        connected, _ = await communicator.connect(timeout=10)
        assert connected
        await status_change(tenant, station.pk, "Charging")
        event = await communicator.receive_json_from(timeout=5)
        await communicator.disconnect()
        return event

    event = asyncio.run(scenario())
    assert event["kind"] == "station.status_changed"
    assert event["station_id"] == station.pk
    assert event["data"]["status"] == "Charging"


@pytest.mark.django_db(transaction=True)
def test_another_brands_events_never_arrive(tenant, outsider):
    with schema_context(outsider.schema_name):
        foreign = StationFactory(identity="BRAVO-LIVE")
    with schema_context(tenant.schema_name):
        own = StationFactory(identity="ALPHA-OWN")
    cookie = session_cookie(tenant, Role.OPERATOR)

    async def scenario():
        communicator = communicator_for("alpha.localhost", cookie)
        assert (await communicator.connect(timeout=10))[0]
        await status_change(outsider, foreign.pk, "Faulted")
        await status_change(tenant, own.pk, "Available")
        first = await communicator.receive_json_from(timeout=5)
        nothing_else = await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()
        return first, nothing_else

    first, nothing_else = asyncio.run(scenario())
    assert (first["station_id"], first["data"]["status"]) == (own.pk, "Available")
    assert nothing_else


@pytest.mark.django_db(transaction=True)
def test_events_about_stations_out_of_the_users_scope_are_not_forwarded(tenant):
    with schema_context(tenant.schema_name):
        hidden, shown = StationFactory(identity="ALPHA-HIDDEN"), StationFactory(identity="ALPHA-SHOWN")
    cookie = session_cookie(tenant, Role.TECHNICIAN, scoped_to=[shown.location])

    async def scenario():
        communicator = communicator_for("alpha.localhost", cookie)
        assert (await communicator.connect(timeout=10))[0]
        await status_change(tenant, hidden.pk, "Faulted")
        await status_change(tenant, shown.pk, "Charging")
        first = await communicator.receive_json_from(timeout=5)
        nothing_else = await communicator.receive_nothing(timeout=0.5)
        await communicator.disconnect()
        return first, nothing_else

    first, nothing_else = asyncio.run(scenario())
    assert first["station_id"] == shown.pk and nothing_else


@pytest.mark.django_db(transaction=True)
def test_anonymous_visitors_drivers_and_roles_without_the_permission_are_refused(tenant, role_without):
    driver = session_cookie(tenant, Role.DRIVER)
    narrowed = session_cookie(tenant, role_without("stations.view_station"))
    assert not asyncio.run(connects(communicator_for("alpha.localhost", None)))
    assert not asyncio.run(connects(communicator_for("alpha.localhost", "not-a-session")))
    assert not asyncio.run(connects(communicator_for("alpha.localhost", driver)))
    assert not asyncio.run(connects(communicator_for("alpha.localhost", narrowed)))


@pytest.mark.django_db(transaction=True)
def test_a_session_of_another_brand_or_a_foreign_origin_is_refused(tenant, outsider):
    alpha = session_cookie(tenant, Role.OPERATOR)
    assert asyncio.run(connects(communicator_for("alpha.localhost", alpha)))
    assert not asyncio.run(connects(communicator_for("bravo.localhost", alpha)))
    assert not asyncio.run(connects(communicator_for("alpha.localhost", alpha, origin="http://evil.example")))
