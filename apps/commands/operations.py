"""The remote operations the platform can ask of a station, in version-neutral terms, with their parameters.

Each operation validates its parameters with a serializer, so the admin, the API and the command line refuse bad
input the same way, naming the field, before anything is sent. How an operation is spelled in OCPP 1.6 or 2.0.1
is the edge's business (`apps/ocpp/commands.py`); an operation a version does not have is refused there.
"""

from dataclasses import dataclass

from django.utils.translation import gettext_noop
from rest_framework import serializers

OCPP16, OCPP201 = "ocpp1.6", "ocpp2.0.1"
BOTH = frozenset({OCPP16, OCPP201})


class NoParams(serializers.Serializer):
    pass


class ResetParams(serializers.Serializer):
    kind = serializers.ChoiceField(
        choices=[("soft", "Soft: when idle (2.0.1 OnIdle)"), ("hard", "Hard: now (2.0.1 Immediate)")], default="soft"
    )
    evse_id = serializers.IntegerField(min_value=1, required=False, help_text="2.0.1 only: reset one EVSE")


class RemoteStartParams(serializers.Serializer):
    id_token = serializers.CharField(max_length=36)
    id_token_type = serializers.CharField(max_length=20, default="Central")
    evse_id = serializers.IntegerField(min_value=1, required=False)
    remote_start_id = serializers.IntegerField(min_value=1, required=False, help_text="Default: the command's id")


class RemoteStopParams(serializers.Serializer):
    transaction_id = serializers.CharField(max_length=36)


class UnlockParams(serializers.Serializer):
    evse_id = serializers.IntegerField(min_value=1)
    connector_id = serializers.IntegerField(min_value=1, default=1)


class AvailabilityParams(serializers.Serializer):
    operative = serializers.BooleanField()
    evse_id = serializers.IntegerField(min_value=0, default=0, help_text="0: the whole station")
    connector_id = serializers.IntegerField(min_value=1, required=False)


TRIGGERS = [
    "boot_notification",
    "heartbeat",
    "status_notification",
    "meter_values",
    "firmware_status",
    "diagnostics_status",
    "transaction_event",
]


class TriggerParams(serializers.Serializer):
    message = serializers.ChoiceField(choices=TRIGGERS)
    evse_id = serializers.IntegerField(min_value=1, required=False)
    connector_id = serializers.IntegerField(min_value=1, required=False)


class GetConfigurationParams(serializers.Serializer):
    keys = serializers.ListField(child=serializers.CharField(max_length=50), required=False, default=list)


class ChangeConfigurationParams(serializers.Serializer):
    key = serializers.CharField(max_length=50)
    value = serializers.CharField(max_length=500, allow_blank=True)


class VariableParams(serializers.Serializer):
    component = serializers.CharField(max_length=50)
    variable = serializers.CharField(max_length=50)
    component_instance = serializers.CharField(max_length=50, required=False)
    variable_instance = serializers.CharField(max_length=50, required=False)
    evse_id = serializers.IntegerField(min_value=1, required=False)
    connector_id = serializers.IntegerField(min_value=1, required=False)
    attribute = serializers.ChoiceField(choices=["Actual", "Target", "MinSet", "MaxSet"], default="Actual")


class VariableValueParams(VariableParams):
    value = serializers.CharField(max_length=1000, allow_blank=True)


class GetVariablesParams(serializers.Serializer):
    variables = VariableParams(many=True, allow_empty=False)


class SetVariablesParams(serializers.Serializer):
    variables = VariableValueParams(many=True, allow_empty=False)


class BaseReportParams(serializers.Serializer):
    report = serializers.ChoiceField(
        choices=["ConfigurationInventory", "FullInventory", "SummaryInventory"], default="FullInventory"
    )


class DataTransferParams(serializers.Serializer):
    vendor_id = serializers.CharField(max_length=255)
    message_id = serializers.CharField(max_length=50, required=False)
    data = serializers.CharField(required=False, allow_blank=True)


class FirmwareParams(serializers.Serializer):
    location = serializers.URLField(max_length=512, help_text="Where the station downloads the firmware")
    retrieve_at = serializers.DateTimeField(required=False, help_text="Default: now")
    retries = serializers.IntegerField(min_value=0, required=False)
    retry_interval_s = serializers.IntegerField(min_value=0, required=False)
    signing_certificate = serializers.CharField(max_length=5500, required=False, help_text="2.0.1 only")
    signature = serializers.CharField(max_length=800, required=False, help_text="2.0.1 only")


class LogParams(serializers.Serializer):
    log_type = serializers.ChoiceField(choices=["DiagnosticsLog", "SecurityLog"], default="DiagnosticsLog")
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)
    retries = serializers.IntegerField(min_value=0, required=False)
    retry_interval_s = serializers.IntegerField(min_value=0, required=False)

    def validate(self, data):
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise serializers.ValidationError({"until": "Must not be before since."})
        return data


class LocalListParams(serializers.Serializer):
    update_type = serializers.ChoiceField(choices=["full", "differential"], default="full")
    id_tokens = serializers.ListField(
        child=serializers.CharField(max_length=36),
        required=False,
        help_text="Full: default every token of the brand. Differential: the tokens to add, change or remove.",
    )

    def validate(self, data):
        if data["update_type"] == "differential" and not data.get("id_tokens"):
            raise serializers.ValidationError({"id_tokens": "A differential update names the tokens it changes."})
        return data


class ReserveParams(serializers.Serializer):
    id_token = serializers.CharField(max_length=36)
    id_token_type = serializers.CharField(max_length=20, default="Central")
    expires_at = serializers.DateTimeField()
    evse_id = serializers.IntegerField(min_value=0, default=0, help_text="0: any EVSE (1.6 connector 0)")
    group_id_token = serializers.CharField(max_length=36, required=False)
    reservation_id = serializers.IntegerField(
        min_value=1, required=False, help_text="A reservation the station holds: this one replaces it"
    )

    def validate_expires_at(self, value):
        from django.utils import timezone

        if value <= timezone.now():
            raise serializers.ValidationError("Must be in the future.")
        return value


class CancelReservationParams(serializers.Serializer):
    reservation_id = serializers.IntegerField(min_value=1)


class PeriodParams(serializers.Serializer):
    start_s = serializers.IntegerField(min_value=0, help_text="Seconds from the schedule's start")
    limit = serializers.DecimalField(max_digits=10, decimal_places=1, min_value=0)
    phases = serializers.IntegerField(min_value=1, max_value=3, required=False)


PURPOSES = [("station_max", "Station maximum"), ("tx_default", "Default for transactions"), ("tx", "One transaction")]


class ChargingProfileParams(serializers.Serializer):
    evse_id = serializers.IntegerField(min_value=0, default=0, help_text="0: the whole station")
    profile_id = serializers.IntegerField(min_value=1, required=False, help_text="Default: the command's id")
    stack_level = serializers.IntegerField(min_value=0, default=0)
    purpose = serializers.ChoiceField(choices=PURPOSES, default="tx_default")
    kind = serializers.ChoiceField(choices=["Absolute", "Recurring", "Relative"], default="Relative")
    recurrency = serializers.ChoiceField(choices=["Daily", "Weekly"], required=False)
    unit = serializers.ChoiceField(choices=["W", "A"], default="A")
    periods = PeriodParams(many=True, allow_empty=False)
    min_rate = serializers.DecimalField(
        max_digits=10, decimal_places=1, min_value=0, required=False, help_text="The lowest rate the EV accepts (unit)"
    )
    duration_s = serializers.IntegerField(min_value=1, required=False)
    start_at = serializers.DateTimeField(required=False)
    transaction_id = serializers.CharField(max_length=36, required=False)
    valid_from = serializers.DateTimeField(required=False)
    valid_to = serializers.DateTimeField(required=False)

    def validate(self, data):
        starts = [period["start_s"] for period in data["periods"]]
        if starts[0] != 0 or starts != sorted(set(starts)):
            raise serializers.ValidationError({"periods": "Periods start at 0 s and then at increasing offsets."})
        if data["kind"] == "Recurring" and not data.get("recurrency"):
            raise serializers.ValidationError({"recurrency": "A recurring profile is daily or weekly."})
        if data["kind"] in ("Absolute", "Recurring") and not data.get("start_at"):
            raise serializers.ValidationError({"start_at": f"An {data['kind'].lower()} profile has a start."})
        if data["purpose"] == "tx" and not data.get("transaction_id"):
            raise serializers.ValidationError({"transaction_id": "A transaction profile names its transaction."})
        if data["purpose"] == "station_max" and data["evse_id"] != 0:
            raise serializers.ValidationError({"evse_id": "The station maximum applies to EVSE 0."})
        return data


class ClearProfileParams(serializers.Serializer):
    profile_id = serializers.IntegerField(min_value=1, required=False)
    evse_id = serializers.IntegerField(min_value=0, required=False)
    purpose = serializers.ChoiceField(choices=PURPOSES, required=False)
    stack_level = serializers.IntegerField(min_value=0, required=False)


class CompositeScheduleParams(serializers.Serializer):
    evse_id = serializers.IntegerField(min_value=0, default=0)
    duration_s = serializers.IntegerField(min_value=1, max_value=7 * 24 * 3600, default=3600)
    unit = serializers.ChoiceField(choices=["W", "A"], required=False)


@dataclass(frozen=True)
class Operation:
    name: str
    label: str  # English, marked for translation: the admin shows it translated, the API in English
    params: type[serializers.Serializer]
    protocols: frozenset[str] = BOTH


OPERATIONS = {
    operation.name: operation
    for operation in (
        Operation("reset", gettext_noop("Reset (reboot)"), ResetParams),
        Operation("remote_start", gettext_noop("Start a session remotely"), RemoteStartParams),
        Operation("remote_stop", gettext_noop("Stop a session remotely"), RemoteStopParams),
        Operation("unlock_connector", gettext_noop("Unlock a connector"), UnlockParams),
        Operation("change_availability", gettext_noop("Change availability"), AvailabilityParams),
        Operation("trigger_message", gettext_noop("Trigger a message"), TriggerParams),
        Operation("clear_cache", gettext_noop("Clear the authorization cache"), NoParams),
        Operation("get_configuration", gettext_noop("Get configuration"), GetConfigurationParams, frozenset({OCPP16})),
        Operation(
            "change_configuration", gettext_noop("Change configuration"), ChangeConfigurationParams, frozenset({OCPP16})
        ),
        Operation("get_variables", gettext_noop("Get variables"), GetVariablesParams, frozenset({OCPP201})),
        Operation("set_variables", gettext_noop("Set variables"), SetVariablesParams, frozenset({OCPP201})),
        Operation(
            "get_base_report", gettext_noop("Get the device model report"), BaseReportParams, frozenset({OCPP201})
        ),
        Operation("update_firmware", gettext_noop("Update firmware"), FirmwareParams),
        Operation("get_log", gettext_noop("Get diagnostics / log"), LogParams),
        Operation("send_local_list", gettext_noop("Send the local authorization list"), LocalListParams),
        Operation("get_local_list_version", gettext_noop("Get the local list version"), NoParams),
        Operation("reserve_now", gettext_noop("Reserve"), ReserveParams),
        Operation("cancel_reservation", gettext_noop("Cancel a reservation"), CancelReservationParams),
        Operation("set_charging_profile", gettext_noop("Set a charging profile"), ChargingProfileParams),
        Operation("clear_charging_profile", gettext_noop("Clear charging profiles"), ClearProfileParams),
        Operation("get_composite_schedule", gettext_noop("Get the composite schedule"), CompositeScheduleParams),
        Operation("data_transfer", gettext_noop("Vendor data transfer"), DataTransferParams),
    )
}


def operations_summary() -> list[dict]:
    """Every operation with its versions and parameters, for forms that let an operator pick one."""
    return [
        {
            "name": name,
            "label": operation.label,
            "versions": ", ".join(sorted(operation.protocols)),
            "params": ", ".join(
                field_name if field.required else f"{field_name} (optional)"
                for field_name, field in operation.params().fields.items()
            ),
        }
        for name, operation in OPERATIONS.items()
    ]


def errors_text(errors) -> str:
    """A ValidationError's detail as one line, naming the fields: "evse_id: Ensure this value is …"."""
    if isinstance(errors, dict):
        return "; ".join(f"{field}: {errors_text(value)}" for field, value in errors.items())
    if isinstance(errors, list):
        return " ".join(errors_text(item) for item in errors)
    return str(errors)
