"""Users in the brand admin (each brand's own users) and in the platform admin (platform staff)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from apps.accounts.exceptions import RoleNotGrantableError
from apps.accounts.models import Invitation, User
from apps.accounts.services import invitation_revoke
from apps.whitelabel.admin import platform_admin_site


class UserAdmin(DjangoUserAdmin):
    list_display = ("username", "email", "first_name", "last_name", "role", "is_active", "last_login")
    list_filter = ("role", "is_active", "is_staff")
    search_fields = ("username", "email", "first_name", "last_name")
    fieldsets = (
        *DjangoUserAdmin.fieldsets[:2],
        (_("Role"), {"fields": ("role", "is_active", "is_staff", "locale")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "email", "role", "password1", "password2")}),)


admin.site.register(User, UserAdmin)
platform_admin_site.register(User, UserAdmin)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    """Invitations are sent from the portal's users page (or by services); here operators look them up and revoke."""

    list_display = ("email", "role", "invited_by", "created_at", "expires_at", "accepted_at", "revoked_at")
    list_filter = ("role",)
    search_fields = ("email",)
    readonly_fields = ("email", "role", "invited_by", "inviter_name", "created_at", "expires_at", "accepted_at", "user")
    fields = (*readonly_fields, "revoked_at")
    actions = ("revoke",)

    def has_add_permission(self, request) -> bool:
        return False

    @admin.action(description=_("Revoke the selected invitations"), permissions=["change"])
    def revoke(self, request, queryset):
        revoked = 0
        for invitation in queryset.filter(accepted_at__isnull=True, revoked_at__isnull=True):
            try:
                invitation_revoke(invitation=invitation, revoked_by=request.user)
            except RoleNotGrantableError:
                continue
            revoked += 1
        self.message_user(request, _("%(count)d invitations revoked.") % {"count": revoked})
