"""Settlement with roaming partners, per partner and month: what we charged them as CPO (our CDRs of their drivers'
sessions) and what they charged us as eMSP (their CDRs of our drivers' sessions, against our own rating of them).

Periods: CDRs count in the month they were issued (ours: `issued_at`; theirs: the CDR's `last_updated`, when they
issued it), so a credit CDR nets in the month it was issued, not in the one of the CDR it cancels: a settled month
is never changed afterwards. Sessions count in the month they started. Totals are per currency; credit CDRs carry
negative totals and are netted in; their energy is subtracted (a credit CDR repeats the original's kWh).

`settlement_view` is the operator admin page (templates/admin/roaming/settlement.html), to be wired into the admin
site with `admin_site.admin_view(settlement_view)`."""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _

from apps.billing.models import Cdr
from apps.roaming.models import Partner, PartnerCdr, RoamingSession

ZERO = Decimal(0)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """[first instant of the month, first instant of the next) in UTC (OCPI times are UTC)."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(month.year + (month.month == 12), month.month % 12 + 1, 1, tzinfo=UTC)
    return start, end


@dataclass
class CurrencyTotals:
    currency: str
    cdrs: int = 0  # CDRs, credit CDRs not counted
    credits: int = 0
    kwh: Decimal = ZERO  # net of credits
    total_excl_vat: Decimal = ZERO  # net of credits
    total_incl_vat: Decimal = ZERO
    expected_excl_vat: Decimal | None = None  # eMSP side: our rating of the CDRs we could rate
    disputed: int = 0


@dataclass
class CpoSettlement:
    """What we charged the partner (an eMSP) in the month."""

    partner: Partner
    month: date
    sessions: int
    session_kwh: Decimal
    totals: list[CurrencyTotals]


@dataclass
class EmspSettlement:
    """What the partner (a CPO) charged us in the month, and what we make of it."""

    partner: Partner
    month: date
    totals: list[CurrencyTotals]
    disputed_cdrs: list[PartnerCdr] = field(default_factory=list)


def _totals(rows) -> list[CurrencyTotals]:
    """CurrencyTotals from grouped rows (currency, credit, count, kwh, excl, incl[, expected, disputed])."""
    by_currency: dict[str, CurrencyTotals] = {}
    for row in rows:
        totals = by_currency.setdefault(row["currency"], CurrencyTotals(row["currency"]))
        if row["credit"]:
            totals.credits += row["count"]
            totals.kwh -= row["kwh"] or ZERO
        else:
            totals.cdrs += row["count"]
            totals.kwh += row["kwh"] or ZERO
        totals.total_excl_vat += row["excl"] or ZERO
        totals.total_incl_vat += row["incl"] or ZERO
        if row.get("expected") is not None:
            totals.expected_excl_vat = (totals.expected_excl_vat or ZERO) + row["expected"]
        totals.disputed += row.get("disputed") or 0
    return [by_currency[currency] for currency in sorted(by_currency)]


def settlement_as_cpo(*, partner: Partner, month: date) -> CpoSettlement:
    """Our roaming sessions of the partner's drivers that started in the month, and our CDRs to the partner issued
    in it (credit CDRs netted), per currency."""
    start, end = month_bounds(month)
    sessions = RoamingSession.objects.filter(
        partner=partner, session__started_at__gte=start, session__started_at__lt=end
    ).aggregate(count=Count("pk"), wh=Sum("session__energy_wh"))
    rows = (
        Cdr.objects.filter(session__roaming__partner=partner, issued_at__gte=start, issued_at__lt=end)
        .values("currency", "credit")
        .annotate(
            count=Count("pk"), kwh=Sum("total_energy_kwh"), excl=Sum("total_excl_vat"), incl=Sum("total_incl_vat")
        )
        .order_by("currency", "credit")
    )
    return CpoSettlement(
        partner=partner,
        month=month,
        sessions=sessions["count"],
        session_kwh=((sessions["wh"] or ZERO) / 1000).quantize(Decimal("0.0001")),
        totals=_totals(rows),
    )


def settlement_as_emsp(*, partner: Partner, month: date) -> EmspSettlement:
    """The partner's CDRs of our drivers issued in the month, their totals against our rating, and the disputed
    ones (our rating differs by more than a cent)."""
    start, end = month_bounds(month)
    cdrs = PartnerCdr.objects.filter(partner=partner, last_updated__gte=start, last_updated__lt=end)
    rows = (
        cdrs.values("currency", "credit")
        .annotate(
            count=Count("pk"),
            kwh=Sum("total_energy"),
            excl=Sum("total_cost_excl_vat"),
            incl=Sum("total_cost_incl_vat"),
            expected=Sum("expected_total_excl_vat"),
            disputed=Count("pk", filter=Q(disputed=True)),
        )
        .order_by("currency", "credit")
    )
    return EmspSettlement(
        partner=partner,
        month=month,
        totals=_totals(rows),
        disputed_cdrs=list(cdrs.filter(disputed=True).order_by("end_date_time", "pk")),
    )


def settlement_list(*, month: date) -> list[tuple[CpoSettlement, EmspSettlement]]:
    """Both sides of the month for every partner that is or was registered."""
    partners = Partner.objects.exclude(status=Partner.Status.PENDING).order_by("name")
    return [
        (settlement_as_cpo(partner=partner, month=month), settlement_as_emsp(partner=partner, month=month))
        for partner in partners
    ]


def _month_param(raw: str | None, today: date) -> date:
    """`?month=YYYY-MM`; the current month when absent or not a month."""
    try:
        year, month = (int(part) for part in (raw or "").split("-"))
        return date(year, month, 1)
    except ValueError:
        return today.replace(day=1)


def settlement_view(request: HttpRequest) -> HttpResponse:
    """The operator's settlement page: each partner's month as CPO and as eMSP, with the disputed CDRs."""
    if not request.user.has_perm("roaming.view_partnercdr"):
        raise PermissionDenied
    month = _month_param(request.GET.get("month"), datetime.now(UTC).date())
    previous = (month - date.resolution).replace(day=1)
    following = month_bounds(month)[1].date()
    context = {
        **admin.site.each_context(request),
        "title": _("Roaming settlement"),
        "month": month,
        "previous_month": previous.strftime("%Y-%m"),
        "next_month": following.strftime("%Y-%m"),
        "rows": settlement_list(month=month),
    }
    return TemplateResponse(request, "admin/roaming/settlement.html", context)
