"""Portal forms: the remote operations of the station page, the filters of lists, the report's period.

Forms check what a person can get wrong on the page (a missing token, a date range backwards); the command service
checks the operation's parameters again, as it does for the admin and the API, before anything is recorded.
"""

from datetime import date, timedelta

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from apps.commands.operations import TRIGGERS
from apps.portal.templatetags.portal import personal
from apps.sessions.models import ChargingSession, IdToken
from apps.stations.models import Fault

# The operations offered on the station page, in the order of the buttons.
OPERATIONS = [
    ("reset", _("Reset")),
    ("unlock_connector", _("Unlock connector")),
    ("remote_start", _("Start a session")),
    ("remote_stop", _("Stop the session")),
    ("change_availability", _("Change availability")),
    ("trigger_message", _("Trigger a message")),
    ("clear_cache", _("Clear the authorization cache")),
]

# The fields each operation's form shows.
OPERATION_FIELDS = {
    "reset": ["kind"],
    "unlock_connector": ["evse_id", "connector_id"],
    "remote_start": ["id_token", "evse_id"],
    "remote_stop": ["session"],
    "change_availability": ["operative", "evse_id"],
    "trigger_message": ["message", "evse_id"],
    "clear_cache": [],
}


class CommandForm(forms.Form):
    operation = forms.ChoiceField(choices=OPERATIONS, label=_("Operation"), widget=forms.HiddenInput)
    kind = forms.ChoiceField(
        choices=[("soft", _("Soft: when idle")), ("hard", _("Hard: now"))], required=False, label=_("Reset kind")
    )
    evse_id = forms.IntegerField(min_value=0, required=False, label=_("EVSE"))
    connector_id = forms.IntegerField(min_value=1, required=False, label=_("Connector"))
    id_token = forms.ModelChoiceField(queryset=IdToken.objects.none(), required=False, label=_("ID token"))
    session = forms.ModelChoiceField(queryset=ChargingSession.objects.none(), required=False, label=_("Session"))
    operative = forms.ChoiceField(
        choices=[("1", _("Operative")), ("0", _("Inoperative"))], required=False, label=_("Availability")
    )
    message = forms.ChoiceField(choices=[(name, name) for name in TRIGGERS], required=False, label=_("Message"))

    def __init__(self, *args, id_tokens, live_sessions, show_personal: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["id_token"].queryset = id_tokens
        self.fields["session"].queryset = live_sessions
        # live.js adds a session that starts while the page is open (and drops one that ends) to this choice.
        self.fields["session"].widget.attrs["data-live-session-choice"] = ""
        self.fields["id_token"].label_from_instance = lambda token: _token_label(token, show_personal)

    def clean(self):
        data = super().clean()
        operation = data.get("operation")
        required = {
            "unlock_connector": ["evse_id"],
            "remote_start": ["id_token"],
            "remote_stop": ["session"],
            "change_availability": ["operative"],
            "trigger_message": ["message"],
        }.get(operation, [])
        for name in required:
            if data.get(name) in (None, ""):
                self.add_error(name, _("Required for this operation."))
        if operation == "unlock_connector" and data.get("evse_id") == 0:
            self.add_error("evse_id", _("Name an EVSE (1 or more)."))
        return data

    def params(self) -> dict:
        """The command service's parameters of the chosen operation."""
        data, operation = self.cleaned_data, self.cleaned_data["operation"]
        evse_id = data.get("evse_id")
        if operation == "reset":
            return {"kind": data.get("kind") or "soft"}
        if operation == "unlock_connector":
            return {"evse_id": evse_id, "connector_id": data.get("connector_id") or 1}
        if operation == "remote_start":
            token = data["id_token"]
            params = {"id_token": token.uid, "id_token_type": token.type}
            if evse_id:
                params["evse_id"] = evse_id
            return params
        if operation == "remote_stop":
            return {"transaction_id": data["session"].transaction_id}
        if operation == "change_availability":
            return {"operative": data["operative"] == "1", "evse_id": evse_id or 0}
        if operation == "trigger_message":
            params = {"message": data["message"]}
            if evse_id:
                params["evse_id"] = evse_id
            return params
        return {}


def _token_label(token: IdToken, show_personal: bool) -> str:
    """A token as the remote start's choice shows it: its label (or type) and its uid, masked without permission."""
    return f"{token.label or token.get_type_display()} ({personal(token.uid, show_personal)})"


class PeriodForm(forms.Form):
    """A period of whole days, both ends included; at most a year, so one request never reads the whole history."""

    start = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    MAX_DAYS = 366

    @classmethod
    def default_initial(cls, days: int = 30) -> dict:
        today = date.today()
        return {"start": today - timedelta(days=days - 1), "end": today}

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end:
            if end < start:
                self.add_error("end", _("The end is before the start."))
            elif (end - start).days >= self.MAX_DAYS:
                self.add_error("end", _("A period of at most 366 days."))
        return data


class ReportForm(PeriodForm):
    FORMATS = [
        ("csv", _("CSV (sessions)")),
        ("xlsx", _("Excel (sessions)")),
        ("pdf", _("PDF (summary per station and day)")),
    ]

    format = forms.ChoiceField(choices=FORMATS, label=_("Format"))

    def __init__(self, *args, stations, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["station"] = forms.ModelChoiceField(
            queryset=stations, required=False, label=_("Station"), empty_label=_("All stations")
        )


class SessionFilterForm(forms.Form):
    station = forms.CharField(required=False, label=_("Station identity"))
    start = forms.DateField(required=False, label=_("Started from"), widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, label=_("Started until"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            self.add_error("end", _("The end is before the start."))
        return data


class FaultFilterForm(forms.Form):
    state = forms.ChoiceField(
        choices=[("open", _("Open")), ("closed", _("Closed")), ("all", _("All"))], required=False, label=_("State")
    )
    severity = forms.ChoiceField(
        choices=[("", _("Any severity")), *Fault.Severity.choices], required=False, label=_("Severity")
    )
    station = forms.CharField(required=False, label=_("Station identity"))


class TokenStatusForm(forms.Form):
    status = forms.ChoiceField(
        choices=[(IdToken.Status.BLOCKED, _("Block")), (IdToken.Status.ACCEPTED, _("Unblock"))], label=_("Status")
    )

    def clean_status(self):
        status = self.cleaned_data["status"]
        if status not in (IdToken.Status.BLOCKED, IdToken.Status.ACCEPTED):
            raise ValidationError(_("Block or unblock."))
        return status
