"""Two webhooks for one payment at the same moment, each in its own thread with its own PostgreSQL connection and
transaction: the payment's row lock makes them apply one after the other, so the payment is settled once."""

import threading
import time

import pytest
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

import apps.billing.services.payments as payments
from apps.billing.models import Payment, PaymentEvent
from tests.billing.factories import STRIPE_WEBHOOK_SECRET, PaymentFactory
from tests.billing.fakes import stripe_event, stripe_intent, stripe_signature

Outcome = PaymentEvent.Outcome


def captured(amount: int, event_id: str) -> str:
    intent = stripe_intent("pi_race", status="succeeded", amount=2500, amount_received=amount)
    return stripe_event("payment_intent.succeeded", intent, event_id=event_id)


def deliver_at_once(bodies: list[str]) -> list[int]:
    """POST each body from its own thread, all released together; the answers' status codes."""
    start = threading.Barrier(len(bodies))
    answers: list[int | None] = [None] * len(bodies)

    def deliver(index: int, body: str) -> None:
        try:
            client = Client(HTTP_HOST="alpha.localhost")
            start.wait(timeout=10)
            answers[index] = client.post(
                "/billing/webhooks/stripe/",
                body,
                content_type="application/json",
                HTTP_STRIPE_SIGNATURE=stripe_signature(body, STRIPE_WEBHOOK_SECRET),
            ).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=deliver, args=(index, body)) for index, body in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return answers


@pytest.fixture
def slow_apply(monkeypatch) -> list[str]:
    """Each webhook holds the payment's lock a while once it has it, so the other one is certainly waiting."""
    original = payments._notification_outcome
    order: list[str] = []

    def slowly(account, payment, notification):
        order.append(notification.event_id)
        time.sleep(0.3)
        return original(account, payment, notification)

    monkeypatch.setattr(payments, "_notification_outcome", slowly)
    return order


@pytest.fixture
def race_payment(tenant) -> Payment:
    with schema_context(tenant.schema_name):
        return PaymentFactory(provider_reference="pi_race", amount_authorised=2500)


@pytest.mark.django_db(transaction=True)
def test_one_event_delivered_twice_at_once_is_applied_once(tenant, race_payment, slow_apply):
    answers = deliver_at_once([captured(1830, "evt_race")] * 2)

    assert answers == [200, 200]
    assert slow_apply == ["evt_race"]  # the second delivery found the first one's row once it had the lock
    with schema_context(tenant.schema_name):
        payment = Payment.objects.get(pk=race_payment.pk)
        assert (payment.status, payment.amount_captured) == (Payment.Status.CAPTURED, 1830)
        assert list(PaymentEvent.objects.values_list("event_id", "outcome")) == [("evt_race", Outcome.APPLIED)]


@pytest.mark.django_db(transaction=True)
def test_two_different_captures_at_once_settle_the_payment_once(tenant, race_payment, slow_apply):
    answers = deliver_at_once([captured(1830, "evt_a"), captured(2100, "evt_b")])

    assert answers == [200, 200]
    with schema_context(tenant.schema_name):
        payment = Payment.objects.get(pk=race_payment.pk)
        outcomes = dict(PaymentEvent.objects.values_list("event_id", "outcome"))
    first, second = slow_apply
    assert (outcomes[first], outcomes[second]) == (Outcome.APPLIED, Outcome.REFUSED)
    assert payment.amount_captured == {"evt_a": 1830, "evt_b": 2100}[first]


@pytest.mark.django_db(transaction=True)
def test_two_starts_of_one_driver_at_the_same_moment_hold_once_and_send_once(tenant, station, stripe_api, monkeypatch):
    """The driver app's double tap: each start in its own thread and transaction; the token's row lock makes the
    second one see the first one's hold and refuse, so the driver is held once and the station asked once."""
    from apps.billing.exceptions import ChargeRefusedError
    from apps.billing.services.driver_charges import driver_charge_start
    from tests.billing.driver import online_evse, paying_driver

    with schema_context(tenant.schema_name):
        driver, evse = paying_driver(), online_evse()
    original = stripe_api._intent_create

    def slow_hold(params):
        time.sleep(0.3)  # the first start holds the token's lock while the provider answers
        return original(params)

    monkeypatch.setattr(stripe_api, "_intent_create", slow_hold)
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def tap() -> None:
        try:
            with schema_context(tenant.schema_name):
                start.wait(timeout=10)
                try:
                    outcomes.append(driver_charge_start(user=driver, evse=evse).command.status)
                except ChargeRefusedError as refused:
                    outcomes.append(refused.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=tap) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["accepted", "start_pending"]
    with schema_context(tenant.schema_name):
        assert Payment.objects.filter(status=Payment.Status.AUTHORISED).count() == 1
    assert len(station.sent) == 1
    assert sum(request.path == "/v1/payment_intents" for request in stripe_api.requests) == 1
