"""The public API in the operator admin: API keys (create, shown once; list; revoke; the hash is never shown) and
API usage per partner application (read only)."""

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.utils import timezone

from apps.api.models import ApiKey, ApiUsageDay, Scope
from apps.api.models.usage import LATENCY_RELATIVE_ERROR
from apps.api.selectors import api_usage_client_totals
from apps.api.services import api_key_create, api_key_revoke

REVOKE_PERMISSION = "api.change_apikey"


class ApiKeyCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ("name", "scopes", "expires_at")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ("name", "prefix", "scopes_list", "created_at", "expires_at", "revoked_at", "last_used_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    actions = ("revoke",)
    readonly_fields = ("name", "prefix", "scopes", "created_at", "expires_at", "revoked_at", "last_used_at")

    @admin.display(description="Scopes")
    def scopes_list(self, api_key: ApiKey) -> str:
        return ", ".join(api_key.scopes)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ApiKeyCreateForm.Meta.fields if obj is None else self.readonly_fields

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # A key is never edited: revoke it and create another.

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # Revoked keys stay, so operators can see what existed and when it was last used.

    def has_revoke_permission(self, request) -> bool:
        return request.user.has_perm(REVOKE_PERMISSION)

    def save_model(self, request, obj, form, change):
        api_key, plaintext = api_key_create(
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            expires_at=form.cleaned_data.get("expires_at"),
        )
        # The admin logs and redirects with `obj`: make it the created key.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(api_key, field.attname))
        obj._state.adding = False
        messages.warning(request, f"Copy this API key now, it will not be shown again: {plaintext}")

    @admin.action(description="Revoke the selected API keys", permissions=["revoke"])
    def revoke(self, request, queryset):
        count = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key)
            count += 1
        messages.success(request, f"Revoked {count} API key(s).")


USAGE_SUMMARY_DAYS = 30


@admin.register(ApiUsageDay)
class ApiUsageDayAdmin(admin.ModelAdmin):
    """Each day's counters per client and endpoint, under a table of every client's totals for the last 30 days."""

    list_display = (
        "day",
        "client_id",
        "method",
        "endpoint",
        "requests",
        "responses_4xx",
        "responses_5xx",
        "p50",
        "p95",
        "p99",
    )
    list_filter = ("method",)
    search_fields = ("client_id", "endpoint")
    date_hierarchy = "day"
    ordering = ("-day", "client_id", "endpoint", "method")

    @admin.display(description="p50 ms")
    def p50(self, usage: ApiUsageDay) -> float | None:
        return usage.latency_p50_ms

    @admin.display(description="p95 ms")
    def p95(self, usage: ApiUsageDay) -> float | None:
        return usage.latency_p95_ms

    @admin.display(description="p99 ms")
    def p99(self, usage: ApiUsageDay) -> float | None:
        return usage.latency_p99_ms

    def has_add_permission(self, request) -> bool:
        return False  # Counted by the API itself.

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def changelist_view(self, request, extra_context=None):
        until = timezone.now().date()
        since = until - timedelta(days=USAGE_SUMMARY_DAYS - 1)
        totals = api_usage_client_totals(since=since, until=until)
        prefixes = [total.client_id.removeprefix("key:") for total in totals if total.client_id.startswith("key:")]
        names = dict(ApiKey.objects.filter(prefix__in=prefixes).values_list("prefix", "name"))
        extra_context = {
            **(extra_context or {}),
            "usage_since": since,
            "usage_until": until,
            "usage_clients": [_usage_summary_row(total, names) for total in totals],
            "usage_error_percent": round(LATENCY_RELATIVE_ERROR * 100, 1),
        }
        return super().changelist_view(request, extra_context=extra_context)


def _usage_summary_row(total, key_names: dict[str, str]) -> dict:
    def percent(rate: float | None) -> float | None:
        return None if rate is None else round(rate * 100, 2)

    return {
        "client_id": total.client_id,
        "name": key_names.get(total.client_id.removeprefix("key:"), "") if total.client_id.startswith("key:") else "",
        "requests": total.requests,
        "percent_4xx": percent(total.error_rate_4xx),
        "percent_5xx": percent(total.error_rate_5xx),
        "mean_ms": total.latency_mean_ms,
        "p50_ms": total.latency_p50_ms,
        "p95_ms": total.latency_p95_ms,
        "p99_ms": total.latency_p99_ms,
        "webhooks": total.webhooks_succeeded + total.webhooks_failed,
        "webhook_success_percent": percent(total.webhook_success_rate),
    }
