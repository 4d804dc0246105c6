"""Users in the brand admin (each brand's own users) and in the platform admin (platform staff)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from apps.accounts.audit import audit_record
from apps.accounts.exceptions import RoleNotGrantableError
from apps.accounts.models import AUDIT_READ, AuditEntry, Invitation, User
from apps.accounts.services import AUDITED_USER_FIELDS, invitation_revoke, user_changes_audit
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

    def save_model(self, request, obj, form, change):
        # The form writes the user directly (not through user_update), so the audit of role and access changes
        # happens here, with the values the database held before.
        before = None
        if change:
            before = User.objects.filter(pk=obj.pk).values(*AUDITED_USER_FIELDS).first()
        super().save_model(request, obj, form, change)
        if before is None:
            audit_record(action="user.created", target=obj, changes={"role": [None, obj.role]})
        else:
            user_changes_audit(user=obj, before=before)


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


class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log, read-only: owners and admins read it (AUDIT_READ), nobody writes or deletes an entry here."""

    list_display = ("at", "actor_label", "action", "target_type", "target_label", "ip_address")
    list_filter = ("action", "actor_kind", "actor_label", ("at", admin.DateFieldListFilter))
    search_fields = ("actor_label", "actor_client_id", "target_label", "target_id", "action")
    date_hierarchy = "at"
    readonly_fields = [field.name for field in AuditEntry._meta.fields]

    def has_view_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(AUDIT_READ)

    def has_module_permission(self, request) -> bool:
        return request.user.has_perm(AUDIT_READ)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


admin.site.register(AuditEntry, AuditEntryAdmin)
platform_admin_site.register(AuditEntry, AuditEntryAdmin)
