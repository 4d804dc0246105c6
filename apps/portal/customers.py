"""A reseller's customer brands in its portal: the list with figures over a period, a customer's page, creating one,
suspending and resuming. Only on a reseller brand's hosts (404 elsewhere); CUSTOMERS_VIEW to see, CUSTOMERS_MANAGE to
change, PERSONAL_DATA to see drivers unmasked."""

from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from apps.accounts.roles import CUSTOMERS_MANAGE, CUSTOMERS_VIEW, PERSONAL_DATA
from apps.portal.access import portal_view
from apps.whitelabel.customers import customer_create, customer_get, customer_resume, customer_suspend
from apps.whitelabel.dashboards import (
    DEFAULT_PRESET,
    Period,
    PeriodError,
    customer_days,
    customer_recent_sessions,
    figures_of,
    period_of,
    reseller_dashboard,
)
from apps.whitelabel.exceptions import CustomerNotFoundError, TenantError
from apps.whitelabel.models import SLUG_PATTERN, Tenant

PRESET_CHOICES = [
    ("7d", gettext_lazy("Last 7 days")),
    ("30d", gettext_lazy("Last 30 days")),
    ("90d", gettext_lazy("Last 90 days")),
    ("month", gettext_lazy("This month")),
    ("last_month", gettext_lazy("Last month")),
]
CHART_HEIGHT = 120


def reseller_host(view):
    """The page exists only on a reseller brand's hosts: elsewhere it is an unknown page (404), whoever asks."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        tenant = getattr(request, "tenant", None)
        if tenant is None or tenant.kind != Tenant.Kind.RESELLER:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def _actor(request) -> str:
    return f"{request.user.email} ({request.tenant.slug} portal)"


def _customer(request, customer_id: int) -> Tenant:
    try:
        return customer_get(reseller=request.tenant, customer_id=customer_id)
    except CustomerNotFoundError as error:
        raise Http404 from error


class PeriodForm(forms.Form):
    period = forms.ChoiceField(label=gettext_lazy("Period"), choices=PRESET_CHOICES, required=False)
    start = forms.DateField(label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


def _period(request) -> tuple[PeriodForm, Period]:
    """The period the page asks for (in the reseller's time zone); a bad one is shown as the form's error and the
    default period is used instead."""
    form = PeriodForm(request.GET or {"period": DEFAULT_PRESET})
    zone = request.tenant.timezone
    if form.is_valid():
        data = form.cleaned_data
        try:
            return form, period_of(
                preset=data["period"] or None, first_day=data["start"], last_day=data["end"], zone=zone
            )
        except PeriodError as error:
            form.add_error(error.field if error.field in form.fields else None, str(error))
    return form, period_of(zone=zone)


@reseller_host
@portal_view(CUSTOMERS_VIEW)
def customer_list_view(request):
    form, period = _period(request)
    dashboard = reseller_dashboard(reseller=request.tenant, period=period)
    return render(
        request,
        "portal/customers/list.html",
        {
            "title": _("Customers"),
            "period_form": form,
            "dashboard": dashboard,
            "can_manage": request.user.has_perm(CUSTOMERS_MANAGE),
        },
    )


@reseller_host
@portal_view(CUSTOMERS_VIEW)
def customer_detail_view(request, customer_id: int):
    customer = _customer(request, customer_id)
    form, period = _period(request)
    figures = figures_of([customer], period)[customer.pk]
    days = customer_days(customer=customer, period=period)
    peak = max((day.energy_kwh for day in days), default=0) or 1
    bar_width = max(2, min(24, 720 // max(len(days), 1)))
    bars = [
        {
            "day": day,
            "x": index * bar_width,
            "height": int(day.energy_kwh / peak * CHART_HEIGHT),
            "y": CHART_HEIGHT - int(day.energy_kwh / peak * CHART_HEIGHT),
        }
        for index, day in enumerate(days)
    ]
    return render(
        request,
        "portal/customers/detail.html",
        {
            "title": customer.name,
            "customer": customer,
            "period_form": form,
            "period": period,
            "figures": figures,
            "days": days,
            "bars": bars,
            "bar_width": bar_width,
            "chart_width": bar_width * len(days),
            "chart_height": CHART_HEIGHT,
            "peak": peak,
            "sessions": customer_recent_sessions(
                customer=customer, reveal_personal_data=request.user.has_perm(PERSONAL_DATA)
            ),
            "can_manage": request.user.has_perm(CUSTOMERS_MANAGE),
            "suspend_form": SuspendForm(),
        },
    )


class CustomerForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    slug = forms.RegexField(
        label=gettext_lazy("Slug"),
        regex=SLUG_PATTERN,
        max_length=40,
        help_text=gettext_lazy("2 to 40 characters: lowercase letters, digits and hyphens, starting with a letter."),
        error_messages={"invalid": gettext_lazy("Lowercase letters, digits and hyphens, starting with a letter.")},
    )
    owner_email = forms.EmailField(
        label=gettext_lazy("Owner's email"),
        help_text=gettext_lazy("The brand's first owner: we email them a link to set their password."),
    )
    plan = forms.CharField(label=gettext_lazy("Plan"), max_length=40, required=False)
    max_stations = forms.IntegerField(label=gettext_lazy("Max stations"), min_value=0, required=False)
    max_users = forms.IntegerField(label=gettext_lazy("Max users"), min_value=0, required=False)
    currency = forms.RegexField(
        label=gettext_lazy("Currency"),
        regex=r"^[A-Z]{3}$",
        required=False,
        help_text=gettext_lazy("ISO 4217, such as EUR; empty: yours."),
        error_messages={"invalid": gettext_lazy("An ISO 4217 code such as EUR.")},
    )
    default_locale = forms.ChoiceField(
        label=gettext_lazy("Language"),
        choices=[("", gettext_lazy("Yours")), *settings.LANGUAGES],
        required=False,
    )
    timezone = forms.CharField(
        label=gettext_lazy("Time zone"),
        max_length=64,
        required=False,
        help_text=gettext_lazy("Such as Europe/Amsterdam; empty: yours."),
    )


@reseller_host
@portal_view(CUSTOMERS_VIEW, CUSTOMERS_MANAGE)
def customer_create_view(request):
    form = CustomerForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer, invitation = customer_create(
                reseller=request.tenant,
                name=data["name"],
                slug=data["slug"],
                owner_email=data["owner_email"],
                plan=data["plan"],
                max_stations=data["max_stations"],
                max_users=data["max_users"],
                currency=data["currency"] or None,
                default_locale=data["default_locale"] or None,
                timezone=data["timezone"] or None,
                actor=_actor(request),
            )
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        except TenantError as error:
            form.add_error(None, str(error))
        else:
            messages.success(
                request,
                _("%(name)s is ready at %(host)s; %(email)s is invited to be its owner.")
                % {"name": customer.name, "host": customer.domains.first().domain, "email": invitation.email},
            )
            return redirect("portal:customer-detail", customer_id=customer.pk)
    return render(request, "portal/customers/create.html", {"title": _("New customer"), "form": form})


class SuspendForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("Reason"), max_length=500, widget=forms.TextInput(attrs={"required": True})
    )


@reseller_host
@portal_view(CUSTOMERS_VIEW, CUSTOMERS_MANAGE)
@require_POST
def customer_suspend_view(request, customer_id: int):
    customer = _customer(request, customer_id)
    form = SuspendForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Say why the brand is suspended."))
    else:
        try:
            customer_suspend(
                reseller=request.tenant, customer=customer, actor=_actor(request), reason=form.cleaned_data["reason"]
            )
        except TenantError as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("%(name)s is suspended.") % {"name": customer.name})
    return redirect("portal:customer-detail", customer_id=customer.pk)


@reseller_host
@portal_view(CUSTOMERS_VIEW, CUSTOMERS_MANAGE)
@require_POST
def customer_resume_view(request, customer_id: int):
    customer = _customer(request, customer_id)
    try:
        customer_resume(reseller=request.tenant, customer=customer, actor=_actor(request))
    except TenantError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("%(name)s is active again.") % {"name": customer.name})
    return redirect("portal:customer-detail", customer_id=customer.pk)


urlpatterns = [
    path("", customer_list_view, name="customers"),
    path("new/", customer_create_view, name="customer-create"),
    path("<int:customer_id>/", customer_detail_view, name="customer-detail"),
    path("<int:customer_id>/suspend/", customer_suspend_view, name="customer-suspend"),
    path("<int:customer_id>/resume/", customer_resume_view, name="customer-resume"),
]
