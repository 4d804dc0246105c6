"""Operators connect the tenant's provider accounts (secrets never shown again) and capture, release or refund
payments from the admin; other tenants' payments are not there."""

import html
import re

from django.test import Client
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.billing.models import Payment, PaymentAccount
from tests.accounts.factories import PASSWORD, UserFactory
from tests.billing.factories import PaymentFactory, StripeAccountFactory

PAYMENTS = "/admin/billing/payment/"
ACCOUNTS = "/admin/billing/paymentaccount/"


def login(tenant, role=Role.OWNER, host="alpha.localhost") -> Client:
    with schema_context(tenant.schema_name):
        user = UserFactory(role=role)
    client = Client(HTTP_HOST=host)
    assert client.post("/admin/login/", {"username": user.email, "password": PASSWORD}).status_code == 302
    return client


def text_of(response) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", response.content.decode())))


def test_account_secrets_are_write_only(tenant):
    client = login(tenant)

    created = client.post(
        f"{ACCOUNTS}add/",
        {
            "provider": "stripe",
            "mode": "test",
            "is_active": "on",
            "secret_key": "sk_test_TOPSECRET",
            "webhook_secret": "whsec_TOPSECRET",
        },
    )
    with schema_context(tenant.schema_name):
        account = PaymentAccount.objects.get()
    page = client.get(f"{ACCOUNTS}{account.pk}/change/").content.decode()
    listing = text_of(client.get(ACCOUNTS))
    kept = client.post(
        f"{ACCOUNTS}{account.pk}/change/",
        {"provider": "stripe", "mode": "live", "is_active": "on", "secret_key": "", "webhook_secret": ""},
    )

    assert created.status_code == kept.status_code == 302
    assert "TOPSECRET" not in page and "Saved (hidden)" in page
    assert "https://alpha.localhost/billing/webhooks/stripe/" in page
    assert "secret key, webhook secret saved" in listing
    with schema_context(tenant.schema_name):
        account.refresh_from_db()
        assert (account.mode, account.secret_key, account.webhook_secret) == (
            "live",
            "sk_test_TOPSECRET",
            "whsec_TOPSECRET",
        )


def test_an_account_form_names_what_its_provider_needs(tenant):
    client = login(tenant)

    stripe = text_of(client.post(f"{ACCOUNTS}add/", {"provider": "stripe", "mode": "test", "webhook_secret": "w"}))
    adyen = text_of(
        client.post(f"{ACCOUNTS}add/", {"provider": "adyen", "mode": "test", "api_key": "k", "hmac_key": "xyz"})
    )

    assert "Either the tenant's own secret key or a Connect account id" in stripe
    assert "The HMAC key is hexadecimal" in adyen and "Required for this provider." in adyen


def test_an_operator_captures_the_final_amount_from_the_admin(tenant, stripe_api):
    with schema_context(tenant.schema_name):
        payment = PaymentFactory(provider_reference="pi_1", amount_authorised=2500)
    stripe_api.intents["pi_1"] = {
        "id": "pi_1",
        "object": "payment_intent",
        "amount": 2500,
        "amount_capturable": 2500,
        "amount_received": 0,
        "currency": "eur",
        "status": "requires_capture",
    }
    client = login(tenant)
    action = {"action": "capture_payment", "_selected_action": [payment.pk]}

    form = text_of(client.post(PAYMENTS, action))
    too_much = text_of(client.post(PAYMENTS, {**action, "apply": "1", "amount": "25.01"}, follow=True))
    done = client.post(PAYMENTS, {**action, "apply": "1", "amount": "18.30"}, follow=True)

    assert "At most 25.00 EUR" in form
    assert "exceeds the hold of 25.00 EUR" in too_much
    assert "Captured, 18.30 EUR." in text_of(done)
    with schema_context(tenant.schema_name):
        payment.refresh_from_db()
        assert (payment.status, payment.amount_captured) == (Payment.Status.CAPTURED, 1830)
        assert payment.events.get().actor.role == Role.OWNER


def test_a_refund_from_the_admin_and_only_this_tenants_payments_listed(tenant, outsider, stripe_api):
    with schema_context(tenant.schema_name):
        payment = PaymentFactory(
            provider_reference="pi_1", reference="alpha-session", status=Payment.Status.CAPTURED, amount_captured=2000
        )
    with schema_context(outsider.schema_name):
        PaymentFactory(reference="bravo-session")
    stripe_api.intents["pi_1"] = {"id": "pi_1", "currency": "eur"}
    client = login(tenant)

    listing = text_of(client.get(PAYMENTS))
    done = client.post(
        PAYMENTS,
        {"action": "refund_payment", "_selected_action": [payment.pk], "apply": "1", "amount": "5", "reason": "x"},
        follow=True,
    )

    assert "alpha-session" in listing and "bravo-session" not in listing
    assert "refund of 5.00 EUR succeeded." in text_of(done)
    with schema_context(tenant.schema_name):
        payment.refresh_from_db()
        assert (payment.status, payment.amount_refunded) == (Payment.Status.PARTIALLY_REFUNDED, 500)


def test_read_only_staff_see_payments_but_cannot_capture(tenant):
    with schema_context(tenant.schema_name):
        StripeAccountFactory()
        PaymentFactory()
    client = login(tenant, role=Role.READ_ONLY)

    page = client.get(PAYMENTS).content.decode()

    assert "capture_payment" not in page and "refund_payment" not in page
