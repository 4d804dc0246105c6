"""CDRs over the API: the OCPI document as issued, credit CDRs and their references, filters, ownership, scopes."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from apps.api.models import Scope
from apps.billing.services.cdrs import cdr_credit, cdr_issue
from tests.api.conftest import api_client, key_in
from tests.billing.factories import session_with_readings


def test_cdr_detail_has_the_ocpi_cdr_as_issued(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        cdr = cdr_issue(session=session_with_readings())

    response = alpha_api.get(f"/api/v1/cdrs/{cdr.pk}/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["id"], body["cdr_id"], body["session"], body["station"]) == (
        cdr.pk,
        cdr.cdr_id,
        cdr.session_id,
        cdr.session.station_id,
    )
    assert (body["currency"], body["total_excl_vat"], body["total_incl_vat"], body["total_energy_kwh"]) == (
        "EUR",
        "4.9500",
        "5.9900",
        "11.0000",
    )
    assert (body["credit"], body["credit_reference"], body["credited_by"], body["revision"]) == (False, None, None, 0)
    assert (body["start_date_time"], body["end_date_time"]) == ("2026-03-02T09:00:00Z", "2026-03-02T10:30:00Z")
    assert body["content_hash"] == cdr.content_hash and body["review_reasons"] == []
    ocpi = body["ocpi"]
    assert ocpi["id"] == cdr.cdr_id
    assert ocpi["currency"] == "EUR"
    assert ocpi["total_cost"] == {"excl_vat": 4.95, "incl_vat": 5.99}
    assert ocpi["charging_periods"] and all("dimensions" in period for period in ocpi["charging_periods"])
    assert ocpi["tariffs"][0]["elements"]  # the tariff as it was applied


def test_a_credited_cdr_and_its_credit_point_at_each_other(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        original = cdr_issue(session=session_with_readings())
        credit = cdr_credit(cdr=original, reason="Meter fault")

    original_body = alpha_api.get(f"/api/v1/cdrs/{original.pk}/").json()
    credit_body = alpha_api.get(f"/api/v1/cdrs/{credit.pk}/").json()

    assert original_body["credited_by"] == credit.pk
    assert (credit_body["credit"], credit_body["credit_reference"], credit_body["reason"]) == (
        True,
        original.pk,
        "Meter fault",
    )
    assert (credit_body["total_excl_vat"], credit_body["total_incl_vat"]) == ("-4.9500", "-5.9900")
    assert credit_body["ocpi"]["credit_reference_id"] == original.cdr_id
    assert credit_body["ocpi"]["total_cost"] == {"excl_vat": -4.95, "incl_vat": -5.99}


def test_cdr_list_newest_first_with_filters(tenant, outsider, alpha_api):
    with schema_context(tenant.schema_name):
        first = cdr_issue(session=session_with_readings())
        second_session = session_with_readings()
        second = cdr_issue(session=second_session)
        credit = cdr_credit(cdr=first, reason="Wrong tariff")
    with schema_context(outsider.schema_name):
        cdr_issue(session=session_with_readings())

    def ids(**filters) -> list[int]:
        response = alpha_api.get("/api/v1/cdrs/", filters)
        assert response.status_code == 200, response.content
        return [row["id"] for row in response.json()["results"]]

    assert ids() == [credit.pk, second.pk, first.pk]
    assert ids(credit="true") == [credit.pk]
    assert ids(credit="false") == [second.pk, first.pk]
    assert ids(session=second_session.pk) == [second.pk]
    assert ids(station=second_session.station_id) == [second.pk]
    assert ids(created_after=credit.issued_at.isoformat()) == [credit.pk]
    assert ids(created_before=credit.issued_at.isoformat()) == [second.pk, first.pk]
    # Every session of session_with_readings ends at 10:30 UTC on 2 March 2026.
    assert ids(ended_after="2026-03-02T10:30:00Z", ended_before="2026-03-02T10:31:00Z") == [
        credit.pk,
        second.pk,
        first.pk,
    ]
    assert ids(ended_before="2026-03-02T10:30:00Z") == []


def test_cdr_list_costs_the_same_queries_for_more_cdrs(tenant, alpha_api, django_assert_max_num_queries):
    with schema_context(tenant.schema_name):
        cdr_issue(session=session_with_readings())
    with CaptureQueriesContext(connection) as few:
        alpha_api.get("/api/v1/cdrs/")
    with schema_context(tenant.schema_name):
        for _ in range(4):
            cdr_credit(cdr=cdr_issue(session=session_with_readings()), reason="Test")

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = alpha_api.get("/api/v1/cdrs/")

    assert len(response.json()["results"]) == 9


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"credit": "sometimes"}, "credit"),
        ({"created_after": "last week"}, "created_after"),
        ({"ended_before": "2026-02-30T00:00:00Z"}, "ended_before"),
        ({"session": "0"}, "session"),
        ({"station": "x"}, "station"),
    ],
)
def test_cdr_list_refuses_bad_filters_naming_the_field(alpha_api, filters, field):
    response = alpha_api.get("/api/v1/cdrs/", filters)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]


def test_another_brands_cdr_is_not_found_and_their_key_unknown(tenant, outsider, alpha_api):
    with schema_context(outsider.schema_name):
        theirs = cdr_issue(session=session_with_readings())

    assert alpha_api.get(f"/api/v1/cdrs/{theirs.pk}/").status_code == 404
    assert api_client("alpha.localhost", key_in(outsider)).get("/api/v1/cdrs/").status_code == 401


@pytest.mark.parametrize("path", ["/api/v1/cdrs/", "/api/v1/cdrs/1/"])
def test_cdrs_need_the_cdrs_read_scope(tenant, path):
    key = key_in(tenant, scopes=[Scope.SESSIONS_READ, Scope.INVOICES_READ])

    response = api_client("alpha.localhost", key).get(path)

    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This credential lacks the scope(s): cdrs:read."
