"""Revenue and energy per day, as SVG bar charts with a table of the same figures."""

from datetime import timedelta
from decimal import Decimal

from django.shortcuts import render
from django.utils.translation import gettext as _

from apps.accounts import scoping
from apps.billing.selectors.cdrs import cdr_list, revenue_by_day
from apps.portal.access import portal_view
from apps.portal.charts import bar_chart
from apps.portal.forms import PeriodForm
from apps.portal.sessions import day_start
from apps.sessions import selectors as session_selectors


@portal_view("charging.view_chargingsession")
def statistics(request):
    form = PeriodForm(request.GET or PeriodForm.default_initial())
    if not form.is_valid():
        return render(request, "portal/statistics.html", {"title": _("Statistics"), "form": form}, status=400)
    start, end = form.cleaned_data["start"], form.cleaned_data["end"]
    after, before = day_start(start), day_start(end + timedelta(days=1))
    days = [start + timedelta(days=offset) for offset in range((end - start).days + 1)]

    sessions = scoping.by_station_filter(
        request.user, session_selectors.session_list(started_after=after, started_before=before)
    )
    energy = {day: (count, wh) for day, count, wh in session_selectors.energy_by_day(sessions=sessions)}
    energy_rows = [(day, *energy.get(day, (0, Decimal(0)))) for day in days]
    context = {
        "title": _("Statistics"),
        "form": form,
        "energy_rows": energy_rows,
        "energy_chart": bar_chart([(day.isoformat(), wh / 1000) for day, _count, wh in energy_rows]),
        "revenue": [],
    }
    if request.user.has_perm("billing.view_cdr"):
        cdrs = scoping.by_station_filter(
            request.user, cdr_list(ended_after=after, ended_before=before), field="session__station"
        )
        by_currency: dict[str, dict] = {}
        for day, currency, total in revenue_by_day(cdrs=cdrs):
            by_currency.setdefault(currency, {})[day] = total
        for currency, totals in sorted(by_currency.items()):
            rows = [(day, totals.get(day, 0)) for day in days]
            context["revenue"].append(
                {"currency": currency, "rows": rows, "chart": bar_chart([(d.isoformat(), v) for d, v in rows])}
            )
    return render(request, "portal/statistics.html", context)
