"""End to end through a real daphne and a simulated 2.0.1 station: a driver's token starts a charge over the API
(the brand's offline Stripe sandbox holds the card first), the station charges, the app sees the energy rise, the
driver stops it, and once billed the receipt PDF is there and the hold the start placed paid for it."""

import asyncio
import json
import urllib.error
import urllib.request
from decimal import Decimal

import pytest

from apps.api.models import Scope
from apps.billing.models import Payment
from apps.billing.tasks import session_bill_task, session_hold_task
from apps.sessions.models import ChargingSession
from apps.stations.models import Connector, Location
from tests.accounts.factories import DriverFactory
from tests.accounts.rbac import person_token
from tests.billing.factories import (
    BILLING_ELEMENTS,
    PaymentCustomerFactory,
    StoredPaymentMethodFactory,
    StripeAccountFactory,
)
from tests.ocpp.server import eventually
from tests.simulated import on_demand_station
from tests.stations.factories import STATION_PASSWORD
from tests.tariffs.factories import TariffAssignmentFactory
from tools.simulator.station import VirtualStation, stations_run

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settled")]


def call(port: int, method: str, path: str, token: str, body: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Host": "alpha.localhost", "Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_a_driver_starts_follows_stops_and_gets_the_receipt_of_a_real_session(
    ocpp_server, station_make, in_tenant, tenant
):
    station = station_make("SIM-DRIVER", password=STATION_PASSWORD)
    with in_tenant():
        station.location = Location.objects.create(name="Harbour", country="NL", timezone="Europe/Amsterdam")
        station.save(update_fields=["location"])
        TariffAssignmentFactory(location=station.location, tariff__elements=BILLING_ELEMENTS)
        driver = DriverFactory()
        account = StripeAccountFactory(offline_sandbox=True)
        StoredPaymentMethodFactory(customer=PaymentCustomerFactory(account=account, user=driver))
    token = person_token(tenant, driver, [Scope.ME_READ, Scope.ME_WRITE])
    config = on_demand_station(
        ocpp_server.port, "SIM-DRIVER", protocol="ocpp2.0.1", session_seconds=60, meter_interval=0.3, seed=3
    )
    port = ocpp_server.port

    def available():
        with in_tenant():
            return Connector.objects.filter(evse__station=station, status="Available").exists()

    def current() -> dict | None:
        status, body = call(port, "GET", "/api/v1/me/sessions/current/", token)
        answer = json.loads(body) if status == 200 else None
        return answer if answer and "id" in answer else None

    def current_with_more_energy_than(kwh: Decimal):
        answer = current()
        return answer if answer and Decimal(answer["energy_kwh"]) > kwh else None

    def ended(session_id: int):
        with in_tenant():
            return ChargingSession.objects.filter(pk=session_id).exclude(status="active").first()

    async def scenario():
        running = asyncio.create_task(stations_run([VirtualStation(config)], duration=20))
        assert await asyncio.to_thread(eventually, available)
        started = await asyncio.to_thread(
            call, port, "POST", "/api/v1/me/charges/", token, {"evse": "ALPHA*SIM-DRIVER*1"}
        )
        first = await asyncio.to_thread(eventually, current)
        later = await asyncio.to_thread(eventually, lambda: current_with_more_energy_than(Decimal(first["energy_kwh"])))
        stopped = await asyncio.to_thread(call, port, "POST", f"/api/v1/me/sessions/{first['id']}/stop/", token)
        done = await asyncio.to_thread(eventually, lambda: ended(first["id"]))
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
        return started, first, later, stopped, done

    (start_status, start_body), first, later, (stop_status, _), done = asyncio.run(scenario())

    assert start_status == 202, start_body
    assert json.loads(start_body)["command"]["status"] == "accepted"
    assert first["status"] == "active" and first["stoppable"] and first["evse"]["code"] == "ALPHA*SIM-DRIVER*1"
    assert Decimal(later["energy_kwh"]) > Decimal(first["energy_kwh"])
    assert later["power_kw"] is not None and Decimal(later["power_kw"]) > 0
    assert later["cost"]["currency"] == "EUR"
    assert stop_status == 202
    assert done is not None and done.energy_wh > 0

    # The server queues billing on its Redis broker and no worker runs here: run the tasks as a worker would.
    session_hold_task.delay(tenant.schema_name, done.pk)
    session_bill_task.delay(tenant.schema_name, done.pk)
    status, pdf = call(port, "GET", f"/api/v1/me/sessions/{done.pk}/receipt.pdf", token)
    assert status == 200 and pdf.startswith(b"%PDF")
    status, body = call(port, "GET", f"/api/v1/me/sessions/{done.pk}/", token)
    session = json.loads(body)
    assert session["status"] == "completed" and session["receipt_url"].endswith(f"/{done.pk}/receipt.pdf")
    with in_tenant():
        payment = Payment.objects.get()  # the start's hold, adopted by the session, then captured: one payment
        assert payment.reference == str(done.pk) and payment.status == Payment.Status.CAPTURED
        assert Decimal(payment.amount_captured) / 100 == Decimal(session["cost"]["amount_incl_vat"])
