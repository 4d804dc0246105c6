"""The public API in the operator admin: API keys and OAuth 2.0 applications (create, with the key or client secret
shown once; list; revoke; hashes are never shown) and API usage per partner application (read only)."""

from datetime import timedelta

import oauth2_provider.admin  # the toolkit's registrations first, so that ours can replace them
from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from oauth2_provider.models import get_application_model, get_id_token_model

from apps.api.models import ApiKey, ApiUsageDay, OAuthApplicationScopes, Scope
from apps.api.models.usage import LATENCY_RELATIVE_ERROR
from apps.api.oauth import oauth_application_secret_renew
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


# OAuth 2.0 applications: the toolkit registers its admin; ours replaces the application admin so that operators
# choose the allowed scopes beside it and see a confidential client's secret once, after creating it.
Application = get_application_model()
SECRET_MESSAGE = "Copy the client secret of {name} now, it will not be shown again: {secret}"


class OAuthApplicationForm(forms.ModelForm):
    # Only the grants the platform offers: no implicit, password, device or OpenID Connect flows.
    authorization_grant_type = forms.ChoiceField(
        label="Grant",
        choices=[
            (Application.GRANT_CLIENT_CREDENTIALS, "Client credentials (a partner's server, confidential)"),
            (Application.GRANT_AUTHORIZATION_CODE, "Authorization code with PKCE (an app acting for a person)"),
        ],
        widget=forms.RadioSelect,
    )

    class Meta:
        model = Application
        fields = ("name", "client_type", "authorization_grant_type", "redirect_uris", "skip_authorization")

    def clean(self):
        cleaned = super().clean()
        if (
            cleaned.get("authorization_grant_type") == Application.GRANT_CLIENT_CREDENTIALS
            and cleaned.get("client_type") != Application.CLIENT_CONFIDENTIAL
        ):
            self.add_error("client_type", "Client credentials need a confidential client: it holds a secret.")
        return cleaned


class OAuthApplicationScopesForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple, required=False)

    class Meta:
        model = OAuthApplicationScopes
        fields = ("scopes", "rate_limit_per_minute")


class OAuthApplicationScopesInline(admin.StackedInline):
    model = OAuthApplicationScopes
    form = OAuthApplicationScopesForm
    can_delete = False
    min_num = 1
    max_num = 1


class OAuthApplicationAdmin(oauth2_provider.admin.ApplicationAdmin):
    form = OAuthApplicationForm
    inlines = (OAuthApplicationScopesInline,)
    list_display = ("name", "client_id", "client_type", "authorization_grant_type", "allowed_scopes", "created")
    list_filter = ("client_type", "authorization_grant_type")
    list_select_related = ("api_scopes",)
    search_fields = ("name", "client_id")
    radio_fields = {"client_type": admin.HORIZONTAL}
    actions = ("secret_renew",)

    @admin.display(description="Allowed scopes")
    def allowed_scopes(self, application) -> str:
        row = getattr(application, "api_scopes", None)
        return ", ".join(row.scopes) if row is not None else "—"

    def get_fields(self, request, obj=None):
        fields = OAuthApplicationForm.Meta.fields
        return fields if obj is None else ("client_id", *fields, "created", "updated")

    def get_readonly_fields(self, request, obj=None):
        # The secret is never shown after creation (only its hash is stored): renew it with the action instead.
        return () if obj is None else ("client_id", "client_type", "created", "updated")

    def save_model(self, request, obj, form, change):
        secret = None
        if not change:
            if obj.client_type == Application.CLIENT_CONFIDENTIAL:
                secret = obj.client_secret  # the model's generated default, hashed when saved
                obj.hash_client_secret = True
            else:
                obj.client_secret, obj.hash_client_secret = "", False  # a browser or phone app keeps no secret
        super().save_model(request, obj, form, change)
        if secret:
            messages.warning(request, f"Client ID of {obj.name}: {obj.client_id}")
            messages.warning(request, SECRET_MESSAGE.format(name=obj.name, secret=secret))

    @admin.action(description="Issue a new client secret (the old one stops working)", permissions=["change"])
    def secret_renew(self, request, queryset):
        for application in queryset.filter(client_type=Application.CLIENT_CONFIDENTIAL):
            secret = oauth_application_secret_renew(application=application)
            messages.warning(request, SECRET_MESSAGE.format(name=application.name, secret=secret))


admin.site.unregister(Application)
admin.site.register(Application, OAuthApplicationAdmin)
# OpenID Connect is off: its ID tokens would only be an empty list.
if admin.site.is_registered(get_id_token_model()):
    admin.site.unregister(get_id_token_model())
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
