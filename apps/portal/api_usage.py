"""The API usage page: each partner application's requests, error rates, latency and webhook deliveries over a
period, and for one application its requests per endpoint and per day. The same figures as
GET /api/v1/analytics/usage/ (docs/api.md, "Usage analytics")."""

from django.shortcuts import render
from django.utils.translation import gettext as _

from apps.api.models.usage import LATENCY_RELATIVE_ERROR
from apps.api.selectors import (
    api_client_names,
    api_usage_endpoint_totals,
    api_usage_requests_by_day,
    api_usage_summary,
)
from apps.portal.access import portal_view
from apps.portal.charts import bar_chart
from apps.portal.forms import PeriodForm


@portal_view("api.view_apiusageday")
def api_usage(request):
    # The period defaults to the last 30 days, also when only an application is chosen.
    form = PeriodForm({**PeriodForm.default_initial(), **request.GET.dict()})
    context = {"title": _("API usage"), "form": form, "error_percent": round(LATENCY_RELATIVE_ERROR * 100, 1)}
    if not form.is_valid():
        return render(request, "portal/api_usage.html", context, status=400)
    since, until = form.cleaned_data["start"], form.cleaned_data["end"]
    clients = api_usage_summary(since=since, until=until)
    context["clients"] = clients
    client_id = request.GET.get("client", "")
    if client_id and any(client["client_id"] == client_id for client in clients):
        days = api_usage_requests_by_day(since=since, until=until, client_id=client_id)
        context.update(
            client_id=client_id,
            client_name=api_client_names([client_id]).get(client_id, ""),
            endpoints=[
                {
                    "method": row.method,
                    "endpoint": row.endpoint,
                    "requests": row.requests,
                    "percent_4xx": _percent(row.error_rate_4xx),
                    "percent_5xx": _percent(row.error_rate_5xx),
                    "p50_ms": row.latency_p50_ms,
                    "p95_ms": row.latency_p95_ms,
                }
                for row in api_usage_endpoint_totals(since=since, until=until, client_id=client_id)
            ],
            days=days,
            days_chart=bar_chart([(day.isoformat(), count) for day, count in days]),
        )
    period = request.GET.copy()
    period.pop("client", None)
    context["period_query"] = period.urlencode()
    return render(request, "portal/api_usage.html", context)


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 2)
