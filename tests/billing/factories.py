"""Billing factories; build them inside the tenant's schema (the `tenant_schema` fixture or `schema_context`)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory

from apps.billing.models import (
    Cdr,
    Invoice,
    Payment,
    PaymentAccount,
    PaymentCustomer,
    Plan,
    Provider,
    StoredPaymentMethod,
)
from apps.billing.services.cdrs import cdr_issue
from apps.billing.services.invoices import invoice_for_cdr
from apps.sessions.models import ChargingSession, IdToken, MeterSample
from tests.stations.factories import LocationFactory, StationFactory
from tests.tariffs.factories import ConnectorFactory, TariffAssignmentFactory

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


# --- sessions to bill ---------------------------------------------------------------------------------------------

# 0.35/kWh, 1.20/h parked (per minute), a 0.50 session fee; 21 % VAT on all.
BILLING_ELEMENTS = [
    {
        "price_components": [
            {"type": "FLAT", "price": "0.50", "vat": "21", "step_size": 1},
            {"type": "ENERGY", "price": "0.35", "vat": "21", "step_size": 1},
            {"type": "PARKING_TIME", "price": "1.20", "vat": "21", "step_size": 60},
        ]
    }
]
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def session_with_readings(
    *,
    readings=((0, 1000, 11000), (30, 6500, 11000), (60, 12000, 0), (90, 12000, 0)),
    tariff: bool = True,
    status: str = ChargingSession.Status.COMPLETED,
    id_token: IdToken | None = None,
    signed: bool = False,
    station=None,
) -> ChargingSession:
    """An ended session at a station of a located site with a connector, its meter samples (minutes after T0,
    register Wh, power W) and, unless `tariff=False`, BILLING_ELEMENTS assigned to the location. Build it in the
    tenant's schema."""
    if station is None:
        connector = ConnectorFactory(evse__station=StationFactory(location=LocationFactory()))
        station = connector.evse.station
        if tariff:
            TariffAssignmentFactory(location=station.location, tariff__elements=BILLING_ELEMENTS)
    first, last = readings[0], readings[-1]
    session = ChargingSession.objects.create(
        station=station,
        evse_id=1,
        connector_id=1,
        transaction_id=f"TX-{ChargingSession.objects.count() + 1}",
        status=status,
        id_token=id_token,
        id_token_uid=id_token.uid if id_token else "",
        id_token_type=id_token.type if id_token else "",
        authorization_status="Accepted",
        started_at=T0 + timedelta(minutes=first[0]),
        stopped_at=T0 + timedelta(minutes=last[0]),
        meter_start_wh=Decimal(first[1]),
        meter_stop_wh=Decimal(last[1]),
        energy_wh=Decimal(last[1] - first[1]),
    )
    samples = []
    for index, (minute, register, power) in enumerate(readings):
        at = T0 + timedelta(minutes=minute)
        context = "Transaction.Begin" if index == 0 else "Transaction.End" if index == len(readings) - 1 else ""
        for measurand, unit, value in (
            ("Energy.Active.Import.Register", "Wh", register),
            ("Power.Active.Import", "W", power),
        ):
            samples.append(
                MeterSample(
                    station=station,
                    session=session,
                    evse_id=1,
                    sampled_at=at,
                    measurand=measurand,
                    unit=unit,
                    context=context,
                    value=Decimal(value),
                    value_normalised=Decimal(value),
                    signed_data=f'OCMF|{{"RD":[{{"RV":{register}}}]}}|{{"SD":"30450221"}}'
                    if signed and measurand.startswith("Energy") and context
                    else "",
                )
            )
    MeterSample.objects.bulk_create(samples)
    return session


def session_billed(**kwargs) -> tuple[ChargingSession, Cdr, Invoice]:
    """An ended session (`session_with_readings(**kwargs)`) with its CDR issued and its receipt. Build it in the
    tenant's schema."""
    session = session_with_readings(**kwargs)
    cdr = cdr_issue(session=session)
    return session, cdr, invoice_for_cdr(cdr=cdr)


# --- plans ---------------------------------------------------------------------------------------------------------


class PlanFactory(factory.django.DjangoModelFactory):
    """A EUR plan: 9.99 a month incl. 21 % VAT, 50 kWh included."""

    class Meta:
        model = Plan
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"plan-{n}")
    name = factory.LazyAttribute(lambda plan: plan.code.upper())
    currency = "EUR"
    monthly_fee = Decimal("9.99")
    vat_rate = Decimal("21")
    included_kwh = Decimal("50")


def session_charged(station, token_uid: str, capture, *, meter_stop_wh=Decimal(12000)):
    """A session with `token_uid` on EVSE 1 of `station`, started at T0 with 1 kWh on the register and stopped 90
    minutes later, as the station reports them; `capture` (django_capture_on_commit_callbacks) runs what each step
    leaves for after its commit (the billing tasks, pushes)."""
    from apps.sessions.models import ChargingSession
    from apps.sessions.services import session_start, session_stop

    with capture(execute=True):
        started = session_start(
            station_id=station.pk,
            evse_id=1,
            connector_id=1,
            id_token_uid=token_uid,
            meter_start_wh=Decimal(1000),
            started_at=T0,
        )
    with capture(execute=True):
        session_stop(
            station_id=station.pk,
            transaction_id=started.session.transaction_id,
            meter_stop_wh=meter_stop_wh,
            stopped_at=T0 + timedelta(minutes=90),
        )
    return ChargingSession.objects.get(pk=started.session.pk)
