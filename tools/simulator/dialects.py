"""What a virtual station says, in OCPP 1.6J and in OCPP 2.0.1: one class per version, the same questions asked.

A dialect only builds payloads and reads answers; the station decides when to send them. A `Sample` is a
meter reading with everything a real AC meter reports: energy register, power, current and voltage per phase,
the car's state of charge.
"""

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

FAULT_KINDS = [
    # (1.6 StatusNotification errorCode, 2.0.1 device-model component, variable)
    ("GroundFailure", "RCD", "Tripped"),
    ("HighTemperature", "TemperatureSensor", "Problem"),
    ("OverCurrentFailure", "OverCurrentProtection", "Operated"),
    ("ConnectorLockFailure", "ConnectorPlugRetentionLock", "Problem"),
    ("PowerMeterFailure", "PowerMeter", "Problem"),
    ("ReaderFailure", "TokenReader", "Problem"),
]
# What the simulated AC meter can measure; the measurands sampled during a transaction are a subset of these
# (1.6 MeterValuesSampledData, 2.0.1 SampledDataCtrlr.TxUpdatedMeasurands).
MEASURANDS = ("Energy.Active.Import.Register", "Power.Active.Import", "Current.Import", "Voltage", "SoC")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Sample:
    at: datetime
    register_wh: float
    power_w: float = 0.0
    current_a: float = 0.0
    voltage_v: float = 0.0
    phases: int = 3
    soc: float | None = None
    context: str = "Sample.Periodic"


@dataclass
class Transaction:
    """A charging session as the station knows it: the id (the server's in 1.6, the station's own in 2.0.1)."""

    connector: int
    id_tag: str
    meter_start_wh: int
    id: int | str | None = None
    seq_no: int = 0
    remote_start_id: int | None = None  # 2.0.1: the server's id of the RequestStartTransaction that began it
    reservation_id: int | None = None  # the reservation it used
    token_type: str = "ISO14443"
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def next_seq_no(self) -> int:
        number = self.seq_no
        self.seq_no += 1
        return number


class Dialect:
    protocol: str
    charging_status: str
    upload_method: str  # how a diagnostics or log file is uploaded: POST (multipart) or PUT (raw)
    upload_failed: str  # the status of an upload that did not succeed
    # Messages about transactions are kept while offline and delivered in order later (OCPP's transaction queue).
    queued_actions: frozenset[str]

    def __init__(self, *, vendor: str, model: str, serial: str, firmware: str):
        self.vendor, self.model, self.serial, self.firmware = vendor, model, serial, firmware
        self.measurands: tuple[str, ...] = MEASURANDS  # sampled periodically and on demand

    def _sampled(self, values: list[dict]) -> list[dict]:
        """The sampled values of the configured measurands; the register if that leaves none (no car, no SoC)."""
        return [value for value in values if value["measurand"] in self.measurands] or values[:1]


class V16(Dialect):
    protocol = "ocpp1.6"
    charging_status = "Charging"
    upload_method = "POST"
    upload_failed = "UploadFailed"
    # A 1.6 start needs the server's transaction id, so only what follows it can wait for the connection.
    queued_actions = frozenset({"MeterValues", "StopTransaction"})

    def boot(self, reason: str) -> tuple[str, dict]:
        return "BootNotification", {
            "chargePointVendor": self.vendor,
            "chargePointModel": self.model,
            "chargePointSerialNumber": self.serial,
            "firmwareVersion": self.firmware,
        }

    def status(self, connector: int, status: str, at: datetime, fault: tuple | None = None) -> tuple[str, dict]:
        payload = {"connectorId": connector, "errorCode": "NoError", "status": status, "timestamp": iso(at)}
        if fault is not None:
            payload.update(errorCode=fault[0], info=f"{fault[1]} reports {fault[2]}", vendorErrorCode=f"SIM-{fault[1]}")
        return "StatusNotification", payload

    def stations_connectors(self, connectors: int) -> list[int]:
        return [0, *range(1, connectors + 1)]  # connector 0 is the charge point itself

    def fault_messages(
        self, connector: int, fault: tuple, at: datetime, *, cleared: bool, status: str = "Available"
    ) -> list[tuple[str, dict]]:
        """The fault, or its clearing back to `status` (Unavailable when the connector was made inoperative)."""
        if cleared:
            return [self.status(connector, status, at)]
        return [self.status(connector, "Faulted", at, fault)]

    def authorize(self, id_tag: str, token_type: str = "ISO14443") -> tuple[str, dict]:
        return "Authorize", {"idTag": id_tag}

    def authorization_status(self, answer: dict) -> str:
        return answer["idTagInfo"]["status"]

    def start(self, transaction: Transaction) -> tuple[str, dict]:
        payload = {
            "connectorId": transaction.connector,
            "idTag": transaction.id_tag,
            "meterStart": transaction.meter_start_wh,
            "timestamp": iso(transaction.started_at),
        }
        if transaction.reservation_id is not None:
            payload["reservationId"] = transaction.reservation_id
        return "StartTransaction", payload

    def started(self, transaction: Transaction, answer: dict) -> str:
        """Take the server's answer to the start: the authorization status; the id is the server's in 1.6."""
        transaction.id = answer["transactionId"]
        return answer["idTagInfo"]["status"]

    def meter(self, transaction: Transaction, sample: Sample, trigger: str = "MeterValuePeriodic") -> tuple[str, dict]:
        return self.reading(transaction.connector, sample, transaction)

    def reading(self, connector: int, sample: Sample, transaction: Transaction | None = None) -> tuple[str, dict]:
        """MeterValues of a connector, with the transaction's id while one runs there."""
        payload = {"connectorId": connector, "meterValue": [self._meter_value(sample, sampled=True)]}
        if transaction is not None and transaction.id is not None:
            payload["transactionId"] = transaction.id
        return "MeterValues", payload

    def stop(self, transaction: Transaction, sample: Sample, reason: str) -> tuple[str, dict]:
        return "StopTransaction", {
            "transactionId": transaction.id,
            "idTag": transaction.id_tag,
            "meterStop": round(sample.register_wh),
            "timestamp": iso(sample.at),
            "reason": reason,
            "transactionData": [self._meter_value(sample)],
        }

    def mark_offline(self, action: str, payload: dict) -> None:
        """1.6 has no offline flag: queued messages keep their own timestamps."""

    def firmware_status(self, status: str, request_id: int | None = None) -> tuple[str, dict]:
        return "FirmwareStatusNotification", {"status": status}

    def log_status(self, status: str, request_id: int | None = None) -> tuple[str, dict]:
        return "DiagnosticsStatusNotification", {"status": status}

    def reservation_expired(self, reservation_id: int) -> list[tuple[str, dict]]:
        return []  # 1.6 only reports the connector Available again

    def _meter_value(self, sample: Sample, *, sampled: bool = False) -> dict:
        context = sample.context
        values = [
            {
                "value": str(round(sample.register_wh)),
                "context": context,
                "measurand": "Energy.Active.Import.Register",
                "location": "Outlet",
                "unit": "Wh",
            },
            {"value": f"{sample.power_w:.1f}", "context": context, "measurand": "Power.Active.Import", "unit": "W"},
        ]
        for phase in range(1, sample.phases + 1):
            values.append(
                {
                    "value": f"{sample.current_a:.2f}",
                    "context": context,
                    "measurand": "Current.Import",
                    "phase": f"L{phase}",
                    "unit": "A",
                }
            )
            values.append(
                {
                    "value": f"{sample.voltage_v:.1f}",
                    "context": context,
                    "measurand": "Voltage",
                    "phase": f"L{phase}-N",
                    "unit": "V",
                }
            )
        if sample.soc is not None:
            values.append(
                {
                    "value": f"{sample.soc:.0f}",
                    "context": context,
                    "measurand": "SoC",
                    "location": "EV",
                    "unit": "Percent",
                }
            )
        return {"timestamp": iso(sample.at), "sampledValue": self._sampled(values) if sampled else values}


class V201(Dialect):
    protocol = "ocpp2.0.1"
    charging_status = "Occupied"
    upload_method = "PUT"
    upload_failed = "UploadFailure"
    queued_actions = frozenset({"TransactionEvent"})

    def __init__(self, **identity: str):
        super().__init__(**identity)
        self.event_ids = iter(range(1, 1 << 31))
        self.notify_seq_no = 0

    def boot(self, reason: str) -> tuple[str, dict]:
        return "BootNotification", {
            "chargingStation": {
                "vendorName": self.vendor,
                "model": self.model,
                "serialNumber": self.serial,
                "firmwareVersion": self.firmware,
            },
            "reason": reason,
        }

    def status(self, connector: int, status: str, at: datetime, fault: tuple | None = None) -> tuple[str, dict]:
        return "StatusNotification", {
            "timestamp": iso(at),
            "connectorStatus": status,
            "evseId": connector,
            "connectorId": 1,
        }

    def stations_connectors(self, connectors: int) -> list[int]:
        return list(range(1, connectors + 1))

    def fault_messages(
        self, connector: int, fault: tuple, at: datetime, *, cleared: bool, status: str = "Available"
    ) -> list[tuple[str, dict]]:
        _code, component, variable = fault
        event = {
            "eventId": next(self.event_ids),
            "timestamp": iso(at),
            "trigger": "Alerting",
            "actualValue": "false" if cleared else "true",
            "eventNotificationType": "HardWiredNotification",
            "component": {"name": component, "evse": {"id": connector, "connectorId": 1}},
            "variable": {"name": variable},
        }
        if cleared:
            event["cleared"] = True
        notify = {"generatedAt": iso(at), "seqNo": self.notify_seq_no, "eventData": [event]}
        self.notify_seq_no += 1
        return [("NotifyEvent", notify), self.status(connector, status if cleared else "Faulted", at)]

    def authorize(self, id_tag: str, token_type: str = "ISO14443") -> tuple[str, dict]:
        return "Authorize", {"idToken": {"idToken": id_tag, "type": token_type}}

    def authorization_status(self, answer: dict) -> str:
        return answer["idTokenInfo"]["status"]

    def start(self, transaction: Transaction) -> tuple[str, dict]:
        transaction.id = uuid.uuid4().hex[:20]
        begin = Sample(at=transaction.started_at, register_wh=transaction.meter_start_wh, context="Transaction.Begin")
        info = {"transactionId": transaction.id, "chargingState": "EVConnected"}
        if transaction.remote_start_id is not None:
            info["remoteStartId"] = transaction.remote_start_id
        payload = {
            "eventType": "Started",
            "timestamp": iso(transaction.started_at),
            "triggerReason": "Authorized" if transaction.remote_start_id is None else "RemoteStart",
            "seqNo": transaction.next_seq_no(),
            "transactionInfo": info,
            "idToken": {"idToken": transaction.id_tag, "type": transaction.token_type},
            "evse": {"id": transaction.connector, "connectorId": 1},
            "meterValue": [self._meter_value(begin, energy_only=True)],
        }
        if transaction.reservation_id is not None:
            payload["reservationId"] = transaction.reservation_id
        return "TransactionEvent", payload

    def started(self, transaction: Transaction, answer: dict) -> str:
        return answer.get("idTokenInfo", {}).get("status", "Accepted")

    def meter(self, transaction: Transaction, sample: Sample, trigger: str = "MeterValuePeriodic") -> tuple[str, dict]:
        """TransactionEvent Updated: periodic, or `Trigger` when the server asked for it."""
        return "TransactionEvent", {
            "eventType": "Updated",
            "timestamp": iso(sample.at),
            "triggerReason": trigger,
            "seqNo": transaction.next_seq_no(),
            "transactionInfo": {"transactionId": transaction.id, "chargingState": "Charging"},
            "meterValue": [self._meter_value(sample)],
        }

    def reading(self, connector: int, sample: Sample, transaction: Transaction | None = None) -> tuple[str, dict]:
        """MeterValues of an EVSE (outside the transaction's events, which carry its readings in 2.0.1)."""
        return "MeterValues", {"evseId": connector, "meterValue": [self._meter_value(sample)]}

    def stop(self, transaction: Transaction, sample: Sample, reason: str) -> tuple[str, dict]:
        trigger = {
            "EVDisconnected": "EVCommunicationLost",
            "Local": "StopAuthorized",
            "Remote": "RemoteStop",
            "ImmediateReset": "ResetCommand",
        }.get(reason, "AbnormalCondition")
        return "TransactionEvent", {
            "eventType": "Ended",
            "timestamp": iso(sample.at),
            "triggerReason": trigger,
            "seqNo": transaction.next_seq_no(),
            "transactionInfo": {"transactionId": transaction.id, "chargingState": "Idle", "stoppedReason": reason},
            "meterValue": [self._meter_value(sample, energy_only=True)],
        }

    def mark_offline(self, action: str, payload: dict) -> None:
        if action == "TransactionEvent":
            payload["offline"] = True

    def firmware_status(self, status: str, request_id: int | None = None) -> tuple[str, dict]:
        """With the requestId of the UpdateFirmware it reports on (none when Idle)."""
        payload = {"status": status}
        if request_id is not None and status != "Idle":
            payload["requestId"] = request_id
        return "FirmwareStatusNotification", payload

    def log_status(self, status: str, request_id: int | None = None) -> tuple[str, dict]:
        payload = {"status": status}
        if request_id is not None and status != "Idle":
            payload["requestId"] = request_id
        return "LogStatusNotification", payload

    def reservation_expired(self, reservation_id: int) -> list[tuple[str, dict]]:
        return [("ReservationStatusUpdate", {"reservationId": reservation_id, "reservationUpdateStatus": "Expired"})]

    def _meter_value(self, sample: Sample, *, energy_only: bool = False) -> dict:
        context = sample.context

        def value(number: float, measurand: str, unit: str, **extra) -> dict:
            return {
                "value": number,
                "context": context,
                "measurand": measurand,
                "unitOfMeasure": {"unit": unit},
            } | extra

        values = [value(round(sample.register_wh), "Energy.Active.Import.Register", "Wh", location="Outlet")]
        if not energy_only:
            values.append(value(round(sample.power_w, 1), "Power.Active.Import", "W"))
            for phase in range(1, sample.phases + 1):
                values.append(value(round(sample.current_a, 2), "Current.Import", "A", phase=f"L{phase}"))
                values.append(value(round(sample.voltage_v, 1), "Voltage", "V", phase=f"L{phase}-N"))
            if sample.soc is not None:
                values.append(value(round(sample.soc), "SoC", "Percent", location="EV"))
            values = self._sampled(values)
        return {"timestamp": iso(sample.at), "sampledValue": values}


DIALECTS = {"ocpp1.6": V16, "ocpp2.0.1": V201}
