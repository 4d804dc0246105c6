"""Settlement with a partner for a month: as CPO our CDRs to them (credits netted), as eMSP their CDRs to us against
our own rating (disputes listed); and the operator's page."""

from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.test import RequestFactory
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.billing.services.cdrs import cdr_credit, cdr_issue
from apps.roaming.models import PartnerCdr
from apps.roaming.modules.cdrs import cdr_store
from apps.roaming.settlement import month_bounds, settlement_as_cpo, settlement_as_emsp, settlement_view
from tests.accounts.factories import DriverFactory
from tests.billing.factories import session_with_readings
from tests.roaming.conftest import partner_as
from tests.roaming.factories import PartnerFactory
from tests.roaming.modules.test_cdrs import roaming_cdr, their_cdr

MARCH = date(2026, 3, 1)


def test_month_bounds_cross_the_year():
    start, end = month_bounds(date(2026, 12, 1))
    assert (start.isoformat(), end.isoformat()) == ("2026-12-01T00:00:00+00:00", "2027-01-01T00:00:00+00:00")


def test_as_cpo_our_sessions_and_cdrs_to_the_partner_with_credits_netted(alpha, partner):
    with schema_context(alpha.schema_name):
        first, second = roaming_cdr(partner), roaming_cdr(partner)
        credit = cdr_credit(cdr=first, reason="Wrong tariff")
        roaming_cdr(PartnerFactory(name="Charlie"))  # another partner's
        cdr_issue(session=session_with_readings())  # our own driver's
        # Sessions count in the month they started (the factories' sessions start in March 2026) ...
        by_start = settlement_as_cpo(partner=partner, month=MARCH)
        # ... CDRs in the month they were issued: now.
        by_issue = settlement_as_cpo(partner=partner, month=timezone.now().date())
        empty = settlement_as_cpo(partner=partner, month=date(2025, 1, 1))

    assert (by_start.sessions, by_start.session_kwh, by_start.totals) == (2, Decimal("22"), [])
    (eur,) = by_issue.totals
    assert (eur.currency, eur.cdrs, eur.credits, eur.kwh) == ("EUR", 2, 1, Decimal("11"))
    assert credit.total_excl_vat == -first.total_excl_vat
    assert (eur.total_excl_vat, eur.total_incl_vat) == (second.total_excl_vat, second.total_incl_vat)
    assert (empty.sessions, empty.totals) == (0, [])


@pytest.fixture
def cpo_partner(alpha, partner):
    with schema_context(alpha.schema_name):
        return partner_as(partner, role="CPO", country_code="DE", party_id="BRV", endpoints_role="SENDER")


def test_as_emsp_their_cdrs_against_our_rating(alpha, cpo_partner):
    with schema_context(alpha.schema_name):
        cdr_store(partner=cpo_partner, data=their_cdr(id="A"))  # 4.35 as we rate it
        disputed = cdr_store(partner=cpo_partner, data=their_cdr(id="B", total_cost={"excl_vat": 5, "incl_vat": 6.05}))
        cdr_store(partner=cpo_partner, data=their_cdr(id="C", tariffs=None, total_cost={"excl_vat": 3}))
        credit = their_cdr(id="B-CR", credit=True, credit_reference_id="B", total_cost={"excl_vat": -5})
        cdr_store(partner=cpo_partner, data=credit)
        cdr_store(partner=cpo_partner, data=their_cdr(id="APRIL", last_updated="2026-04-01T00:00:00Z"))
        march = settlement_as_emsp(partner=cpo_partner, month=MARCH)

    (eur,) = march.totals
    assert (eur.cdrs, eur.credits, eur.kwh) == (3, 1, Decimal("22"))
    assert (eur.total_excl_vat, eur.expected_excl_vat) == (Decimal("7.35"), Decimal("8.70"))
    assert eur.disputed == 1 and [cdr.pk for cdr in march.disputed_cdrs] == [disputed.pk]


def test_the_settlement_page_shows_each_partner(alpha, cpo_partner):
    with schema_context(alpha.schema_name):
        cdr_store(partner=cpo_partner, data=their_cdr(id="B", total_cost={"excl_vat": 5}))
        request = RequestFactory().get("/admin/roaming/settlement/", {"month": "2026-03"}, HTTP_HOST="alpha.localhost")
        request.user = get_user_model()(is_superuser=True, is_staff=True, is_active=True)
        response = settlement_view(request)
        response.render()
        request.user = DriverFactory()
        with pytest.raises(PermissionDenied):
            settlement_view(request)
        assert PartnerCdr.objects.filter(disputed=True).count() == 1

    page = response.content.decode()
    assert "Bravo Power" in page and "March 2026" in page
    assert "?month=2026-02" in page and "?month=2026-04" in page
    assert "B</td>" in page and "5.0000 EUR" in page and "4.3500 EUR" in page
