"""Adyen through its official library against a fake HTTP layer: a pre-authorisation with manual capture, then a
capture, cancel or refund that Adyen accepts at once and confirms later by webhook."""

import pytest

from apps.billing.exceptions import ProviderError
from apps.billing.models import Payment, PaymentEvent
from apps.billing.services.payments import (
    payment_authorise,
    payment_cancel,
    payment_capture,
    payment_customer_create,
    payment_method_attach,
    payment_refund,
)
from tests.billing.factories import AdyenAccountFactory, PaymentCustomerFactory, StoredPaymentMethodFactory
from tests.billing.fakes import DECLINED

Status = Payment.Status


def adyen_hold(amount=2500, method="8415718415172204") -> Payment:
    account = AdyenAccountFactory()
    customer = PaymentCustomerFactory(account=account)
    payment_method = StoredPaymentMethodFactory(customer=customer, provider_reference=method)
    return payment_authorise(
        account=account,
        amount=amount,
        currency="EUR",
        purpose="charging_session",
        reference="17",
        payment_method=payment_method,
    )


def test_a_stored_method_is_looked_up_for_the_shopper(tenant_schema, adyen_api):
    account = AdyenAccountFactory()
    customer = payment_customer_create(account=account, reference="user-7", email="ada@example.test")
    adyen_api.stored_methods[customer.provider_reference] = [
        {
            "id": "8415718415172204",
            "type": "scheme",
            "brand": "mc",
            "lastFour": "1115",
            "expiryMonth": "03",
            "expiryYear": "2030",
        }
    ]

    method = payment_method_attach(customer=customer, payment_method="8415718415172204")

    request = adyen_api.requests[-1]
    assert (request.method, request.path) == ("GET", "/v72/storedPaymentMethods")
    assert request.query == {"shopperReference": "alpha:customer:user-7", "merchantAccount": "AlphaChargeECOM"}
    assert request.headers["X-API-KEY"] == "AQE_test_api_key"
    assert (method.brand, method.last4, method.expiry_month, method.expiry_year) == ("mc", "1115", 3, 2030)
    with pytest.raises(ProviderError, match="stores no method"):
        payment_method_attach(customer=customer, payment_method="someone-elses")


def test_a_hold_is_a_pre_authorisation_with_manual_capture(tenant_schema, adyen_api):
    payment = adyen_hold(2500)

    request = adyen_api.requests[-1]
    assert (request.method, request.path) == ("POST", "/v72/payments")
    assert request.params["amount"] == {"value": 2500, "currency": "EUR"}
    assert request.params["merchantAccount"] == "AlphaChargeECOM"
    assert request.params["paymentMethod"] == {"type": "scheme", "storedPaymentMethodId": "8415718415172204"}
    assert request.params["additionalData"] == {"authorisationType": "PreAuth", "manualCapture": "true"}
    assert request.params["reference"] == "charging_session:17"
    assert request.headers["Idempotency-Key"] == f"alpha:payment:{payment.pk}:authorise"
    assert (payment.status, payment.provider_reference, payment.amount_authorised) == (
        Status.AUTHORISED,
        "8800000000000001",
        2500,
    )


def test_a_refused_authorisation_fails_with_adyens_reason(tenant_schema):
    payment = adyen_hold(2500, method=DECLINED)

    assert (payment.status, payment.failure_code, payment.failure_message) == (
        Status.FAILED,
        "51",
        "Not enough balance",
    )


def test_capture_cancel_and_refund_go_to_the_modification_endpoints(tenant_schema, adyen_api):
    captured = payment_capture(payment=adyen_hold(2500), amount=1999, currency="EUR")
    refund = payment_refund(payment=captured, amount=999, currency="EUR")
    released = payment_cancel(payment=adyen_hold(3000))

    _, capture, refund_request, _, cancel = adyen_api.requests
    assert capture.path == f"/v72/payments/{captured.provider_reference}/captures"
    assert capture.params == {"merchantAccount": "AlphaChargeECOM", "amount": {"value": 1999, "currency": "EUR"}}
    assert refund_request.path == f"/v72/payments/{captured.provider_reference}/refunds"
    assert refund_request.params["amount"] == {"value": 999, "currency": "EUR"}
    assert cancel.path == f"/v72/payments/{released.provider_reference}/cancels"
    assert (captured.status, captured.amount_captured) == (Status.CAPTURED, 1999)
    assert (refund.status, refund.provider_reference) == ("pending", "8800000000000003")
    assert released.status == Status.CANCELLED
    assert "confirms by webhook" in captured.events.get(kind="capture").detail


def test_an_error_from_adyen_is_logged_and_raised(tenant_schema, adyen_api):
    payment = adyen_hold(2500)
    adyen_api.fail_next = (422, {"status": 422, "errorCode": "167", "message": "Original pspReference required"})

    with pytest.raises(ProviderError, match="Original pspReference required") as raised:
        payment_capture(payment=payment, amount=100, currency="EUR")

    payment.refresh_from_db()
    assert raised.value.code == "167"
    assert (payment.status, payment.amount_captured) == (Status.AUTHORISED, 0)
    assert payment.events.filter(kind="capture", outcome=PaymentEvent.Outcome.FAILED).exists()
