"""What a virtual station does when the server asks: the remote operations of OCPP 1.6J (`V16Operations`) and
OCPP 2.0.1 (`V201Operations`), answered like a real charger answers them.

A handler reads the request, decides the answer from the station's state and returns it, with what the station
does because of it as a coroutine (`after`) that `rpc.Rpc` runs once the answer has gone out: the server hears
"Accepted" before the session it asked for starts, before the message it triggered, before the reboot. The
station's configuration (1.6 GetConfiguration/ChangeConfiguration) and device model (2.0.1 GetVariables,
SetVariables, GetBaseReport) are in memory; the settings that drive its behaviour (heartbeat, meter interval and
measurands, authorizing remote starts) take effect at once. Anything else is answered with NotImplemented, and a
request missing a required field with the CALLERROR its version defines.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tools.simulator.dialects import MEASURANDS, iso
from tools.simulator.rpc import CallRefused

if TYPE_CHECKING:
    from tools.simulator.station import VirtualStation

VENDOR_ID = "OpenChargeSim"  # DataTransfer with this vendor id is accepted and its data echoed
REPORT_ITEMS_PER_MESSAGE = 10  # 2.0.1 DeviceDataCtrlr.ItemsPerMessage[GetReport]: a NotifyReport holds this many
TYPE_NAMES = {int: "an integer", str: "a string", bool: "a boolean", dict: "an object", list: "an array"}


class Request:
    """A CALL's payload read field by field: a missing required field is a ProtocolError, a field of the wrong
    type a TypeConstraintViolation, a value outside its enumeration a PropertyConstraintViolation."""

    def __init__(self, payload, *, format_code: str, where: str = ""):
        if not isinstance(payload, dict):
            raise CallRefused(format_code, f"{where or 'the payload'} is not a JSON object")
        self.payload = payload
        self.format_code = format_code
        self.where = where

    def get(self, name: str, kind: type, *, required: bool = True, choices=None):
        path = f"{self.where}.{name}" if self.where else name
        if name not in self.payload:
            if required:
                raise CallRefused("ProtocolError", f"{path} is required")
            return None
        value = self.payload[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise CallRefused("TypeConstraintViolation", f"{path} must be {TYPE_NAMES[kind]}")
        if choices is not None and value not in choices:
            raise CallRefused("PropertyConstraintViolation", f"{path} must be one of {', '.join(choices)}")
        return value

    def part(self, name: str, *, required: bool = True) -> "Request | None":
        """A nested object, read the same way."""
        value = self.get(name, dict, required=required)
        if value is None:
            return None
        return Request(value, format_code=self.format_code, where=f"{self.where}.{name}" if self.where else name)

    def parts(self, name: str) -> list["Request"]:
        """An array of objects, at least one."""
        values = self.get(name, list)
        if not values:
            raise CallRefused("OccurrenceConstraintViolation", f"{name} needs at least one entry")
        return [Request(value, format_code=self.format_code, where=f"{name}[{i}]") for i, value in enumerate(values)]


@dataclass
class Setting:
    """A configuration key (1.6) or device-model variable (2.0.1). `value` is a string, or a function giving the
    current value of what the station does; `apply` makes a new value take effect (else it is only stored)."""

    value: str | Callable[[], str]
    readonly: bool = False
    data_type: str = "string"  # 2.0.1 dataType: string, integer, decimal, boolean, OptionList, MemberList
    apply: Callable[[str], None] | None = None
    members: tuple[str, ...] = ()  # the values an OptionList or MemberList allows
    minimum: int = 0  # of an integer
    unit: str | None = None
    max_limit: float | None = None

    def read(self) -> str:
        return self.value() if callable(self.value) else self.value

    def write(self, text: str) -> str:
        """Set the value: Accepted, or Rejected when read-only or not a valid value."""
        text = self._valid(text)
        if self.readonly or text is None:
            return "Rejected"
        if self.apply is not None:
            self.apply(text)
        if not callable(self.value):
            self.value = text
        return "Accepted"

    def _valid(self, text: str) -> str | None:
        """The value in its canonical spelling, or None when it is not one this setting takes."""
        text = text.strip()
        if self.data_type == "integer":
            try:
                number = int(text)
            except ValueError:
                return None
            return str(number) if number >= self.minimum else None
        if self.data_type == "boolean":
            return text.lower() if text.lower() in ("true", "false") else None
        if self.data_type == "MemberList":
            items = [item.strip() for item in text.split(",")]
            return ",".join(items) if items and all(item in self.members for item in items) else None
        if self.data_type == "OptionList":
            return text if text in self.members else None
        return text if len(text) <= 500 else None


def fixed(value: str | Callable[[], str], data_type: str = "string", **more) -> Setting:
    """A read-only setting."""
    return Setting(value, readonly=True, data_type=data_type, **more)


def stored(value: str, data_type: str = "string", **more) -> Setting:
    """A writable setting the simulation does not act on: a new value is kept and reported."""
    return Setting(value, data_type=data_type, **more)


def text_of(flag: bool) -> str:
    return "true" if flag else "false"


ENERGY = "Energy.Active.Import.Register"
AVAILABILITY_STATES = ("Available", "Occupied", "Reserved", "Unavailable", "Faulted")


class Operations:
    """Dispatches the server's CALLs to the handlers of one protocol version."""

    format_code: str
    handlers: dict[str, str]  # action → name of the method answering it

    def __init__(self, station: "VirtualStation"):
        self.station = station

    async def handle(self, action: str, payload) -> dict | tuple:
        method = self.handlers.get(action)
        if method is None:
            raise CallRefused("NotImplemented", f"The simulator does not implement {action}")
        answer = await getattr(self, method)(Request(payload, format_code=self.format_code))
        if isinstance(answer, tuple) and answer[1] is not None:
            return answer[0], self._when_online(answer[1])
        return answer

    async def _when_online(self, after) -> None:
        """Act once the station is online: a CALL can come on a new connection while the station still reports
        its connectors, and what it sends before that would be dropped as if offline."""
        await self.station.online_wait()
        await after

    # --- shared by both versions --------------------------------------------------------------------------------
    # The settings that drive the simulation, read from the station and applied to it at once.

    def _heartbeat_interval(self) -> Setting:
        station = self.station
        return Setting(
            lambda: str(round(station.heartbeat_s)),
            data_type="integer",
            minimum=1,
            unit="s",
            apply=lambda text: station.heartbeat_set(int(text)),
        )

    def _meter_interval(self) -> Setting:
        def apply(text: str) -> None:
            self.station.meter_interval = int(text)

        return Setting(lambda: str(round(self.station.meter_interval)), data_type="integer", unit="s", apply=apply)

    def _measurands(self) -> Setting:
        dialect = self.station.dialect

        def apply(text: str) -> None:
            dialect.measurands = tuple(text.split(","))

        return Setting(lambda: ",".join(dialect.measurands), data_type="MemberList", members=MEASURANDS, apply=apply)

    def _authorize_remote(self) -> Setting:
        def apply(text: str) -> None:
            self.station.authorize_remote = text == "true"

        return Setting(lambda: text_of(self.station.authorize_remote), data_type="boolean", apply=apply)

    async def clear_cache(self, request: Request) -> dict:
        return {"status": "Accepted"}  # the simulator keeps no authorization cache: it is empty

    async def data_transfer(self, request: Request) -> dict:
        vendor = request.get("vendorId", str)
        request.get("messageId", str, required=False)
        if vendor != VENDOR_ID:
            return {"status": "UnknownVendorId"}
        response = {"status": "Accepted"}
        if "data" in request.payload:
            response["data"] = request.payload["data"]
        return response

    async def _boot_triggered(self) -> None:
        """A BootNotification the server asked for; its interval becomes the heartbeat, as at boot."""
        answer = await self.station.send(*self.station.dialect.boot("Triggered"))
        if answer and answer.get("status") == "Accepted" and answer.get("interval"):
            self.station.heartbeat_set(self.station.config.heartbeat_interval or answer["interval"])

    async def _send_all(self, messages: list[tuple[str, dict]]) -> None:
        for message in messages:
            await self.station.send(*message)

    async def _statuses_send(self, connectors) -> None:
        for number in connectors:
            await self.station.send(*self.station.status_message(number))


class V16Operations(Operations):
    format_code = "FormationViolation"
    handlers = {
        "Reset": "reset",
        "RemoteStartTransaction": "remote_start_transaction",
        "RemoteStopTransaction": "remote_stop_transaction",
        "UnlockConnector": "unlock_connector",
        "ChangeAvailability": "change_availability",
        "TriggerMessage": "trigger_message",
        "ClearCache": "clear_cache",
        "GetConfiguration": "get_configuration",
        "ChangeConfiguration": "change_configuration",
        "DataTransfer": "data_transfer",
    }

    def __init__(self, station: "VirtualStation"):
        super().__init__(station)
        self.configuration = self._configuration()

    def _configuration(self) -> dict[str, Setting]:
        """The standard keys of the Core and RemoteTrigger profiles, as a 22 kW AC charger reports them."""
        connectors = len(self.station.connectors)
        return {
            "AllowOfflineTxForUnknownId": stored("false", "boolean"),
            "AuthorizationCacheEnabled": stored("false", "boolean"),
            "AuthorizeRemoteTxRequests": self._authorize_remote(),
            "ChargeProfileMaxStackLevel": fixed("8", "integer"),
            "ClockAlignedDataInterval": stored("0", "integer"),
            "ConnectionTimeOut": stored("60", "integer", minimum=1),
            "ConnectorPhaseRotation": stored(",".join(f"{number}.RST" for number in range(1, connectors + 1))),
            "GetConfigurationMaxKeys": fixed("50", "integer"),
            "HeartbeatInterval": self._heartbeat_interval(),
            "LocalAuthListEnabled": stored("false", "boolean"),
            "LocalAuthorizeOffline": stored("true", "boolean"),
            "LocalPreAuthorize": stored("false", "boolean"),
            "MeterValuesAlignedData": stored(ENERGY, "MemberList", members=MEASURANDS),
            "MeterValuesSampledData": self._measurands(),
            "MeterValueSampleInterval": self._meter_interval(),
            "NumberOfConnectors": fixed(str(connectors), "integer"),
            "ResetRetries": stored("1", "integer"),
            "StopTransactionOnEVSideDisconnect": stored("true", "boolean"),
            "StopTransactionOnInvalidId": stored("true", "boolean"),
            "StopTxnAlignedData": stored(ENERGY, "MemberList", members=MEASURANDS),
            "SupportedFeatureProfiles": fixed("Core,RemoteTrigger"),
            "TransactionMessageAttempts": stored("3", "integer", minimum=1),
            "TransactionMessageRetryInterval": stored("60", "integer"),
            "UnlockConnectorOnEVSideDisconnect": stored("true", "boolean"),
            "WebSocketPingInterval": stored("0", "integer"),
        }

    def _connector(self, request: Request, *, required: bool = True) -> int | None:
        return request.get("connectorId", int, required=required)

    async def reset(self, request: Request) -> tuple:
        kind = request.get("type", str, choices=("Hard", "Soft"))
        return {"status": "Accepted"}, self.station.reboot(f"{kind}Reset")

    async def remote_start_transaction(self, request: Request) -> dict | tuple:
        tag = request.get("idTag", str)
        connector = self._connector(request, required=False)
        request.get("chargingProfile", dict, required=False)  # taken, not applied: no smart charging here
        if connector is None:
            connector = next((number for number in self.station.connectors if self.station.connector_free(number)), 0)
        if not self.station.connector_free(connector):
            return {"status": "Rejected"}
        return {"status": "Accepted"}, self.station.remote_start(connector, tag)

    async def remote_stop_transaction(self, request: Request) -> dict | tuple:
        state = self.station.transaction_find(request.get("transactionId", int))
        if state is None:
            return {"status": "Rejected"}
        return {"status": "Accepted"}, self._stop(state.number, state.transaction)

    async def _stop(self, connector: int, transaction) -> None:
        self.station.session_stop(connector, "Remote", transaction)

    async def unlock_connector(self, request: Request) -> dict:
        connector = self._connector(request)
        if connector not in self.station.connectors:
            return {"status": "NotSupported"}
        if self.station.sessions_running([connector]):
            # OCPP 1.6: a transaction on the connector is stopped first (StopTransaction UnlockCommand), then unlocked.
            self.station.session_stop(connector, "UnlockCommand")
            if not await self.station.sessions_over([connector]):
                return {"status": "UnlockFailed"}
        return {"status": "Unlocked"}

    async def change_availability(self, request: Request) -> dict | tuple:
        connector = self._connector(request)
        operative = request.get("type", str, choices=("Inoperative", "Operative")) == "Operative"
        if connector != 0 and connector not in self.station.connectors:
            return {"status": "Rejected"}
        targets = list(self.station.connectors) if connector == 0 else [connector]
        scheduled, changed = self.station.availability_change(targets, operative)
        station_status = "Available" if operative else "Unavailable"
        whole = connector == 0 and self.station.status[0] != station_status

        async def report() -> None:
            if whole:
                await self.station.status_set(0, station_status)
            await self.station.availability_report(changed)

        return {"status": "Scheduled" if scheduled else "Accepted"}, report()

    async def trigger_message(self, request: Request) -> dict | tuple:
        message = request.get("requestedMessage", str)
        connector = self._connector(request, required=False)
        station = self.station
        if connector is not None and connector not in station.status:
            return {"status": "Rejected"}
        if message == "BootNotification":
            after = self._boot_triggered()
        elif message == "Heartbeat":
            after = self._send_all([("Heartbeat", {})])
        elif message == "StatusNotification":
            after = self._statuses_send([connector] if connector is not None else list(station.status))
        elif message == "MeterValues":
            after = self._readings_send(connector)
        elif message in ("DiagnosticsStatusNotification", "FirmwareStatusNotification"):
            after = self._send_all([(message, {"status": "Idle"})])
        else:
            return {"status": "NotImplemented"}
        return {"status": "Accepted"}, after

    async def _readings_send(self, connector: int | None) -> None:
        """MeterValues of the connector (connector 0 or none: every connector with a transaction, else all)."""
        station = self.station
        if connector:
            connectors = [connector]
        else:
            connectors = [n for n, state in station.connectors.items() if state.transaction] or list(station.connectors)
        for number in connectors:
            reading = station.reading(number)
            await station.send(*station.dialect.reading(number, reading, station.connectors[number].transaction))

    async def get_configuration(self, request: Request) -> dict:
        keys = request.get("key", list, required=False)
        if not keys:
            keys = list(self.configuration)
        known, unknown = [], []
        for key in keys:
            if not isinstance(key, str):
                raise CallRefused("TypeConstraintViolation", "key must be an array of strings")
            setting = self.configuration.get(key)
            if setting is None:
                unknown.append(key)
            else:
                known.append({"key": key, "readonly": setting.readonly, "value": setting.read()})
        return {"configurationKey": known, "unknownKey": unknown}

    async def change_configuration(self, request: Request) -> dict:
        key, value = request.get("key", str), request.get("value", str)
        setting = self.configuration.get(key)
        if setting is None:
            return {"status": "NotSupported"}
        return {"status": setting.write(value)}


@dataclass
class Variable:
    """A variable of the 2.0.1 device model: where it is (component, EVSE, connector) and its setting."""

    component: str
    name: str
    setting: Setting
    evse: int | None = None
    connector: int | None = None
    component_instance: str | None = None
    instance: str | None = None

    @property
    def key(self) -> tuple:
        return key_of(self.component, self.component_instance, self.evse, self.connector, self.name, self.instance)

    def component_data(self) -> dict:
        data = {"name": self.component}
        if self.component_instance is not None:
            data["instance"] = self.component_instance
        if self.evse is not None:
            data["evse"] = {"id": self.evse} | ({"connectorId": self.connector} if self.connector else {})
        return data

    def variable_data(self) -> dict:
        return {"name": self.name} | ({"instance": self.instance} if self.instance is not None else {})

    def report(self) -> dict:
        """Its entry in a NotifyReport."""
        setting = self.setting
        characteristics = {"dataType": setting.data_type, "supportsMonitoring": False}
        if setting.unit:
            characteristics["unit"] = setting.unit
        if setting.max_limit is not None:
            characteristics["maxLimit"] = setting.max_limit
        if setting.members:
            characteristics["valuesList"] = ",".join(setting.members)
        attribute = {
            "type": "Actual",
            "value": setting.read(),
            "mutability": "ReadOnly" if setting.readonly else "ReadWrite",
        }
        return {
            "component": self.component_data(),
            "variable": self.variable_data(),
            "variableAttribute": [attribute],
            "variableCharacteristics": characteristics,
        }


def key_of(component, component_instance, evse, connector, name, instance) -> tuple:
    """Names compare without regard to case, as OCPP 2.0.1 has them."""

    def fold(text):
        return text.lower() if isinstance(text, str) else text

    return fold(component), fold(component_instance), evse, connector, fold(name), fold(instance)


class V201Operations(Operations):
    format_code = "FormatViolation"
    handlers = {
        "Reset": "reset",
        "RequestStartTransaction": "request_start_transaction",
        "RequestStopTransaction": "request_stop_transaction",
        "UnlockConnector": "unlock_connector",
        "ChangeAvailability": "change_availability",
        "TriggerMessage": "trigger_message",
        "ClearCache": "clear_cache",
        "GetVariables": "get_variables",
        "SetVariables": "set_variables",
        "GetBaseReport": "get_base_report",
        "DataTransfer": "data_transfer",
    }

    def __init__(self, station: "VirtualStation"):
        super().__init__(station)
        self.variables = {variable.key: variable for variable in self._device_model()}
        self.components = {key[:4] for key in self.variables}

    def _device_model(self) -> list[Variable]:
        """The components and variables a 22 kW AC charger reports, with the ones that drive the simulation live."""
        station = self.station
        config = station.config
        security_profile = 0 if config.password is None else 2 if config.url.startswith("wss://") else 1
        states = {"data_type": "OptionList", "members": AVAILABILITY_STATES}
        measured = {"data_type": "MemberList", "members": MEASURANDS}
        model = [
            Variable("ChargingStation", "AvailabilityState", fixed(self._station_availability, **states)),
            Variable("ChargingStation", "Model", fixed(config.model)),
            Variable("ChargingStation", "VendorName", fixed(config.vendor)),
            Variable("ChargingStation", "SupplyPhases", fixed("3", "integer")),
            Variable("OCPPCommCtrlr", "HeartbeatInterval", self._heartbeat_interval()),
            Variable("OCPPCommCtrlr", "MessageTimeout", fixed("30", "integer", unit="s"), instance="Default"),
            Variable("SecurityCtrlr", "SecurityProfile", fixed(str(security_profile), "integer")),
            Variable("SecurityCtrlr", "Identity", fixed(config.identity)),
            Variable("AuthCtrlr", "AuthorizeRemoteStart", self._authorize_remote()),
            Variable("AuthCtrlr", "LocalAuthorizeOffline", stored("true", "boolean")),
            Variable("AuthCtrlr", "LocalPreAuthorize", stored("false", "boolean")),
            Variable("TxCtrlr", "EVConnectionTimeOut", stored("60", "integer", minimum=1, unit="s")),
            Variable("TxCtrlr", "StopTxOnEVSideDisconnect", fixed("true", "boolean")),
            Variable("SampledDataCtrlr", "TxUpdatedInterval", self._meter_interval()),
            Variable("SampledDataCtrlr", "TxUpdatedMeasurands", self._measurands()),
            Variable("SampledDataCtrlr", "TxStartedMeasurands", fixed(ENERGY, **measured)),
            Variable("SampledDataCtrlr", "TxEndedMeasurands", fixed(ENERGY, **measured)),
            Variable(
                "DeviceDataCtrlr",
                "ItemsPerMessage",
                fixed(str(REPORT_ITEMS_PER_MESSAGE), "integer"),
                instance="GetReport",
            ),
            Variable("DeviceDataCtrlr", "ItemsPerMessage", fixed("50", "integer"), instance="GetVariables"),
            Variable("DeviceDataCtrlr", "ItemsPerMessage", fixed("50", "integer"), instance="SetVariables"),
        ]
        for evse in station.connectors:

            def state(evse=evse) -> str:
                return station.status[evse]

            def power(evse=evse) -> str:
                """What the car on the EVSE draws now, W."""
                connector = station.connectors[evse]
                charging = connector.transaction is not None and connector.vehicle is not None
                return f"{connector.vehicle.power_w(config.max_power_w):.1f}" if charging else "0.0"

            model += [
                Variable("EVSE", "AvailabilityState", fixed(state, **states), evse=evse),
                Variable("EVSE", "Power", fixed(power, "decimal", unit="W", max_limit=config.max_power_w), evse=evse),
                Variable("EVSE", "SupplyPhases", fixed("3", "integer"), evse=evse),
                Variable("Connector", "AvailabilityState", fixed(state, **states), evse=evse, connector=1),
                Variable("Connector", "ConnectorType", fixed("cType2"), evse=evse, connector=1),
            ]
        return model

    def _station_availability(self) -> str:
        operative = any(connector.operative for connector in self.station.connectors.values())
        return "Available" if operative else "Unavailable"

    def _evse(self, request: Request, name: str = "evse") -> tuple[int, int | None] | None:
        part = request.part(name, required=False)
        if part is None:
            return None
        return part.get("id", int), part.get("connectorId", int, required=False)

    def _evse_known(self, evse: int, connector: int | None) -> bool:
        return evse in self.station.connectors and connector in (None, 1)

    # --- provisioning -------------------------------------------------------------------------------------------

    async def reset(self, request: Request) -> dict | tuple:
        kind = request.get("type", str, choices=("Immediate", "OnIdle"))
        evse = request.get("evseId", int, required=False)
        station = self.station
        if evse is not None and evse != 0 and evse not in station.connectors:
            return {"status": "Rejected"}
        targets = [evse] if evse else None
        if kind == "OnIdle" and station.sessions_running(targets):
            station.scheduled_resets.add(evse or 0)  # when its sessions end (Station._resets_due)
            return {"status": "Scheduled"}
        if evse:
            return {"status": "Accepted"}, station.evse_reset(evse, "ImmediateReset")
        return {"status": "Accepted"}, station.reboot("ImmediateReset")

    async def get_variables(self, request: Request) -> dict:
        results = []
        for entry in request.parts("getVariableData"):
            variable, status = self._lookup(entry)
            result = {"attributeStatus": status, "component": entry.payload["component"]}
            result["variable"] = entry.payload["variable"]
            if "attributeType" in entry.payload:
                result["attributeType"] = entry.payload["attributeType"]
            if variable is not None and status == "Accepted":
                result["attributeValue"] = variable.setting.read()[:2500]
            results.append(result)
        return {"getVariableResult": results}

    async def set_variables(self, request: Request) -> dict:
        entries = request.parts("setVariableData")
        # The whole request is read before anything is set: a malformed entry leaves every variable as it was.
        found = [(entry, entry.get("attributeValue", str), *self._lookup(entry)) for entry in entries]
        results = []
        for entry, value, variable, status in found:
            if variable is not None and status == "Accepted":
                status = variable.setting.write(value)
            result = {"attributeStatus": status, "component": entry.payload["component"]}
            result["variable"] = entry.payload["variable"]
            if "attributeType" in entry.payload:
                result["attributeType"] = entry.payload["attributeType"]
            results.append(result)
        return {"setVariableResult": results}

    def _lookup(self, entry: Request) -> tuple[Variable | None, str]:
        """The variable an entry of GetVariables/SetVariables names, and the status of looking it up."""
        component, variable = entry.part("component"), entry.part("variable")
        attribute = entry.get("attributeType", str, required=False, choices=("Actual", "Target", "MinSet", "MaxSet"))
        evse = self._evse(component)
        evse_id, connector = evse if evse is not None else (None, None)
        where = key_of(
            component.get("name", str),
            component.get("instance", str, required=False),
            evse_id,
            connector,
            variable.get("name", str),
            variable.get("instance", str, required=False),
        )
        if where[:4] not in self.components:
            return None, "UnknownComponent"
        found = self.variables.get(where)
        if found is None:
            return None, "UnknownVariable"
        if attribute not in (None, "Actual"):
            return found, "NotSupportedAttributeType"
        return found, "Accepted"

    async def get_base_report(self, request: Request) -> tuple:
        request_id = request.get("requestId", int)
        base = request.get("reportBase", str, choices=("ConfigurationInventory", "FullInventory", "SummaryInventory"))
        variables = list(self.variables.values())
        if base == "ConfigurationInventory":
            variables = [variable for variable in variables if not variable.setting.readonly]
        elif base == "SummaryInventory":
            variables = [variable for variable in variables if variable.name == "AvailabilityState"]
        return {"status": "Accepted"}, self._report_send(request_id, variables)

    async def _report_send(self, request_id: int, variables: list[Variable]) -> None:
        """The report in NotifyReport messages of REPORT_ITEMS_PER_MESSAGE entries, `tbc` on all but the last."""
        chunks = [
            variables[at : at + REPORT_ITEMS_PER_MESSAGE] for at in range(0, len(variables), REPORT_ITEMS_PER_MESSAGE)
        ]
        for seq_no, chunk in enumerate(chunks):
            await self.station.send(
                "NotifyReport",
                {
                    "requestId": request_id,
                    "generatedAt": iso(datetime.now(UTC)),
                    "seqNo": seq_no,
                    "tbc": seq_no < len(chunks) - 1,
                    "reportData": [variable.report() for variable in chunk],
                },
            )

    # --- transactions and availability --------------------------------------------------------------------------

    async def request_start_transaction(self, request: Request) -> dict | tuple:
        token = request.part("idToken")
        tag, token_type = token.get("idToken", str), token.get("type", str)
        remote_start_id = request.get("remoteStartId", int)
        evse = request.get("evseId", int, required=False)
        request.get("chargingProfile", dict, required=False)  # taken, not applied: no smart charging here
        station = self.station
        if evse is None:
            evse = next((number for number in station.connectors if station.connector_free(number)), 0)
        if not station.connector_free(evse):
            return {"status": "Rejected"}
        start = station.remote_start(evse, tag, token_type=token_type, remote_start_id=remote_start_id)
        return {"status": "Accepted"}, start

    async def request_stop_transaction(self, request: Request) -> dict | tuple:
        state = self.station.transaction_find(request.get("transactionId", str))
        if state is None:
            return {"status": "Rejected"}
        return {"status": "Accepted"}, self._stop(state.number, state.transaction)

    async def _stop(self, connector: int, transaction) -> None:
        self.station.session_stop(connector, "Remote", transaction)

    async def unlock_connector(self, request: Request) -> dict:
        evse, connector = request.get("evseId", int), request.get("connectorId", int)
        if not self._evse_known(evse, connector):
            return {"status": "UnknownConnector"}
        if self.station.connectors[evse].transaction is not None:
            return {"status": "OngoingAuthorizedTransaction"}  # 2.0.1: the transaction is not ended for an unlock
        return {"status": "Unlocked"}

    async def change_availability(self, request: Request) -> dict | tuple:
        operative = request.get("operationalStatus", str, choices=("Inoperative", "Operative")) == "Operative"
        evse = self._evse(request)
        if evse is not None and evse[0] != 0 and not self._evse_known(*evse):
            return {"status": "Rejected"}
        targets = [evse[0]] if evse is not None and evse[0] != 0 else list(self.station.connectors)
        scheduled, changed = self.station.availability_change(targets, operative)
        return {"status": "Scheduled" if scheduled else "Accepted"}, self.station.availability_report(changed)

    async def trigger_message(self, request: Request) -> dict | tuple:
        message = request.get("requestedMessage", str)
        evse = self._evse(request)
        station = self.station
        if evse is not None and not self._evse_known(*evse):
            return {"status": "Rejected"}
        evses = [evse[0]] if evse is not None else list(station.connectors)
        if message == "BootNotification":
            after = self._boot_triggered()
        elif message == "Heartbeat":
            after = self._send_all([("Heartbeat", {})])
        elif message == "StatusNotification":
            if evse is None:
                return {"status": "Rejected"}  # which connector's status: 2.0.1 needs the EVSE
            after = self._statuses_send(evses)
        elif message == "MeterValues":
            after = self._readings_send(evses)
        elif message == "TransactionEvent":
            running = [number for number in evses if station.connectors[number].transaction is not None]
            if not running:
                return {"status": "Rejected"}  # no transaction to report on
            after = self._transaction_events_send(running)
        elif message in ("FirmwareStatusNotification", "LogStatusNotification"):
            after = self._send_all([(message, {"status": "Idle"})])
        else:
            return {"status": "NotImplemented"}
        return {"status": "Accepted"}, after

    async def _readings_send(self, evses: list[int]) -> None:
        for number in evses:
            await self.station.send(*self.station.dialect.reading(number, self.station.reading(number)))

    async def _transaction_events_send(self, evses: list[int]) -> None:
        station = self.station
        for number in evses:
            transaction = station.connectors[number].transaction
            if transaction is not None:
                reading = station.reading(number)
                await station.send(*station.dialect.meter(transaction, reading, trigger="Trigger"))


OPERATIONS = {"ocpp1.6": V16Operations, "ocpp2.0.1": V201Operations}
