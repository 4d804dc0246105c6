"""The operator's view of the network: stations with their EVSEs and connectors, live state, faults, message log."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.scoping import ScopedAdminMixin, station_filter
from apps.accounts.spreadsheets import OperatorImportExportMixin
from apps.commands.admin import SEND_PERMISSION, STATION_ACTIONS
from apps.stations.models import (
    Connector,
    Evse,
    Fault,
    Location,
    MessageLogEntry,
    NetworkSettings,
    Station,
    StationEvent,
    StatusChange,
)
from apps.stations.resources import StationResource
from apps.stations.services import BOOT_FIELDS, fault_close, station_password_set, station_registration_set
from apps.stations.stickers import stickers_response
from apps.whitelabel.exceptions import TenantLimitReachedError
from apps.whitelabel.services import station_limit_check


@admin.register(NetworkSettings)
class NetworkSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "onboarding_policy", "heartbeat_interval_s", "offline_after_s", "max_frame_bytes")

    def has_add_permission(self, request):
        return not NetworkSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Location)
class LocationAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "city", "country", "timezone", "station_count")
    search_fields = ("name", "address", "city", "postal_code")
    list_filter = ("country",)

    actions = ["print_stickers"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(station_count=Count("stations"))

    @admin.action(description=_("Print QR stickers (PDF)"), permissions=["view"])
    def print_stickers(self, request, queryset):
        stations = station_filter(request.user, Station.objects.filter(location__in=queryset))
        return stickers_response(Evse.objects.filter(station__in=stations))

    @admin.display(ordering="station_count", description=_("stations"))
    def station_count(self, obj):
        return obj.station_count


class EvseInline(admin.TabularInline):
    model = Evse
    extra = 0
    fields = ("evse_id", "connectors_summary")
    readonly_fields = ("connectors_summary",)

    @admin.display(description=_("connectors"))
    def connectors_summary(self, obj):
        return format_html_join(
            ", ",
            "{} {} ({})",
            ((c.connector_id, c.get_standard_display(), c.status) for c in obj.connectors.all()),
        )


class StationForm(forms.ModelForm):
    new_password = forms.CharField(
        required=False,
        strip=False,
        min_length=16,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Sets the station's HTTP Basic password (stored hashed). Leave empty to keep the current one."),
    )

    class Meta:
        model = Station
        fields = ("identity", "location", "security_profile", "registration_status")

    def clean(self):
        cleaned_data = super().clean()
        if self.instance.pk is None:  # the admin's transaction holds the limit's lock until the station is saved
            try:
                station_limit_check()
            except TenantLimitReachedError as error:
                raise forms.ValidationError(str(error)) from error
        return cleaned_data


class OnlineFilter(admin.SimpleListFilter):
    title = _("connection")
    parameter_name = "online"

    def lookups(self, request, model_admin):
        return (("yes", _("Online")), ("no", _("Offline")))

    def queryset(self, request, queryset):
        if self.value() in ("yes", "no"):
            return queryset.filter(is_online=self.value() == "yes")
        return queryset


@admin.register(Station)
class StationAdmin(ScopedAdminMixin, OperatorImportExportMixin, admin.ModelAdmin):
    form = StationForm
    resource_classes = [StationResource]
    import_help = mark_safe(
        "One row per station, keyed by <code>identity</code>. <code>location</code>: the location's name (or id). "
        "<code>security_profile</code>: 0–3. <code>registration_status</code>: accepted, pending or rejected. "
        "<code>connectors</code>: <code>EVSE/CONNECTOR STANDARD FORMAT POWER_TYPE MAX_POWER_W</code> separated by "
        "';', e.g. <code>1/1 IEC_62196_T2 SOCKET AC_3_PHASE 22000; 2/1 IEC_62196_T2_COMBO CABLE DC 150000</code> "
        "(listed connectors are created or updated, others are left alone). <code>new_password</code>: sets the "
        "station's password (16 characters or more), empty keeps it. vendor, model, serial_number and "
        "firmware_version are what the station reported: ignored on import."
    )
    list_display = (
        "identity",
        "online",
        "registration_status",
        "connector_statuses",
        "open_faults",
        "location",
        "vendor",
        "model",
        "firmware_version",
        "protocol",
        "last_seen_at",
    )
    list_filter = (OnlineFilter, "registration_status", "protocol", "vendor", "location")
    search_fields = ("identity", "serial_number", "vendor", "model", "location__name")
    list_select_related = ("location",)
    inlines = [EvseInline]
    actions = ["accept", "reject", "print_stickers", *STATION_ACTIONS]
    readonly_fields = (
        *BOOT_FIELDS,  # what the station says of itself
        "protocol",
        "is_online",
        "connected_at",
        "disconnected_at",
        "last_seen_at",
        "status",
        "firmware_status",
        "diagnostics_status",
        "message_log_link",
    )
    fieldsets = (
        (None, {"fields": ("identity", "location", "registration_status")}),
        (_("Security"), {"fields": ("security_profile", "new_password")}),
        (
            _("Reported by the station"),
            {
                "fields": (
                    ("vendor", "model"),
                    ("serial_number", "firmware_version"),
                    ("iccid", "imsi"),
                    ("meter_type", "meter_serial"),
                    ("boot_reason", "booted_at"),
                    ("firmware_status", "diagnostics_status"),
                )
            },
        ),
        (
            _("Connection"),
            {
                "fields": (
                    ("is_online", "protocol"),
                    ("connected_at", "disconnected_at"),
                    ("last_seen_at", "status"),
                    "message_log_link",
                )
            },
        ),
    )

    class Media:
        js = ("stations/admin_live.js",)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(open_fault_count=Count("faults", filter=Q(faults__closed_at__isnull=True)))
            .prefetch_related("evses__connectors")
        )

    @admin.display(boolean=True, ordering="is_online", description=_("online"))
    def online(self, obj):
        return obj.is_online

    @admin.display(description=_("connectors"))
    def connector_statuses(self, obj):
        return format_html_join(
            " ",
            '<span class="connector-status status-{}" title="{}">{}</span>',
            (
                (
                    c.status.lower(),
                    gettext("EVSE %(evse)s connector %(connector)s")
                    % {"evse": evse.evse_id, "connector": c.connector_id},
                    f"{evse.evse_id}:{c.status}",
                )
                for evse in obj.evses.all()
                for c in evse.connectors.all()
            ),
        )

    @admin.display(ordering="open_fault_count", description=_("open faults"))
    def open_faults(self, obj):
        return obj.open_fault_count

    @admin.display(description=_("message log"))
    def message_log_link(self, obj):
        if obj.pk is None:
            return "-"
        return format_html(
            '<a href="../../messagelogentry/?station__id__exact={}">{}</a>',
            obj.pk,
            gettext("%(count)s entries") % {"count": obj.message_log.count()},
        )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if form.cleaned_data.get("new_password"):
            station_password_set(station=obj, password=form.cleaned_data["new_password"])

    def has_send_permission(self, request) -> bool:
        """Sending remote operations (reset, remote start, configuration...) to stations."""
        return request.user.has_perm(SEND_PERMISSION)

    @admin.action(description=_("Accept the selected stations"), permissions=["change"])
    def accept(self, request, queryset):
        for station in queryset:
            station_registration_set(station=station, status=Station.Registration.ACCEPTED)
        messages.success(
            request,
            gettext("%(count)s stations accepted: they are admitted at their next boot.") % {"count": queryset.count()},
        )

    @admin.action(description=_("Print QR stickers (PDF)"), permissions=["view"])
    def print_stickers(self, request, queryset):
        return stickers_response(Evse.objects.filter(station__in=queryset))

    @admin.action(description=_("Reject the selected stations"), permissions=["change"])
    def reject(self, request, queryset):
        for station in queryset:
            station_registration_set(station=station, status=Station.Registration.REJECTED)
        messages.success(request, gettext("%(count)s stations rejected.") % {"count": queryset.count()})


@admin.register(Connector)
class ConnectorAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("__str__", "status", "error_code", "standard", "power_type", "max_power_w", "status_reported_at")
    list_filter = ("status", "standard", "power_type")
    search_fields = ("evse__station__identity",)
    list_select_related = ("evse__station",)


class ReadOnlyAdmin(ScopedAdminMixin, admin.ModelAdmin):
    """Records stations reported: operators read them, nobody edits them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(StatusChange)
class StatusChangeAdmin(ReadOnlyAdmin):
    list_display = ("station", "evse_id", "connector_id", "status", "error_code", "info", "reported_at", "received_at")
    list_filter = ("status", "error_code")
    search_fields = ("station__identity", "vendor_error_code", "info")
    date_hierarchy = "reported_at"
    list_select_related = ("station",)


class OpenFaultFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return (("open", _("Open")), ("closed", _("Closed")))

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(closed_at__isnull=True)
        if self.value() == "closed":
            return queryset.filter(closed_at__isnull=False)
        return queryset


@admin.register(Fault)
class FaultAdmin(ReadOnlyAdmin):
    list_display = ("station", "code", "fault_class", "severity", "evse_id", "opened_at", "closed_at", "duration_text")
    list_filter = (OpenFaultFilter, "fault_class", "severity")
    search_fields = ("station__identity", "code", "description")
    date_hierarchy = "opened_at"
    list_select_related = ("station",)
    actions = ["close"]

    def has_change_permission(self, request, obj=None):
        return request.user.has_perm("stations.change_fault") and obj is None

    @admin.display(description=_("duration"))
    def duration_text(self, obj):
        seconds = int(obj.duration.total_seconds())
        text = f"{seconds // 3600}h {seconds % 3600 // 60:02d}m"
        return text if obj.closed_at else gettext("%(duration)s (open)") % {"duration": text}

    @admin.action(description=_("Close the selected faults (inspected)"), permissions=["change"])
    def close(self, request, queryset):
        for fault in queryset.filter(closed_at__isnull=True):
            fault_close(fault=fault)
        messages.success(request, gettext("Faults closed."))


@admin.register(StationEvent)
class StationEventAdmin(ReadOnlyAdmin):
    list_display = ("station", "kind", "reported_at", "received_at")
    list_filter = ("kind",)
    search_fields = ("station__identity",)
    date_hierarchy = "received_at"
    list_select_related = ("station",)


@admin.register(MessageLogEntry)
class MessageLogEntryAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at_ms",
        "station",
        "direction",
        "message_type",
        "action",
        "message_id",
        "error_code",
        "latency_ms",
    )
    list_filter = ("direction", "message_type", "action", "error_code")
    search_fields = ("station__identity", "message_id", "action", "error_code", "error_description")
    date_hierarchy = "created_at"
    list_select_related = ("station",)
    readonly_fields = [field.name for field in MessageLogEntry._meta.fields]
    show_full_result_count = False  # counting hundreds of millions of rows per page view is not worth it

    @admin.display(ordering="created_at", description=_("time"))
    def created_at_ms(self, obj):
        return timezone.localtime(obj.created_at).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
