"""API keys in the operator admin: create (the key is shown once), list, revoke. The hash is never shown."""

from django import forms
from django.contrib import admin, messages

from apps.api.models import ApiKey, Scope
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
