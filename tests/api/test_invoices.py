"""Invoices over the API: receipts, credit notes and statements with their lines, filters, the PDF, ownership,
scopes."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from apps.api.models import Scope
from apps.billing.models import Invoice, PaymentCustomerToken
from apps.billing.services.cdrs import cdr_credit
from apps.billing.services.invoices import invoice_for_cdr
from tests.api.conftest import api_client, key_in
from tests.billing.factories import PaymentCustomerFactory, session_billed
from tests.sessions.factories import IdTokenFactory


def test_invoice_detail_has_its_totals_and_lines(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        session, cdr, receipt = session_billed()

    response = alpha_api.get(f"/api/v1/invoices/{receipt.pk}/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["number"], body["kind"], body["status"]) == (receipt.pk, receipt.number, "receipt", "open")
    assert (body["cdr"], body["session"], body["credited_invoice"], body["customer"]) == (
        cdr.pk,
        session.pk,
        None,
        None,
    )
    assert (body["currency"], body["total_net"], body["total_vat"], body["total_gross"], body["amount_paid"]) == (
        "EUR",
        "4.950",
        "1.040",
        "5.990",
        "0.000",
    )
    lines = body["lines"]
    assert [line["position"] for line in lines] == list(range(1, len(lines) + 1))
    assert sum(float(line["gross"]) for line in lines) == pytest.approx(5.99)
    assert {line["vat_rate"] for line in lines} == {"21.00"}
    assert all(line["cdr"] == cdr.pk for line in lines)


def test_invoice_list_newest_first_with_filters(tenant, outsider, alpha_api):
    with schema_context(tenant.schema_name):
        token = IdTokenFactory()
        customer = PaymentCustomerFactory()
        PaymentCustomerToken.objects.create(customer=customer, id_token=token)
        _, cdr, receipt = session_billed(id_token=token)
        _, _, other_receipt = session_billed()
        credit_note = invoice_for_cdr(cdr=cdr_credit(cdr=cdr, reason="Charged twice"))
    with schema_context(outsider.schema_name):
        session_billed()

    def ids(**filters) -> list[int]:
        response = alpha_api.get("/api/v1/invoices/", filters)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [credit_note.pk, other_receipt.pk, receipt.pk]
    assert ids(kind="credit_note") == [credit_note.pk]
    assert ids(kind="receipt") == [other_receipt.pk, receipt.pk]
    assert ids(customer=customer.pk) == [credit_note.pk, receipt.pk]
    assert ids(issued_after=credit_note.issued_at.isoformat()) == [credit_note.pk]
    assert ids(issued_before=credit_note.issued_at.isoformat()) == [other_receipt.pk, receipt.pk]
    assert ids(issued_before=(receipt.issued_at - timedelta(days=1)).isoformat()) == []
    note = alpha_api.get(f"/api/v1/invoices/{credit_note.pk}/").json()
    assert (note["credited_invoice"], note["total_gross"], note["notes"]) == (receipt.pk, "-5.990", "Charged twice")


def test_invoice_list_costs_the_same_queries_for_more_invoices(tenant, alpha_api, django_assert_max_num_queries):
    with schema_context(tenant.schema_name):
        session_billed()
    with CaptureQueriesContext(connection) as few:
        alpha_api.get("/api/v1/invoices/")
    with schema_context(tenant.schema_name):
        for _ in range(4):
            session_billed()

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = alpha_api.get("/api/v1/invoices/")

    assert len(response.json()["results"]) == 5


def test_invoice_pdf(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        _, _, receipt = session_billed()

    response = alpha_api.get(f"/api/v1/invoices/{receipt.pk}/pdf/", HTTP_ACCEPT="application/pdf")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="{receipt.number}.pdf"'
    assert response.content.startswith(b"%PDF")
    assert receipt.number.encode() in response.content  # uncompressed: the text is in the file


def test_a_missing_pdf_is_a_json_404_even_to_a_client_asking_for_a_pdf(tenant, outsider, alpha_api):
    with schema_context(outsider.schema_name):
        _, _, theirs = session_billed()

    response = alpha_api.get(f"/api/v1/invoices/{theirs.pk}/pdf/", HTTP_ACCEPT="application/pdf")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_another_brands_invoice_is_not_found_and_their_key_unknown(tenant, outsider, alpha_api):
    with schema_context(outsider.schema_name):
        _, _, theirs = session_billed()
    with schema_context(tenant.schema_name):
        assert not Invoice.objects.filter(pk=theirs.pk).exists()

    assert alpha_api.get(f"/api/v1/invoices/{theirs.pk}/").status_code == 404
    bravo_on_alpha = api_client("alpha.localhost", key_in(outsider))
    assert bravo_on_alpha.get("/api/v1/invoices/").status_code == 401
    assert bravo_on_alpha.get(f"/api/v1/invoices/{theirs.pk}/pdf/").status_code == 401


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"kind": "bill"}, "kind"),
        ({"issued_after": "2026-01-01T99:00"}, "issued_after"),
        ({"issued_before": "soon"}, "issued_before"),
        ({"customer": "cus_1"}, "customer"),
    ],
)
def test_invoice_list_refuses_bad_filters_naming_the_field(alpha_api, filters, field):
    response = alpha_api.get("/api/v1/invoices/", filters)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


@pytest.mark.parametrize("path", ["/api/v1/invoices/", "/api/v1/invoices/1/", "/api/v1/invoices/1/pdf/"])
def test_invoices_need_the_invoices_read_scope(tenant, path):
    key = key_in(tenant, scopes=[Scope.CDRS_READ, Scope.SESSIONS_READ])

    response = api_client("alpha.localhost", key).get(path)

    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This credential lacks the scope(s): invoices:read."
