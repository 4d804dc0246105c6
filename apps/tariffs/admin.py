"""Tariffs in the operator admin: the elements as validated OCPI JSON with a readable summary and a cost preview,
and the assignments that say where each tariff applies."""

import json
from datetime import timedelta
from decimal import Decimal

from django import forms
from django.contrib import admin
from django.core.serializers.json import DjangoJSONEncoder
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.audit import audit_record
from apps.accounts.spreadsheets import OperatorImportExportMixin
from apps.tariffs.definition import Dimension, TariffElement
from apps.tariffs.exceptions import TariffInvalidError
from apps.tariffs.models import DecimalJSONDecoder, Tariff, TariffAssignment
from apps.tariffs.rating import MeterReading, Timeline, rate
from apps.tariffs.resources import TariffResource
from apps.tariffs.services import tariff_changes, tariff_values


class PrettyJSONField(forms.JSONField):
    """Shows the stored JSON indented and reads numbers as Decimal."""

    def __init__(self, **kwargs):
        kwargs.setdefault("encoder", DjangoJSONEncoder)
        kwargs.setdefault("decoder", DecimalJSONDecoder)
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 18, "cols": 100, "style": "font-family: monospace"}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        if isinstance(value, str):
            return value
        return json.dumps(value, indent=2, cls=DjangoJSONEncoder)


class TariffForm(forms.ModelForm):
    elements = PrettyJSONField(
        help_text=_(
            'OCPI TariffElements in order, e.g. [{"price_components": [{"type": "ENERGY", "price": "0.35", '
            '"vat": "21", "step_size": 1}], "restrictions": {"start_time": "07:00", "end_time": "23:00"}}]. '
            "For each dimension the first matching element applies: put the unrestricted fallback last."
        )
    )
    tariff_alt_text = PrettyJSONField(required=False, initial=list)
    tariff_alt_url = forms.URLField(required=False, assume_scheme="https", label=_("Alternative URL"))

    class Meta:
        model = Tariff
        fields = Tariff.OPERATOR_FIELDS


class TariffAssignmentInline(admin.TabularInline):
    model = TariffAssignment
    extra = 0
    autocomplete_fields = ("location", "station_group")
    raw_id_fields = ("connector",)
    fields = (
        "location",
        "station_group",
        "connector",
        "customer_group_type",
        "customer_group_ref",
        "valid_from",
        "valid_until",
        "priority",
    )


# A sample session for the preview: one hour at 11 kW, then half an hour parked, starting today at 18:00 UTC.
PREVIEW_CHARGING = timedelta(hours=1)
PREVIEW_PARKING = timedelta(minutes=30)
PREVIEW_POWER_W = Decimal(11000)
PREVIEW_ENERGY_WH = Decimal(11000)


@admin.register(Tariff)
class TariffAdmin(OperatorImportExportMixin, admin.ModelAdmin):
    form = TariffForm
    resource_classes = [TariffResource]
    import_help = format_html(
        "One row per tariff, keyed by <code>code</code> (the OCPI id). <code>currency</code>: ISO 4217. "
        "<code>type</code>: empty or an OCPI tariff type. <code>start_date_time</code>/<code>end_date_time</code>: "
        "validity in UTC, e.g. <code>2027-01-01T00:00:00Z</code>. <code>elements</code>: the OCPI TariffElements as "
        "JSON, e.g. <code>{}</code>. Prices and limits: decimals with '.'. <code>tariff_alt_text</code>: JSON, "
        '<code>[{{"language": "en", "text": "…"}}]</code>.',
        '[{"price_components": [{"type": "ENERGY", "price": "0.35", "vat": "21", "step_size": 1}]}]',
    )
    list_display = ("name", "code", "currency", "type", "summary_short", "start_date_time", "end_date_time")
    list_filter = ("currency", "type")
    search_fields = ("name", "code")
    readonly_fields = ("summary", "preview", "created_at", "updated_at")
    inlines = [TariffAssignmentInline]
    fieldsets = (
        (None, {"fields": ("code", "name", "currency", "type", "start_date_time", "end_date_time")}),
        (_("Prices"), {"fields": ("elements", "summary", "preview")}),
        (
            _("Limits"),
            {"fields": ("min_price_excl_vat", "min_price_incl_vat", "max_price_excl_vat", "max_price_incl_vat")},
        ),
        (_("Idle fee (platform extensions, not OCPI)"), {"fields": ("parking_grace_minutes", "parking_fee_cap")}),
        (_("For drivers"), {"fields": ("tariff_alt_text", "tariff_alt_url")}),
        (_("History"), {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description=_("elements"))
    def save_model(self, request, obj, form, change):
        # The form saves the model itself (not tariff_update): the audit entry is written here, as the service would.
        before = tariff_values(Tariff.objects.get(pk=obj.pk)) if change else {}
        super().save_model(request, obj, form, change)
        changes = tariff_changes(before, tariff_values(obj))
        if changes:
            audit_record(action="tariff.changed" if change else "tariff.created", target=obj, changes=changes)

    def delete_model(self, request, obj):
        audit_record(action="tariff.deleted", target=obj, changes=tariff_changes(tariff_values(obj), {}))
        super().delete_model(request, obj)

    def summary_short(self, tariff: Tariff) -> str:
        try:
            count = len(tariff.parsed_elements)
        except TariffInvalidError:
            return gettext("invalid")
        return ngettext("%(count)s element", "%(count)s elements", count) % {"count": count}

    @admin.display(description=_("in words"))
    def summary(self, tariff: Tariff):
        try:
            elements = tariff.parsed_elements
        except TariffInvalidError:
            return "-"
        return format_html(
            "<ol>{}</ol>",
            format_html_join("", "<li>{}</li>", ((element_text(e, tariff.currency),) for e in elements)),
        )

    @admin.display(description=_("preview cost"))
    def preview(self, tariff: Tariff):
        """What a sample session costs: 1 h at 11 kW then 30 min parked, today from 18:00 UTC."""
        if not tariff.pk:
            return "-"
        try:
            terms = tariff.terms()
        except TariffInvalidError:
            return "-"
        start = timezone.now().replace(hour=18, minute=0, second=0, microsecond=0)
        stop = start + PREVIEW_CHARGING
        timeline = Timeline(
            start=start,
            end=stop + PREVIEW_PARKING,
            readings=(
                MeterReading(start, Decimal(0), PREVIEW_POWER_W, charging=True),
                MeterReading(stop, PREVIEW_ENERGY_WH, Decimal(0), charging=False),
            ),
        )
        location = next((a.location for a in tariff.assignments.select_related("location") if a.location), None)
        rating = rate(terms, timeline, time_zone=location.timezone if location else "UTC")
        lines = ((name, cost.volume, cost.excl_vat, cost.incl_vat) for name, cost in rating.costs.items())
        return format_html(
            "{}:<ul>{}</ul><strong>{}</strong>",
            gettext("1 h charging at 11 kW (11 kWh) then 30 min parked, from 18:00 UTC today (read in %(zone)s)")
            % {"zone": location.timezone}
            if location
            else gettext("1 h charging at 11 kW (11 kWh) then 30 min parked, from 18:00 UTC today"),
            format_html_join("", "<li>{}: {} → {} / {}</li>", lines),
            gettext("%(excl)s excl. VAT, %(incl)s incl. VAT")
            % {"excl": rating.total_excl_vat, "incl": rating.total_incl_vat},
        )


UNITS = {Dimension.ENERGY: _("kWh"), Dimension.TIME: _("h charging"), Dimension.PARKING_TIME: _("h parked")}


def element_text(element: TariffElement, currency: str) -> str:
    parts = []
    for c in element.price_components:
        per = " " + (gettext("per %(unit)s") % {"unit": UNITS[c.type]} if c.type in UNITS else gettext("per session"))
        vat = " + " + gettext("%(vat)s %% VAT") % {"vat": c.vat} if c.vat is not None else ""
        step = ", " + gettext("step %(size)s") % {"size": c.step_size} if c.type != Dimension.FLAT else ""
        parts.append(f"{c.type}: {c.price} {currency}{per}{vat}{step}")
    r = element.restrictions
    when = []
    if r.start_time or r.end_time:
        start = r.start_time.strftime("%H:%M") if r.start_time else "00:00"
        end = r.end_time.strftime("%H:%M") if r.end_time else "24:00"
        when.append(f"{start}–{end}")
    if r.day_of_week:
        when.append(", ".join(day[:3].title() for day in r.day_of_week))
    for name in (
        "start_date",
        "end_date",
        "min_kwh",
        "max_kwh",
        "min_power",
        "max_power",
        "min_current",
        "max_current",
    ):
        if getattr(r, name) is not None:
            when.append(f"{name}={getattr(r, name)}")
    for name in ("min_duration", "max_duration"):
        if getattr(r, name) is not None:
            when.append(f"{name}={getattr(r, name)} s")
    if r.reservation:
        when.append(f"reservation={r.reservation}")
    condition = gettext("when %(conditions)s") % {"conditions": ", ".join(when)} if when else gettext("always")
    return "; ".join(parts) + " — " + condition


@admin.register(TariffAssignment)
class TariffAssignmentAdmin(admin.ModelAdmin):
    list_display = (
        "tariff",
        "scope_label",
        "customer_group_type",
        "customer_group_ref",
        "valid_from",
        "valid_until",
        "priority",
    )
    list_filter = ("customer_group_type",)
    list_select_related = ("tariff", "location", "station_group", "connector__evse__station")
    autocomplete_fields = ("tariff", "location", "station_group")
    raw_id_fields = ("connector",)
