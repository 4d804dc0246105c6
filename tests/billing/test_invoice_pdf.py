"""The invoice PDF speaks the customer's language, else the tenant's default language, with that language's
labels, line texts and number format; English stays as it was."""

from datetime import UTC, datetime

from django.db import connection
from django.utils import translation

from apps.billing.models import Invoice
from apps.billing.pdf import invoice_pdf
from apps.billing.services.cdrs import cdr_credit
from apps.billing.services.invoices import invoice_for_cdr
from apps.billing.services.plans import subscription_create
from apps.whitelabel.models import Tenant
from tests.accounts.factories import DriverFactory
from tests.billing.factories import PaymentCustomerFactory, PlanFactory, StoredPaymentMethodFactory, session_billed

GERMAN = (b"Datum", b"Beschreibung", b"Menge", b"Brutto", b"Summe", b"Energie", b"Startgeb", b"Bezahlt")
MARCH = datetime(2026, 3, 1, tzinfo=UTC)
ENGLISH = (b"Date", b"Description", b"Quantity", b"Gross", b"Total", b"Energy", b"Session fee", b"Paid")


def _tenant_speaks(language: str) -> None:
    Tenant.objects.filter(schema_name=connection.schema_name).update(default_locale=language)


def test_a_german_tenants_invoice_has_german_labels_and_numbers(tenant_schema):
    _tenant_speaks("de")
    _, _, receipt = session_billed()

    pdf = invoice_pdf(receipt)

    assert all(label in pdf for label in GERMAN)
    assert b"Description" not in pdf and b"Quantity" not in pdf
    assert b"5,99 EUR" in pdf and b"5.99 EUR" not in pdf  # German decimal comma
    assert b"Beleg" in pdf  # the title of a receipt


def test_an_english_tenants_invoice_is_unchanged_whatever_language_is_active(tenant_schema):
    _, _, receipt = session_billed()

    with translation.override("de"):  # e.g. a German operator downloads it from the admin
        pdf = invoice_pdf(receipt)

    assert all(label in pdf for label in ENGLISH)
    assert b"5.99 EUR" in pdf and b"Beschreibung" not in pdf


def test_the_customers_own_language_beats_the_tenants(tenant_schema):
    _tenant_speaks("de")
    _, _, receipt = session_billed()
    customer = PaymentCustomerFactory(user=DriverFactory(locale="en"))
    Invoice.objects.filter(pk=receipt.pk).update(customer=customer)
    receipt.refresh_from_db()

    pdf = invoice_pdf(receipt)

    assert all(label in pdf for label in ENGLISH) and b"Beschreibung" not in pdf


def test_a_credit_notes_line_texts_are_translated_too(tenant_schema):
    _tenant_speaks("de")
    _, cdr, _ = session_billed()
    note = invoice_for_cdr(cdr=cdr_credit(cdr=cdr, reason="Goodwill"))

    pdf = invoice_pdf(note)

    assert b"Gutschrift: Energie" in pdf and b"Credit: Energy" not in pdf


def test_a_plan_fee_invoice_is_titled_invoice(tenant_schema, stripe_api):
    _tenant_speaks("de")
    customer = StoredPaymentMethodFactory().customer
    subscription = subscription_create(customer=customer, plan=PlanFactory(code="basic"), start=MARCH)
    invoice = Invoice.objects.get(subscription=subscription)

    pdf = invoice_pdf(invoice)

    assert b"Rechnung" in pdf and invoice.number.encode() in pdf
