"""Remote operations in OCPP: how each version-neutral operation (`apps/commands/operations.py`) is asked of a
1.6 or 2.0.1 station, and how its answer reads: accepted or rejected, the status the station gave, and what the
answer tells about the station (configuration values) for the stations app to keep.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from apps.ocpp.framing import OCPP16, OCPP201
from apps.stations.services import VariableReport

# Statuses by which a station says it will do, or did, what was asked.
POSITIVE = frozenset({"Accepted", "Unlocked", "Scheduled", "RebootRequired"})
# OCPP 2.0.1 requestId and remoteStartId are integers; command ids are folded into their range.
MAX_INT32 = 2**31 - 1


class Inexpressible(Exception):  # noqa: N818 - a refusal the caller sees, named by what it means
    """The parameters cannot be said in this station's protocol version (named by field)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field_name = field_name


@dataclass(frozen=True)
class Reading:
    accepted: bool
    answer_status: str
    variables: list[VariableReport] = field(default_factory=list)


def _status_reading(response: dict) -> Reading:
    status = response.get("status", "")
    return Reading(status in POSITIVE, status)


def _optional(**items) -> dict:
    return {key: value for key, value in items.items() if value is not None}


def _id_of(command_id: int) -> int:
    return command_id % MAX_INT32 or MAX_INT32


# --- OCPP 1.6 -----------------------------------------------------------------------------------------------------

V16_TRIGGERS = {
    "boot_notification": "BootNotification",
    "heartbeat": "Heartbeat",
    "status_notification": "StatusNotification",
    "meter_values": "MeterValues",
    "firmware_status": "FirmwareStatusNotification",
    "diagnostics_status": "DiagnosticsStatusNotification",
}


def _v16_reset(params: dict, command_id: int) -> tuple[str, dict]:
    if params.get("evse_id"):
        raise Inexpressible("evse_id", "OCPP 1.6 resets the whole station, not one EVSE.")
    return "Reset", {"type": "Hard" if params["kind"] == "hard" else "Soft"}


def _v16_remote_start(params: dict, command_id: int) -> tuple[str, dict]:
    if len(params["id_token"]) > 20:
        raise Inexpressible("id_token", "OCPP 1.6 idTags are at most 20 characters.")
    return "RemoteStartTransaction", _optional(idTag=params["id_token"], connectorId=params.get("evse_id"))


def _v16_remote_stop(params: dict, command_id: int) -> tuple[str, dict]:
    try:
        transaction_id = int(params["transaction_id"])
    except ValueError:
        raise Inexpressible("transaction_id", "OCPP 1.6 transaction ids are integers.") from None
    return "RemoteStopTransaction", {"transactionId": transaction_id}


def _v16_trigger(params: dict, command_id: int) -> tuple[str, dict]:
    if params["message"] not in V16_TRIGGERS:
        raise Inexpressible("message", f"OCPP 1.6 cannot trigger {params['message']}.")
    return "TriggerMessage", _optional(
        requestedMessage=V16_TRIGGERS[params["message"]], connectorId=params.get("evse_id")
    )


def _v16_configuration_read(response: dict) -> Reading:
    keys = response.get("configurationKey", [])
    variables = [
        VariableReport(
            variable=item["key"],
            value=item.get("value", ""),
            mutability="ReadOnly" if item["readonly"] else "ReadWrite",
        )
        for item in keys
    ]
    unknown = response.get("unknownKey", [])
    return Reading(True, f"{len(keys)} keys" + (f", unknown: {', '.join(unknown)}" if unknown else ""), variables)


V16_REQUESTS: dict[str, Callable[[dict, int], tuple[str, dict]]] = {
    "reset": _v16_reset,
    "remote_start": _v16_remote_start,
    "remote_stop": _v16_remote_stop,
    "unlock_connector": lambda params, _: ("UnlockConnector", {"connectorId": params["evse_id"]}),
    "change_availability": lambda params, _: (
        "ChangeAvailability",
        {"connectorId": params["evse_id"], "type": "Operative" if params["operative"] else "Inoperative"},
    ),
    "trigger_message": _v16_trigger,
    "clear_cache": lambda params, _: ("ClearCache", {}),
    "get_configuration": lambda params, _: ("GetConfiguration", {"key": params["keys"]} if params["keys"] else {}),
    "change_configuration": lambda params, _: ("ChangeConfiguration", {"key": params["key"], "value": params["value"]}),
    "data_transfer": lambda params, _: (
        "DataTransfer",
        _optional(vendorId=params["vendor_id"], messageId=params.get("message_id"), data=params.get("data")),
    ),
}


def _v16_change_configuration_read(response: dict, params: dict) -> Reading:
    reading = _status_reading(response)
    if reading.accepted:
        reading = Reading(True, reading.answer_status, [VariableReport(variable=params["key"], value=params["value"])])
    return reading


# --- OCPP 2.0.1 ---------------------------------------------------------------------------------------------------

V201_TRIGGERS = {
    "boot_notification": "BootNotification",
    "heartbeat": "Heartbeat",
    "status_notification": "StatusNotification",
    "meter_values": "MeterValues",
    "firmware_status": "FirmwareStatusNotification",
    "diagnostics_status": "LogStatusNotification",
    "transaction_event": "TransactionEvent",
}


def _evse(evse_id: int | None, connector_id: int | None) -> dict | None:
    return None if not evse_id else _optional(id=evse_id, connectorId=connector_id)


def _component_variable(item: dict) -> dict:
    return {
        "component": _optional(
            name=item["component"],
            instance=item.get("component_instance"),
            evse=_evse(item.get("evse_id"), item.get("connector_id")),
        ),
        "variable": _optional(name=item["variable"], instance=item.get("variable_instance")),
        "attributeType": item["attribute"],
    }


def _variable_report(item: dict, value: str) -> VariableReport:
    component, variable = item["component"], item["variable"]
    evse = component.get("evse", {})
    return VariableReport(
        component=component["name"],
        component_instance=component.get("instance", ""),
        evse_id=evse.get("id", 0),
        connector_id=evse.get("connectorId", 0),
        variable=variable["name"],
        variable_instance=variable.get("instance", ""),
        attribute=item.get("attributeType", "Actual"),
        value=value,
    )


def _results_reading(results: list[dict], variables: list[VariableReport]) -> Reading:
    counts = Counter(result["attributeStatus"] for result in results)
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    return Reading(counts["Accepted"] + counts["RebootRequired"] > 0, summary[:40], variables)


def _v201_get_variables_read(response: dict, params: dict) -> Reading:
    results = response["getVariableResult"]
    variables = [
        _variable_report(result, result.get("attributeValue", ""))
        for result in results
        if result["attributeStatus"] == "Accepted"
    ]
    return _results_reading(results, variables)


def _v201_set_variables_read(response: dict, params: dict) -> Reading:
    results = response["setVariableResult"]
    requested = {
        (item["component"], item["variable"], item.get("evse_id"), item["attribute"]): item["value"]
        for item in params["variables"]
    }
    variables = []
    for result in results:
        if result["attributeStatus"] in ("Accepted", "RebootRequired"):
            key = (
                result["component"]["name"],
                result["variable"]["name"],
                result["component"].get("evse", {}).get("id"),
                result.get("attributeType", "Actual"),
            )
            if key in requested:
                variables.append(_variable_report(result, requested[key]))
    return _results_reading(results, variables)


def _v201_trigger(params: dict, command_id: int) -> tuple[str, dict]:
    return "TriggerMessage", _optional(
        requestedMessage=V201_TRIGGERS[params["message"]],
        evse=_evse(params.get("evse_id"), params.get("connector_id")),
    )


V201_REQUESTS: dict[str, Callable[[dict, int], tuple[str, dict]]] = {
    "reset": lambda params, _: (
        "Reset",
        _optional(type="Immediate" if params["kind"] == "hard" else "OnIdle", evseId=params.get("evse_id")),
    ),
    "remote_start": lambda params, command_id: (
        "RequestStartTransaction",
        _optional(
            idToken={"idToken": params["id_token"], "type": params["id_token_type"]},
            remoteStartId=params.get("remote_start_id") or _id_of(command_id),
            evseId=params.get("evse_id"),
        ),
    ),
    "remote_stop": lambda params, _: ("RequestStopTransaction", {"transactionId": params["transaction_id"]}),
    "unlock_connector": lambda params, _: (
        "UnlockConnector",
        {"evseId": params["evse_id"], "connectorId": params["connector_id"]},
    ),
    "change_availability": lambda params, _: (
        "ChangeAvailability",
        _optional(
            operationalStatus="Operative" if params["operative"] else "Inoperative",
            evse=_evse(params["evse_id"], params.get("connector_id")),
        ),
    ),
    "trigger_message": _v201_trigger,
    "clear_cache": lambda params, _: ("ClearCache", {}),
    "get_variables": lambda params, _: (
        "GetVariables",
        {"getVariableData": [_component_variable(item) for item in params["variables"]]},
    ),
    "set_variables": lambda params, _: (
        "SetVariables",
        {
            "setVariableData": [
                {**_component_variable(item), "attributeValue": item["value"]} for item in params["variables"]
            ]
        },
    ),
    "get_base_report": lambda params, command_id: (
        "GetBaseReport",
        {"requestId": _id_of(command_id), "reportBase": params["report"]},
    ),
    "data_transfer": V16_REQUESTS["data_transfer"],
}

REQUESTS = {OCPP16: V16_REQUESTS, OCPP201: V201_REQUESTS}
READERS: dict[str, dict[str, Callable[[dict, dict], Reading]]] = {
    OCPP16: {
        "get_configuration": lambda response, params: _v16_configuration_read(response),
        "change_configuration": _v16_change_configuration_read,
    },
    OCPP201: {"get_variables": _v201_get_variables_read, "set_variables": _v201_set_variables_read},
}


def request_build(protocol: str, operation: str, params: dict, *, command_id: int) -> tuple[str, dict]:
    """The OCPP action and payload of an operation; `Inexpressible` when this version cannot say it."""
    build = REQUESTS[protocol].get(operation)
    if build is None:
        raise Inexpressible("operation", f"{operation} does not exist in {protocol}.")
    return build(params, command_id)


def answer_read(protocol: str, operation: str, params: dict, response: dict) -> Reading:
    reader = READERS[protocol].get(operation)
    return reader(response, params) if reader else _status_reading(response)


def report_variables(report_data: list[dict]) -> list[VariableReport]:
    """The device-model values of a 2.0.1 NotifyReport's reportData."""
    variables = []
    for item in report_data:
        for attribute in item["variableAttribute"]:
            report = _variable_report(
                {**item, "attributeType": attribute.get("type", "Actual")}, str(attribute.get("value", ""))
            )
            variables.append(replace(report, mutability=attribute.get("mutability", "ReadWrite")))
    return variables
