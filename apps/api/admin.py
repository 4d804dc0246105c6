"""The public API in the operator admin: API keys and OAuth 2.0 applications (create, with the key or client secret
shown once; list; revoke; hashes are never shown), webhooks (subscriptions with the secret shown once, deliveries
with their attempts; replay, re-enable, ping) and API usage per partner application (read only)."""

import json
from datetime import timedelta

import oauth2_provider.admin  # the toolkit's registrations first, so that ours can replace them
from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from oauth2_provider.models import get_application_model, get_id_token_model

from apps.accounts.audit import audit_record
from apps.api.models import (
    ApiKey,
    ApiUsageDay,
    EventKind,
    OAuthApplicationScopes,
    Scope,
    WebhookAttempt,
    WebhookDelivery,
    WebhookSubscription,
)
from apps.api.models.usage import LATENCY_RELATIVE_ERROR
from apps.api.models.webhooks import ALL_KINDS
from apps.api.oauth import oauth_application_secret_renew
from apps.api.selectors import api_usage_summary
from apps.api.services import api_key_create, api_key_revoke
from apps.api.services.webhooks import (
    webhook_delivery_replay,
    webhook_kinds_problem,
    webhook_ping,
    webhook_subscription_create,
    webhook_subscription_delete,
    webhook_subscription_enable,
    webhook_subscription_secret_rotate,
    webhook_subscription_update,
    webhook_url_problem,
)

REVOKE_PERMISSION = "api.change_apikey"


class ApiKeyCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(choices=Scope.choices, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = ApiKey
        fields = ("name", "scopes", "expires_at", "rate_limit_per_minute")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "prefix",
        "scopes_list",
        "rate_limit_per_minute",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    )
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix")
    actions = ("revoke",)
    readonly_fields = (
        "name",
        "prefix",
        "scopes",
        "rate_limit_per_minute",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    )

    @admin.display(description=_("Scopes"))
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
            rate_limit_per_minute=form.cleaned_data.get("rate_limit_per_minute"),
        )
        # The admin logs and redirects with `obj`: make it the created key.
        for field in ApiKey._meta.concrete_fields:
            setattr(obj, field.attname, getattr(api_key, field.attname))
        obj._state.adding = False
        messages.warning(
            request, gettext("Copy this API key now, it will not be shown again: %(key)s") % {"key": plaintext}
        )

    @admin.action(description=_("Revoke the selected API keys"), permissions=["revoke"])
    def revoke(self, request, queryset):
        count = 0
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key)
            count += 1
        messages.success(request, gettext("Revoked %(count)s API key(s).") % {"count": count})


# OAuth 2.0 applications: the toolkit registers its admin; ours replaces the application admin so that operators
# choose the allowed scopes beside it and see a confidential client's secret once, after creating it.
Application = get_application_model()
SECRET_MESSAGE = _("Copy the client secret of %(name)s now, it will not be shown again: %(secret)s")


class OAuthApplicationForm(forms.ModelForm):
    # Only the grants the platform offers: no implicit, password, device or OpenID Connect flows.
    authorization_grant_type = forms.ChoiceField(
        label=_("Grant"),
        choices=[
            (Application.GRANT_CLIENT_CREDENTIALS, _("Client credentials (a partner's server, confidential)")),
            (Application.GRANT_AUTHORIZATION_CODE, _("Authorization code with PKCE (an app acting for a person)")),
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
            self.add_error("client_type", gettext("Client credentials need a confidential client: it holds a secret."))
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

    @admin.display(description=_("Allowed scopes"))
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
            messages.warning(
                request, gettext("Client ID of %(name)s: %(id)s") % {"name": obj.name, "id": obj.client_id}
            )
            messages.warning(request, SECRET_MESSAGE % {"name": obj.name, "secret": secret})

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # After the inline: the entry records the scopes the application is allowed now.
        application = form.instance
        row = OAuthApplicationScopes.objects.filter(application=application).first()
        changed = sorted(form.changed_data) + [name for formset in formsets for name in _formset_changes(formset)]
        if change and not changed:
            return
        audit_record(
            action="oauth_application.changed" if change else "oauth_application.created",
            target=application,
            changes={
                "fields": changed,
                "scopes": row.scopes if row is not None else [],
                "grant_type": application.authorization_grant_type,
            },
        )

    def delete_model(self, request, obj):
        audit_record(action="oauth_application.deleted", target=obj)
        super().delete_model(request, obj)

    @admin.action(description=_("Issue a new client secret (the old one stops working)"), permissions=["change"])
    def secret_renew(self, request, queryset):
        for application in queryset.filter(client_type=Application.CLIENT_CONFIDENTIAL):
            secret = oauth_application_secret_renew(application=application)
            messages.warning(request, SECRET_MESSAGE % {"name": application.name, "secret": secret})


def _formset_changes(formset) -> list[str]:
    return [name for form in formset.forms if form.has_changed() for name in form.changed_data]


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

    @admin.display(description=_("p50 ms"))
    def p50(self, usage: ApiUsageDay) -> float | None:
        return usage.latency_p50_ms

    @admin.display(description=_("p95 ms"))
    def p95(self, usage: ApiUsageDay) -> float | None:
        return usage.latency_p95_ms

    @admin.display(description=_("p99 ms"))
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
        extra_context = {
            **(extra_context or {}),
            "usage_since": since,
            "usage_until": until,
            "usage_clients": api_usage_summary(since=since, until=until),
            "usage_error_percent": round(LATENCY_RELATIVE_ERROR * 100, 1),
        }
        return super().changelist_view(request, extra_context=extra_context)


# --- webhooks -----------------------------------------------------------------------------------------------------


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    event_kinds = forms.MultipleChoiceField(
        choices=[(ALL_KINDS, _("Every event kind")), *EventKind.choices],
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = WebhookSubscription
        fields = ("url", "event_kinds", "description")

    def clean_url(self) -> str:
        url = self.cleaned_data["url"]
        problem = webhook_url_problem(url)
        if problem:
            raise forms.ValidationError(problem)
        return url

    def clean_event_kinds(self) -> list[str]:
        kinds = self.cleaned_data["event_kinds"]
        problem = webhook_kinds_problem(kinds)
        if problem:
            raise forms.ValidationError(problem)
        return kinds


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(admin.ModelAdmin):
    form = WebhookSubscriptionForm
    list_display = ("__str__", "url", "kinds_list", "is_active", "disabled_reason", "consecutive_failures", "client_id")
    list_filter = ("is_active",)
    search_fields = ("url", "description", "client_id")
    readonly_fields = (
        "is_active",
        "disabled_at",
        "disabled_reason",
        "consecutive_failures",
        "client_id",
        "previous_secret_expires_at",
        "created_at",
    )
    actions = ("enable", "ping", "rotate_secret")

    @admin.display(description=_("Event kinds"))
    def kinds_list(self, subscription: WebhookSubscription) -> str:
        return ", ".join(subscription.event_kinds)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        data = {key: form.cleaned_data[key] for key in ("url", "event_kinds", "description")}
        if change:
            saved = webhook_subscription_update(subscription=obj, **data)
        else:
            saved, secret = webhook_subscription_create(**data)
            messages.warning(
                request,
                gettext("Copy the signing secret now, it will not be shown again: %(secret)s") % {"secret": secret},
            )
        for field in WebhookSubscription._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def delete_model(self, request, obj):
        webhook_subscription_delete(subscription=obj)

    def delete_queryset(self, request, queryset):
        for subscription in queryset:
            webhook_subscription_delete(subscription=subscription)

    @admin.action(description=_("Re-enable the selected subscriptions"), permissions=["change"])
    def enable(self, request, queryset):
        count = 0
        for subscription in queryset.filter(is_active=False):
            webhook_subscription_enable(subscription=subscription)
            count += 1
        messages.success(request, gettext("Re-enabled %(count)s subscription(s).") % {"count": count})

    @admin.action(description=_("Send a test ping to the selected subscriptions"), permissions=["change"])
    def ping(self, request, queryset):
        for subscription in queryset:
            delivery = webhook_ping(subscription=subscription)
            messages.info(
                request, gettext("Ping to %(url)s: see delivery %(id)s.") % {"url": subscription.url, "id": delivery.pk}
            )

    @admin.action(description=_("Rotate the signing secret of the selected subscriptions"), permissions=["change"])
    def rotate_secret(self, request, queryset):
        for subscription in queryset:
            rotated, secret = webhook_subscription_secret_rotate(subscription=subscription)
            overlap = (
                gettext("; the previous one also signs until %(until)s UTC")
                % {"until": f"{rotated.previous_secret_expires_at:%Y-%m-%d %H:%M}"}
                if rotated.previous_secret_expires_at
                else ""
            )
            messages.warning(
                request,
                gettext("New secret of %(url)s (copy it now, it is not shown again%(overlap)s): %(secret)s")
                % {"url": subscription.url, "secret": secret, "overlap": overlap},
            )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ("at", "status_code", "error", "duration_ms", "response_excerpt", "manual")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("id", "event_kind", "subscription", "status", "attempt_count", "last_attempt_at", "next_attempt_at")
    list_filter = ("status", "subscription")
    list_select_related = ("event", "subscription")
    search_fields = ("event__id", "event__kind")
    fields = (
        "event_id_shown",
        "event_kind",
        "subscription",
        "status",
        "attempt_count",
        "created_at",
        "last_attempt_at",
        "next_attempt_at",
        "event_data",
    )
    readonly_fields = fields
    inlines = (WebhookAttemptInline,)
    actions = ("replay",)

    @admin.display(description=_("Event"))
    def event_kind(self, delivery: WebhookDelivery) -> str:
        return delivery.event.kind

    @admin.display(description=_("Event id (Webhook-Id)"))
    def event_id_shown(self, delivery: WebhookDelivery) -> str:
        return str(delivery.event_id)

    @admin.display(description=_("Data"))
    def event_data(self, delivery: WebhookDelivery) -> str:
        return json.dumps(delivery.event.data, indent=2, sort_keys=True)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_replay_permission(self, request) -> bool:
        return request.user.has_perm("api.change_webhooksubscription")

    @admin.action(description=_("Replay the selected deliveries (same event id)"), permissions=["replay"])
    def replay(self, request, queryset):
        count = 0
        for delivery in queryset:
            webhook_delivery_replay(delivery=delivery)
            count += 1
        messages.success(request, gettext("Replaying %(count)s delivery(ies): see their attempts.") % {"count": count})
