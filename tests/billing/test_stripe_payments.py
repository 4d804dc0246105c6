"""Stripe through the real `stripe` library against a fake HTTP layer: holds are PaymentIntents with manual capture,
the final amount is captured once, refunds add up to at most what was captured."""

import pytest
from django.test import override_settings

from apps.billing.exceptions import PaymentAccountError, ProviderError
from apps.billing.models import Payment, PaymentEvent, PaymentRefund
from apps.billing.services.payments import (
    payment_authorise,
    payment_cancel,
    payment_capture,
    payment_customer_create,
    payment_method_attach,
    payment_refund,
)
from tests.billing.factories import PaymentCustomerFactory, StoredPaymentMethodFactory, StripeAccountFactory
from tests.billing.fakes import DECLINED, NEEDS_3DS

Status = Payment.Status


def hold(amount=2500, method="pm_card_visa", **kwargs) -> Payment:
    payment_method = StoredPaymentMethodFactory(provider_reference=method)
    return payment_authorise(
        account=payment_method.customer.account,
        amount=amount,
        currency="EUR",
        purpose="charging_session",
        reference="17",
        payment_method=payment_method,
        **kwargs,
    )


def test_a_customer_and_a_card_are_stored_with_stripe(tenant_schema, stripe_api):
    account = StripeAccountFactory()

    customer = payment_customer_create(account=account, reference="user-7", email="ada@example.test")
    method = payment_method_attach(customer=customer, payment_method="pm_card_visa")

    create, attach = stripe_api.requests
    assert (create.path, create.params["email"]) == ("/v1/customers", "ada@example.test")
    assert create.headers["Authorization"] == "Bearer sk_test_alpha"
    assert create.headers["Idempotency-Key"] == "alpha:customer:user-7"
    assert (attach.path, attach.params) == ("/v1/payment_methods/pm_card_visa/attach", {"customer": "cus_1"})
    assert customer.provider_reference == "cus_1"
    assert (method.brand, method.last4, method.expiry_month, method.expiry_year) == ("visa", "4242", 12, 2031)
    assert method.is_default


def test_a_hold_is_a_confirmed_payment_intent_with_manual_capture(tenant_schema, stripe_api):
    payment = hold(2500, description="Session at Depot")

    request = stripe_api.requests[-1]
    assert request.path == "/v1/payment_intents"
    assert request.params["amount"] == "2500" and request.params["currency"] == "eur"
    assert request.params["capture_method"] == "manual" and request.params["confirm"] == "true"
    assert request.params["customer"].startswith("cus_") and request.params["payment_method"] == "pm_card_visa"
    assert request.headers["Idempotency-Key"] == f"alpha:payment:{payment.pk}:authorise"
    assert (payment.status, payment.amount_authorised, payment.provider_reference) == (Status.AUTHORISED, 2500, "pi_1")
    assert payment.authorised_at is not None
    assert list(payment.events.values_list("kind", "outcome", "source")) == [("authorise", "applied", "api")]


def test_the_final_amount_is_captured_and_the_rest_of_the_hold_released(tenant_schema, stripe_api):
    payment = hold(2500)

    payment = payment_capture(payment=payment, amount=1830, currency="EUR")

    request = stripe_api.requests[-1]
    assert (request.path, request.params) == ("/v1/payment_intents/pi_1/capture", {"amount_to_capture": "1830"})
    assert (payment.status, payment.amount_captured) == (Status.CAPTURED, 1830)
    assert stripe_api.intents["pi_1"]["amount_received"] == 1830


def test_a_declined_card_leaves_a_failed_payment_with_the_decline_code(tenant_schema):
    payment = hold(2500, method=DECLINED)

    assert (payment.status, payment.failure_code) == (Status.FAILED, "insufficient_funds")
    assert payment.events.get().outcome == PaymentEvent.Outcome.FAILED


def test_a_card_asking_for_3ds_leaves_the_client_secret_for_the_drivers_app(tenant_schema):
    payment = hold(2500, method=NEEDS_3DS)

    assert (payment.status, payment.client_secret) == (Status.REQUIRES_ACTION, "pi_1_secret_x")


def test_a_request_stripe_refuses_leaves_a_failed_payment_and_raises(tenant_schema, stripe_api):
    stripe_api.fail_next = (400, {"error": {"type": "invalid_request_error", "message": "No such customer"}})

    with pytest.raises(ProviderError, match="No such customer"):
        hold(2500)

    payment = Payment.objects.get()
    assert payment.status == Status.FAILED and payment.failure_message == "No such customer"
    assert payment.events.get().outcome == PaymentEvent.Outcome.FAILED


def test_a_server_error_is_retried_with_the_same_idempotency_key(tenant_schema, stripe_api):
    stripe_api.fail_next = (500, {"error": {"type": "api_error", "message": "Try again"}})

    payment = hold(2500)

    first, retry = stripe_api.requests[-2:]
    assert first.headers["Idempotency-Key"] == retry.headers["Idempotency-Key"]
    assert payment.status == Status.AUTHORISED


def test_releasing_a_hold_cancels_the_intent(tenant_schema, stripe_api):
    payment = payment_cancel(payment=hold(2500))

    assert stripe_api.requests[-1].path == "/v1/payment_intents/pi_1/cancel"
    assert payment.status == Status.CANCELLED and payment.cancelled_at is not None


def test_capturing_nothing_releases_the_hold(tenant_schema, stripe_api):
    payment = payment_capture(payment=hold(2500), amount=0, currency="EUR")

    assert stripe_api.requests[-1].path == "/v1/payment_intents/pi_1/cancel"
    assert (payment.status, payment.amount_captured) == (Status.CANCELLED, 0)


def test_partial_refunds_add_up_to_a_full_refund(tenant_schema, stripe_api):
    payment = payment_capture(payment=hold(2500), amount=2000, currency="EUR")

    first = payment_refund(payment=payment, amount=500, currency="EUR", reason="Slow charging")
    payment.refresh_from_db()
    assert (payment.status, payment.amount_refunded, payment.refundable) == (Status.PARTIALLY_REFUNDED, 500, 1500)
    second = payment_refund(payment=payment, amount=1500, currency="EUR")

    payment.refresh_from_db()
    refunds = [request for request in stripe_api.requests if request.path == "/v1/refunds"]
    assert [request.params for request in refunds] == [
        {"payment_intent": "pi_1", "amount": "500"},
        {"payment_intent": "pi_1", "amount": "1500"},
    ]
    assert refunds[0].headers["Idempotency-Key"] == f"alpha:refund:{first.pk}"
    assert (first.status, second.status) == ("succeeded", "succeeded")
    assert first.provider_reference.startswith("re_") and first.provider_reference != second.provider_reference
    assert (payment.status, payment.amount_refunded) == (Status.REFUNDED, 2000)
    assert PaymentRefund.objects.count() == 2


@override_settings(STRIPE_PLATFORM_SECRET_KEY="sk_test_platform")
def test_a_connected_account_is_charged_with_the_platform_key_and_its_stripe_account(tenant_schema, stripe_api):
    account = StripeAccountFactory(secret_key="", connect_account_id="acct_alpha")
    method = StoredPaymentMethodFactory(customer=PaymentCustomerFactory(account=account))

    payment_authorise(account=account, amount=1000, currency="EUR", purpose="invoice", payment_method=method)

    request = stripe_api.requests[-1]
    assert request.headers["Authorization"] == "Bearer sk_test_platform"
    assert request.headers["Stripe-Account"] == "acct_alpha"


def test_a_connected_account_without_the_platform_key_cannot_pay(tenant_schema, stripe_api):
    account = StripeAccountFactory(secret_key="", connect_account_id="acct_alpha")

    with pytest.raises(PaymentAccountError, match="STRIPE_PLATFORM_SECRET_KEY"):
        payment_authorise(account=account, amount=1000, currency="EUR", purpose="invoice")

    assert not stripe_api.requests and not Payment.objects.exists()
