"""One function per OCPP 1.6 charge point request: payload → neutral service call → response payload.

Each runs in a worker thread inside the tenant's schema, after the payload passed the official JSON schema.
Connector numbering: 1.6 connectorId N ≥ 1 is EVSE N with its single connector 1; connectorId 0 is the station.
"""

from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from apps.commands.services import command_progress_report
from apps.ocpp.datatypes import format_timestamp, optional_timestamp, parse_timestamp
from apps.ocpp.events import security_event_report
from apps.ocpp.v16.meter_values import meter_values_from_payload
from apps.sessions.services import (
    id_token_authorize,
    meter_values_record,
    session_evse_freed,
    session_start,
    session_stop,
)
from apps.stations.services import (
    connector_status_report,
    diagnostics_status_report,
    firmware_status_report,
    station_boot,
    station_event_report,
    station_heartbeat,
)

# 1.6 has no id-token type; its idTags are what RFID readers and apps present.
ID_TAG_TYPE = "ISO14443"


def evse_and_connector(connector_id: int) -> tuple[int, int]:
    return (0, 0) if connector_id == 0 else (connector_id, 1)


def id_tag_info(authorization) -> dict:
    """1.6 IdTagInfo. 1.6 has no Unknown status: a token the platform does not know is Invalid."""
    info = {"status": "Invalid" if authorization.status == "Unknown" else authorization.status}
    if authorization.expires_at is not None:
        info["expiryDate"] = format_timestamp(authorization.expires_at)
    if authorization.group_uid:
        info["parentIdTag"] = authorization.group_uid
    return info


def boot_notification(station_id: int, payload: dict) -> dict:
    result = station_boot(
        station_id=station_id,
        vendor=payload["chargePointVendor"],
        model=payload["chargePointModel"],
        serial_number=payload.get("chargePointSerialNumber") or payload.get("chargeBoxSerialNumber", ""),
        firmware_version=payload.get("firmwareVersion", ""),
        iccid=payload.get("iccid", ""),
        imsi=payload.get("imsi", ""),
        meter_type=payload.get("meterType", ""),
        meter_serial=payload.get("meterSerialNumber", ""),
    )
    return {
        "status": result.status,
        "currentTime": format_timestamp(result.current_time),
        "interval": result.interval_s,
    }


def heartbeat(station_id: int, payload: dict) -> dict:
    return {"currentTime": format_timestamp(station_heartbeat(station_id=station_id))}


def status_notification(station_id: int, payload: dict) -> dict:
    evse_id, connector_id = evse_and_connector(payload["connectorId"])
    reported_at = optional_timestamp(payload.get("timestamp"), "timestamp")
    connector_status_report(
        station_id=station_id,
        evse_id=evse_id,
        connector_id=connector_id,
        status=payload["status"],
        error_code=payload["errorCode"],
        info=payload.get("info", ""),
        vendor_id=payload.get("vendorId", ""),
        vendor_error_code=payload.get("vendorErrorCode", ""),
        reported_at=reported_at,
    )
    if payload["status"] == "Available" and evse_id:
        session_evse_freed(station_id=station_id, evse_id=evse_id, at=reported_at or timezone.now())
    return {}


def authorize(station_id: int, payload: dict) -> dict:
    authorization = id_token_authorize(uid=payload["idTag"], type=ID_TAG_TYPE, station_id=station_id)
    return {"idTagInfo": id_tag_info(authorization)}


def start_transaction(station_id: int, payload: dict) -> dict:
    evse_id, connector_id = evse_and_connector(payload["connectorId"])
    result = session_start(
        station_id=station_id,
        evse_id=evse_id,
        connector_id=connector_id,
        id_token_uid=payload["idTag"],
        meter_start_wh=Decimal(payload["meterStart"]),
        started_at=parse_timestamp(payload["timestamp"], "timestamp"),
        reservation_id=payload.get("reservationId"),
    )
    return {"transactionId": int(result.session.transaction_id), "idTagInfo": id_tag_info(result.authorization)}


def stop_transaction(station_id: int, payload: dict) -> dict:
    result = session_stop(
        station_id=station_id,
        transaction_id=str(payload["transactionId"]),
        meter_stop_wh=Decimal(payload["meterStop"]),
        stopped_at=parse_timestamp(payload["timestamp"], "timestamp"),
        reason=payload.get("reason", ""),
        id_token_uid=payload.get("idTag", ""),
        meter_values=meter_values_from_payload(
            payload.get("transactionData", []), station_id=station_id, field="transactionData"
        ),
    )
    if result.authorization is None:
        return {}
    return {"idTagInfo": id_tag_info(result.authorization)}


def meter_values(station_id: int, payload: dict) -> dict:
    evse_id, _ = evse_and_connector(payload["connectorId"])
    transaction_id = payload.get("transactionId")
    meter_values_record(
        station_id=station_id,
        evse_id=evse_id,
        transaction_id=None if transaction_id is None else str(transaction_id),
        meter_values=meter_values_from_payload(payload["meterValue"], station_id=station_id, field="meterValue"),
    )
    return {}


def data_transfer(station_id: int, payload: dict) -> dict:
    """Stored as a station event; only vendors listed in OCPP_DATA_TRANSFER_VENDOR_IDS are understood."""
    station_event_report(station_id=station_id, kind="data_transfer", payload=payload)
    understood = payload["vendorId"] in settings.OCPP_DATA_TRANSFER_VENDOR_IDS
    return {"status": "Accepted" if understood else "UnknownVendorId"}


def diagnostics_status_notification(station_id: int, payload: dict) -> dict:
    diagnostics_status_report(station_id=station_id, status=payload["status"])
    command_progress_report(station_id=station_id, operation="get_log", status=payload["status"])
    return {}


def firmware_status_notification(station_id: int, payload: dict) -> dict:
    firmware_status_report(station_id=station_id, status=payload["status"])
    command_progress_report(station_id=station_id, operation="update_firmware", status=payload["status"])
    return {}


# The OCPP 1.6 security whitepaper's additions, for stations that implement it.
def signed_firmware_status_notification(station_id: int, payload: dict) -> dict:
    firmware_status_report(station_id=station_id, status=payload["status"], request_id=payload.get("requestId"))
    return {}


def log_status_notification(station_id: int, payload: dict) -> dict:
    diagnostics_status_report(station_id=station_id, status=payload["status"], request_id=payload.get("requestId"))
    return {}


def security_event_notification(station_id: int, payload: dict) -> dict:
    security_event_report(station_id, payload)
    return {}


HANDLERS = {
    "BootNotification": boot_notification,
    "Heartbeat": heartbeat,
    "StatusNotification": status_notification,
    "Authorize": authorize,
    "StartTransaction": start_transaction,
    "StopTransaction": stop_transaction,
    "MeterValues": meter_values,
    "DataTransfer": data_transfer,
    "DiagnosticsStatusNotification": diagnostics_status_notification,
    "FirmwareStatusNotification": firmware_status_notification,
    "SignedFirmwareStatusNotification": signed_firmware_status_notification,
    "LogStatusNotification": log_status_notification,
    "SecurityEventNotification": security_event_notification,
}
