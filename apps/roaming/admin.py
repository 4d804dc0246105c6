"""Roaming (OCPI 2.2.1) in the operator admin: the brand's OCPI identity, its partners (create with the token A
shown once, register, rotate credentials, unregister, pull their data; tokens are never shown in full), what
partners sent us (read only), the commands both ways and the outbox (send a failed push again).

Partner actions change what another platform accepts from us, so they need the partner change permission (owners
and administrators) and each is written to the audit log."""

import json

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import Count, Q
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.audit import audit_record
from apps.roaming.exceptions import RoamingError
from apps.roaming.models import (
    OutboxMessage,
    Partner,
    PartnerCdr,
    PartnerLocation,
    PartnerSession,
    PartnerTariff,
    PartnerToken,
    ReceivedCommand,
    RoamingSession,
    RoamingSettings,
    SentCommand,
)
from apps.roaming.modules.locations import locations_push_to
from apps.roaming.modules.tariffs import tariffs_push_to
from apps.roaming.outbox import outbox_retry
from apps.roaming.pull import partner_pull
from apps.roaming.services import partner_create, partner_credentials_rotate, partner_register, partner_unregister

# URLs typed without a scheme are https (Django 6's default, and what partners' platforms speak).
URL_FIELDS = {models.URLField: {"assume_scheme": "https"}}


def json_block(value) -> str:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, sort_keys=True, default=str))


def token_masked(token: str) -> str:
    """Enough to tell two tokens apart, never enough to use one."""
    return f"{token[:4]}…" if token else "—"


class RoamingSettingsForm(forms.ModelForm):
    public_url = forms.URLField(
        label=_("public URL"), assume_scheme="https", help_text=RoamingSettings._meta.get_field("public_url").help_text
    )
    roles = forms.MultipleChoiceField(
        label=_("roles"), choices=RoamingSettings.Role.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = RoamingSettings
        fields = ("country_code", "party_id", "roles", "business_name", "public_url")

    def clean_country_code(self) -> str:
        return self.cleaned_data["country_code"].upper()

    def clean_party_id(self) -> str:
        return self.cleaned_data["party_id"].upper()


@admin.register(RoamingSettings)
class RoamingSettingsAdmin(admin.ModelAdmin):
    form = RoamingSettingsForm
    formfield_overrides = URL_FIELDS
    list_display = ("__str__", "business_name", "roles_list", "public_url")

    @admin.display(description=_("roles"))
    def roles_list(self, settings: RoamingSettings) -> str:
        return ", ".join(settings.roles)

    def has_add_permission(self, request) -> bool:
        # One OCPI identity per brand.
        return super().has_add_permission(request) and not RoamingSettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # Partners know the brand by it: change it, never remove it.

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if form.changed_data:
            audit_record(
                action="roaming_settings.changed" if change else "roaming_settings.created",
                target=obj,
                changes={name: [form.initial.get(name), form.cleaned_data.get(name)] for name in form.changed_data},
            )


class PartnerCreateForm(forms.ModelForm):
    versions_url = forms.URLField(label=_("versions URL"), required=False, assume_scheme="https")
    token = forms.CharField(
        label=_("Their token A"),
        required=False,
        max_length=255,
        help_text=_(
            "To register with them: the token A they gave you, with their versions URL. Leave empty if they "
            "register with us: a token A for them is shown once after saving."
        ),
    )

    class Meta:
        model = Partner
        fields = ("name", "versions_url", "token", "tokens_base64")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("token") and not cleaned.get("versions_url"):
            self.add_error("versions_url", gettext("Registering with them needs their versions URL."))
        return cleaned


def _pull_action(module: str, description):
    def action(modeladmin, request, queryset):
        for partner in queryset:
            try:
                result = partner_pull(partner=partner, module=module)
            except RoamingError as error:
                modeladmin.message_user(
                    request,
                    gettext("%(partner)s: pulling %(module)s failed (OCPI %(code)s): %(error)s")
                    % {"partner": partner, "module": module, "code": error.status_code, "error": error},
                    messages.ERROR,
                )
                continue
            text = gettext("%(partner)s: %(stored)s %(module)s stored from %(pages)s page(s)") % {
                "partner": partner,
                "stored": result.stored,
                "module": module,
                "pages": result.pages,
            }
            if result.refused:
                text += gettext("; %(count)s refused: %(refused)s") % {
                    "count": len(result.refused),
                    "refused": "; ".join(result.refused[:10]),
                }
            modeladmin.message_user(request, text, messages.WARNING if result.refused else messages.SUCCESS)

    action.__name__ = f"pull_{module}"
    return admin.action(description=description, permissions=["change"])(action)


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    formfield_overrides = URL_FIELDS
    list_display = (
        "name",
        "status",
        "version",
        "roles_summary",
        "token_prefix",
        "endpoints_count",
        "outbox_pending",
        "outbox_failed",
    )
    list_filter = ("status",)
    search_fields = ("name", "versions_url")
    readonly_fields = (
        "status",
        "version",
        "roles_summary",
        "token_to_them",
        "token_prefix",
        "endpoints_list",
        "created_at",
        "updated_at",
    )
    actions = (
        "register",
        "rotate_credentials",
        "unregister",
        "push_catalogue",
        _pull_action("locations", _("Pull locations")),
        _pull_action("tariffs", _("Pull tariffs")),
        _pull_action("sessions", _("Pull sessions")),
        _pull_action("cdrs", _("Pull CDRs")),
        _pull_action("tokens", _("Pull tokens")),
    )

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                pending_count=Count("outbox", filter=Q(outbox__status=OutboxMessage.Status.PENDING)),
                failed_count=Count("outbox", filter=Q(outbox__status=OutboxMessage.Status.FAILED)),
            )
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = PartnerCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return PartnerCreateForm.Meta.fields
        return ("name", "versions_url", "tokens_base64", *self.readonly_fields)

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # Their sessions and CDRs hang on the partner: unregister instead.

    @admin.display(description=_("roles"))
    def roles_summary(self, partner: Partner) -> str:
        roles = [
            f"{role.get('role')} {role.get('country_code')}*{role.get('party_id')}"
            for role in partner.roles
            if isinstance(role, dict)
        ]
        return ", ".join(roles) or "—"

    @admin.display(description=_("their token for us (prefix)"))
    def token_prefix(self, partner: Partner) -> str:
        return f"{partner.token_c_prefix}…" if partner.token_c_prefix else "—"

    @admin.display(description=_("our token for them"))
    def token_to_them(self, partner: Partner) -> str:
        return token_masked(partner.token_b)

    @admin.display(description=_("endpoints"))
    def endpoints_count(self, partner: Partner) -> int:
        return len(partner.endpoints)

    @admin.display(description=_("endpoints"))
    def endpoints_list(self, partner: Partner) -> str:
        return json_block(partner.endpoints)

    @admin.display(description=_("outbox waiting"), ordering="pending_count")
    def outbox_pending(self, partner: Partner) -> int:
        return partner.pending_count

    @admin.display(description=_("outbox given up"), ordering="failed_count")
    def outbox_failed(self, partner: Partner) -> int:
        return partner.failed_count

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            if form.changed_data:
                audit_record(
                    action="roaming_partner.changed",
                    target=obj,
                    changes={name: [form.initial.get(name), form.cleaned_data.get(name)] for name in form.changed_data},
                )
            return
        partner, token_a = partner_create(
            name=form.cleaned_data["name"],
            versions_url=form.cleaned_data.get("versions_url") or "",
            token=form.cleaned_data.get("token") or "",
            tokens_base64=form.cleaned_data.get("tokens_base64", True),
        )
        for field in Partner._meta.concrete_fields:
            setattr(obj, field.attname, getattr(partner, field.attname))
        obj._state.adding = False
        audit_record(action="roaming_partner.created", target=partner, changes={"versions_url": partner.versions_url})
        if token_a:
            messages.warning(
                request,
                gettext("Give %(name)s this token A to register with us; it will not be shown again: %(token)s")
                % {"name": partner.name, "token": token_a},
            )

    def _run(self, request, queryset, service, action: str, done) -> None:
        for partner in queryset:
            try:
                service(partner=partner)
            except RoamingError as error:
                self.message_user(
                    request,
                    gettext("%(partner)s: OCPI %(code)s: %(error)s")
                    % {"partner": partner, "code": error.status_code, "error": error},
                    messages.ERROR,
                )
                continue
            audit_record(action=action, target=partner)
            self.message_user(request, done % {"partner": partner}, messages.SUCCESS)

    @admin.action(description=_("Register with the selected partners"), permissions=["change"])
    def register(self, request, queryset):
        self._run(request, queryset, partner_register, "roaming_partner.registered", gettext("%(partner)s: registered"))

    @admin.action(description=_("Rotate credentials (new tokens both ways)"), permissions=["change"])
    def rotate_credentials(self, request, queryset):
        self._run(
            request,
            queryset,
            partner_credentials_rotate,
            "roaming_partner.credentials_rotated",
            gettext("%(partner)s: new tokens both ways"),
        )

    @admin.action(description=_("Send our locations and tariffs (full PUT, to resync an eMSP)"), permissions=["change"])
    def push_catalogue(self, request, queryset):
        for partner in queryset:
            locations, tariffs = locations_push_to(partner=partner), tariffs_push_to(partner=partner)
            audit_record(action="roaming_partner.catalogue_pushed", target=partner)
            self.message_user(
                request,
                gettext("%(partner)s: %(locations)s location(s) and %(tariffs)s tariff(s) queued in the outbox")
                % {"partner": partner, "locations": locations, "tariffs": tariffs},
                messages.SUCCESS,
            )

    def get_urls(self):
        from django.urls import path

        from apps.roaming.settlement import settlement_view

        settlement = path("settlement/", self.admin_site.admin_view(settlement_view), name="roaming_partner_settlement")
        return [settlement, *super().get_urls()]

    @admin.action(description=_("Unregister from the selected partners"), permissions=["change"])
    def unregister(self, request, queryset):
        self._run(
            request, queryset, partner_unregister, "roaming_partner.unregistered", gettext("%(partner)s: unregistered")
        )


class ReadOnlyAdmin(admin.ModelAdmin):
    """What partners sent us or what happened on the wire: for reading."""

    formfield_overrides = URL_FIELDS

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class PartnerObjectAdmin(ReadOnlyAdmin):
    list_display = ("object_id", "partner", "country_code", "party_id", "last_updated")
    list_filter = ("partner",)
    list_select_related = ("partner",)
    search_fields = ("object_id",)
    date_hierarchy = "last_updated"
    exclude = ("data",)
    readonly_fields = ("data_shown",)

    @admin.display(description=_("data"))
    def data_shown(self, obj) -> str:
        return json_block(obj.data)


admin.site.register(PartnerLocation, PartnerObjectAdmin)
admin.site.register(PartnerTariff, PartnerObjectAdmin)


@admin.register(PartnerSession)
class PartnerSessionAdmin(PartnerObjectAdmin):
    list_display = ("object_id", "partner", "status", "token_uid", "kwh", "start_date_time", "end_date_time")
    list_filter = ("partner", "status")
    search_fields = ("object_id", "token_uid")


@admin.register(PartnerCdr)
class PartnerCdrAdmin(PartnerObjectAdmin):
    list_display = (
        "object_id",
        "partner",
        "session_id",
        "end_date_time",
        "total_energy",
        "currency",
        "total_cost_excl_vat",
        "expected_total_excl_vat",
        "disputed",
        "credit",
        "invoice",
    )
    list_filter = ("disputed", "credit", "partner")
    search_fields = ("object_id", "session_id", "token_uid")


@admin.register(PartnerToken)
class PartnerTokenAdmin(PartnerObjectAdmin):
    list_display = ("object_id", "type", "partner", "contract_id", "valid", "whitelist", "authorized_at")
    list_filter = ("partner", "valid", "type", "whitelist")
    search_fields = ("object_id", "contract_id")


@admin.register(RoamingSession)
class RoamingSessionAdmin(ReadOnlyAdmin):
    list_display = ("session", "partner", "authorization_reference", "created_at")
    list_filter = ("partner",)
    list_select_related = ("session", "partner")
    search_fields = ("session__id", "authorization_reference")


@admin.register(ReceivedCommand)
class ReceivedCommandAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "partner", "from_party", "module", "type", "command", "answered_at")
    list_filter = ("module", "type", "partner")
    list_select_related = ("partner", "command")


@admin.register(SentCommand)
class SentCommandAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "partner", "module", "type", "uid", "result_at")
    list_filter = ("module", "type", "partner")
    list_select_related = ("partner",)
    search_fields = ("uid",)


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "created_at",
        "partner",
        "to_party",
        "method",
        "module",
        "path",
        "status",
        "attempts",
        "next_attempt_at",
    )
    list_filter = ("status", "module", "partner")
    list_select_related = ("partner",)
    exclude = ("body",)
    readonly_fields = ("body_shown",)
    actions = ("send_again",)

    @admin.display(description=_("body"))
    def body_shown(self, message: OutboxMessage) -> str:
        return json_block(message.body)

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("roaming.change_outboxmessage")

    @admin.action(description=_("Send again (after the partner's earlier messages)"), permissions=["retry"])
    def send_again(self, request, queryset):
        count = 0
        # A failed message, or one waiting for its next try: now, still after the partner's earlier ones.
        for message in queryset.exclude(status=OutboxMessage.Status.SENT):
            outbox_retry(message=message)
            count += 1
        self.message_user(request, gettext("%(count)s message(s) will be sent again.") % {"count": count})
