"""A reseller's customer brands: list and read them with their figures over a period, create, suspend and resume.

Only on a reseller brand's hosts: elsewhere these paths are unknown (404), like any other path a brand does not have.
"""

from django.urls import path
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.api.models import Scope
from apps.api.pagination import IdCursorPagination
from apps.api.permissions import ScopesByMethod
from apps.api.schema import CURSOR_PARAMETERS, ErrorBody, page_of
from apps.api.tariffs import Conflict
from apps.api.validation import written
from apps.whitelabel.customers import customer_create, customer_get, customer_resume, customer_suspend
from apps.whitelabel.dashboards import (
    PRESETS,
    Figures,
    Period,
    PeriodError,
    customer_days,
    customer_list,
    figures_of,
    period_of,
    reseller_dashboard,
)
from apps.whitelabel.exceptions import CustomerNotFoundError, TenantError
from apps.whitelabel.models import SLUG_PATTERN, Tenant

FIGURES_HELP = (
    "Over the period: sessions and kWh of sessions started in it, revenue incl. VAT of CDRs (credits subtracted) of "
    "sessions that ended in it, one entry per currency, connector uptime (share of known connector time not Faulted "
    "or Unavailable; null without status reports), stations and faults open now (docs/resellers.md)."
)


class ResellerOnly:
    """The endpoints exist on reseller brands' hosts only; after authentication and scopes, so a caller without a
    credential still learns that one is needed."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if getattr(request, "tenant", None) is None or request.tenant.kind != Tenant.Kind.RESELLER:
            raise NotFound("No such endpoint.")

    def customer(self, customer_id: int) -> Tenant:
        try:
            return customer_get(reseller=self.request.tenant, customer_id=customer_id)
        except CustomerNotFoundError as error:
            raise NotFound() from error


class PeriodInput(serializers.Serializer):
    period = serializers.ChoiceField(
        choices=PRESETS, required=False, help_text="A period ending today (default 30d), unless start and end are given"
    )
    start = serializers.DateField(required=False, help_text="First day (with end), in the reseller's time zone")
    end = serializers.DateField(required=False, help_text="Last day, included; at most 366 days after start")


def _period(request) -> Period:
    data = PeriodInput(data=request.query_params.dict())
    data.is_valid(raise_exception=True)
    values = data.validated_data
    try:
        return period_of(
            preset=values.get("period"),
            first_day=values.get("start"),
            last_day=values.get("end"),
            zone=request.tenant.timezone,
        )
    except PeriodError as error:
        raise ApiValidationError({error.field: [str(error)]}) from error


class AmountOutput(serializers.Serializer):
    currency = serializers.CharField()
    amount = serializers.DecimalField(max_digits=16, decimal_places=4, coerce_to_string=True)


def amounts_of(revenue: dict) -> list[dict]:
    """{currency: amount} as the API's list of amounts, one entry per currency."""
    return AmountOutput(
        [{"currency": currency, "amount": amount} for currency, amount in revenue.items()], many=True
    ).data


class PeriodOutput(serializers.Serializer):
    start = serializers.DateField(source="first_day")
    end = serializers.DateField(source="last_day", help_text="Included")
    time_zone = serializers.CharField(source="zone")


class FiguresOutput(serializers.Serializer):
    stations = serializers.IntegerField()
    sessions = serializers.IntegerField()
    energy_kwh = serializers.DecimalField(max_digits=16, decimal_places=3)
    revenue = serializers.SerializerMethodField(help_text="Incl. VAT, one entry per currency (never summed across)")
    uptime_percent = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)
    open_faults = serializers.IntegerField()

    @extend_schema_field(AmountOutput(many=True))
    def get_revenue(self, row) -> list[dict]:
        return amounts_of(row.revenue)


class DayOutput(serializers.Serializer):
    day = serializers.DateField()
    sessions = serializers.IntegerField()
    energy_kwh = serializers.DecimalField(max_digits=16, decimal_places=3)
    revenue = serializers.SerializerMethodField()

    @extend_schema_field(AmountOutput(many=True))
    def get_revenue(self, row) -> list[dict]:
        return amounts_of(row.revenue)


class CustomerOutput(serializers.ModelSerializer):
    status = serializers.SerializerMethodField()
    domains = serializers.SerializerMethodField()
    period = serializers.SerializerMethodField()
    figures = serializers.SerializerMethodField(help_text=FIGURES_HELP)

    class Meta:
        model = Tenant
        fields = (
            "id",
            "slug",
            "name",
            "status",
            "domains",
            "plan",
            "max_stations",
            "max_users",
            "currency",
            "default_locale",
            "timezone",
            "created_at",
            "suspended_at",
            "suspension_reason",
            "period",
            "figures",
        )
        read_only_fields = fields

    def get_status(self, customer: Tenant) -> str:
        return "suspended" if customer.is_suspended else "active"

    def get_domains(self, customer: Tenant) -> list[str]:
        return [domain.domain for domain in sorted(customer.domains.all(), key=lambda d: (not d.is_primary, d.domain))]

    @extend_schema_field(PeriodOutput)
    def get_period(self, customer: Tenant) -> dict:
        return PeriodOutput(self.context["period"]).data

    @extend_schema_field(FiguresOutput)
    def get_figures(self, customer: Tenant) -> dict:
        return FiguresOutput(self.context["figures"].get(customer.pk, Figures())).data


class CustomerDetailOutput(CustomerOutput):
    days = serializers.SerializerMethodField(help_text="Per local day of the period")

    class Meta(CustomerOutput.Meta):
        fields = (*CustomerOutput.Meta.fields, "days")
        read_only_fields = fields

    @extend_schema_field(DayOutput(many=True))
    def get_days(self, customer: Tenant) -> list[dict]:
        return DayOutput(customer_days(customer=customer, period=self.context["period"]), many=True).data


class CustomerCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    slug = serializers.RegexField(
        SLUG_PATTERN, max_length=40, help_text="Unique; names the brand's schema and its address <slug>.<platform>"
    )
    owner_email = serializers.EmailField(help_text="The first owner: emailed an invitation to set a password")
    plan = serializers.CharField(max_length=40, allow_blank=True, default="")
    max_stations = serializers.IntegerField(
        min_value=0, required=False, allow_null=True, help_text="Empty: the reseller's own limit (or none)"
    )
    max_users = serializers.IntegerField(min_value=0, required=False, allow_null=True)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False, help_text="Default: the reseller's")
    default_locale = serializers.CharField(max_length=8, required=False, help_text="Default: the reseller's")
    timezone = serializers.CharField(max_length=64, required=False, help_text="Default: the reseller's")


class SuspendInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, help_text="Recorded in the brand's history")


class ResumeInput(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


def _actor(request) -> str:
    return f"api:{request.user.client_id}"


def _detail(request, customer: Tenant, period: Period, **kwargs) -> Response:
    customer = customer_list(reseller=request.tenant).get(pk=customer.pk)
    context = {"period": period, "figures": figures_of([customer], period)}
    return Response(CustomerDetailOutput(customer, context=context).data, **kwargs)


class CustomerCollectionApi(ResellerOnly, ScopesByMethod, APIView):
    """GET lists the reseller's customer brands with their figures; POST creates one."""

    scopes_by_method = {"GET": [Scope.CUSTOMERS_READ], "POST": [Scope.CUSTOMERS_WRITE]}

    @extend_schema(parameters=[PeriodInput, *CURSOR_PARAMETERS], responses=page_of(CustomerOutput))
    def get(self, request):
        """Oldest first; each page's figures are computed in one query across the page's customer schemas."""
        period = _period(request)
        customers = customer_list(reseller=request.tenant)
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(customers, request, view=self)
        context = {"period": period, "figures": figures_of(page, period)}
        return paginator.get_paginated_response(CustomerOutput(page, many=True, context=context).data)

    @extend_schema(
        request=CustomerCreateInput,
        responses={201: CustomerDetailOutput},
        description="400 naming the field: a taken slug, limits above the reseller's plan, an unknown time zone…",
    )
    def post(self, request):
        data = CustomerCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        customer, _ = written(
            lambda: customer_create(reseller=request.tenant, actor=_actor(request), **data.validated_data)
        )
        return _detail(request, customer, period_of(zone=request.tenant.timezone), status=status.HTTP_201_CREATED)


class TotalsOutput(serializers.Serializer):
    customers = serializers.IntegerField(help_text="Customer brands, suspended ones included")
    period = PeriodOutput()
    figures = FiguresOutput(help_text=FIGURES_HELP + " Uptime weighs each customer by its known connector time.")


class CustomerTotalsApi(ResellerOnly, APIView):
    required_scopes = [Scope.CUSTOMERS_READ]

    @extend_schema(parameters=[PeriodInput], responses=TotalsOutput)
    def get(self, request):
        """The figures of all the reseller's customers together (revenue still per currency)."""
        dashboard = reseller_dashboard(reseller=request.tenant, period=_period(request))
        body = {"customers": len(dashboard.customers), "period": dashboard.period, "figures": dashboard.total}
        return Response(TotalsOutput(body).data)


class CustomerItemApi(ResellerOnly, APIView):
    required_scopes = [Scope.CUSTOMERS_READ]

    @extend_schema(parameters=[PeriodInput], responses=CustomerDetailOutput)
    def get(self, request, customer_id: int):
        """One customer brand with its figures and its days over the period."""
        customer = self.customer(customer_id)
        return _detail(request, customer, _period(request))


CHANGE_RESPONSES = {
    200: CustomerDetailOutput,
    409: OpenApiResponse(ErrorBody, "`customer_state`: already suspended (suspend) or not suspended (resume)"),
}


class _CustomerChangeApi(ResellerOnly, APIView):
    """Suspend or resume: the same input (a reason), answer (the customer) and conflict (already in that state)."""

    required_scopes = [Scope.CUSTOMERS_WRITE]
    input_serializer: type[serializers.Serializer]
    change: staticmethod  # customer_suspend or customer_resume

    def post(self, request, customer_id: int):
        customer = self.customer(customer_id)
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            self.change(
                reseller=request.tenant, customer=customer, actor=_actor(request), reason=data.validated_data["reason"]
            )
        except TenantError as error:
            raise Conflict(str(error), code="customer_state") from error
        return _detail(request, customer, period_of(zone=request.tenant.timezone))


class CustomerSuspendApi(_CustomerChangeApi):
    input_serializer = SuspendInput
    change = staticmethod(customer_suspend)

    @extend_schema(request=SuspendInput, responses=CHANGE_RESPONSES)
    def post(self, request, customer_id: int):
        """Suspend the brand: its hosts answer 503 and its stations are refused until it is resumed."""
        return super().post(request, customer_id)


class CustomerResumeApi(_CustomerChangeApi):
    input_serializer = ResumeInput
    change = staticmethod(customer_resume)

    @extend_schema(request=ResumeInput, responses=CHANGE_RESPONSES)
    def post(self, request, customer_id: int):
        """Lift the brand's suspension."""
        return super().post(request, customer_id)


def customer_paths() -> list:
    """The customer endpoints' URL patterns, for apps/api/urls.py."""
    return [
        path("customers/", CustomerCollectionApi.as_view(), name="customer-collection"),
        path("customers/totals/", CustomerTotalsApi.as_view(), name="customer-totals"),
        path("customers/<int:customer_id>/", CustomerItemApi.as_view(), name="customer-item"),
        path("customers/<int:customer_id>/suspend/", CustomerSuspendApi.as_view(), name="customer-suspend"),
        path("customers/<int:customer_id>/resume/", CustomerResumeApi.as_view(), name="customer-resume"),
    ]
