"""What a virtual station does when the server asks: the remote operations of OCPP 1.6J (`V16Operations`) and
OCPP 2.0.1 (`V201Operations`), answered like a real charger answers them.

A handler reads the request, decides the answer from the station's state and returns it, with what the station
does because of it as a coroutine (`after`) that `rpc.Rpc` runs once the answer has gone out: the server hears
"Accepted" before the session it asked for starts, before the message it triggered, before the reboot. The
station's configuration (1.6 GetConfiguration/ChangeConfiguration) and device model (2.0.1 GetVariables,
SetVariables, GetBaseReport) are in memory; the settings that drive its behaviour (heartbeat, meter interval and
measurands, authorizing remote starts, the local list, reservations) take effect at once.

Firmware updates and diagnostics/log uploads run in the background once answered and report each step
(FirmwareStatusNotification, DiagnosticsStatusNotification / LogStatusNotification): no firmware is downloaded (a
location containing "fail" fails), the install reboots the station with the version the file name carries, and
the diagnostics file (the station's recent activity) is really uploaded over HTTP to the location given.
Reservations, the local authorization list and charging profiles live in the station (station.py,
smart_charging.py). Anything else is answered with NotImplemented, and a request missing a required field with
the CALLERROR its version defines.
"""

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from tools.simulator.dialects import MEASURANDS, iso
from tools.simulator.rpc import CallRefused
from tools.simulator.smart_charging import (
    MAX_PERIODS,
    MAX_PROFILES,
    MAX_STACK_LEVEL,
    STATION_MAX,
    Period,
    Profile,
    in_unit,
    tenths,
)
from tools.simulator.uploads import upload

if TYPE_CHECKING:
    from tools.simulator.station import VirtualStation

VENDOR_ID = "OpenChargeSim"  # DataTransfer with this vendor id is accepted and its data echoed
REPORT_ITEMS_PER_MESSAGE = 10  # 2.0.1 DeviceDataCtrlr.ItemsPerMessage[GetReport]: a NotifyReport holds this many
FIRMWARE_STEP_S = 0.3  # between the steps of a firmware update (nothing is downloaded): downloading, installing
UPLOAD_STEP_S = 0.2  # before each attempt of a diagnostics/log upload (collecting the file)
LOCAL_LIST_MAX = 10_000  # 1.6 LocalAuthListMaxLength, 2.0.1 LocalAuthListCtrlr.Entries (maxLimit)
LOCAL_LIST_PER_MESSAGE = 1000  # 1.6 SendLocalListMaxLength, 2.0.1 LocalAuthListCtrlr.ItemsPerMessage
# What a SecurityLog keeps of the station's activity: its connections, boots, resets and firmware.
SECURITY_WORDS = re.compile(r"\b(connect|connected|connection|boot|firmware|reset|rebooting)\b")
NUMBER = (int, float)
TYPE_NAMES = {
    int: "an integer",
    str: "a string",
    bool: "a boolean",
    dict: "an object",
    list: "an array",
    NUMBER: "a number",
}


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
        if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
            raise CallRefused("TypeConstraintViolation", f"{path} must be {TYPE_NAMES[kind]}")
        if choices is not None and value not in choices:
            raise CallRefused("PropertyConstraintViolation", f"{path} must be one of {', '.join(choices)}")
        return value

    def moment(self, name: str, *, required: bool = True) -> datetime | None:
        """A date-time field (UTC when it names no zone)."""
        text = self.get(name, str, required=required)
        if text is None:
            return None
        try:
            value = datetime.fromisoformat(text.strip())
        except ValueError:
            path = f"{self.where}.{name}" if self.where else name
            raise CallRefused("TypeConstraintViolation", f"{path} must be a date-time") from None
        return value if value.tzinfo is not None else value.replace(tzinfo=UTC)

    def part(self, name: str, *, required: bool = True) -> "Request | None":
        """A nested object, read the same way."""
        value = self.get(name, dict, required=required)
        if value is None:
            return None
        return Request(value, format_code=self.format_code, where=f"{self.where}.{name}" if self.where else name)

    def parts(self, name: str, *, required: bool = True, minimum: int = 1) -> list["Request"]:
        """An array of objects, at least `minimum` when it is there."""
        values = self.get(name, list, required=required)
        if values is None:
            return []
        path = f"{self.where}.{name}" if self.where else name
        if len(values) < minimum:
            raise CallRefused("OccurrenceConstraintViolation", f"{path} needs at least {minimum} entries")
        return [Request(value, format_code=self.format_code, where=f"{path}[{i}]") for i, value in enumerate(values)]


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


def firmware_version(location: str, current: str) -> str:
    """The version a firmware file installs, from its name: its dotted number ("ac22-2.4.1.bin": 2.4.1), else
    the name without its extension."""
    name = urlsplit(location).path.rstrip("/").rsplit("/", 1)[-1]
    numbers = re.findall(r"\d+(?:\.\d+)+", name)
    if numbers:
        return numbers[-1][:50]
    return (name.split(".", 1)[0] or f"{current}-update")[:50]


def one_decimal(value: float) -> int | float:
    number = round(value, 1)
    return int(number) if number == int(number) else number


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

    def _setting(self, read: Callable[[], bool], write: Callable[[bool], None]) -> Setting:
        """A boolean setting the station acts on."""
        return Setting(lambda: text_of(read()), data_type="boolean", apply=lambda text: write(text == "true"))

    def _local_list_enabled(self) -> Setting:
        return self._setting(
            lambda: self.station.local_list_enabled, lambda flag: setattr(self.station, "local_list_enabled", flag)
        )

    def _reservations_enabled(self) -> Setting:
        return self._setting(
            lambda: self.station.reservations_enabled, lambda flag: setattr(self.station, "reservations_enabled", flag)
        )

    # --- firmware -----------------------------------------------------------------------------------------------

    def _firmware_busy(self) -> bool:
        return self.station.firmware_task is not None and not self.station.firmware_task.done()

    async def _firmware_start(self, location: str, retrieve_at: datetime, retries: int, **more) -> None:
        """Start the update in the background, in place of one that has not reached its install yet."""
        station = self.station
        if self._firmware_busy():
            if station.installing:
                station.log("firmware update from %s ignored: an install is under way", location)
                return
            station.firmware_task.cancel()
            await asyncio.gather(station.firmware_task, return_exceptions=True)
        station.firmware_task = station.background(self._firmware_update(location, retrieve_at, retries, **more))

    async def _notify(self, action: str, payload: dict) -> None:
        """A progress report: once the station is online (it may be rebooting), so none is lost."""
        await self.station.online.wait()
        await self.station.send(action, payload)

    async def _firmware_update(
        self,
        location: str,
        retrieve_at: datetime,
        retries: int,
        request_id: int | None = None,
        install_at: datetime | None = None,
        signed: bool = False,
    ) -> None:
        """Download (pretended: a location with "fail" in it fails after every retry), install once no session
        runs, reboot with the new version and report it installed once booted again."""
        station, dialect = self.station, self.station.dialect

        async def status(value: str) -> None:
            station.firmware_status = value
            await self._notify(*dialect.firmware_status(value, request_id))

        station.firmware_request_id = request_id
        try:
            wait = (retrieve_at - datetime.now(UTC)).total_seconds()
            if wait > 0:
                if dialect.protocol == "ocpp2.0.1":
                    await status("DownloadScheduled")
                await asyncio.sleep(wait)
            await status("Downloading")
            downloaded = False
            for _attempt in range(retries + 1):
                await asyncio.sleep(FIRMWARE_STEP_S)
                downloaded = "fail" not in location.lower()
                if downloaded:
                    break
            if not downloaded:
                station.log("firmware download from %s failed", location)
                await status("DownloadFailed")
                return
            await status("Downloaded")
            if signed:
                await status("SignatureVerified")
            wait = (install_at - datetime.now(UTC)).total_seconds() if install_at is not None else 0
            if wait > 0:
                await status("InstallScheduled")
                await asyncio.sleep(wait)
            station.installing = True  # no new session starts; the running ones end first
            while station.sessions_running():
                await asyncio.sleep(0.1)
            await status("Installing")
            await asyncio.sleep(FIRMWARE_STEP_S)
            dialect.firmware = firmware_version(location, dialect.firmware)
            station.report.firmware_updates += 1
            station.log("firmware %s installed from %s, rebooting", dialect.firmware, location)
            await station.reboot(None, boot_reason="FirmwareUpdate")
            station.installing = False
            await status("Installed")
        finally:
            station.installing = False
            station.firmware_status = "Idle"

    # --- diagnostics and logs -----------------------------------------------------------------------------------

    def _log_busy(self) -> bool:
        return self.station.log_task is not None and not self.station.log_task.done()

    def _log_file(self, kind: str, since: datetime | None, until: datetime | None) -> tuple[str, bytes]:
        """The file of the station's recent activity (`kind` DiagnosticsLog or SecurityLog) between the times
        given: its name and content."""
        station, dialect = self.station, self.station.dialect
        now = datetime.now(UTC)
        prefix = "security" if kind == "SecurityLog" else "diagnostics"
        identity = re.sub(r"[^A-Za-z0-9._-]+", "_", station.config.identity)
        name = f"{prefix}-{identity}-{now:%Y%m%dT%H%M%SZ}.log"
        connectors = ", ".join(
            f"{number} {station.status[number]} ({round(station.register_wh[number])} Wh)"
            for number in station.connectors
        )
        lines = [
            f"# {kind} of {station.config.identity}: {dialect.vendor} {dialect.model}, serial {dialect.serial}, "
            f"firmware {dialect.firmware}, {dialect.protocol}",
            f"# generated {iso(now)}, from {iso(since) if since else 'the start'} to {iso(until) if until else 'now'}",
            f"# connectors: {connectors}",
        ]
        header = len(lines)
        for at, text in list(station.activity):
            if (since is not None and at < since) or (until is not None and at > until):
                continue
            if kind == "SecurityLog" and not SECURITY_WORDS.search(text):
                continue
            lines.append(f"{iso(at)} {text}")
        if len(lines) == header:
            lines.append("(no activity recorded in this period)")
        return name, ("\n".join(lines) + "\n").encode()

    async def _log_start(self, location: str, name: str, content: bytes, retries: int, request_id=None) -> None:
        station = self.station
        if self._log_busy():
            station.log_task.cancel()
            await asyncio.gather(station.log_task, return_exceptions=True)
        station.log_task = station.background(self._log_upload(location, name, content, retries, request_id))

    async def _log_upload(self, location: str, name: str, content: bytes, retries: int, request_id=None) -> None:
        """Uploading, the upload (POST multipart in 1.6, PUT in 2.0.1; retried), then Uploaded or the failure."""
        station, dialect = self.station, self.station.dialect

        async def status(value: str) -> None:
            station.log_status = value
            await self._notify(*dialect.log_status(value, request_id))

        station.log_request_id = request_id
        try:
            await status("Uploading")
            uploaded = False
            for _attempt in range(retries + 1):
                await asyncio.sleep(UPLOAD_STEP_S)
                uploaded, outcome = await upload(
                    location, name, content, method=dialect.upload_method, context=station.config.ssl_context
                )
                station.log("upload of %s to %s: %s", name, location, outcome)
                if uploaded:
                    break
            if uploaded:
                station.report.uploads += 1
            await status("Uploaded" if uploaded else dialect.upload_failed)
        finally:
            station.log_status = "Idle"

    # --- reservations, local list, charging profiles: what both versions share -----------------------------------

    async def cancel_reservation(self, request: Request) -> dict | tuple:
        reservation = self.station.reservation_find(request.get("reservationId", int))
        if reservation is None:
            return {"status": "Rejected"}
        self.station.reservation_drop(reservation)
        self.station.log("reservation %s cancelled", reservation.id)
        return {"status": "Accepted"}, self.station.availability_report([reservation.connector])

    def _local_list_send(self, version: int, full: bool, entries: list[tuple[str, dict | None]]) -> str:
        if not self.station.local_list_enabled:
            return self.local_list_disabled
        return self.station.local_list_update(version, full, entries)

    def _periods(self, schedule: Request) -> list[Period]:
        return [
            Period(
                period.get("startPeriod", int),
                period.get("limit", NUMBER),
                period.get("numberPhases", int, required=False),
            )
            for period in schedule.parts("chargingSchedulePeriod")
        ]

    def _composite(self, evse: int, duration: int, unit: str, decimals) -> tuple[str, list[dict]]:
        """The composite schedule of `evse` from now: its start and its periods in `unit`."""
        begin = datetime.now(UTC).replace(microsecond=0)
        periods = []
        for offset, limit in self.station.composite_schedule(evse, begin, duration):
            period = {"startPeriod": offset, "limit": decimals(in_unit(limit, unit))}
            if limit.phases != 3:
                period["numberPhases"] = limit.phases
            periods.append(period)
        return iso(begin), periods


class V16Operations(Operations):
    format_code = "FormationViolation"
    local_list_disabled = "NotSupported"
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
        "UpdateFirmware": "update_firmware",
        "GetDiagnostics": "get_diagnostics",
        "SendLocalList": "send_local_list",
        "GetLocalListVersion": "get_local_list_version",
        "ReserveNow": "reserve_now",
        "CancelReservation": "cancel_reservation",
        "SetChargingProfile": "set_charging_profile",
        "ClearChargingProfile": "clear_charging_profile",
        "GetCompositeSchedule": "get_composite_schedule",
    }
    purposes = {"ChargePointMaxProfile": STATION_MAX, "TxDefaultProfile": "TxDefaultProfile", "TxProfile": "TxProfile"}

    def __init__(self, station: "VirtualStation"):
        super().__init__(station)
        self.configuration = self._configuration()

    def _configuration(self) -> dict[str, Setting]:
        """The standard keys of the profiles it supports, as a 22 kW AC charger reports them, and
        ReservationEnabled (the vendor's switch for reservations)."""
        connectors = len(self.station.connectors)
        profiles = "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger"
        return {
            "AllowOfflineTxForUnknownId": stored("false", "boolean"),
            "AuthorizationCacheEnabled": stored("false", "boolean"),
            "AuthorizeRemoteTxRequests": self._authorize_remote(),
            "ChargeProfileMaxStackLevel": fixed(str(MAX_STACK_LEVEL), "integer"),
            "ChargingScheduleAllowedChargingRateUnit": fixed("Current,Power"),
            "ChargingScheduleMaxPeriods": fixed(str(MAX_PERIODS), "integer"),
            "ClockAlignedDataInterval": stored("0", "integer"),
            "ConnectionTimeOut": stored("60", "integer", minimum=1),
            "ConnectorPhaseRotation": stored(",".join(f"{number}.RST" for number in range(1, connectors + 1))),
            "GetConfigurationMaxKeys": fixed("50", "integer"),
            "HeartbeatInterval": self._heartbeat_interval(),
            "LocalAuthListEnabled": self._local_list_enabled(),
            "LocalAuthListMaxLength": fixed(str(LOCAL_LIST_MAX), "integer"),
            "LocalAuthorizeOffline": stored("true", "boolean"),
            "LocalPreAuthorize": stored("false", "boolean"),
            "MeterValuesAlignedData": stored(ENERGY, "MemberList", members=MEASURANDS),
            "MeterValuesSampledData": self._measurands(),
            "MeterValueSampleInterval": self._meter_interval(),
            "MaxChargingProfilesInstalled": fixed(str(MAX_PROFILES), "integer"),
            "NumberOfConnectors": fixed(str(connectors), "integer"),
            "ReservationEnabled": self._reservations_enabled(),
            "ReserveConnectorZeroSupported": fixed("true", "boolean"),
            "ResetRetries": stored("1", "integer"),
            "SendLocalListMaxLength": fixed(str(LOCAL_LIST_PER_MESSAGE), "integer"),
            "StopTransactionOnEVSideDisconnect": stored("true", "boolean"),
            "StopTransactionOnInvalidId": stored("true", "boolean"),
            "StopTxnAlignedData": stored(ENERGY, "MemberList", members=MEASURANDS),
            "SupportedFeatureProfiles": fixed(profiles),
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
        if connector is None:
            connector = self.station.connector_for(tag)
        part = request.part("chargingProfile", required=False)
        profile = self._profile(part, connector) if part is not None else None
        if profile is not None and profile.purpose != "TxProfile":
            return {"status": "Rejected"}  # a remote start's profile is the transaction's
        if not self.station.connector_free(connector, tag):
            return {"status": "Rejected"}
        return {"status": "Accepted"}, self.station.remote_start(connector, tag, profile=profile)

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
        elif message == "DiagnosticsStatusNotification":
            after = self._send_all([station.dialect.log_status(station.log_status)])
        elif message == "FirmwareStatusNotification":
            after = self._send_all([station.dialect.firmware_status(station.firmware_status)])
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

    # --- firmware, diagnostics ------------------------------------------------------------------------------------

    async def update_firmware(self, request: Request) -> tuple:
        location = request.get("location", str)
        retrieve_at = request.moment("retrieveDate")
        retries = max(0, request.get("retries", int, required=False) or 0)
        request.get("retryInterval", int, required=False)  # retries follow each other FIRMWARE_STEP_S apart
        return {}, self._firmware_start(location, retrieve_at, retries)

    async def get_diagnostics(self, request: Request) -> tuple:
        location = request.get("location", str)
        retries = max(0, request.get("retries", int, required=False) or 0)
        request.get("retryInterval", int, required=False)  # retries follow each other UPLOAD_STEP_S apart
        since, until = request.moment("startTime", required=False), request.moment("stopTime", required=False)
        name, content = self._log_file("DiagnosticsLog", since, until)
        return {"fileName": name}, self._log_start(location, name, content, retries)

    # --- local authorization list ---------------------------------------------------------------------------------

    async def send_local_list(self, request: Request) -> dict:
        version = request.get("listVersion", int)
        full = request.get("updateType", str, choices=("Differential", "Full")) == "Full"
        entries = []
        for entry in request.parts("localAuthorizationList", required=False, minimum=0):
            info = entry.part("idTagInfo", required=False)
            if info is not None:
                info.get("status", str, choices=("Accepted", "Blocked", "Expired", "Invalid", "ConcurrentTx"))
            entries.append((entry.get("idTag", str), info.payload if info is not None else None))
        return {"status": self._local_list_send(version, full, entries)}

    async def get_local_list_version(self, request: Request) -> dict:
        station = self.station
        return {"listVersion": station.local_list_version if station.local_list_enabled else -1}

    # --- reservations -----------------------------------------------------------------------------------------------

    async def reserve_now(self, request: Request) -> dict | tuple:
        connector = self._connector(request)
        expires_at = request.moment("expiryDate")
        tag = request.get("idTag", str)
        reservation_id = request.get("reservationId", int)
        parent = request.get("parentIdTag", str, required=False)
        if connector != 0 and connector not in self.station.connectors:
            return {"status": "Rejected"}
        status, after = self.station.reserve(reservation_id, connector or None, tag, expires_at, parent)
        return ({"status": status}, after) if after is not None else {"status": status}

    # --- smart charging -------------------------------------------------------------------------------------------

    def _profile(self, part: Request, connector: int) -> Profile:
        schedule = part.part("chargingSchedule")
        return Profile(
            id=part.get("chargingProfileId", int),
            evse=connector,
            stack_level=part.get("stackLevel", int),
            purpose=self.purposes[part.get("chargingProfilePurpose", str, choices=tuple(self.purposes))],
            kind=part.get("chargingProfileKind", str, choices=("Absolute", "Recurring", "Relative")),
            recurrency=part.get("recurrencyKind", str, required=False, choices=("Daily", "Weekly")),
            valid_from=part.moment("validFrom", required=False),
            valid_to=part.moment("validTo", required=False),
            transaction_id=part.get("transactionId", int, required=False),
            unit=schedule.get("chargingRateUnit", str, choices=("A", "W")),
            periods=self._periods(schedule),
            start_schedule=schedule.moment("startSchedule", required=False),
            duration_s=schedule.get("duration", int, required=False),
            installed_at=datetime.now(UTC),
        )

    async def set_charging_profile(self, request: Request) -> dict:
        connector = self._connector(request)
        profile = self._profile(request.part("csChargingProfiles"), connector)
        return {"status": self.station.charging_profile_set(profile)}

    async def clear_charging_profile(self, request: Request) -> dict:
        purpose = request.get("chargingProfilePurpose", str, required=False, choices=tuple(self.purposes))
        removed = self.station.charging_profiles_clear(
            profile_id=request.get("id", int, required=False),
            evse=self._connector(request, required=False),
            purpose=self.purposes.get(purpose),
            stack_level=request.get("stackLevel", int, required=False),
        )
        return {"status": "Accepted" if removed else "Unknown"}

    async def get_composite_schedule(self, request: Request) -> dict:
        connector = self._connector(request)
        duration = request.get("duration", int)
        unit = request.get("chargingRateUnit", str, required=False, choices=("A", "W")) or "A"
        if (connector != 0 and connector not in self.station.connectors) or duration <= 0:
            return {"status": "Rejected"}
        start, periods = self._composite(connector, duration, unit, tenths)
        schedule = {
            "duration": duration,
            "startSchedule": start,
            "chargingRateUnit": unit,
            "chargingSchedulePeriod": periods,
        }
        return {"status": "Accepted", "connectorId": connector, "scheduleStart": start, "chargingSchedule": schedule}


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
    local_list_disabled = "Failed"
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
        "UpdateFirmware": "update_firmware",
        "GetLog": "get_log",
        "SendLocalList": "send_local_list",
        "GetLocalListVersion": "get_local_list_version",
        "ReserveNow": "reserve_now",
        "CancelReservation": "cancel_reservation",
        "SetChargingProfile": "set_charging_profile",
        "ClearChargingProfile": "clear_charging_profile",
        "GetCompositeSchedule": "get_composite_schedule",
    }
    purposes = (STATION_MAX, "TxDefaultProfile", "TxProfile", "ChargingStationExternalConstraints")

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
            Variable("LocalAuthListCtrlr", "Enabled", self._local_list_enabled()),
            Variable(
                "LocalAuthListCtrlr",
                "Entries",
                fixed(lambda: str(len(station.local_list)), "integer", max_limit=LOCAL_LIST_MAX),
            ),
            Variable("LocalAuthListCtrlr", "ItemsPerMessage", fixed(str(LOCAL_LIST_PER_MESSAGE), "integer")),
            Variable("ReservationCtrlr", "Enabled", self._reservations_enabled()),
            Variable("ReservationCtrlr", "NonEvseSpecific", fixed("true", "boolean")),
            Variable("SmartChargingCtrlr", "Enabled", fixed("true", "boolean")),
            Variable(
                "SmartChargingCtrlr",
                "Entries",
                fixed(lambda: str(len(station.profiles.profiles)), "integer", max_limit=MAX_PROFILES),
                instance="ChargingProfiles",
            ),
            Variable("SmartChargingCtrlr", "PeriodsPerSchedule", fixed(str(MAX_PERIODS), "integer")),
            Variable("SmartChargingCtrlr", "ProfileStackLevel", fixed(str(MAX_STACK_LEVEL), "integer")),
            Variable("SmartChargingCtrlr", "RateUnit", fixed("A,W", "MemberList", members=("A", "W"))),
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
                return f"{connector.vehicle.power_w(station.power_limit_w(evse)):.1f}" if charging else "0.0"

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
        station = self.station
        if evse is None:
            evse = station.connector_for(tag)
        part = request.part("chargingProfile", required=False)
        profile = self._profile(part, evse) if part is not None else None
        if profile is not None and (profile.purpose != "TxProfile" or profile.transaction_id is not None):
            return {"status": "Rejected"}  # a remote start's profile is the transaction's, which has no id yet
        if not station.connector_free(evse, tag):
            return {"status": "Rejected"}
        start = station.remote_start(evse, tag, token_type=token_type, remote_start_id=remote_start_id, profile=profile)
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
        elif message == "FirmwareStatusNotification":
            status = station.dialect.firmware_status(station.firmware_status, station.firmware_request_id)
            after = self._send_all([status])
        elif message == "LogStatusNotification":
            after = self._send_all([station.dialect.log_status(station.log_status, station.log_request_id)])
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

    # --- firmware, logs -------------------------------------------------------------------------------------------

    async def update_firmware(self, request: Request) -> dict | tuple:
        request_id = request.get("requestId", int)
        retries = max(0, request.get("retries", int, required=False) or 0)
        request.get("retryInterval", int, required=False)  # retries follow each other FIRMWARE_STEP_S apart
        firmware = request.part("firmware")
        location = firmware.get("location", str)
        retrieve_at = firmware.moment("retrieveDateTime")
        install_at = firmware.moment("installDateTime", required=False)
        firmware.get("signingCertificate", str, required=False)
        signed = firmware.get("signature", str, required=False) is not None
        if self._firmware_busy() and self.station.installing:
            return {"status": "Rejected"}  # too late to cancel the update being installed
        status = "AcceptedCanceled" if self._firmware_busy() else "Accepted"
        start = self._firmware_start(
            location, retrieve_at, retries, request_id=request_id, install_at=install_at, signed=signed
        )
        return {"status": status}, start

    async def get_log(self, request: Request) -> tuple:
        log = request.part("log")
        location = log.get("remoteLocation", str)
        since, until = log.moment("oldestTimestamp", required=False), log.moment("latestTimestamp", required=False)
        kind = request.get("logType", str, choices=("DiagnosticsLog", "SecurityLog"))
        request_id = request.get("requestId", int)
        retries = max(0, request.get("retries", int, required=False) or 0)
        request.get("retryInterval", int, required=False)  # retries follow each other UPLOAD_STEP_S apart
        status = "AcceptedCanceled" if self._log_busy() else "Accepted"
        name, content = self._log_file(kind, since, until)
        return {"status": status, "filename": name}, self._log_start(location, name, content, retries, request_id)

    # --- local authorization list ---------------------------------------------------------------------------------

    async def send_local_list(self, request: Request) -> dict:
        version = request.get("versionNumber", int)
        full = request.get("updateType", str, choices=("Differential", "Full")) == "Full"
        entries = []
        for entry in request.parts("localAuthorizationList", required=False):
            token = entry.part("idToken")
            token.get("type", str)
            info = entry.part("idTokenInfo", required=False)
            if info is not None:
                info.get("status", str)
            entries.append((token.get("idToken", str), info.payload if info is not None else None))
        return {"status": self._local_list_send(version, full, entries)}

    async def get_local_list_version(self, request: Request) -> dict:
        station = self.station
        return {"versionNumber": station.local_list_version if station.local_list_enabled else 0}

    # --- reservations -----------------------------------------------------------------------------------------------

    async def reserve_now(self, request: Request) -> dict | tuple:
        reservation_id = request.get("id", int)
        expires_at = request.moment("expiryDateTime")
        token = request.part("idToken")
        tag = token.get("idToken", str)
        token.get("type", str)
        evse = request.get("evseId", int, required=False)
        connector_type = request.get("connectorType", str, required=False)
        group = request.part("groupIdToken", required=False)
        group_tag = group.get("idToken", str) if group is not None else None
        if (evse and evse not in self.station.connectors) or connector_type not in (None, "cType2", "Unknown"):
            return {"status": "Rejected"}  # no such EVSE, or no connector of that type
        status, after = self.station.reserve(reservation_id, evse or None, tag, expires_at, group_tag)
        return ({"status": status}, after) if after is not None else {"status": status}

    # --- smart charging -------------------------------------------------------------------------------------------

    def _profile(self, part: Request, evse: int) -> Profile:
        schedule = part.parts("chargingSchedule")[0]  # the others are alternatives for ISO 15118 cars
        schedule.get("id", int)
        return Profile(
            id=part.get("id", int),
            evse=evse,
            stack_level=part.get("stackLevel", int),
            purpose=part.get("chargingProfilePurpose", str, choices=self.purposes),
            kind=part.get("chargingProfileKind", str, choices=("Absolute", "Recurring", "Relative")),
            recurrency=part.get("recurrencyKind", str, required=False, choices=("Daily", "Weekly")),
            valid_from=part.moment("validFrom", required=False),
            valid_to=part.moment("validTo", required=False),
            transaction_id=part.get("transactionId", str, required=False),
            unit=schedule.get("chargingRateUnit", str, choices=("A", "W")),
            periods=self._periods(schedule),
            start_schedule=schedule.moment("startSchedule", required=False),
            duration_s=schedule.get("duration", int, required=False),
            installed_at=datetime.now(UTC),
        )

    async def set_charging_profile(self, request: Request) -> dict:
        evse = request.get("evseId", int)
        profile = self._profile(request.part("chargingProfile"), evse)
        if profile.purpose == "ChargingStationExternalConstraints":
            return {"status": "Rejected"}  # set by an energy management system, never by the CSMS
        return {"status": self.station.charging_profile_set(profile)}

    async def clear_charging_profile(self, request: Request) -> dict:
        criteria = request.part("chargingProfileCriteria", required=False) or Request({}, format_code="")
        purpose = criteria.get("chargingProfilePurpose", str, required=False, choices=self.purposes)
        removed = self.station.charging_profiles_clear(
            profile_id=request.get("chargingProfileId", int, required=False),
            evse=criteria.get("evseId", int, required=False),
            purpose=purpose,
            stack_level=criteria.get("stackLevel", int, required=False),
        )
        return {"status": "Accepted" if removed else "Unknown"}

    async def get_composite_schedule(self, request: Request) -> dict:
        duration = request.get("duration", int)
        evse = request.get("evseId", int)
        unit = request.get("chargingRateUnit", str, required=False, choices=("A", "W")) or "A"
        if (evse != 0 and evse not in self.station.connectors) or duration <= 0:
            return {"status": "Rejected"}
        start, periods = self._composite(evse, duration, unit, one_decimal)
        schedule = {
            "evseId": evse,
            "duration": duration,
            "scheduleStart": start,
            "chargingRateUnit": unit,
            "chargingSchedulePeriod": periods,
        }
        return {"status": "Accepted", "schedule": schedule}


OPERATIONS = {"ocpp1.6": V16Operations, "ocpp2.0.1": V201Operations}
