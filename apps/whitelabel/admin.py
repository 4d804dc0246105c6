"""Two admin sites: the platform admin (public hosts) manages brands; each brand's admin shows only its own branding."""

from django.contrib import admin
from django.db import connection
from django.utils.translation import gettext_lazy as _

from apps.whitelabel.models import Branding, Domain, Tenant


class PlatformAdminSite(admin.AdminSite):
    site_header = _("EV platform administration")
    site_title = _("EV platform")
    index_title = _("Brands and platform staff")


platform_admin_site = PlatformAdminSite(name="platform_admin")


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 0


class BrandingInline(admin.StackedInline):
    model = Branding
    can_delete = False


@admin.register(Tenant, site=platform_admin_site)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "reseller", "schema_name", "currency", "created_at")
    list_filter = ("kind", "currency")
    search_fields = ("name", "slug", "domains__domain")
    inlines = (DomainInline, BrandingInline)
    readonly_fields = ("schema_name", "created_at")

    def has_add_permission(self, request):
        # A brand needs its schema cloned with its row: created through whitelabel.services.tenant_create.
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Domain, site=platform_admin_site)
class DomainAdmin(admin.ModelAdmin):
    list_display = ("domain", "tenant", "is_primary")
    search_fields = ("domain", "tenant__name")
    list_select_related = ("tenant",)


@admin.register(Branding)
class OwnBrandingAdmin(admin.ModelAdmin):
    """A brand's staff see and edit their own branding, never another brand's."""

    fields = (
        "display_name",
        "primary_colour",
        "accent_colour",
        "logo",
        "favicon",
        "email_sender",
        "support_email",
        "support_phone",
        "terms_url",
        "privacy_url",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).filter(tenant_id=connection.tenant.pk)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
