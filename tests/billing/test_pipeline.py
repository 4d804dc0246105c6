"""The pipeline: a session starts (hold on the driver's card), ends (after commit: CDR, receipt, capture of the
receipt's total from the hold); run twice, or twice at once, it bills once."""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from apps.billing.models import Cdr, Invoice, Payment, PaymentCustomerToken
from apps.billing.services.sessions import SESSION_PAYMENT_PURPOSE, session_bill
from apps.billing.tasks import session_bill_task
from apps.sessions.services import session_evse_freed, session_start, session_stop
from tests.billing.factories import (
    BILLING_ELEMENTS,
    T0,
    PaymentFactory,
    StoredPaymentMethodFactory,
    session_charged,
    session_with_readings,
)
from tests.sessions.factories import IdTokenFactory
from tests.stations.factories import LocationFactory, StationFactory
from tests.tariffs.factories import ConnectorFactory, TariffAssignmentFactory


@pytest.fixture
def station(tenant_schema):
    connector = ConnectorFactory(evse__station=StationFactory(location=LocationFactory()))
    TariffAssignmentFactory(location=connector.evse.station.location, tariff__elements=BILLING_ELEMENTS)
    return connector.evse.station


@pytest.fixture
def paying_token(tenant_schema):
    token = IdTokenFactory(uid="DRIVER-1")
    method = StoredPaymentMethodFactory()
    PaymentCustomerToken.objects.create(customer=method.customer, id_token=token)
    return token


def test_a_session_is_held_at_start_and_captured_at_the_end(
    station, paying_token, stripe_api, django_capture_on_commit_callbacks
):
    session = session_charged(station, "DRIVER-1", django_capture_on_commit_callbacks)
    payment = Payment.objects.get(purpose=SESSION_PAYMENT_PURPOSE, reference=str(session.pk))
    cdr = Cdr.objects.get(session=session)
    invoice = Invoice.objects.get(cdr=cdr)
    # 11 kWh × 0.35 + 0.50 fee = 4.35 excl., 5.26 incl. 21 % VAT; charging all along, so no parking.
    assert (cdr.total_excl_vat, cdr.total_incl_vat) == (Decimal("4.35"), Decimal("5.26"))
    assert (payment.status, payment.amount_authorised, payment.amount_captured) == ("captured", 5000, 526)
    assert (invoice.status, invoice.amount_paid, invoice.payment) == (Invoice.Status.PAID, Decimal("5.26"), payment)
    paths = [request.path for request in stripe_api.requests]
    assert paths[0] == "/v1/payment_intents" and paths[-1].endswith("/capture")
    assert stripe_api.requests[-1].params["amount_to_capture"] == "526"


def test_the_capture_is_capped_at_the_hold(station, paying_token, settings, django_capture_on_commit_callbacks):
    settings.BILLING_SESSION_HOLD = "3.00"
    session = session_charged(station, "DRIVER-1", django_capture_on_commit_callbacks)
    payment = Payment.objects.get(reference=str(session.pk))
    invoice = Invoice.objects.get(cdr__session=session)
    assert (payment.amount_captured, invoice.status, invoice.amount_paid) == (300, "partially_paid", Decimal("3.00"))


def test_without_a_payment_the_invoice_stays_open(station, django_capture_on_commit_callbacks):
    IdTokenFactory(uid="CARD-9")
    session = session_charged(station, "CARD-9", django_capture_on_commit_callbacks)
    invoice = Invoice.objects.get(cdr__session=session)
    assert (invoice.status, invoice.payment, invoice.total_gross) == (Invoice.Status.OPEN, None, Decimal("5.26"))
    assert not Payment.objects.exists()


def test_running_the_pipeline_twice_bills_once(station, paying_token, stripe_api, django_capture_on_commit_callbacks):
    session = session_charged(station, "DRIVER-1", django_capture_on_commit_callbacks)
    requests = len(stripe_api.requests)
    again = session_bill_task.delay(connection.schema_name, session.pk).get()
    assert again["invoice"] == Invoice.objects.get().number
    assert (Cdr.objects.count(), Invoice.objects.count(), Payment.objects.count()) == (1, 1, 1)
    assert len(stripe_api.requests) == requests  # no second capture


def test_an_interrupted_session_completed_later_is_credited_and_reissued(station, django_capture_on_commit_callbacks):
    IdTokenFactory(uid="CARD-7")
    capture = django_capture_on_commit_callbacks
    with capture(execute=True):
        started = session_start(
            station_id=station.pk, evse_id=1, connector_id=1, id_token_uid="CARD-7",
            meter_start_wh=Decimal(1000), started_at=T0,
        )  # fmt: skip
    with capture(execute=True):
        session_evse_freed(station_id=station.pk, evse_id=1, at=T0 + timedelta(minutes=30))
    first = Cdr.objects.get(session=started.session)
    with capture(execute=True):
        session_stop(
            station_id=station.pk, transaction_id=started.session.transaction_id,
            meter_stop_wh=Decimal(12000), stopped_at=T0 + timedelta(minutes=90),
        )  # fmt: skip
    cdrs = list(Cdr.objects.filter(session=started.session).order_by("id"))
    assert [(cdr.revision, cdr.credit) for cdr in cdrs] == [(0, False), (0, True), (1, False)]
    assert cdrs[1].credit_reference == first
    kinds = sorted(Invoice.objects.values_list("kind", flat=True))
    assert kinds == ["credit_note", "receipt", "receipt"]


def test_no_tariff_gives_a_cdr_for_review_and_no_invoice(tenant_schema):
    session = session_with_readings(tariff=False)
    billed = session_bill(session_id=session.pk)
    assert billed.cdr.needs_review and billed.invoice is None and billed.skipped == "no tariff"


@pytest.mark.django_db(transaction=True)
def test_concurrent_runs_bill_once(tenant, stripe_api):
    with schema_context(tenant.schema_name):
        session = session_with_readings()
        PaymentFactory(reference=str(session.pk), provider_reference="pi_concurrent")
        stripe_api.intents["pi_concurrent"] = {
            "id": "pi_concurrent", "object": "payment_intent", "amount": 2500, "amount_capturable": 2500,
            "amount_received": 0, "currency": "eur", "status": "requires_capture", "last_payment_error": None,
        }  # fmt: skip
    barrier, errors = threading.Barrier(3), []

    def run():
        try:
            barrier.wait()
            session_bill_task.delay(tenant.schema_name, session.pk)  # eager: runs here, in this thread
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with schema_context(tenant.schema_name):
        assert (Cdr.objects.count(), Invoice.objects.count()) == (1, 1)
        payment = Payment.objects.get()
        assert (payment.status, payment.amount_captured) == ("captured", 599)
        assert Invoice.objects.get().status == Invoice.Status.PAID
    assert sum(request.path.endswith("/capture") for request in stripe_api.requests) == 1


def test_the_demo_bills_through_the_offline_sandbox(tenant_schema, stripe_api, django_capture_on_commit_callbacks):
    from apps.whitelabel.management.commands.seed_demo import _billing_ensure

    station = ConnectorFactory(evse__station=StationFactory(location=LocationFactory())).evse.station
    IdTokenFactory(uid="DEMO-TAG-1")
    assert _billing_ensure() and not _billing_ensure()  # idempotent
    session = session_charged(station, "DEMO-TAG-1", django_capture_on_commit_callbacks)
    payment = Payment.objects.get(reference=str(session.pk))
    invoice = Invoice.objects.get(cdr__session=session)
    # 11 kWh × 0.35 = 3.85 excl., 4.66 incl. VAT; captured by the in-process sandbox, never the network.
    assert (payment.status, payment.amount_captured, invoice.status) == ("captured", 466, "paid")
    assert payment.provider_reference.startswith("pi_sandbox_")
    assert stripe_api.requests == []
