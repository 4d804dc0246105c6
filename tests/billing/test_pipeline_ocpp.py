"""End to end through a real daphne: a 2.0.1 station's TransactionEvent answers carry the running cost (totalCost,
incl. VAT) and, once it ends, the session has its CDR and receipt."""

import asyncio
from decimal import Decimal

import pytest

from apps.billing.models import Cdr, Invoice
from apps.billing.tasks import session_bill_task
from apps.sessions.models import ChargingSession, IdToken
from apps.stations.models import Location
from tests.billing.factories import BILLING_ELEMENTS
from tests.ocpp.test_sessions_e2e import PASSWORD, V201_BOOT, _connect, transaction_event, v201_meter_value
from tests.tariffs.factories import TariffAssignmentFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settled")]


def test_v201_answers_carry_the_running_cost_and_the_session_is_billed(ocpp_server, station_make, in_tenant, tenant):
    station = station_make("CS-BILL-1", password=PASSWORD)
    with in_tenant():
        station.location = Location.objects.create(name="Billing site", country="NL", timezone="Europe/Amsterdam")
        station.save(update_fields=["location"])
        TariffAssignmentFactory(location=station.location, tariff__elements=BILLING_ELEMENTS)
        IdToken.objects.create(uid="TAG-BILL", type="ISO14443", status="Accepted")
    token = {"idToken": "TAG-BILL", "type": "ISO14443"}

    async def scenario():
        async with _connect(ocpp_server, "CS-BILL-1", "ocpp2.0.1") as cs:
            await cs.call("BootNotification", V201_BOOT)
            started = await cs.call(
                "TransactionEvent",
                transaction_event(
                    "Started", 0, 0, "Authorized", transaction_id="TX-BILL", idToken=token,
                    evse={"id": 1, "connectorId": 1}, info={"chargingState": "Charging"},
                    meterValue=[v201_meter_value(0, 2000, "Transaction.Begin")],
                ),
            )  # fmt: skip
            updated = await cs.call(
                "TransactionEvent",
                transaction_event(
                    "Updated", 1, 30, "MeterValuePeriodic", transaction_id="TX-BILL",
                    meterValue=[v201_meter_value(30, 9000)],
                ),
            )  # fmt: skip
            ended = await cs.call(
                "TransactionEvent",
                transaction_event(
                    "Ended", 2, 60, "StopAuthorized", transaction_id="TX-BILL", idToken=token,
                    info={"stoppedReason": "Local", "chargingState": "Idle"},
                    meterValue=[v201_meter_value(60, 17500, "Transaction.End")],
                ),
            )  # fmt: skip
            return started, updated, ended

    started, updated, ended = asyncio.run(scenario())
    # 7 kWh after 30 min: 0.50 fee + 7 × 0.35 = 2.95 excl., 3.57 incl. 21 % VAT; 15.5 kWh at the end: 5.93 → 7.17.
    assert Decimal(str(updated["totalCost"])) == Decimal("3.57")
    assert Decimal(str(ended["totalCost"])) == Decimal("7.17")
    assert "totalCost" in started
    # The server has a Redis broker and no worker here: run the queued billing task as a worker would.
    with in_tenant():
        session = ChargingSession.objects.get(transaction_id="TX-BILL")
    session_bill_task.delay(tenant.schema_name, session.pk)
    with in_tenant():
        cdr = Cdr.objects.get(session=session)
        assert cdr.total_incl_vat == Decimal(str(ended["totalCost"]))
        assert Invoice.objects.get(cdr=cdr).total_gross == cdr.total_incl_vat
