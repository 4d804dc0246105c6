"""What a payment refuses before any provider is asked: floats, other currencies, a second capture, more than the
hold, refunds beyond what was captured, and actions from the wrong state."""

from decimal import Decimal

import pytest

from apps.billing.exceptions import AmountError, CurrencyMismatchError, PaymentAccountError, PaymentStateError
from apps.billing.models import Payment
from apps.billing.money import from_minor_units, to_minor_units
from apps.billing.services.payments import payment_authorise, payment_cancel, payment_capture, payment_refund
from tests.billing.factories import PaymentFactory, StripeAccountFactory

Status = Payment.Status


def test_floats_are_never_amounts(tenant_schema, stripe_api):
    account = StripeAccountFactory()

    with pytest.raises(AmountError, match="not float"):
        payment_authorise(account=account, amount=12.5, currency="EUR", purpose="invoice")
    with pytest.raises(AmountError, match="not float"):
        payment_capture(payment=PaymentFactory(account=account), amount=10.0, currency="EUR")
    with pytest.raises(AmountError, match="Decimal, not float"):
        to_minor_units(12.5, "EUR")

    assert not stripe_api.requests


def test_decimals_convert_with_the_currencys_minor_unit():
    assert to_minor_units(Decimal("12.34"), "EUR") == 1234
    assert to_minor_units(Decimal("1234"), "JPY") == 1234
    assert to_minor_units(Decimal("1.234"), "KWD") == 1234
    assert to_minor_units(Decimal("0.125"), "EUR") == 13
    assert from_minor_units(1234, "EUR") == Decimal("12.34")


def test_amounts_in_another_currency_are_refused(tenant_schema, stripe_api):
    payment = PaymentFactory(currency="EUR")

    with pytest.raises(CurrencyMismatchError):
        payment_capture(payment=payment, amount=1000, currency="USD")
    captured = PaymentFactory(status=Status.CAPTURED, amount_captured=2500)
    with pytest.raises(CurrencyMismatchError):
        payment_refund(payment=captured, amount=100, currency="GBP")

    assert not stripe_api.requests


def test_a_payment_is_never_captured_twice(tenant_schema, stripe_api):
    payment = PaymentFactory(status=Status.CAPTURED, amount_captured=1800)

    with pytest.raises(PaymentStateError, match="captured once"):
        payment_capture(payment=payment, amount=100, currency="EUR")

    assert not stripe_api.requests


def test_a_capture_above_the_hold_is_refused(tenant_schema, stripe_api):
    payment = PaymentFactory(amount_authorised=2500)

    with pytest.raises(AmountError, match="exceeds the hold"):
        payment_capture(payment=payment, amount=2501, currency="EUR")

    payment.refresh_from_db()
    assert (payment.status, payment.amount_captured, stripe_api.requests) == (Status.AUTHORISED, 0, [])


def test_refunds_never_exceed_what_was_captured(tenant_schema, stripe_api):
    payment = PaymentFactory(status=Status.PARTIALLY_REFUNDED, amount_captured=2000, amount_refunded=1500)

    with pytest.raises(AmountError, match="at most the 5.00 EUR"):
        payment_refund(payment=payment, amount=501, currency="EUR")
    with pytest.raises(PaymentStateError):
        payment_refund(payment=PaymentFactory(), amount=100, currency="EUR")  # held, not captured

    assert not stripe_api.requests and not payment.refunds.exists()


def test_a_captured_payment_has_no_hold_to_release(tenant_schema):
    with pytest.raises(PaymentStateError, match="no hold to release"):
        payment_cancel(payment=PaymentFactory(status=Status.CAPTURED, amount_captured=100))


def test_an_inactive_account_takes_no_new_payments(tenant_schema, stripe_api):
    account = StripeAccountFactory(is_active=False)

    with pytest.raises(PaymentAccountError, match="inactive"):
        payment_authorise(account=account, amount=1000, currency="EUR", purpose="invoice")


def test_the_database_refuses_inconsistent_amounts(tenant_schema):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentFactory(amount_authorised=100, amount_captured=200)
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentFactory(amount_captured=100, amount_refunded=200)
    with pytest.raises(IntegrityError), transaction.atomic():
        PaymentFactory(currency="eur")
