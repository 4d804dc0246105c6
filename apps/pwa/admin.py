"""The driver app in the operator admin: browsers subscribed to push notifications, read only (drivers add and remove
them in their app; the VAPID key is never shown)."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apps.pwa.models import PushSubscription


@admin.register(PushSubscription)
class PushSubscriptionAdmin(admin.ModelAdmin):
    list_display = ("user", "push_service", "created_at", "last_success_at", "failures")
    list_filter = ("created_at",)
    search_fields = ("user__email",)
    fields = ("user", "endpoint", "created_at", "last_success_at", "failures")
    readonly_fields = fields
    list_select_related = ("user",)

    @admin.display(description=_("push service"))
    def push_service(self, subscription: PushSubscription) -> str:
        return subscription.endpoint.split("/")[2] if "://" in subscription.endpoint else subscription.endpoint

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
