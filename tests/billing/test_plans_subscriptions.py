"""Subscriptions: the monthly fee invoiced and paid (balance, then card) at the start and at each renewal, numbered
with the receipts without gaps; plan changes pro-rated by days; cancellation; each tenant's plans its own."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.billing.exceptions import PlanError
from apps.billing.models import Invoice, Payment, PrepaidEntry, Subscription
from apps.billing.selectors.plans import plan_get, plan_list, subscription_list
from apps.billing.services.plans import (
    plan_change_proration,
    prepaid_top_up,
    subscription_cancel,
    subscription_create,
    subscription_plan_change,
    subscription_renew,
)
from apps.billing.services.sessions import session_bill
from apps.billing.tasks import subscriptions_renew_all
from tests.billing.factories import (
    PaymentCustomerFactory,
    PlanFactory,
    StoredPaymentMethodFactory,
    session_with_readings,
)
from tests.billing.fakes import DECLINED

MARCH = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.fixture
def basic(tenant_schema):
    return PlanFactory(code="basic", monthly_fee=Decimal("9.99"), included_kwh=Decimal("50"))


@pytest.fixture
def plus(tenant_schema):
    return PlanFactory(code="plus", monthly_fee=Decimal("19.99"), included_kwh=Decimal("150"))


@pytest.fixture
def customer(tenant_schema):
    return StoredPaymentMethodFactory().customer


def test_subscribing_invoices_the_first_month_and_charges_the_card(customer, basic, stripe_api):
    subscription = subscription_create(customer=customer, plan=basic, start=MARCH)

    invoice = Invoice.objects.get(subscription=subscription)
    payment = Payment.objects.get(purpose="plan_fee")
    assert (subscription.status, subscription.current_period_end) == ("active", datetime(2026, 4, 1, tzinfo=UTC))
    assert (invoice.kind, invoice.total_gross, invoice.total_net, invoice.status) == (
        "subscription",
        Decimal("9.99"),
        Decimal("8.26"),  # 9.99 / 1.21
        "paid",
    )
    assert (payment.reference, payment.amount_captured) == (invoice.number, 999)


def test_a_second_live_subscription_is_refused(customer, basic, plus):
    subscription_create(customer=customer, plan=basic, start=MARCH)
    with pytest.raises(PlanError):
        subscription_create(customer=customer, plan=plus, start=MARCH)


def test_periods_are_whole_months_from_the_anchor_without_drifting(customer, basic):
    subscription = subscription_create(customer=customer, plan=basic, start=datetime(2026, 1, 31, 12, tzinfo=UTC))
    ends = []
    for _ in range(3):
        subscription = subscription_renew(subscription_id=subscription.pk, now=subscription.current_period_end)
        ends.append(subscription.current_period_end.date().isoformat())
    assert ends == ["2026-03-31", "2026-04-30", "2026-05-31"]  # after 2026-02-28


def test_renewal_invoices_continue_the_numbering_without_gaps(customer, basic):
    subscription = subscription_create(customer=customer, plan=basic, start=MARCH)
    session_bill(session_id=session_with_readings().pk)  # a receipt between two plan fees: same series
    subscription_renew(subscription_id=subscription.pk, now=datetime(2026, 4, 1, tzinfo=UTC))
    subscription_renew(subscription_id=subscription.pk, now=datetime(2026, 4, 2, tzinfo=UTC))  # nothing due

    numbers = list(Invoice.objects.order_by("id").values_list("number", "kind"))
    year = timezone.now().year  # numbered in the year they are issued
    assert numbers == [
        (f"INV-{year}-000001", "subscription"),
        (f"INV-{year}-000002", "receipt"),
        (f"INV-{year}-000003", "subscription"),
    ]


def test_a_declined_renewal_makes_the_subscription_past_due_until_paid(customer, basic):
    subscription = subscription_create(customer=customer, plan=basic, start=MARCH)
    customer.payment_methods.update(provider_reference=DECLINED)

    renewed = subscription_renew(subscription_id=subscription.pk, now=datetime(2026, 4, 1, tzinfo=UTC))
    assert renewed.status == Subscription.Status.PAST_DUE
    retried = subscription_renew(subscription_id=subscription.pk, now=datetime(2026, 4, 1, 12, tzinfo=UTC))
    assert Payment.objects.filter(status="failed").count() == 1  # not tried again within a day

    prepaid_top_up(customer=customer, amount=2000, currency="EUR", reference="bank:7")
    paid = subscription_renew(subscription_id=subscription.pk, now=datetime(2026, 4, 1, 13, tzinfo=UTC))
    assert (retried.status, paid.status) == ("past_due", "active")
    assert customer.prepaid_accounts.get().balance == 2000 - 999


def test_cancelled_at_period_end_it_is_not_renewed(customer, basic):
    subscription = subscription_create(customer=customer, plan=basic, start=MARCH)
    subscription_cancel(subscription=subscription)
    ended = subscription_renew(subscription_id=subscription.pk, now=datetime(2026, 4, 1, tzinfo=UTC))
    assert (ended.status, ended.cancelled_at) == ("cancelled", datetime(2026, 4, 1, tzinfo=UTC))
    assert Invoice.objects.count() == 1


def test_a_plan_change_is_prorated_by_days(customer, basic, plus, stripe_api):
    """March has 31 days; changing on 12 March leaves 20 (12–31 March, the change day included).
    Credit 9.99 × 20/31 = 6.445… → 6.45; charge 19.99 × 20/31 = 12.896… → 12.90;
    included kWh 50 + (150 − 50) × 20/31 = 114.516…"""
    subscription = subscription_create(customer=customer, plan=basic, start=MARCH)
    subscription.included_kwh_used = Decimal("30")
    subscription.save()
    at = datetime(2026, 3, 12, 10, tzinfo=UTC)

    changed = subscription_plan_change(subscription=subscription, plan=plus, at=at)

    note = Invoice.objects.get(kind=Invoice.Kind.CREDIT_NOTE)
    charge = Invoice.objects.filter(kind=Invoice.Kind.SUBSCRIPTION).order_by("id").last()
    assert (note.total_gross, note.total_net, note.status) == (Decimal("-6.45"), Decimal("-5.33"), "settled")
    assert note.credited_invoice == Invoice.objects.filter(kind="subscription").order_by("id").first()
    assert note.lines.get().description == "Credit: plan BASIC, 20 of 31 days, 2026-03-12 – 2026-03-31 unused"
    assert (charge.total_gross, charge.total_net) == (Decimal("12.90"), Decimal("10.66"))
    # The credit went to the prepaid balance, which paid the new invoice first; the card paid the rest.
    entries = list(PrepaidEntry.objects.order_by("id").values_list("kind", "amount", "balance_after"))
    assert entries == [("top_up", 645, 645), ("fee_debit", -645, 0)]
    assert (charge.status, charge.amount_prepaid, charge.amount_paid) == ("paid", Decimal("6.45"), Decimal("12.90"))
    assert Payment.objects.get(reference=charge.number).amount_captured == 645
    assert (changed.plan, changed.included_kwh, changed.included_kwh_used) == (plus, Decimal("114.516"), 30)


def test_a_downgrade_leaves_the_difference_on_the_balance(customer, basic, plus):
    subscription = subscription_create(customer=customer, plan=plus, start=MARCH)
    subscription_plan_change(subscription=subscription, plan=basic, at=datetime(2026, 3, 12, 10, tzinfo=UTC))
    # 12.90 credited, 6.45 charged: 6.45 left for sessions and the next fee.
    assert customer.prepaid_accounts.get().balance == 645


def test_the_allowance_never_drops_below_what_was_used(customer, basic, plus):
    proration = plan_change_proration(
        Subscription(
            plan=plus,
            current_period_start=MARCH,
            current_period_end=datetime(2026, 4, 1, tzinfo=UTC),
            included_kwh=Decimal("150"),
            included_kwh_used=Decimal("140"),
        ),
        basic,
        datetime(2026, 3, 31, tzinfo=UTC),
        UTC,
    )
    # 150 − 100 × 1/31 = 146.774 > 140; on 2 March it would be 150 − 100 × 30/31 = 53.2 < 140: stays 140.
    assert (proration.days_left, proration.included_kwh) == (1, Decimal("146.774"))
    early = plan_change_proration(
        Subscription(
            plan=plus,
            current_period_start=MARCH,
            current_period_end=datetime(2026, 4, 1, tzinfo=UTC),
            included_kwh=Decimal("150"),
            included_kwh_used=Decimal("140"),
        ),
        basic,
        datetime(2026, 3, 2, tzinfo=UTC),
        UTC,
    )
    assert early.included_kwh == Decimal("140")


def test_plans_of_another_currency_are_refused(customer, basic):
    subscription = subscription_create(customer=customer, plan=basic, start=MARCH)
    chf = PlanFactory(code="chf", currency="CHF")
    with pytest.raises(PlanError, match="never mixed"):
        subscription_plan_change(subscription=subscription, plan=chf, at=datetime(2026, 3, 5, tzinfo=UTC))


def test_beat_renews_every_tenants_due_subscriptions(tenant, outsider):
    with schema_context(tenant.schema_name):
        start = timezone.now() - timedelta(days=40)
        customer = PaymentCustomerFactory()
        prepaid_top_up(customer=customer, amount=5000, currency="EUR", reference="bank:1")
        subscription = subscription_create(customer=customer, plan=PlanFactory(code="basic"), start=start)

    subscriptions_renew_all.delay()  # eager: every tenant's task, then each due subscription's

    with schema_context(tenant.schema_name):
        renewed = Subscription.objects.get(pk=subscription.pk)
        assert renewed.current_period_end > timezone.now() > renewed.current_period_start
        assert Invoice.objects.filter(subscription=renewed).count() == 2
        assert customer.prepaid_accounts.get().balance == 5000 - 2 * 999


def test_another_tenants_plans_and_subscriptions_are_invisible(tenant, outsider):
    with schema_context(tenant.schema_name):
        customer = PaymentCustomerFactory()
        subscription_create(customer=customer, plan=PlanFactory(code="basic"), start=MARCH)
    with schema_context(outsider.schema_name):
        assert connection.schema_name == outsider.schema_name
        assert (plan_get(code="basic"), plan_list().count(), subscription_list().count()) == (None, 0, 0)
