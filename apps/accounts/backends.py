"""Authentication against the current schema's users; permissions from the user's role (apps.accounts.roles)."""

from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import Permission

from apps.accounts.roles import role_allows


class RoleBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_role_perm_cache"):
            names = {
                f"{app_label}.{codename}"
                for app_label, codename in Permission.objects.values_list("content_type__app_label", "codename")
            }
            user_obj._role_perm_cache = {name for name in names if role_allows(user_obj.role, name)}
        return user_obj._role_perm_cache | super().get_all_permissions(user_obj, obj)

    def has_perm(self, user_obj, perm, obj=None):
        if not user_obj.is_active:
            return False
        return role_allows(user_obj.role, perm) or super().has_perm(user_obj, perm, obj)

    def has_module_perms(self, user_obj, app_label):
        if not user_obj.is_active:
            return False
        return any(perm.startswith(f"{app_label}.") for perm in self.get_all_permissions(user_obj))
