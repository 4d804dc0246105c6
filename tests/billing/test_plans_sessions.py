"""A subscriber's session: rated with the plan's tariff, the plan's included kWh taken off the receipt (once per
CDR, reset at renewal, given back by a credit), and the prepaid balance paying before the card."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from apps.billing.models import Invoice, Payment, PaymentCustomerToken, PrepaidEntry, Subscription
from apps.billing.selectors.plans import session_cost_for_payer
from apps.billing.services.plans import prepaid_top_up, subscription_create, subscription_renew
from apps.billing.services.sessions import session_bill
from apps.billing.tasks import session_bill_task
from apps.sessions.models import ChargingSession
from tests.billing.factories import (
    BILLING_ELEMENTS,
    T0,
    PaymentCustomerFactory,
    PaymentFactory,
    PlanFactory,
    StoredPaymentMethodFactory,
    session_with_readings,
)
from tests.sessions.factories import IdTokenFactory
from tests.stations.factories import LocationFactory, StationFactory
from tests.tariffs.factories import ConnectorFactory, TariffAssignmentFactory

# The plan's tariff: 0.25/kWh + 21 % VAT, no session fee, no parking fee.
PLAN_ELEMENTS = [{"price_components": [{"type": "ENERGY", "price": "0.25", "vat": "21", "step_size": 1}]}]
MARCH = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def station(tenant_schema):
    connector = ConnectorFactory(evse__station=StationFactory(location=LocationFactory()))
    location = connector.evse.station.location
    TariffAssignmentFactory(location=location, tariff__code="PUBLIC", tariff__elements=BILLING_ELEMENTS)
    TariffAssignmentFactory(
        location=location,
        tariff__code="PLUS-TARIFF",
        tariff__elements=PLAN_ELEMENTS,
        customer_group_type="plan",
        customer_group_ref="plus",
    )
    return connector.evse.station


@pytest.fixture
def subscriber(tenant_schema):
    """DRIVER-1, paid by a customer with a card, on PLUS (15 kWh included) since 1 March."""
    token = IdTokenFactory(uid="DRIVER-1")
    method = StoredPaymentMethodFactory()
    PaymentCustomerToken.objects.create(customer=method.customer, id_token=token)
    plan = PlanFactory(code="plus", included_kwh=Decimal("15"))
    subscription_create(customer=method.customer, plan=plan, start=MARCH)
    return token


READINGS = ((0, 1000, 11000), (30, 6500, 11000), (60, 12000, 0), (90, 12000, 0))


def charge(station, token, *, day: int = 0, **fields) -> ChargingSession:
    """An 11 kWh session of the token (an hour charging, 30 minutes parked), `day` days after T0."""
    readings = tuple((minute + day * 24 * 60, register, power) for minute, register, power in READINGS)
    return session_with_readings(station=station, id_token=token, readings=readings, **fields)


def bill(station, token, *, day: int = 0):
    return session_bill(session_id=charge(station, token, day=day).pk)


def test_a_subscribers_session_is_rated_with_the_plan_tariff(station, subscriber):
    plan_billed = bill(station, subscriber)
    public_billed = bill(station, IdTokenFactory(uid="CARD-9"), day=1)

    assert plan_billed.cdr.tariff_code == "PLUS-TARIFF"
    # The CDR is what the plan tariff says: 11 kWh × 0.25 = 2.75 excl. VAT. The benefit is on the receipt only.
    assert (plan_billed.cdr.total_excl_vat, plan_billed.cdr.total_incl_vat) == (Decimal("2.75"), Decimal("3.33"))
    assert (public_billed.cdr.tariff_code, public_billed.cdr.total_incl_vat) == ("PUBLIC", Decimal("5.99"))


def test_a_subscribers_running_cost_is_the_plan_tariffs(station, subscriber):
    """What a 2.0.1 station shows as totalCost: the plan tariff for the subscriber, the public one for a card."""
    assert session_cost_for_payer(charge(station, subscriber)).total_incl_vat.amount == Decimal("3.33")
    assert session_cost_for_payer(charge(station, IdTokenFactory(uid="CARD-9"), day=1)).total_incl_vat.amount == (
        Decimal("5.99")
    )


def test_a_past_due_subscriber_pays_the_public_tariff(station, subscriber):
    Subscription.objects.update(status=Subscription.Status.PAST_DUE)
    assert bill(station, subscriber).cdr.tariff_code == "PUBLIC"


def test_included_kwh_are_used_across_sessions_and_reset_at_renewal(station, subscriber):
    first = bill(station, subscriber)
    second = bill(station, subscriber, day=1)
    subscription = Subscription.objects.get()

    # 15 kWh included: the first session takes 11 (its whole energy line), the second the 4 left.
    assert subscription.included_kwh_used == Decimal("15")
    first_lines = list(first.invoice.lines.values_list("description", "net", "gross"))
    assert first_lines[-1] == ("Included in plan plus: 11 kWh", Decimal("-2.75"), Decimal("-3.33"))
    assert (first.invoice.total_gross, first.invoice.status) == (Decimal("0"), Invoice.Status.SETTLED)
    # 4/11 of the energy line: 2.75 × 4/11 = 1.00 net, 3.33 × 4/11 = 1.21 gross.
    assert second.invoice.lines.last().description == "Included in plan plus: 4 kWh"
    assert (second.invoice.total_net, second.invoice.total_gross) == (Decimal("1.75"), Decimal("2.12"))

    renewed = subscription_renew(subscription_id=subscription.pk, now=datetime(2026, 4, 1, 1, tzinfo=UTC))

    assert (renewed.current_period_start, renewed.current_period_end) == (
        datetime(2026, 4, 1, tzinfo=UTC),
        datetime(2026, 5, 1, tzinfo=UTC),
    )
    assert (renewed.included_kwh, renewed.included_kwh_used, renewed.status) == (Decimal("15"), 0, "active")


def test_billing_twice_takes_the_included_kwh_once(station, subscriber):
    session = charge(station, subscriber)
    session_bill_task.delay(connection.schema_name, session.pk)
    session_bill_task.delay(connection.schema_name, session.pk)
    assert Subscription.objects.get().included_kwh_used == Decimal("11")


def test_a_credited_session_gives_its_included_kwh_back(station, subscriber):
    session = charge(station, subscriber, status=ChargingSession.Status.INTERRUPTED)
    session_bill(session_id=session.pk)
    ChargingSession.objects.filter(pk=session.pk).update(
        status=ChargingSession.Status.COMPLETED, stopped_at=T0 + timedelta(minutes=100)
    )
    session_bill(session_id=session.pk)

    subscription = Subscription.objects.get()
    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    assert subscription.included_kwh_used == Decimal("11")  # given back by the credit, taken by the re-issue
    assert note.lines.last().description == "Credit: Included in plan plus: 11 kWh"
    assert note.total_gross == 0  # the receipt it credits was 0 too: 3.33 − 3.33
    assert [use.released_at is not None for use in subscription.energy_uses.order_by("id")] == [True, False]


def test_the_prepaid_balance_pays_the_receipt_once_when_the_task_runs_twice(station):
    token = IdTokenFactory(uid="PREPAID-1")
    customer = PaymentCustomerFactory()
    PaymentCustomerToken.objects.create(customer=customer, id_token=token)
    prepaid_top_up(customer=customer, amount=1000, currency="EUR", reference="bank:1")
    session = charge(station, token)

    for _ in range(2):
        session_bill_task.delay(connection.schema_name, session.pk)

    invoice = Invoice.objects.get(cdr__session=session)
    entries = list(PrepaidEntry.objects.order_by("id").values_list("kind", "amount", "balance_after", "reference"))
    assert entries == [
        ("top_up", 1000, 1000, "bank:1"),
        ("session_debit", -599, 401, f"invoice:{invoice.number}"),
    ]
    assert (invoice.status, invoice.amount_paid, invoice.amount_prepaid) == ("paid", Decimal("5.99"), Decimal("5.99"))


def test_a_short_balance_pays_what_it_holds_and_the_card_hold_the_rest(station, stripe_api):
    token = IdTokenFactory(uid="PREPAID-2")
    method = StoredPaymentMethodFactory()
    PaymentCustomerToken.objects.create(customer=method.customer, id_token=token)
    prepaid_top_up(customer=method.customer, amount=200, currency="EUR", reference="bank:2")
    session = charge(station, token)
    PaymentFactory(reference=str(session.pk), provider_reference="pi_short", customer=method.customer)
    stripe_api.intents["pi_short"] = {
        "id": "pi_short", "object": "payment_intent", "amount": 2500, "amount_capturable": 2500,
        "amount_received": 0, "currency": "eur", "status": "requires_capture", "last_payment_error": None,
    }  # fmt: skip

    billed = session_bill(session_id=session.pk)

    invoice = Invoice.objects.get(pk=billed.invoice.pk)
    assert stripe_api.requests[-1].params["amount_to_capture"] == "399"
    assert (billed.payment.status, billed.payment.amount_captured) == (Payment.Status.CAPTURED, 399)
    assert (invoice.status, invoice.amount_paid, invoice.amount_prepaid) == ("paid", Decimal("5.99"), Decimal("2.00"))
    assert method.customer.prepaid_accounts.get().balance == 0
