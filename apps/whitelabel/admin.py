"""Two admin sites: the platform admin (public hosts) manages brands and their lifecycle (create, suspend, resume,
export, delete); each brand's admin shows only its own branding."""

import tempfile
from datetime import UTC

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import FileResponse, Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from apps.whitelabel.exceptions import TenantError
from apps.whitelabel.models import Branding, Domain, Tenant, TenantEvent
from apps.whitelabel.selectors import tenant_event_list, tenant_usage
from apps.whitelabel.services import (
    platform_subdomain,
    tenant_create,
    tenant_delete,
    tenant_export,
    tenant_resume,
    tenant_suspend,
)


class PlatformAdminSite(admin.AdminSite):
    site_header = _("EV platform administration")
    site_title = _("EV platform")
    index_title = _("Brands and platform staff")


platform_admin_site = PlatformAdminSite(name="platform_admin")

BRANDING_FIELDS = (
    "display_name",
    "primary_colour",
    "accent_colour",
    "logo",
    "favicon",
    "email_sender_name",
    "email_sender",
    "support_email",
    "support_phone",
    "terms_url",
    "privacy_url",
)


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class BrandingInline(admin.StackedInline):
    model = Branding
    can_delete = False
    fields = BRANDING_FIELDS


class TenantCreateForm(forms.ModelForm):
    """A new brand with its domains and branding, made by `tenant_create` (which clones its schema)."""

    custom_domains = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One host per line, such as charge.example.com. The platform subdomain <slug>.<base domain> is "
        "always added, as the primary domain.",
    )
    display_name = forms.CharField(required=False, max_length=120, help_text="Shown to customers; the name if empty.")
    primary_colour = forms.CharField(initial="#0b6e4f", max_length=7)
    accent_colour = forms.CharField(initial="#f2a541", max_length=7)
    logo = forms.ImageField(required=False)
    favicon = forms.ImageField(required=False)
    email_sender_name = forms.CharField(required=False, max_length=120)
    email_sender = forms.EmailField(required=False, label="Email sender address")
    support_email = forms.EmailField(required=False)
    support_phone = forms.CharField(required=False, max_length=32)
    terms_url = forms.URLField(required=False, label="Terms URL", assume_scheme="https")
    privacy_url = forms.URLField(required=False, label="Privacy policy URL", assume_scheme="https")

    class Meta:
        model = Tenant
        fields = (
            "slug",
            "name",
            "kind",
            "reseller",
            "default_locale",
            "currency",
            "timezone",
            "plan",
            "max_stations",
            "max_users",
        )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [c for c in Tenant.Kind.choices if c[0] != Tenant.Kind.PLATFORM]

    def clean_custom_domains(self) -> list[str]:
        hosts = [line.strip().lower() for line in self.cleaned_data["custom_domains"].splitlines() if line.strip()]
        return list(dict.fromkeys(hosts))

    def clean(self):
        cleaned_data = super().clean()
        if cleaned_data.get("slug"):
            for host in self.domains():
                try:
                    Domain(domain=host, is_primary=False).full_clean(exclude=["tenant"])
                except ValidationError as error:
                    problems = error.message_dict.get("domain", error.messages)
                    self.add_error("custom_domains", [f"{host}: {problem}" for problem in problems])
        try:
            Branding(**self.branding()).full_clean(exclude=["tenant", "logo", "favicon"])
        except ValidationError as error:
            for field, field_errors in error.message_dict.items():
                self.add_error(field if field in self.fields else None, field_errors)
        return cleaned_data

    def domains(self) -> list[str]:
        subdomain = platform_subdomain(self.cleaned_data["slug"])
        return [subdomain, *(host for host in self.cleaned_data.get("custom_domains") or [] if host != subdomain)]

    def branding(self) -> dict:
        values = {name: self.cleaned_data.get(name) for name in BRANDING_FIELDS}
        values["display_name"] = values["display_name"] or self.cleaned_data.get("name") or ""
        return {name: value for name, value in values.items() if value not in (None, "")}


class LifecycleForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), required=False)


class SuspendForm(LifecycleForm):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), help_text="Kept in the history.")


class DeleteForm(LifecycleForm):
    confirm = forms.CharField(label="Type the brand's slug to confirm", max_length=40)


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return (("active", "Active"), ("suspended", "Suspended"))

    def queryset(self, request, queryset):
        if self.value() in ("active", "suspended"):
            return queryset.filter(suspended_at__isnull=self.value() == "active")
        return queryset


def _usage(used: int, limit: int | None) -> str:
    if limit is None:
        return format_html("{} <small>(no limit)</small>", used)
    if used >= limit:
        return format_html('<strong style="color: var(--error-fg, #ba2121)">{} / {}</strong>', used, limit)
    return format_html("{} / {}", used, limit)


@admin.register(Tenant, site=platform_admin_site)
class TenantAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "slug",
        "kind",
        "reseller",
        "status",
        "plan",
        "stations",
        "users",
        "primary_domain",
        "created_at",
    )
    list_filter = (StatusFilter, "kind", "plan", "currency")
    search_fields = ("name", "slug", "domains__domain")
    list_select_related = ("reseller",)
    inlines = (DomainInline, BrandingInline)
    change_form_template = "admin/whitelabel/tenant/change_form.html"
    fieldsets = (
        (None, {"fields": ("name", "slug", "kind", "reseller", "schema_name", "created_at")}),
        ("Locale", {"fields": ("default_locale", "currency", "timezone")}),
        ("Plan and usage", {"fields": ("plan", ("max_stations", "stations"), ("max_users", "users"))}),
        ("Status", {"fields": ("status", "suspended_by", "suspension_reason", "history")}),
    )
    add_fieldsets = (
        (None, {"fields": ("slug", "name", "kind", "reseller")}),
        ("Domains", {"fields": ("custom_domains",)}),
        ("Locale", {"fields": ("default_locale", "currency", "timezone")}),
        ("Plan", {"fields": ("plan", "max_stations", "max_users")}),
        ("Branding", {"fields": BRANDING_FIELDS}),
    )
    readonly_fields = (
        "slug",
        "schema_name",
        "created_at",
        "stations",
        "users",
        "status",
        "suspended_by",
        "suspension_reason",
        "history",
    )

    # --- lists and pages ----------------------------------------------------------------------------------------

    def _usage_of(self, obj: Tenant):
        if obj.pk is None or obj.kind == Tenant.Kind.PLATFORM:
            return None
        if not hasattr(obj, "_usage"):
            obj._usage = tenant_usage(obj)
        return obj._usage

    @admin.display(description="stations")
    def stations(self, obj: Tenant):
        usage = self._usage_of(obj)
        return "-" if usage is None else _usage(usage.stations, obj.max_stations)

    @admin.display(description="users")
    def users(self, obj: Tenant):
        usage = self._usage_of(obj)
        return "-" if usage is None else _usage(usage.users, obj.max_users)

    @admin.display(description="status", ordering="suspended_at")
    def status(self, obj: Tenant):
        if obj.suspended_at is None:
            return "Active"
        return format_html(
            '<strong style="color: var(--error-fg, #ba2121)">Suspended</strong> since {} UTC',
            obj.suspended_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"),
        )

    @admin.display(description="primary domain")
    def primary_domain(self, obj: Tenant):
        primary = next((d.domain for d in obj.domains.all() if d.is_primary), None)
        return primary or "-"

    @admin.display(description="history")
    def history(self, obj: Tenant):
        events = tenant_event_list(obj)[:20] if obj.pk else []
        if not events:
            return "-"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (e.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M"), e.get_action_display(), e.actor, e.reason)
                for e in events
            ),
        )
        return format_html("<table><tr><th>when (UTC)</th><th>what</th><th>who</th><th>why</th></tr>{}</table>", rows)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("domains")

    def get_fieldsets(self, request, obj=None):
        return self.add_fieldsets if obj is None else self.fieldsets

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else self.readonly_fields

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = TenantCreateForm
            kwargs["fields"] = None
        return super().get_form(request, obj, **kwargs)

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else ()

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deletion is one brand at a time, with its slug typed again
        return actions

    def has_delete_permission(self, request, obj=None):
        return obj is not None and obj.is_suspended and super().has_delete_permission(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # A brand is its row, domains, branding and a cloned schema: all made by the service, in one transaction.
        created = tenant_create(
            slug=obj.slug,
            name=obj.name,
            kind=obj.kind,
            reseller=obj.reseller,
            domains=form.domains(),
            default_locale=obj.default_locale,
            currency=obj.currency,
            timezone=obj.timezone,
            plan=obj.plan,
            max_stations=obj.max_stations,
            max_users=obj.max_users,
            branding=form.branding(),
            actor=request.user.get_username(),
        )
        obj.pk, obj.schema_name, obj.created_at = created.pk, created.schema_name, created.created_at
        obj._state.adding = False

    # --- lifecycle pages ----------------------------------------------------------------------------------------

    def get_urls(self):
        def view(function):
            return self.admin_site.admin_view(function)

        return [
            path("<path:object_id>/suspend/", view(self.suspend_view), name="whitelabel_tenant_suspend"),
            path("<path:object_id>/resume/", view(self.resume_view), name="whitelabel_tenant_resume"),
            path("<path:object_id>/export/", view(self.export_view), name="whitelabel_tenant_export"),
            *super().get_urls(),
        ]

    def _brand_for_change(self, request, object_id) -> Tenant:
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404("No such brand.")
        if obj.kind == Tenant.Kind.PLATFORM or not self.has_change_permission(request, obj):
            raise PermissionDenied
        return obj

    def _change_url(self, obj: Tenant) -> str:
        return reverse(f"{self.admin_site.name}:whitelabel_tenant_change", args=[obj.pk])

    def _lifecycle_page(self, request, obj: Tenant, *, title: str, form, action: str, button: str, text: str = ""):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "object": obj,
            "opts": self.model._meta,
            "form": form,
            "action": action,
            "button": button,
            "text": text,
            "export_url": reverse(f"{self.admin_site.name}:whitelabel_tenant_export", args=[obj.pk]),
        }
        return TemplateResponse(request, "admin/whitelabel/tenant/lifecycle.html", context)

    def _run(self, request, obj: Tenant, form, service, success: str):
        """Call a lifecycle service; its refusal is shown on the same page."""
        try:
            service()
        except TenantError as error:
            form.add_error(None, str(error))
            return None
        self.message_user(request, success, messages.SUCCESS)
        return HttpResponseRedirect(self._change_url(obj))

    def suspend_view(self, request, object_id):
        obj = self._brand_for_change(request, object_id)
        form = SuspendForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            actor, reason = request.user.get_username(), form.cleaned_data["reason"]
            done = self._run(
                request,
                obj,
                form,
                lambda: tenant_suspend(tenant=obj, actor=actor, reason=reason),
                f"{obj.name} is suspended: its hosts answer 503 and its stations are refused.",
            )
            if done:
                return done
        text = (
            "Its hosts will answer 503 (a page for browsers, the API's error format under /api/v1/), its stations "
            "will be disconnected and refused at every reconnection. Nothing is deleted: resuming restores everything."
        )
        return self._lifecycle_page(
            request, obj, title=f"Suspend {obj.name}", form=form, action="suspend", button="Suspend", text=text
        )

    def resume_view(self, request, object_id):
        obj = self._brand_for_change(request, object_id)
        form = LifecycleForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            actor, reason = request.user.get_username(), form.cleaned_data["reason"]
            done = self._run(
                request,
                obj,
                form,
                lambda: tenant_resume(tenant=obj, actor=actor, reason=reason),
                f"{obj.name} is active again.",
            )
            if done:
                return done
        text = f"Suspended by {obj.suspended_by}: {obj.suspension_reason}" if obj.is_suspended else ""
        return self._lifecycle_page(
            request, obj, title=f"Resume {obj.name}", form=form, action="resume", button="Resume", text=text
        )

    def export_view(self, request, object_id):
        """GET: what the export holds; POST: the ZIP as a download. The file is built in a temporary file in this
        request; for big brands, the production path is a Celery task that writes to object storage."""
        obj = self._brand_for_change(request, object_id)
        if request.method != "POST":
            text = (
                "A ZIP with one CSV file per table of the brand's schema and a manifest (the brand, the time, the "
                "tables and their row counts, versions and migrations). It is built during this request."
            )
            return self._lifecycle_page(
                request, obj, title=f"Export {obj.name}", form=None, action="export", button="Download", text=text
            )
        archive = tempfile.TemporaryFile()  # removed when the response closes it
        try:
            tenant_export(tenant=obj, output=archive, actor=request.user.get_username())
        except Exception:
            archive.close()
            raise
        archive.seek(0)
        filename = f"{obj.slug}-export-{timezone.now():%Y%m%dT%H%M%SZ}.zip"
        return FileResponse(archive, as_attachment=True, filename=filename, content_type="application/zip")

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, object_id)
        if obj is None:
            raise Http404("No such brand.")
        if not super().has_delete_permission(request, obj):
            raise PermissionDenied
        if not obj.is_suspended:
            self.message_user(request, f"{obj.name} is not suspended: suspend it before deleting it.", messages.ERROR)
            return HttpResponseRedirect(self._change_url(obj))
        form = DeleteForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            actor, confirm = request.user.get_username(), form.cleaned_data["confirm"]
            reason = form.cleaned_data["reason"]
            try:
                tenant_delete(tenant=obj, confirm_slug=confirm, actor=actor, reason=reason)
            except TenantError as error:
                form.add_error("confirm" if confirm != obj.slug else None, str(error))
            else:
                self.message_user(request, f"{obj.name} ({obj.slug}) is deleted: its schema, domains and branding.")
                return HttpResponseRedirect(reverse(f"{self.admin_site.name}:whitelabel_tenant_changelist"))
        text = (
            f"This drops the schema {obj.schema_name} with all of the brand's data, and its domains and branding. "
            "It cannot be undone: download an export first."
        )
        return self._lifecycle_page(
            request, obj, title=f"Delete {obj.name}", form=form, action="delete", button="Delete for good", text=text
        )


@admin.register(Domain, site=platform_admin_site)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "is_primary")
    search_fields = ("domain", "tenant__name")
    list_select_related = ("tenant",)


@admin.register(TenantEvent, site=platform_admin_site)
class TenantEventAdmin(admin.ModelAdmin):
    """The lifecycle history of every brand, deleted ones included. Read only."""

    list_display = ("at", "tenant_slug", "action", "actor", "reason")
    list_filter = ("action",)
    search_fields = ("tenant_slug", "actor", "reason")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Branding)
class OwnBrandingAdmin(admin.ModelAdmin):
    """A brand's staff see and edit their own branding, never another brand's."""

    fields = BRANDING_FIELDS

    def get_queryset(self, request):
        return super().get_queryset(request).filter(tenant_id=connection.tenant.pk)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
