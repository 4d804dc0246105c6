"""Invoices: receipts from CDRs with a VAT breakdown that adds up to the CDR, credit notes, statements, numbers
without gaps (also under concurrency), a branded PDF, CSV export, and never another brand's invoices."""

import csv
import io
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from apps.billing.exceptions import InvoiceError
from apps.billing.models import Invoice
from apps.billing.pdf import invoice_pdf
from apps.billing.selectors.invoices import CSV_COLUMNS, invoice_csv_rows, invoice_list
from apps.billing.services.cdrs import cdr_credit, cdr_issue
from apps.billing.services.invoices import invoice_for_cdr, invoice_statement_create, tax_table
from tests.billing.factories import session_with_readings
from tests.sessions.factories import IdTokenFactory


def test_a_receipt_adds_up_to_its_cdr_with_a_vat_breakdown(tenant_schema):
    cdr = cdr_issue(session=session_with_readings())
    invoice = invoice_for_cdr(cdr=cdr)
    assert invoice.kind == Invoice.Kind.RECEIPT and invoice.status == Invoice.Status.OPEN
    assert (invoice.total_net, invoice.total_vat, invoice.total_gross) == (
        Decimal("4.95"),
        Decimal("1.04"),
        Decimal("5.99"),
    )
    lines = list(invoice.lines.all())
    assert [line.description for line in lines][:3] == ["Session fee", "Energy", "Parking time"]
    assert lines[1].quantity == Decimal(11) and lines[1].unit == "kWh"
    # Lines are rounded one by one (6.00 incl. VAT), the total is the rounded exact sum: an adjustment line.
    assert lines[-1].gross == Decimal("-0.01") and "adjustment" in lines[-1].description
    assert sum(line.gross for line in lines) == invoice.total_gross
    assert all(line.gross == line.net + line.vat for line in lines)
    assert [(row["vat_rate"], row["net"], row["gross"]) for row in tax_table(lines)] == [
        (Decimal("21.00"), Decimal("4.95"), Decimal("5.99"))
    ]
    assert invoice.number.startswith("INV-2026-")
    assert invoice_for_cdr(cdr=cdr) == invoice  # once per CDR


def test_a_credit_note_credits_the_receipt(tenant_schema):
    cdr = cdr_issue(session=session_with_readings())
    receipt = invoice_for_cdr(cdr=cdr)
    note = invoice_for_cdr(cdr=cdr_credit(cdr=cdr, reason="Goodwill"))
    assert note.kind == Invoice.Kind.CREDIT_NOTE and note.number.startswith("CN-2026-")
    assert note.credited_invoice == receipt
    assert note.total_gross == -receipt.total_gross and note.total_net == -receipt.total_net
    receipt.refresh_from_db()
    assert receipt.status == Invoice.Status.CREDITED


def test_numbers_follow_each_other_per_series(tenant_schema):
    numbers = [invoice_for_cdr(cdr=cdr_issue(session=session_with_readings())).number for _ in range(3)]
    assert [int(number.rsplit("-", 1)[1]) for number in numbers] == [1, 2, 3]


def test_a_statement_lists_a_groups_cdrs_in_one_currency(tenant_schema):
    group = IdTokenFactory(uid="FLEET-1")
    cards = [IdTokenFactory(group=group), IdTokenFactory(group=group)]
    cdrs = [cdr_issue(session=session_with_readings(id_token=card)) for card in cards]
    cdr_issue(session=session_with_readings(id_token=IdTokenFactory()))  # another customer's
    start = cdrs[0].issued_at - timedelta(days=1)
    statement = invoice_statement_create(
        group_uid="FLEET-1", currency="EUR", period_start=start, period_end=start + timedelta(days=31)
    )
    assert statement.kind == Invoice.Kind.STATEMENT and statement.number.startswith("STM-")
    assert {line.cdr for line in statement.lines.all()} == set(cdrs)
    assert statement.total_gross == Decimal("11.98")
    with pytest.raises(InvoiceError):
        invoice_statement_create(
            group_uid="FLEET-1", currency="GBP", period_start=start, period_end=start + timedelta(days=31)
        )


def test_the_pdf_is_branded_and_names_the_invoice(tenant_schema):
    invoice = invoice_for_cdr(cdr=cdr_issue(session=session_with_readings()))
    pdf = invoice_pdf(invoice)
    assert pdf.startswith(b"%PDF")
    assert invoice.number.encode() in pdf
    assert b"Alpha Charge" in pdf
    assert b"5.99 EUR" in pdf and b"21" in pdf


def test_csv_export_columns(tenant_schema):
    invoice = invoice_for_cdr(cdr=cdr_issue(session=session_with_readings()))
    text = io.StringIO()
    csv.writer(text).writerows(invoice_csv_rows(invoice_list()))
    rows = list(csv.DictReader(io.StringIO(text.getvalue())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[0]["number"] == invoice.number
    assert (rows[0]["total_net"], rows[0]["total_vat"], rows[0]["total_gross"]) == ("4.950", "1.040", "5.990")
    assert rows[0]["cdr_id"] == invoice.cdr.cdr_id


def test_another_brands_invoices_are_never_visible(tenant, outsider):
    with schema_context(outsider.schema_name):
        theirs = invoice_for_cdr(cdr=cdr_issue(session=session_with_readings()))
    with schema_context(tenant.schema_name):
        assert theirs.number not in {invoice.number for invoice in invoice_list()}
        assert invoice_list().count() == 0


@pytest.mark.django_db(transaction=True)
def test_concurrent_invoices_get_consecutive_numbers(tenant):
    with schema_context(tenant.schema_name):
        cdrs = [cdr_issue(session=session_with_readings()) for _ in range(8)]
    errors = []
    barrier = threading.Barrier(len(cdrs))

    def make(cdr):
        try:
            with schema_context(tenant.schema_name):
                barrier.wait()
                invoice_for_cdr(cdr=cdr)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=make, args=(cdr,)) for cdr in cdrs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    with schema_context(tenant.schema_name):
        numbers = sorted(int(number.rsplit("-", 1)[1]) for number in Invoice.objects.values_list("number", flat=True))
        assert numbers == list(range(1, len(cdrs) + 1))
