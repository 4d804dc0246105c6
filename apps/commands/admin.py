"""Remote operations in the operator admin: the record of every command, and the station actions that send them."""

import json

from django import forms
from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import ValidationError

from apps.accounts.scoping import ScopedAdminMixin
from apps.commands.models import Command, Onboarding, OnboardingProfile
from apps.commands.onboarding import onboarding_commands
from apps.commands.operations import OPERATIONS, errors_text, operations_summary
from apps.commands.services import commands_deliver, commands_send

SEND_PERMISSION = "commands.add_command"


@admin.register(Command)
class CommandAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = (
        "created_at",
        "station",
        "operation",
        "status",
        "answer_status",
        "detail",
        "requested_by",
        "source",
        "completed_at",
    )
    list_filter = ("status", "operation", "source", "protocol")
    search_fields = ("station__identity", "operation", "action", "message_id")
    list_select_related = ("station", "requested_by")
    date_hierarchy = "created_at"
    readonly_fields = [field.name for field in Command._meta.fields]

    def has_add_permission(self, request):
        return False  # commands are sent from the stations list

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


def outcomes_report(request, commands, refusals) -> None:
    """One admin message per outcome: green when every station accepted, amber otherwise."""
    lines = [
        f"{c.station.identity}: {c.get_status_display()}"
        + (f" ({c.answer_status})" if c.answer_status else "")
        + (f" — {c.detail}" if c.detail and c.status != Command.Status.ACCEPTED else "")
        for c in commands
    ]
    lines += [
        gettext("%(station)s: not sent — %(errors)s") % {"station": r.station.identity, "errors": errors_text(r.errors)}
        for r in refusals
    ]
    level = (
        messages.SUCCESS
        if commands and all(c.status == Command.Status.ACCEPTED for c in commands)
        else (messages.WARNING)
    )
    operation = gettext(OPERATIONS[commands[0].operation].label) if commands else gettext("Operation")
    messages.add_message(request, level, f"{operation}: " + "; ".join(lines))


def _send(modeladmin, request, queryset, operation: str, params: dict | None = None) -> None:
    try:
        commands, refusals = commands_send(
            stations=list(queryset),
            operation=operation,
            params=params,
            requested_by=request.user,
            source=Command.Source.ADMIN,
        )
    except ValidationError as error:
        modeladmin.message_user(
            request, gettext("Not sent: %(errors)s") % {"errors": errors_text(error.detail)}, messages.ERROR
        )
        return
    outcomes_report(request, commands, refusals)


def _quick_action(name: str, operation: str, params: dict | None, description):
    def action(modeladmin, request, queryset):
        _send(modeladmin, request, queryset, operation, params)

    action.__name__ = name
    return admin.action(description=description, permissions=["send"])(action)


QUICK_ACTIONS = [
    _quick_action("reset_soft", "reset", {"kind": "soft"}, _("Reboot when idle (soft reset)")),
    _quick_action("reset_hard", "reset", {"kind": "hard"}, _("Reboot now (hard reset)")),
    _quick_action("make_available", "change_availability", {"operative": True}, _("Make available")),
    _quick_action("make_unavailable", "change_availability", {"operative": False}, _("Make unavailable")),
    _quick_action("clear_cache", "clear_cache", None, _("Clear the authorization cache")),
    # A heartbeat, not status reports: 2.0.1 triggers StatusNotification per EVSE only (an EVSE must be named).
    _quick_action(
        "trigger_heartbeat", "trigger_message", {"message": "heartbeat"}, _("Ask for a heartbeat (is it alive?)")
    ),
]


class OperationForm(forms.Form):
    operation = forms.ChoiceField(
        label=_("operation"), choices=[(name, gettext_lazy(op.label)) for name, op in OPERATIONS.items()]
    )
    params = forms.CharField(
        label=_("Parameters (JSON)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "cols": 80}),
        help_text=_('For example {"id_token": "CARD-1", "evse_id": 1} for a remote start. See docs/commands.md.'),
    )

    def clean_params(self):
        text = self.cleaned_data["params"].strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(gettext("Not JSON: %(error)s") % {"error": error}) from None
        if not isinstance(value, dict):
            raise forms.ValidationError(gettext("The parameters are a JSON object."))
        return value

    def clean(self):
        """Parameters are checked against the operation before the form is accepted, naming the field."""
        cleaned = super().clean()
        operation, params = cleaned.get("operation"), cleaned.get("params")
        if operation and params is not None:
            serializer = OPERATIONS[operation].params(data=params)
            if not serializer.is_valid():
                self.add_error("params", errors_text(serializer.errors))
        return cleaned


@admin.action(description=_("Send an operation…"), permissions=["send"])
def send_operation(modeladmin, request, queryset):
    """Choose any operation and its parameters for the selected stations, then send it."""
    form = OperationForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        _send(modeladmin, request, queryset, form.cleaned_data["operation"], form.cleaned_data["params"])
        return None
    context = {
        **modeladmin.admin_site.each_context(request),
        "title": gettext("Send an operation"),
        "form": form,
        "stations": queryset,
        "opts": modeladmin.model._meta,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "operations": operations_summary(),
    }
    return TemplateResponse(request, "admin/commands/send_operation.html", context)


@admin.action(description=_("Apply the onboarding profile again"), permissions=["send"])
def onboard_again(modeladmin, request, queryset):
    """Set the selected stations up again with the profile that matches them now (after a profile changed)."""
    ids = [command_id for station in queryset for command_id in onboarding_commands(station_id=station.pk, again=True)]
    if not ids:
        modeladmin.message_user(
            request, gettext("No onboarding profile matches the selected stations."), messages.WARNING
        )
        return
    commands = list(Command.objects.filter(pk__in=ids).select_related("station").order_by("pk"))
    for command in commands:
        command.requested_by, command.source = request.user, Command.Source.ADMIN
        command.save(update_fields=["requested_by", "source"])
    outcomes_report(request, commands_deliver(commands), [])


STATION_ACTIONS = [*QUICK_ACTIONS, send_operation, onboard_again]


@admin.register(OnboardingProfile)
class OnboardingProfileAdmin(admin.ModelAdmin):
    list_display = ("name", "vendor", "model_pattern", "protocol", "priority", "enabled", "heartbeat_interval_s")
    list_filter = ("enabled", "protocol")
    search_fields = ("name", "vendor", "model_pattern", "quirks")
    fieldsets = (
        (None, {"fields": ("name", "enabled", "priority")}),
        (_("Which stations"), {"fields": ("vendor", "model_pattern", "protocol")}),
        (
            _("What to set"),
            {"fields": ("heartbeat_interval_s", "meter_interval_s", "measurands", "configuration", "variables")},
        ),
        (_("Known quirks"), {"fields": ("quirks",)}),
    )


@admin.register(Onboarding)
class OnboardingAdmin(ScopedAdminMixin, admin.ModelAdmin):
    list_display = ("station", "profile", "applied_at")
    list_filter = ("profile",)
    search_fields = ("station__identity",)
    readonly_fields = ("station", "profile", "commands", "applied_at")

    def has_add_permission(self, request):
        return False
