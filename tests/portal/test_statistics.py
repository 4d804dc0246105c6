"""Energy and revenue per day: bar charts with a table of the same figures; revenue only for roles that may see
CDRs."""

import pytest
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from tests.billing.factories import session_billed
from tests.portal.conftest import client_of

PERIOD = {"start": "2026-03-01", "end": "2026-03-03"}


@pytest.fixture
def billed(tenant):
    with schema_context(tenant.schema_name):
        return session_billed()


@pytest.mark.django_db
def test_energy_and_revenue_per_day_with_tables(billed, tenant):
    session, cdr, _invoice = billed
    response = client_of(tenant, Role.FINANCE).get("/portal/statistics/", PERIOD)
    assert response.status_code == 200
    rows = {day.isoformat(): (count, wh) for day, count, wh in response.context["energy_rows"]}
    assert rows["2026-03-02"] == (1, session.energy_wh)
    assert rows["2026-03-01"] == (0, 0)
    [revenue] = response.context["revenue"]
    assert revenue["currency"] == cdr.currency
    assert dict(revenue["rows"])[session.started_at.date()] == cdr.total_incl_vat
    page = response.content.decode()
    assert page.count("<svg") == 2 and 'role="img"' in page
    assert "Energy per day as a table" in page and "Revenue per day as a table" in page


@pytest.mark.django_db
def test_revenue_is_left_out_for_a_role_without_the_cdr_permission(billed, tenant, role_without):
    response = client_of(tenant, role_without("billing.view_cdr")).get("/portal/statistics/", PERIOD)
    assert response.status_code == 200
    assert response.context["revenue"] == []


@pytest.mark.django_db
def test_a_period_over_a_year_is_refused(tenant):
    response = client_of(tenant, Role.FINANCE).get("/portal/statistics/", {"start": "2024-01-01", "end": "2026-01-01"})
    assert response.status_code == 400
    assert "A period of at most 366 days." in response.content.decode()


@pytest.mark.django_db
def test_another_brands_figures_never_count(billed, outsider):
    response = client_of(outsider, Role.FINANCE).get("/portal/statistics/", PERIOD)
    assert all(count == 0 for _day, count, _wh in response.context["energy_rows"])
    assert response.context["revenue"] == []


@pytest.mark.django_db
def test_a_role_without_the_session_permission_is_refused(tenant, role_without):
    client = client_of(tenant, role_without("charging.view_chargingsession"))
    assert client.get("/portal/statistics/").status_code == 403


@pytest.mark.django_db
def test_the_last_30_days_by_default(tenant):
    response = client_of(tenant, Role.READ_ONLY).get("/portal/statistics/")
    assert response.status_code == 200
    assert len(response.context["energy_rows"]) == 30
