"""Station groups in the operator admin, the action that runs an operation on a group, and runs with progress."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError

from apps.accounts.models import User
from apps.accounts.roles import Role
from apps.accounts.scoping import ScopedAdminMixin
from apps.commands.admin import SEND_PERMISSION, OperationForm
from apps.commands.models import Command
from apps.commands.operations import errors_text, operations_summary
from apps.groups.exceptions import WavesNeedWorkerError
from apps.groups.models import GroupRun, GroupRunItem, StaffScope, StationGroup
from apps.groups.selectors import Progress, group_list, group_run_list, group_run_progress, group_stations
from apps.groups.services import (
    group_run_cancel,
    group_run_start,
    staff_scope_check,
    staff_scope_set,
    waves_of,
)
from apps.groups.tasks import group_run_launch, tasks_run_inline


class SendPermission:
    def has_send_permission(self, request) -> bool:
        return request.user.has_perm(SEND_PERMISSION)


class StationGroupForm(forms.ModelForm):
    class Meta:
        model = StationGroup
        fields = ("name", "description", "kind", "locations", "stations")

    def clean(self):
        """Each kind uses one list, so a group never seems to hold stations it does not."""
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == StationGroup.Kind.LOCATION and cleaned.get("stations"):
            self.add_error(
                "stations", gettext("A location group has every station of its locations: leave this empty.")
            )
        if kind == StationGroup.Kind.CUSTOM and cleaned.get("locations"):
            self.add_error("locations", gettext("A custom group has the stations listed below: leave this empty."))
        return cleaned


class GroupRunForm(OperationForm):
    wave_size = forms.IntegerField(min_value=0, initial=0, help_text=_("Stations per wave; 0: all at once."))
    wave_interval_s = forms.IntegerField(
        min_value=0, initial=300, label=_("Pause between waves (s)"), help_text=_("After a wave's outcomes are in.")
    )
    stop_on_failure_rate = forms.IntegerField(
        min_value=0,
        max_value=100,
        required=False,
        label=_("Stop when failures exceed (%)"),
        help_text=_("Stop the rollout when more than this share of a wave did not accept. Empty: never stop."),
    )

    def __init__(self, *args, station_count: int, inline: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.station_count, self.inline = station_count, inline

    def clean(self):
        cleaned = super().clean()
        wave_size = cleaned.get("wave_size")
        if wave_size is not None and self.inline and waves_of(self.station_count, wave_size) > 1:
            self.add_error(
                "wave_size",
                gettext(
                    "No Celery worker here (no broker configured): only a run in one wave can be sent, in this "
                    "request. Use 0 or at least %(count)s, or set CELERY_BROKER_URL / REDIS_URL."
                )
                % {"count": self.station_count},
            )
        return cleaned


@admin.action(description=_("Run an operation on the group…"), permissions=["send"])
def run_operation(modeladmin, request, queryset):
    """Choose an operation, its parameters and the waves for one group, then start the run."""
    groups = list(queryset[:2])
    if len(groups) != 1:
        modeladmin.message_user(request, gettext("Choose one group to run an operation on."), messages.WARNING)
        return None
    group = groups[0]
    stations = group_stations(group).order_by("identity")
    inline = tasks_run_inline()
    applying = "apply" in request.POST
    form = GroupRunForm(request.POST if applying else None, station_count=stations.count(), inline=inline)
    if applying and form.is_valid():
        data = form.cleaned_data
        try:
            run = group_run_start(
                group=group,
                operation=data["operation"],
                params=data["params"],
                wave_size=data["wave_size"],
                wave_interval_s=data["wave_interval_s"],
                stop_on_failure_rate=data["stop_on_failure_rate"],
                requested_by=request.user,
                source=Command.Source.ADMIN,
            )
        except ValidationError as error:
            for field, errors in error.detail.items():
                if field in form.fields:
                    form.add_error(field, errors_text(errors))
                else:
                    form.add_error("params" if field != "group" else None, f"{field}: {errors_text(errors)}")
        else:
            _launch(modeladmin, request, run)
            return HttpResponseRedirect(reverse("admin:groups_grouprun_change", args=[run.pk]))
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": gettext("Run an operation on %(group)s") % {"group": group.name},
        "form": form,
        "group": group,
        "station_count": form.station_count,
        "stations": stations[:20],
        "inline": inline,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "operations": operations_summary(),
    }
    return TemplateResponse(request, "admin/groups/run_operation.html", context)


def _launch(modeladmin, request, run: GroupRun) -> None:
    try:
        run = group_run_launch(run)
    except WavesNeedWorkerError as error:
        modeladmin.message_user(
            request, gettext("%(run)s: not started. %(error)s") % {"run": run, "error": error}, messages.ERROR
        )
        return
    if run.is_active:
        text = gettext("%(run)s: queued, %(count)s stations in %(waves)s waves.") % {
            "run": run,
            "count": run.items.count(),
            "waves": run.waves,
        }
        if run.waves > 1:
            text = gettext("%(run)s: queued, %(count)s stations in %(waves)s waves, %(interval)s s apart.") % {
                "run": run,
                "count": run.items.count(),
                "waves": run.waves,
                "interval": run.wave_interval_s,
            }
        modeladmin.message_user(request, text)
        return
    progress = group_run_progress(run)
    level = messages.SUCCESS if progress.accepted == progress.total else messages.WARNING
    modeladmin.message_user(request, f"{run}: {run.get_status_display()}, {progress}.", level)


@admin.register(StationGroup)
class StationGroupAdmin(ScopedAdminMixin, SendPermission, admin.ModelAdmin):
    form = StationGroupForm
    list_display = ("name", "kind", "station_count", "location_names", "created_at")
    list_filter = ("kind", "locations")
    search_fields = ("name", "description")
    filter_horizontal = ("locations",)
    autocomplete_fields = ("stations",)
    actions = [run_operation]

    def get_queryset(self, request):
        return self.scoped(request, group_list().prefetch_related("locations"))

    @admin.display(ordering="station_count", description=_("stations"))
    def station_count(self, obj):
        return obj.station_count

    @admin.display(description=_("locations"))
    def location_names(self, obj):
        return ", ".join(location.name for location in obj.locations.all())


class GroupRunItemInline(admin.TabularInline):
    model = GroupRunItem
    fields = ("station", "wave", "outcome", "answer_status", "outcome_detail", "command_link")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("station", "command", "run")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("outcome"))
    def outcome(self, item):
        if item.command is not None:
            return item.command.get_status_display()
        if item.refusal:
            return gettext("Not sent")
        return gettext("Waiting for its wave") if item.run.is_active else gettext("Not sent")

    @admin.display(description=_("answer"))
    def answer_status(self, item):
        return item.command.answer_status if item.command else ""

    @admin.display(description=_("detail"))
    def outcome_detail(self, item):
        return item.command.detail if item.command else item.refusal

    @admin.display(description=_("command"))
    def command_link(self, item):
        if item.command is None:
            return ""
        url = reverse("admin:commands_command_change", args=[item.command.pk])
        return format_html('<a href="{}">#{}</a>', url, item.command.pk)


@admin.action(description=_("Cancel: send no further wave"), permissions=["send"])
def cancel_runs(modeladmin, request, queryset):
    cancelled = [run for run in queryset if run.is_active and not group_run_cancel(run).is_active]
    skipped = queryset.count() - len(cancelled)
    text = gettext("%(count)s run(s) cancelled.") % {"count": len(cancelled)}
    if skipped:
        text += " " + gettext("%(count)s had already finished.") % {"count": skipped}
    modeladmin.message_user(request, text, messages.SUCCESS if cancelled else messages.WARNING)


@admin.register(GroupRun)
class GroupRunAdmin(ScopedAdminMixin, SendPermission, admin.ModelAdmin):
    list_display = ("__str__", "status", "progress", "wave_display", "requested_by", "created_at", "finished_at")
    list_filter = ("status", "operation", "source", "group")
    search_fields = ("group_name", "operation")
    date_hierarchy = "created_at"
    fields = (
        "group",
        "operation",
        "params",
        "status",
        "progress",
        "detail",
        "wave_display",
        "wave_size",
        "wave_interval_s",
        "stop_on_failure_rate",
        "next_wave_at",
        "requested_by",
        "source",
        "created_at",
        "started_at",
        "finished_at",
    )
    readonly_fields = fields
    inlines = [GroupRunItemInline]
    actions = [cancel_runs]

    def get_queryset(self, request):
        return self.scoped(request, group_run_list().select_related("requested_by", "group"))

    def has_add_permission(self, request):
        return False  # runs start from a group's action

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("progress"))
    def progress(self, run):
        progress = Progress.of(run)
        text = str(progress)
        if progress.in_flight:
            text += "; " + gettext("%(count)s waiting for an answer") % {"count": progress.in_flight}
        if not run.is_active and progress.not_sent:
            text += "; " + gettext("%(count)s not sent") % {"count": progress.not_sent}
        return text

    @admin.display(description=_("wave"))
    def wave_display(self, run):
        return f"{run.current_wave}/{run.waves}"


class StaffScopeForm(forms.ModelForm):
    class Meta:
        model = StaffScope
        fields = ("user", "locations", "groups")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "user" in self.fields:
            self.fields["user"].queryset = User.objects.filter(is_staff=True, is_superuser=False).exclude(
                role__in=(Role.OWNER, Role.DRIVER)
            )

    def clean(self):
        data = super().clean()
        if self.instance.pk is None and data.get("user") is not None:
            try:
                staff_scope_check(data["user"])
            except DjangoValidationError as error:
                self.add_error(None, error)
        if not data.get("locations") and not data.get("groups"):
            raise forms.ValidationError(
                _("Choose at least one location or station group; delete the scope to give back the whole brand.")
            )
        return data


@admin.register(StaffScope)
class StaffScopeAdmin(admin.ModelAdmin):
    """Who is limited to which sites. Saved through `staff_scope_set`, which audits the change."""

    form = StaffScopeForm
    list_display = ("user", "user_role", "location_names", "group_names", "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__email", "user__username")
    filter_horizontal = ("locations", "groups")

    def get_readonly_fields(self, request, obj=None):
        return ("user",) if obj is not None else ()

    @admin.display(description=_("role"))
    def user_role(self, scope):
        return scope.user.get_role_display()

    @admin.display(description=_("locations"))
    def location_names(self, scope):
        return ", ".join(location.name for location in scope.locations.all())

    @admin.display(description=_("station groups"))
    def group_names(self, scope):
        return ", ".join(group.name for group in scope.groups.all())

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("locations", "groups")

    def save_model(self, request, obj, form, change):
        pass  # written with its lists in save_related, through the service

    def save_related(self, request, form, formsets, change):
        scope = staff_scope_set(
            user=form.cleaned_data.get("user") or form.instance.user,
            locations=form.cleaned_data["locations"],
            groups=form.cleaned_data["groups"],
        )
        form.instance.pk = scope.pk

    def delete_model(self, request, obj):
        staff_scope_set(user=obj.user)

    def delete_queryset(self, request, queryset):
        for scope in queryset.select_related("user"):
            staff_scope_set(user=scope.user)
