"""Reports: the sessions of a period as CSV and Excel, a PDF summary per station and day; scoped to the brand,
token ids masked unless the role may see personal data."""

import csv
import io
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context
from openpyxl import load_workbook

from apps.accounts.roles import Role
from tests.billing.factories import session_billed
from tests.portal.conftest import client_of
from tests.sessions.factories import IdTokenFactory

PERIOD = {"start": "2026-03-01", "end": "2026-03-31"}


@pytest.fixture
def billed(tenant):
    with schema_context(tenant.schema_name):
        return session_billed(id_token=IdTokenFactory(uid="REPORTCARD1"))


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


@pytest.mark.django_db
def test_the_sessions_of_a_period_as_csv(billed, tenant):
    session, cdr, _invoice = billed
    response = client_of(tenant, Role.FINANCE).get("/portal/reports/", {**PERIOD, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="sessions-2026-03-01-2026-03-31.csv"' in response["Content-Disposition"]
    header, row = csv_rows(response)
    record = dict(zip(header, row, strict=True))
    assert record["Station"] == session.station.identity
    assert record["ID token"] == "REPORTCARD1"
    assert record["Energy (kWh)"] == "11.000"
    assert (Decimal(record["Total incl. VAT"]), record["Currency"]) == (cdr.total_incl_vat, cdr.currency)


@pytest.mark.django_db
def test_the_same_rows_as_excel_with_token_ids_masked_for_a_role_without_personal_data(billed, tenant):
    response = client_of(tenant, Role.READ_ONLY).get("/portal/reports/", {**PERIOD, "format": "xlsx"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    header, row = [[cell.value for cell in line] for line in sheet.iter_rows()]
    record = dict(zip(header, row, strict=True))
    assert record["ID token"] == "•••ARD1"
    assert record["Energy (kWh)"] == 11


@pytest.mark.django_db
def test_a_pdf_summary_per_station_and_day(billed, tenant):
    response = client_of(tenant, Role.FINANCE).get("/portal/reports/", {**PERIOD, "format": "pdf"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


@pytest.mark.django_db
def test_bad_input_gets_the_form_back_with_a_clear_error(tenant):
    response = client_of(tenant, Role.FINANCE).get(
        "/portal/reports/", {"start": "2026-03-31", "end": "2026-03-01", "format": "csv"}
    )
    assert response.status_code == 400
    assert "The end is before the start." in response.content.decode()
    response = client_of(tenant, Role.FINANCE).get("/portal/reports/", {**PERIOD, "format": "docx"})
    assert response.status_code == 400


@pytest.mark.django_db
def test_another_brands_sessions_are_never_in_the_report(billed, outsider):
    response = client_of(outsider, Role.FINANCE).get("/portal/reports/", {**PERIOD, "format": "csv"})
    assert len(csv_rows(response)) == 1  # the header only


@pytest.mark.django_db
def test_another_brands_station_cannot_be_chosen(billed, outsider):
    session, _cdr, _invoice = billed
    response = client_of(outsider, Role.FINANCE).get(
        "/portal/reports/", {**PERIOD, "format": "csv", "station": session.station_id}
    )
    assert response.status_code == 400


@pytest.mark.django_db
def test_a_role_without_the_session_permission_is_refused(tenant, role_without):
    client = client_of(tenant, role_without("charging.view_chargingsession"))
    assert client.get("/portal/reports/", {**PERIOD, "format": "csv"}).status_code == 403


@pytest.mark.django_db
def test_the_form_offers_the_brands_stations_and_the_three_formats(billed, tenant):
    session, _cdr, _invoice = billed
    response = client_of(tenant, Role.READ_ONLY).get("/portal/reports/")
    assert response.status_code == 200
    page = response.content.decode()
    assert session.station.identity in page
    assert all(f'value="{kind}"' in page for kind in ("csv", "xlsx", "pdf"))
