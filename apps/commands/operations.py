"""The remote operations the platform can ask of a station, in version-neutral terms, with their parameters.

Each operation validates its parameters with a serializer, so the admin, the API and the command line refuse bad
input the same way, naming the field, before anything is sent. How an operation is spelled in OCPP 1.6 or 2.0.1
is the edge's business (`apps/ocpp/commands.py`); an operation a version does not have is refused there.
"""

from dataclasses import dataclass

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


@dataclass(frozen=True)
class Operation:
    name: str
    label: str
    params: type[serializers.Serializer]
    protocols: frozenset[str] = BOTH


OPERATIONS = {
    operation.name: operation
    for operation in (
        Operation("reset", "Reset (reboot)", ResetParams),
        Operation("remote_start", "Start a session remotely", RemoteStartParams),
        Operation("remote_stop", "Stop a session remotely", RemoteStopParams),
        Operation("unlock_connector", "Unlock a connector", UnlockParams),
        Operation("change_availability", "Change availability", AvailabilityParams),
        Operation("trigger_message", "Trigger a message", TriggerParams),
        Operation("clear_cache", "Clear the authorization cache", NoParams),
        Operation("get_configuration", "Get configuration", GetConfigurationParams, frozenset({OCPP16})),
        Operation("change_configuration", "Change configuration", ChangeConfigurationParams, frozenset({OCPP16})),
        Operation("get_variables", "Get variables", GetVariablesParams, frozenset({OCPP201})),
        Operation("set_variables", "Set variables", SetVariablesParams, frozenset({OCPP201})),
        Operation("get_base_report", "Get the device model report", BaseReportParams, frozenset({OCPP201})),
        Operation("data_transfer", "Vendor data transfer", DataTransferParams),
    )
}
