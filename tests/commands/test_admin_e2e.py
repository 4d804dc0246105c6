"""Operators send remote operations from the admin; the station may be on another server process."""

import asyncio
import html
import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.commands.models import Command
from tests.accounts.factories import PASSWORD, UserFactory
from tests.ocpp.client import open_station, station_url
from tests.processes import DaphneProcess

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settled")]

STATION_PASSWORD = "a-station-password-of-some-length"


class AdminBrowser:
    """An operator's session against a real server over HTTP: log in, run a changelist action, read the page."""

    def __init__(self, port: int, host: str = "alpha.localhost"):
        self.base = f"http://127.0.0.1:{port}"
        self.host = host
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, path: str, data: dict | None = None) -> str:
        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        request = urllib.request.Request(self.base + path, data=body, headers={"Host": self.host})
        with self.opener.open(request, timeout=60) as response:
            return response.read().decode()

    def csrf(self, page: str) -> str:
        return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)

    def login(self, email: str, password: str) -> None:
        page = self.request("/admin/login/")
        self.request(
            "/admin/login/?next=/admin/",
            {"csrfmiddlewaretoken": self.csrf(page), "username": email, "password": password},
        )

    def station_action(self, action: str, station_ids: list[int], **extra) -> str:
        page = self.request("/admin/stations/station/")
        data = {"csrfmiddlewaretoken": self.csrf(page), "action": action, "_selected_action": station_ids, **extra}
        return self.request("/admin/stations/station/", data)


def messages_of(page: str) -> list[str]:
    """The admin's messages shown on the page."""
    listing = re.search(r'<ul class="messagelist">(.*?)</ul>', page, re.S)
    items = re.findall(r"<li[^>]*>(.*?)</li>", listing.group(1), re.S) if listing else []
    return [html.unescape(re.sub(r"\s+", " ", text).strip()) for text in items]


def operator(tenant, role=Role.OPERATOR):
    with schema_context(tenant.schema_name):
        return UserFactory(role=role)


def test_a_command_issued_through_one_server_process_reaches_a_station_on_another(
    ocpp_server, redis_server, station_make, tenant, in_tenant, tmp_path
):
    """Two daphne processes on one Redis: the station is connected to A, the operator works on B."""
    station = station_make("CP-ON-A", password=STATION_PASSWORD)
    user = operator(tenant)

    with DaphneProcess(tmp_path / "daphne-b.log", REDIS_URL=redis_server.url) as server_b:
        browser = AdminBrowser(server_b.port)
        browser.login(user.email, PASSWORD)

        async def scenario():
            url = station_url(ocpp_server.port, "CP-ON-A")
            async with open_station(url, identity="CP-ON-A", password=STATION_PASSWORD) as cp:
                await cp.call("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "AC-22"})
                page = asyncio.create_task(asyncio.to_thread(browser.station_action, "reset_hard", [station.pk]))
                call = await cp.receive()
                await cp.connection.send(json.dumps([3, call[1], {"status": "Accepted"}]))
                return call, await page

        call, page = asyncio.run(scenario())

    assert call[2:] == ["Reset", {"type": "Hard"}]
    assert "Reset (reboot): CP-ON-A: Accepted (Accepted)" in messages_of(page)
    with in_tenant():
        command = Command.objects.get()
    assert (command.status, command.source, command.requested_by_id) == ("accepted", "admin", user.pk)


def test_the_admin_sends_any_operation_with_parameters_and_names_a_wrong_field(
    ocpp_server, redis_server, station_make, tenant, in_tenant, tmp_path
):
    v16 = station_make("CP-ANY-16", password=STATION_PASSWORD)
    v201 = station_make("CP-ANY-201", password=STATION_PASSWORD)
    user = operator(tenant)
    browser = AdminBrowser(ocpp_server.port)
    browser.login(user.email, PASSWORD)

    form = browser.station_action("send_operation", [v16.pk, v201.pk])
    assert "Send an operation" in form and "remote_start" in form
    wrong = browser.station_action(
        "send_operation", [v16.pk], apply="1", operation="unlock_connector", params='{"evse_id": 0}'
    )

    async def scenario():
        async with (
            open_station(
                station_url(ocpp_server.port, "CP-ANY-16"), identity="CP-ANY-16", password=STATION_PASSWORD
            ) as a,
            open_station(
                station_url(ocpp_server.port, "CP-ANY-201"),
                protocol="ocpp2.0.1",
                identity="CP-ANY-201",
                password=STATION_PASSWORD,
            ) as b,
        ):
            await a.call("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "AC-22"})
            await b.call(
                "BootNotification", {"chargingStation": {"vendorName": "A", "model": "B"}, "reason": "PowerUp"}
            )
            page = asyncio.create_task(
                asyncio.to_thread(
                    browser.station_action,
                    "send_operation",
                    [v16.pk, v201.pk],
                    apply="1",
                    operation="remote_start",
                    params='{"id_token": "CARD-9", "evse_id": 1}',
                )
            )
            call_16, call_201 = await asyncio.gather(a.receive(), b.receive())
            await a.connection.send(json.dumps([3, call_16[1], {"status": "Accepted"}]))
            await b.connection.send(json.dumps([3, call_201[1], {"status": "Rejected"}]))
            return call_16, call_201, await page

    call_16, call_201, page = asyncio.run(scenario())

    assert "evse_id: Ensure this value is greater than or equal to 1." in wrong  # the form again, with the error
    assert call_16[2:] == ["RemoteStartTransaction", {"idTag": "CARD-9", "connectorId": 1}]
    assert call_201[2] == "RequestStartTransaction" and call_201[3]["evseId"] == 1
    (message,) = messages_of(page)
    assert message == "Start a session remotely: CP-ANY-16: Accepted (Accepted); CP-ANY-201: Rejected (Rejected)"


def test_a_read_only_user_cannot_send_operations(ocpp_server, station_make, tenant):
    station = station_make("CP-RO", password=STATION_PASSWORD)
    browser = AdminBrowser(ocpp_server.port)
    user = operator(tenant, Role.READ_ONLY)
    browser.login(user.email, PASSWORD)

    page = browser.request("/admin/stations/station/")
    with pytest.raises(urllib.error.HTTPError) as refused:
        browser.station_action("reset_hard", [station.pk])

    assert "reset_hard" not in page and "Send an operation" not in page
    assert refused.value.code == 403  # as in the portal and the API (apps/accounts/scoping.py ScopedAdminMixin)
    with schema_context(tenant.schema_name):
        assert not Command.objects.exists()
