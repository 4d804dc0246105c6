"""Billing factories; build them inside the tenant's schema (the `tenant_schema` fixture or `schema_context`)."""

import factory

from apps.billing.models import Payment, PaymentAccount, PaymentCustomer, Provider, StoredPaymentMethod

STRIPE_WEBHOOK_SECRET = "whsec_alpha_test_secret"
ADYEN_HMAC_KEY = "44782DEF547AAA06C910C43932B1EB0C71FC68D9D0C057550C48EC2ACF6BA056"


class StripeAccountFactory(factory.django.DjangoModelFactory):
    """The tenant's own Stripe account (pass `secret_key="", connect_account_id="acct_…"` for Connect)."""

    class Meta:
        model = PaymentAccount
        django_get_or_create = ("provider",)

    provider = Provider.STRIPE
    secret_key = "sk_test_alpha"
    webhook_secret = STRIPE_WEBHOOK_SECRET


class AdyenAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentAccount
        django_get_or_create = ("provider",)

    provider = Provider.ADYEN
    api_key = "AQE_test_api_key"
    merchant_account = "AlphaChargeECOM"
    hmac_key = ADYEN_HMAC_KEY


class PaymentCustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PaymentCustomer

    account = factory.SubFactory(StripeAccountFactory)
    provider_reference = factory.Sequence(lambda n: f"cus_{n}")
    email = factory.Sequence(lambda n: f"driver{n}@example.test")


class StoredPaymentMethodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StoredPaymentMethod

    customer = factory.SubFactory(PaymentCustomerFactory)
    provider_reference = "pm_card_visa"
    brand = "visa"
    last4 = "4242"
    is_default = True


class PaymentFactory(factory.django.DjangoModelFactory):
    """A Stripe payment held for 25.00 EUR; pass status/amounts to start elsewhere."""

    class Meta:
        model = Payment

    account = factory.SubFactory(StripeAccountFactory)
    provider = factory.SelfAttribute("account.provider")
    provider_reference = factory.Sequence(lambda n: f"pi_held_{n}")
    currency = "EUR"
    amount_authorised = 2500
    status = Payment.Status.AUTHORISED
    purpose = "charging_session"
    reference = factory.Sequence(str)
