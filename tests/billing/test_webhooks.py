"""Webhooks arrive on the tenant's own domain, signed as each provider documents: verified ones apply once, anything
unsigned, mis-signed, stale or for another tenant changes nothing here."""

import json
import time

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.billing.models import Payment, PaymentEvent, PaymentRefund
from tests.billing.factories import (
    ADYEN_HMAC_KEY,
    STRIPE_WEBHOOK_SECRET,
    AdyenAccountFactory,
    PaymentFactory,
    StripeAccountFactory,
)
from tests.billing.fakes import (
    adyen_item,
    adyen_notification,
    stripe_event,
    stripe_intent,
    stripe_signature,
)

Status = Payment.Status
Outcome = PaymentEvent.Outcome
STRIPE_URL = "/billing/webhooks/stripe/"
ADYEN_URL = "/billing/webhooks/adyen/"


def post_stripe(body: str, *, host="alpha.localhost", secret=STRIPE_WEBHOOK_SECRET, signature=None, **headers):
    signature = stripe_signature(body, secret) if signature is None else signature
    return Client(HTTP_HOST=host).post(
        STRIPE_URL, body, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature, **headers
    )


def post_adyen(body: str, *, host="alpha.localhost"):
    return Client(HTTP_HOST=host).post(ADYEN_URL, body, content_type="application/json")


def captured_event(intent_id: str, amount: int, *, event_id="evt_1", currency="eur") -> str:
    intent = stripe_intent(intent_id, status="succeeded", amount=2500, amount_received=amount, currency=currency)
    return stripe_event("payment_intent.succeeded", intent, event_id=event_id)


@pytest.fixture
def held(tenant) -> Payment:
    with schema_context(tenant.schema_name):
        return PaymentFactory(provider_reference="pi_alpha", amount_authorised=2500)


def reload(tenant, payment: Payment) -> Payment:
    with schema_context(tenant.schema_name):
        return Payment.objects.get(pk=payment.pk)


def events(tenant, **filters) -> list[tuple]:
    with schema_context(tenant.schema_name):
        return list(PaymentEvent.objects.filter(**filters).values_list("event_id", "outcome"))


# Stripe


def test_a_signed_stripe_event_captures_the_payment(tenant, held):
    response = post_stripe(captured_event("pi_alpha", 1830))

    payment = reload(tenant, held)
    assert response.status_code == 200
    assert (payment.status, payment.amount_captured) == (Status.CAPTURED, 1830)
    assert events(tenant) == [("evt_1", Outcome.APPLIED)]


def test_a_stripe_hold_confirmed_by_webhook_becomes_authorised(tenant):
    with schema_context(tenant.schema_name):
        payment = PaymentFactory(provider_reference="pi_3ds", status=Status.REQUIRES_ACTION)
    intent = stripe_intent("pi_3ds", status="requires_capture", amount=2500, amount_capturable=2500)

    post_stripe(stripe_event("payment_intent.amount_capturable_updated", intent, event_id="evt_auth"))

    assert (reload(tenant, payment).status, reload(tenant, payment).amount_authorised) == (Status.AUTHORISED, 2500)


@pytest.mark.parametrize(
    "signature",
    [
        "",  # no header
        "t=1700000000",  # no v1
        "garbage",
        "t={now},v1=" + "0" * 64,  # wrong digest
        "WRONG_SECRET",
        "STALE",  # signed correctly, 10 minutes ago
    ],
)
def test_a_badly_signed_stripe_event_is_refused_and_changes_nothing(tenant, held, signature):
    body = captured_event("pi_alpha", 1830)
    if signature == "WRONG_SECRET":
        signature = stripe_signature(body, "whsec_someone_else")
    elif signature == "STALE":
        signature = stripe_signature(body, STRIPE_WEBHOOK_SECRET, timestamp=int(time.time()) - 600)
    else:
        signature = signature.format(now=int(time.time()))

    response = post_stripe(body, signature=signature)

    assert response.status_code == 400
    assert reload(tenant, held).status == Status.AUTHORISED
    assert events(tenant) == []


def test_a_tampered_body_fails_its_signature(tenant, held):
    body = captured_event("pi_alpha", 1830)
    signature = stripe_signature(body, STRIPE_WEBHOOK_SECRET)

    response = post_stripe(body.replace("1830", "2500"), signature=signature)

    assert response.status_code == 400 and reload(tenant, held).amount_captured == 0


def test_a_redelivered_stripe_event_applies_once(tenant, held):
    body = captured_event("pi_alpha", 1830)

    answers = [post_stripe(body).status_code for _ in range(3)]

    assert answers == [200, 200, 200]
    assert reload(tenant, held).amount_captured == 1830
    assert events(tenant) == [("evt_1", Outcome.APPLIED)]


def test_a_second_capture_by_webhook_is_refused(tenant, held):
    post_stripe(captured_event("pi_alpha", 1830, event_id="evt_1"))

    same = post_stripe(captured_event("pi_alpha", 1830, event_id="evt_2"))
    other = post_stripe(captured_event("pi_alpha", 2000, event_id="evt_3"))

    assert same.status_code == other.status_code == 200  # delivered; Stripe must not retry
    assert reload(tenant, held).amount_captured == 1830
    assert events(tenant) == [("evt_1", Outcome.APPLIED), ("evt_2", Outcome.IGNORED), ("evt_3", Outcome.REFUSED)]


def test_an_event_in_another_currency_is_refused(tenant, held):
    post_stripe(captured_event("pi_alpha", 1830, currency="usd"))

    assert reload(tenant, held).status == Status.AUTHORISED
    with schema_context(tenant.schema_name):
        assert "the payment is in EUR" in PaymentEvent.objects.get().detail


def test_a_live_event_is_refused_by_a_test_account(tenant, held):
    intent = stripe_intent("pi_alpha", status="succeeded", amount=2500, amount_received=1000)

    post_stripe(stripe_event("payment_intent.succeeded", intent, event_id="evt_live", livemode=True))

    assert reload(tenant, held).status == Status.AUTHORISED
    assert events(tenant) == [("evt_live", Outcome.REFUSED)]


def test_a_refund_made_in_the_stripe_dashboard_is_recorded_and_a_failed_one_given_back(tenant):
    with schema_context(tenant.schema_name):
        payment = PaymentFactory(provider_reference="pi_alpha", status=Status.CAPTURED, amount_captured=2000)
    refund = {"id": "re_9", "object": "refund", "amount": 700, "currency": "eur", "payment_intent": "pi_alpha"}

    post_stripe(stripe_event("refund.created", {**refund, "status": "succeeded"}, event_id="evt_r1"))
    partly = reload(tenant, payment)
    post_stripe(stripe_event("refund.failed", {**refund, "status": "failed"}, event_id="evt_r2"))

    assert (partly.status, partly.amount_refunded) == (Status.PARTIALLY_REFUNDED, 700)
    assert (reload(tenant, payment).status, reload(tenant, payment).amount_refunded) == (Status.CAPTURED, 0)
    with schema_context(tenant.schema_name):
        assert PaymentRefund.objects.get().status == PaymentRefund.Status.FAILED


def test_a_refund_above_what_was_captured_is_refused(tenant):
    with schema_context(tenant.schema_name):
        payment = PaymentFactory(provider_reference="pi_alpha", status=Status.CAPTURED, amount_captured=500)
    refund = {"id": "re_9", "object": "refund", "amount": 700, "currency": "eur", "payment_intent": "pi_alpha"}

    post_stripe(stripe_event("refund.created", {**refund, "status": "succeeded"}, event_id="evt_r1"))

    assert reload(tenant, payment).amount_refunded == 0
    assert events(tenant) == [("evt_r1", Outcome.REFUSED)]


def test_events_payments_do_not_act_on_are_logged_and_answered(tenant):
    with schema_context(tenant.schema_name):
        StripeAccountFactory()

    response = post_stripe(stripe_event("customer.created", {"id": "cus_1", "object": "customer"}, event_id="evt_c"))

    assert response.status_code == 200 and events(tenant) == [("evt_c", Outcome.IGNORED)]


def test_a_signed_body_that_is_not_an_event_is_refused(tenant, held):
    assert post_stripe('{"hello": "world"}').status_code == 400
    assert post_stripe("not json").status_code == 400


# Tenants


def test_a_webhook_on_another_tenants_domain_never_touches_this_tenants_payment(tenant, outsider, held):
    with schema_context(outsider.schema_name):
        StripeAccountFactory(webhook_secret="whsec_bravo")
    body = captured_event("pi_alpha", 1830)

    with_alphas_secret = post_stripe(body, host="bravo.localhost")  # Bravo's secret does not verify it
    with_bravos_secret = post_stripe(body, host="bravo.localhost", secret="whsec_bravo")

    assert with_alphas_secret.status_code == 400
    assert with_bravos_secret.status_code == 200
    assert reload(tenant, held).status == Status.AUTHORISED
    assert events(tenant) == []
    assert events(outsider) == [("evt_1", Outcome.UNMATCHED)]


def test_the_same_event_id_at_two_tenants_is_applied_at_each(tenant, outsider, held):
    with schema_context(outsider.schema_name):
        bravo_payment = PaymentFactory(
            account=StripeAccountFactory(webhook_secret="whsec_bravo"), provider_reference="pi_alpha"
        )

    post_stripe(captured_event("pi_alpha", 1830))
    post_stripe(captured_event("pi_alpha", 900), host="bravo.localhost", secret="whsec_bravo")

    assert reload(tenant, held).amount_captured == 1830
    assert reload(outsider, bravo_payment).amount_captured == 900


def test_a_tenant_without_an_account_answers_404_and_unknown_hosts_too(tenant, outsider):
    body = captured_event("pi_alpha", 1830)

    assert post_stripe(body, host="bravo.localhost").status_code == 404
    assert post_stripe(body, host="nobody.localhost").status_code == 404
    assert post_stripe(body, host="localhost").status_code == 404  # the platform's host has no webhooks


def test_webhooks_take_only_post_and_need_no_csrf_token(tenant, held):
    client = Client(HTTP_HOST="alpha.localhost", enforce_csrf_checks=True)
    body = captured_event("pi_alpha", 1830)

    assert client.get(STRIPE_URL).status_code == 405
    response = client.post(
        STRIPE_URL,
        body,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=stripe_signature(body, STRIPE_WEBHOOK_SECRET),
    )
    assert response.status_code == 200


# Adyen


@pytest.fixture
def adyen_held(tenant) -> Payment:
    with schema_context(tenant.schema_name):
        return PaymentFactory(account=AdyenAccountFactory(), provider_reference="8800000000000001")


def test_adyen_notifications_are_verified_and_answered_accepted(tenant, adyen_held):
    capture = adyen_item("CAPTURE", "8800000000000002", value=1999, originalReference="8800000000000001")
    refund = adyen_item("REFUND", "8800000000000003", value=500, originalReference="8800000000000001")

    response = post_adyen(adyen_notification(capture, refund, hex_key=ADYEN_HMAC_KEY))

    payment = reload(tenant, adyen_held)
    assert (response.status_code, response.content) == (200, b"[accepted]")
    assert (payment.status, payment.amount_captured, payment.amount_refunded) == (
        Status.PARTIALLY_REFUNDED,
        1999,
        500,
    )
    assert events(tenant) == [
        ("CAPTURE:8800000000000002:true", Outcome.APPLIED),
        ("REFUND:8800000000000003:true", Outcome.APPLIED),
    ]


def test_one_badly_signed_adyen_item_refuses_the_whole_notification(tenant, adyen_held):
    good = adyen_item("CAPTURE", "8800000000000002", value=1999, originalReference="8800000000000001")
    signed = json.loads(adyen_notification(good, hex_key=ADYEN_HMAC_KEY))["notificationItems"][0]
    forged = adyen_item("REFUND", "8800000000000003", value=1999, originalReference="8800000000000001")
    forged["additionalData"] = {"hmacSignature": signed["NotificationRequestItem"]["additionalData"]["hmacSignature"]}
    body = json.dumps({"live": "false", "notificationItems": [signed, {"NotificationRequestItem": forged}]})

    response = post_adyen(body)
    unsigned = post_adyen(adyen_notification(good, hex_key=None))
    other_key = post_adyen(adyen_notification(good, hex_key="00" * 32))

    assert response.status_code == unsigned.status_code == other_key.status_code == 400
    assert reload(tenant, adyen_held).status == Status.AUTHORISED
    assert events(tenant) == []


def test_a_redelivered_adyen_notification_applies_once_and_a_failed_capture_is_undone(tenant, adyen_held):
    capture = adyen_item("CAPTURE", "8800000000000002", value=1999, originalReference="8800000000000001")
    failed = adyen_item("CAPTURE_FAILED", "8800000000000002", value=1999, originalReference="8800000000000001")

    for _ in range(2):
        post_adyen(adyen_notification(capture, hex_key=ADYEN_HMAC_KEY))
    captured = reload(tenant, adyen_held)
    post_adyen(adyen_notification(failed, hex_key=ADYEN_HMAC_KEY))

    assert (captured.status, captured.amount_captured) == (Status.CAPTURED, 1999)
    assert (reload(tenant, adyen_held).status, reload(tenant, adyen_held).amount_captured) == (Status.AUTHORISED, 0)
    assert len(events(tenant)) == 2


def test_an_adyen_item_for_another_merchant_account_is_ignored(tenant, adyen_held):
    item = adyen_item(
        "CAPTURE", "8800000000000002", value=1999, originalReference="8800000000000001", merchant="BravoECOM"
    )

    post_adyen(adyen_notification(item, hex_key=ADYEN_HMAC_KEY))

    assert reload(tenant, adyen_held).status == Status.AUTHORISED
    assert events(tenant) == [("CAPTURE:8800000000000002:true", Outcome.IGNORED)]


def test_an_adyen_authorisation_refused_later_fails_the_payment(tenant):
    with schema_context(tenant.schema_name):
        payment = PaymentFactory(
            account=AdyenAccountFactory(), provider_reference="8800000000000009", status=Status.REQUIRES_ACTION
        )
    item = adyen_item("AUTHORISATION", "8800000000000009", value=2500, success=False, reason="Refused")

    post_adyen(adyen_notification(item, hex_key=ADYEN_HMAC_KEY))

    assert (reload(tenant, payment).status, reload(tenant, payment).failure_message) == (Status.FAILED, "Refused")
