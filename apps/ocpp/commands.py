"""Remote operations in OCPP: how each version-neutral operation (`apps/commands/operations.py`) is asked of a
1.6 or 2.0.1 station, and how its answer reads: accepted or rejected, the status the station gave, and what the
answer tells about the station (configuration values) for the stations app to keep.
"""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from django.utils import timezone

from apps.ocpp.framing import OCPP16, OCPP201
from apps.sessions.selectors import LocalListEntry
from apps.stations.services import VariableReport

# Statuses by which a station says it will do, or did, what was asked.
POSITIVE = frozenset({"Accepted", "Unlocked", "Scheduled", "RebootRequired", "AcceptedCanceled"})
PURPOSES = {
    OCPP16: {"station_max": "ChargePointMaxProfile", "tx_default": "TxDefaultProfile", "tx": "TxProfile"},
    OCPP201: {"station_max": "ChargingStationMaxProfile", "tx_default": "TxDefaultProfile", "tx": "TxProfile"},
}
# OCPP 2.0.1 requestId and remoteStartId are integers; command ids are folded into their range.
MAX_INT32 = 2**31 - 1


class Inexpressible(Exception):  # noqa: N818 - a refusal the caller sees, named by what it means
    """The parameters cannot be said in this station's protocol version (named by field)."""

    def __init__(self, field_name: str, message: str):
        super().__init__(f"{field_name}: {message}")
        self.field_name = field_name


@dataclass(frozen=True)
class BuildContext:
    """What building a CALL needs beyond the parameters, read from the platform when the command is sent."""

    command_id: int
    upload_url: str = ""
    list_version: int = 0
    list_entries: tuple[LocalListEntry, ...] = ()

    @property
    def request_id(self) -> int:
        return _id_of(self.command_id)


@dataclass(frozen=True)
class Reading:
    accepted: bool
    answer_status: str
    variables: list[VariableReport] = field(default_factory=list)
    facts: dict = field(default_factory=dict)  # what else the answer tells (list version, file name, schedule)


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


def _v16_reset(params: dict, ctx: BuildContext) -> tuple[str, dict]:
    if params.get("evse_id"):
        raise Inexpressible("evse_id", "OCPP 1.6 resets the whole station, not one EVSE.")
    return "Reset", {"type": "Hard" if params["kind"] == "hard" else "Soft"}


def _v16_remote_start(params: dict, ctx: BuildContext) -> tuple[str, dict]:
    if len(params["id_token"]) > 20:
        raise Inexpressible("id_token", "OCPP 1.6 idTags are at most 20 characters.")
    return "RemoteStartTransaction", _optional(idTag=params["id_token"], connectorId=params.get("evse_id"))


def _v16_remote_stop(params: dict, ctx: BuildContext) -> tuple[str, dict]:
    try:
        transaction_id = int(params["transaction_id"])
    except ValueError:
        raise Inexpressible("transaction_id", "OCPP 1.6 transaction ids are integers.") from None
    return "RemoteStopTransaction", {"transactionId": transaction_id}


def _v16_trigger(params: dict, ctx: BuildContext) -> tuple[str, dict]:
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


def _now() -> str:
    return timezone.now().isoformat(timespec="seconds").replace("+00:00", "Z")


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")


def _number(value) -> int | float:
    """A decimal limit as JSON: an integer when whole, else one decimal (schemas ask multiples of 0.1)."""
    number = Decimal(str(value)).quantize(Decimal("0.1"))
    return int(number) if number == number.to_integral_value() else float(number)


def _v16_firmware(params: dict, ctx: BuildContext) -> tuple[str, dict]:
    if params.get("signing_certificate") or params.get("signature"):
        raise Inexpressible("signature", "OCPP 1.6 firmware updates carry no signature.")
    return "UpdateFirmware", _optional(
        location=params["location"],
        retrieveDate=params.get("retrieve_at") or _now(),
        retries=params.get("retries"),
        retryInterval=params.get("retry_interval_s"),
    )


def _v16_log(params: dict, ctx: BuildContext) -> tuple[str, dict]:
    if params["log_type"] != "DiagnosticsLog":
        raise Inexpressible("log_type", "OCPP 1.6 uploads diagnostics only.")
    return "GetDiagnostics", _optional(
        location=ctx.upload_url,
        startTime=params.get("since"),
        stopTime=params.get("until"),
        retries=params.get("retries"),
        retryInterval=params.get("retry_interval_s"),
    )


def _v16_local_list(params: dict, ctx: BuildContext) -> tuple[str, dict]:
    entries = []
    for entry in ctx.list_entries:
        if len(entry.uid) > 20:
            raise Inexpressible("id_tokens", f"{entry.uid} is longer than an OCPP 1.6 idTag (20 characters).")
        info = None
        if entry.status is not None:
            info = _optional(
                status=entry.status, expiryDate=_when(entry.expires_at), parentIdTag=entry.group_uid or None
            )
        entries.append(_optional(idTag=entry.uid, idTagInfo=info))
    return "SendLocalList", _optional(
        listVersion=ctx.list_version,
        updateType="Full" if params["update_type"] == "full" else "Differential",
        localAuthorizationList=entries or None,
    )


def _schedule_periods(params: dict) -> list[dict]:
    return [
        _optional(startPeriod=period["start_s"], limit=_number(period["limit"]), numberPhases=period.get("phases"))
        for period in params["periods"]
    ]


def _v16_profile(params: dict, ctx: BuildContext) -> tuple[str, dict]:
    transaction_id = None
    if params.get("transaction_id"):
        try:
            transaction_id = int(params["transaction_id"])
        except ValueError:
            raise Inexpressible("transaction_id", "OCPP 1.6 transaction ids are integers.") from None
    profile = _optional(
        chargingProfileId=params.get("profile_id") or ctx.request_id,
        transactionId=transaction_id,
        stackLevel=params["stack_level"],
        chargingProfilePurpose=PURPOSES[OCPP16][params["purpose"]],
        chargingProfileKind=params["kind"],
        recurrencyKind=params.get("recurrency"),
        validFrom=params.get("valid_from"),
        validTo=params.get("valid_to"),
        chargingSchedule=_optional(
            duration=params.get("duration_s"),
            startSchedule=params.get("start_at"),
            chargingRateUnit=params["unit"],
            chargingSchedulePeriod=_schedule_periods(params),
            minChargingRate=_number(params["min_rate"]) if params.get("min_rate") is not None else None,
        ),
    )
    return "SetChargingProfile", {"connectorId": params["evse_id"], "csChargingProfiles": profile}


V16_REQUESTS: dict[str, Callable[[dict, BuildContext], tuple[str, dict]]] = {
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
    "update_firmware": _v16_firmware,
    "get_log": _v16_log,
    "send_local_list": _v16_local_list,
    "get_local_list_version": lambda params, _: ("GetLocalListVersion", {}),
    "reserve_now": lambda params, ctx: (
        "ReserveNow",
        _optional(
            connectorId=params["evse_id"],
            expiryDate=params["expires_at"],
            idTag=params["id_token"],
            reservationId=params.get("reservation_id") or ctx.request_id,
            parentIdTag=params.get("group_id_token"),
        ),
    ),
    "cancel_reservation": lambda params, _: ("CancelReservation", {"reservationId": params["reservation_id"]}),
    "set_charging_profile": _v16_profile,
    "clear_charging_profile": lambda params, _: (
        "ClearChargingProfile",
        _optional(
            id=params.get("profile_id"),
            connectorId=params.get("evse_id"),
            chargingProfilePurpose=PURPOSES[OCPP16].get(params.get("purpose")),
            stackLevel=params.get("stack_level"),
        ),
    ),
    "get_composite_schedule": lambda params, _: (
        "GetCompositeSchedule",
        _optional(connectorId=params["evse_id"], duration=params["duration_s"], chargingRateUnit=params.get("unit")),
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


def _v201_trigger(params: dict, ctx: BuildContext) -> tuple[str, dict]:
    return "TriggerMessage", _optional(
        requestedMessage=V201_TRIGGERS[params["message"]],
        evse=_evse(params.get("evse_id"), params.get("connector_id")),
    )


def _v201_local_list(params: dict, ctx: BuildContext) -> tuple[str, dict]:
    entries = []
    for entry in ctx.list_entries:
        info = None
        if entry.status is not None:
            group = {"idToken": entry.group_uid, "type": "Central"} if entry.group_uid else None
            info = _optional(status=entry.status, cacheExpiryDateTime=_when(entry.expires_at), groupIdToken=group)
        entries.append(_optional(idToken={"idToken": entry.uid, "type": entry.type}, idTokenInfo=info))
    return "SendLocalList", _optional(
        versionNumber=ctx.list_version,
        updateType="Full" if params["update_type"] == "full" else "Differential",
        localAuthorizationList=entries or None,
    )


def _v201_profile(params: dict, ctx: BuildContext) -> tuple[str, dict]:
    profile = _optional(
        id=params.get("profile_id") or ctx.request_id,
        stackLevel=params["stack_level"],
        chargingProfilePurpose=PURPOSES[OCPP201][params["purpose"]],
        chargingProfileKind=params["kind"],
        recurrencyKind=params.get("recurrency"),
        validFrom=params.get("valid_from"),
        validTo=params.get("valid_to"),
        transactionId=params.get("transaction_id"),
        chargingSchedule=[
            _optional(
                id=1,
                startSchedule=params.get("start_at"),
                duration=params.get("duration_s"),
                chargingRateUnit=params["unit"],
                chargingSchedulePeriod=_schedule_periods(params),
                minChargingRate=_number(params["min_rate"]) if params.get("min_rate") is not None else None,
            )
        ],
    )
    return "SetChargingProfile", {"evseId": params["evse_id"], "chargingProfile": profile}


V201_REQUESTS: dict[str, Callable[[dict, BuildContext], tuple[str, dict]]] = {
    "reset": lambda params, _: (
        "Reset",
        _optional(type="Immediate" if params["kind"] == "hard" else "OnIdle", evseId=params.get("evse_id")),
    ),
    "remote_start": lambda params, ctx: (
        "RequestStartTransaction",
        _optional(
            idToken={"idToken": params["id_token"], "type": params["id_token_type"]},
            remoteStartId=params.get("remote_start_id") or ctx.request_id,
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
    "get_base_report": lambda params, ctx: (
        "GetBaseReport",
        {"requestId": ctx.request_id, "reportBase": params["report"]},
    ),
    "data_transfer": V16_REQUESTS["data_transfer"],
    "update_firmware": lambda params, ctx: (
        "UpdateFirmware",
        _optional(
            retries=params.get("retries"),
            retryInterval=params.get("retry_interval_s"),
            requestId=ctx.request_id,
            firmware=_optional(
                location=params["location"],
                retrieveDateTime=params.get("retrieve_at") or _now(),
                signingCertificate=params.get("signing_certificate"),
                signature=params.get("signature"),
            ),
        ),
    ),
    "get_log": lambda params, ctx: (
        "GetLog",
        _optional(
            log=_optional(
                remoteLocation=ctx.upload_url, oldestTimestamp=params.get("since"), latestTimestamp=params.get("until")
            ),
            logType=params["log_type"],
            requestId=ctx.request_id,
            retries=params.get("retries"),
            retryInterval=params.get("retry_interval_s"),
        ),
    ),
    "send_local_list": _v201_local_list,
    "get_local_list_version": lambda params, _: ("GetLocalListVersion", {}),
    "reserve_now": lambda params, ctx: (
        "ReserveNow",
        _optional(
            id=params.get("reservation_id") or ctx.request_id,
            expiryDateTime=params["expires_at"],
            idToken={"idToken": params["id_token"], "type": params["id_token_type"]},
            evseId=params["evse_id"] or None,
            groupIdToken={"idToken": params["group_id_token"], "type": "Central"}
            if params.get("group_id_token")
            else None,
        ),
    ),
    "cancel_reservation": lambda params, _: ("CancelReservation", {"reservationId": params["reservation_id"]}),
    "set_charging_profile": _v201_profile,
    "clear_charging_profile": lambda params, _: (
        "ClearChargingProfile",
        _optional(
            chargingProfileId=params.get("profile_id"),
            chargingProfileCriteria=_optional(
                evseId=params.get("evse_id"),
                chargingProfilePurpose=PURPOSES[OCPP201].get(params.get("purpose")),
                stackLevel=params.get("stack_level"),
            )
            or None,
        ),
    ),
    "get_composite_schedule": lambda params, _: (
        "GetCompositeSchedule",
        _optional(duration=params["duration_s"], evseId=params["evse_id"], chargingRateUnit=params.get("unit")),
    ),
}


def _list_version_read(field_name: str):
    def read(response: dict, params: dict) -> Reading:
        version = response[field_name]
        return Reading(True, f"version {version}", facts={"list_version": version})

    return read


def _file_read(response: dict, params: dict) -> Reading:
    """1.6 GetDiagnostics answers with the file name (none: nothing to upload); 2.0.1 GetLog with a status too."""
    name = response.get("fileName") or response.get("filename") or ""
    if "status" in response:
        reading = _status_reading(response)
        return Reading(reading.accepted, reading.answer_status, facts={"file_name": name})
    return Reading(True, name or "no file", facts={"file_name": name})


def _schedule_read(response: dict, params: dict) -> Reading:
    reading = _status_reading(response)
    return Reading(reading.accepted, reading.answer_status, facts={"schedule": response})


REQUESTS = {OCPP16: V16_REQUESTS, OCPP201: V201_REQUESTS}
READERS: dict[str, dict[str, Callable[[dict, dict], Reading]]] = {
    OCPP16: {
        "get_configuration": lambda response, params: _v16_configuration_read(response),
        "change_configuration": _v16_change_configuration_read,
        "update_firmware": lambda response, params: Reading(True, ""),  # 1.6 answers with an empty object
        "get_log": _file_read,
        "get_local_list_version": _list_version_read("listVersion"),
        "get_composite_schedule": _schedule_read,
    },
    OCPP201: {
        "get_variables": _v201_get_variables_read,
        "set_variables": _v201_set_variables_read,
        "get_log": _file_read,
        "get_local_list_version": _list_version_read("versionNumber"),
        "get_composite_schedule": _schedule_read,
    },
}


def request_build(protocol: str, operation: str, params: dict, context: BuildContext) -> tuple[str, dict]:
    """The OCPP action and payload of an operation; `Inexpressible` when this version cannot say it."""
    build = REQUESTS[protocol].get(operation)
    if build is None:
        raise Inexpressible("operation", f"{operation} does not exist in {protocol}.")
    return build(params, context)


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
