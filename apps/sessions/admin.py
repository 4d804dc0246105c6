"""ID tokens and charging sessions in the operator admin; sessions and their readings are read-only records."""

from django.contrib import admin
from django.db.models import Q
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from apps.accounts.scoping import ScopedAdminMixin
from apps.accounts.spreadsheets import OperatorImportExportMixin
from apps.sessions.models import ChargingSession, IdToken, MeterSample, TransactionEvent
from apps.sessions.resources import IdTokenResource


@admin.register(IdToken)
class IdTokenAdmin(OperatorImportExportMixin, admin.ModelAdmin):
    resource_classes = [IdTokenResource]
    import_help = mark_safe(
        "One row per token, keyed by <code>uid</code> (in any letter case) and <code>type</code> (default "
        "ISO14443). <code>status</code>: Accepted, Blocked, Expired or Invalid. <code>expires_at</code>: UTC, e.g. "
        "<code>2027-01-31T23:00:00Z</code>. <code>group</code>: the group token's uid (it must exist or come on an "
        "earlier line; <code>group_type</code> picks one when several types share the uid). "
        "<code>allow_concurrent</code>: true or false."
    )
    list_display = ("uid", "type", "status", "expires_at", "group", "allow_concurrent", "label")
    list_filter = ("status", "type", "allow_concurrent")
    search_fields = ("uid", "label")
    autocomplete_fields = ("group",)
    list_select_related = ("group",)


class RecordAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """What stations reported: operators read it, nobody edits it."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class TransactionEventInline(admin.TabularInline):
    model = TransactionEvent
    extra = 0
    can_delete = False
    fields = ("seq_no", "event_type", "timestamp", "trigger_reason", "offline", "received_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ChargingSession)
class ChargingSessionAdmin(RecordAdmin):
    list_display = (
        "transaction_id",
        "station",
        "evse_id",
        "status",
        "id_token_uid",
        "started_at",
        "stopped_at",
        "energy_kwh",
        "power_w",
        "stop_reason",
        "flags",
    )
    list_filter = ("status", "stop_reason", "offline", "register_anomaly")
    search_fields = ("transaction_id", "id_token_uid", "station__identity")
    date_hierarchy = "started_at"
    list_select_related = ("station",)
    inlines = [TransactionEventInline]
    readonly_fields = ("meter_samples_link",)
    exclude = ("id_token",)

    @admin.display(ordering="energy_wh", description=_("kWh"))
    def energy_kwh(self, obj):
        return f"{obj.energy_wh / 1000:.3f}"

    @admin.display(description=_("flags"))
    def flags(self, obj):
        flags = [
            str(name)
            for name, on in ((_("offline"), obj.offline), (_("register went back"), obj.register_anomaly))
            if on
        ]
        return ", ".join(flags)

    @admin.display(description=_("meter samples"))
    def meter_samples_link(self, obj):
        return format_html('<a href="../../../metersample/?session__id__exact={}">{}</a>', obj.pk, _("meter samples"))


class SessionFilter(admin.SimpleListFilter):
    """Readings with or without a transaction (a full table's distinct sessions would never load)."""

    title = _("transaction")
    parameter_name = "with_session"

    def lookups(self, request, model_admin):
        return (("yes", _("Within a session")), ("no", _("Outside sessions")))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(~Q(session=None) if self.value() == "yes" else Q(session=None))
        return queryset


@admin.register(MeterSample)
class MeterSampleAdmin(RecordAdmin):
    list_display = ("sampled_at", "station", "evse_id", "measurand", "phase", "location", "context", "value", "unit")
    list_filter = (SessionFilter, "measurand", "context")
    search_fields = ("station__identity", "session__transaction_id")
    list_select_related = ("station",)
    show_full_result_count = False
