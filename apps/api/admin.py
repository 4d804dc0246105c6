"""API keys in the operator admin: create (the key is shown once), list, revoke. The hash is never shown.
Webhooks: subscriptions (the secret is shown once), deliveries with their attempts; replay, re-enable, ping."""

import json

from django import forms
from django.contrib import admin, messages

from apps.api.models import ApiKey, EventKind, Scope, WebhookAttempt, WebhookDelivery, WebhookSubscription
from apps.api.models.webhooks import ALL_KINDS
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


# --- webhooks -----------------------------------------------------------------------------------------------------


class WebhookSubscriptionForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    event_kinds = forms.MultipleChoiceField(
        choices=[(ALL_KINDS, "Every event kind"), *EventKind.choices],
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
    readonly_fields = ("is_active", "disabled_at", "disabled_reason", "consecutive_failures", "client_id", "created_at")
    actions = ("enable", "ping", "rotate_secret")

    @admin.display(description="Event kinds")
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
            messages.warning(request, f"Copy the signing secret now, it will not be shown again: {secret}")
        for field in WebhookSubscription._meta.concrete_fields:
            setattr(obj, field.attname, getattr(saved, field.attname))
        obj._state.adding = False

    def delete_model(self, request, obj):
        webhook_subscription_delete(subscription=obj)

    def delete_queryset(self, request, queryset):
        for subscription in queryset:
            webhook_subscription_delete(subscription=subscription)

    @admin.action(description="Re-enable the selected subscriptions", permissions=["change"])
    def enable(self, request, queryset):
        count = 0
        for subscription in queryset.filter(is_active=False):
            webhook_subscription_enable(subscription=subscription)
            count += 1
        messages.success(request, f"Re-enabled {count} subscription(s).")

    @admin.action(description="Send a test ping to the selected subscriptions", permissions=["change"])
    def ping(self, request, queryset):
        for subscription in queryset:
            delivery = webhook_ping(subscription=subscription)
            messages.info(request, f"Ping to {subscription.url}: see delivery {delivery.pk}.")

    @admin.action(description="Rotate the signing secret of the selected subscriptions", permissions=["change"])
    def rotate_secret(self, request, queryset):
        for subscription in queryset:
            _, secret = webhook_subscription_secret_rotate(subscription=subscription)
            messages.warning(
                request, f"New secret of {subscription.url} (copy it now, it is not shown again): {secret}"
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

    @admin.display(description="Event")
    def event_kind(self, delivery: WebhookDelivery) -> str:
        return delivery.event.kind

    @admin.display(description="Event id (Webhook-Id)")
    def event_id_shown(self, delivery: WebhookDelivery) -> str:
        return str(delivery.event_id)

    @admin.display(description="Data")
    def event_data(self, delivery: WebhookDelivery) -> str:
        return json.dumps(delivery.event.data, indent=2, sort_keys=True)

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_replay_permission(self, request) -> bool:
        return request.user.has_perm("api.change_webhooksubscription")

    @admin.action(description="Replay the selected deliveries (same event id)", permissions=["replay"])
    def replay(self, request, queryset):
        count = 0
        for delivery in queryset:
            webhook_delivery_replay(delivery=delivery)
            count += 1
        messages.success(request, f"Replaying {count} delivery(ies): see their attempts.")
