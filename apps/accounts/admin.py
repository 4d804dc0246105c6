"""Users in the brand admin (each brand's own users) and in the platform admin (platform staff)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from apps.accounts.audit import audit_record
from apps.accounts.models import User
from apps.accounts.services import AUDITED_USER_FIELDS, user_changes_audit
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
