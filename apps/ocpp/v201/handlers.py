"""One function per OCPP 2.0.1 charging station request: payload → neutral service call → response payload.

Each runs in a worker thread inside the tenant's schema, after the payload passed the official JSON schema.
EVSE and connector numbers are used as the station reports them.
"""

from django.conf import settings

from apps.billing.selectors.plans import session_cost_for_payer
from apps.commands.services import command_progress_report
from apps.ocpp.commands import report_variables
from apps.ocpp.datatypes import format_timestamp, parse_timestamp
from apps.ocpp.events import notify_event_report, security_event_report
from apps.ocpp.v201.meter_values import meter_values_from_payload
from apps.sessions.models import ChargingSession
from apps.sessions.services import (
    RESERVATION_UPDATES,
    id_token_authorize,
    meter_values_record,
    reservation_status_set,
    session_event,
    session_evse_freed,
)
from apps.stations.services import (
    connector_status_report,
    diagnostics_status_report,
    firmware_status_report,
    station_boot,
    station_event_report,
    station_heartbeat,
    station_variables_store,
)

# The type of a group token is not recorded by the platform; Central is the type of tokens the CSMS issues.
GROUP_ID_TOKEN_TYPE = "Central"


def id_token_info(authorization) -> dict:
    info = {"status": authorization.status}
    if authorization.expires_at is not None:
        info["cacheExpiryDateTime"] = format_timestamp(authorization.expires_at)
    if authorization.group_uid:
        info["groupIdToken"] = {"idToken": authorization.group_uid, "type": GROUP_ID_TOKEN_TYPE}
    return info


def boot_notification(station_id: int, payload: dict) -> dict:
    station = payload["chargingStation"]
    modem = station.get("modem", {})
    result = station_boot(
        station_id=station_id,
        vendor=station["vendorName"],
        model=station["model"],
        serial_number=station.get("serialNumber", ""),
        firmware_version=station.get("firmwareVersion", ""),
        iccid=modem.get("iccid", ""),
        imsi=modem.get("imsi", ""),
        reason=payload["reason"],
    )
    return {
        "currentTime": format_timestamp(result.current_time),
        "interval": result.interval_s,
        "status": result.status,
    }


def heartbeat(station_id: int, payload: dict) -> dict:
    return {"currentTime": format_timestamp(station_heartbeat(station_id=station_id))}


def status_notification(station_id: int, payload: dict) -> dict:
    reported_at = parse_timestamp(payload["timestamp"], "timestamp")
    connector_status_report(
        station_id=station_id,
        evse_id=payload["evseId"],
        connector_id=payload["connectorId"],
        status=payload["connectorStatus"],
        reported_at=reported_at,
    )
    if payload["connectorStatus"] == "Available":
        session_evse_freed(station_id=station_id, evse_id=payload["evseId"], at=reported_at)
    return {}


def authorize(station_id: int, payload: dict) -> dict:
    id_token = payload["idToken"]
    authorization = id_token_authorize(uid=id_token["idToken"], type=id_token["type"], station_id=station_id)
    return {"idTokenInfo": id_token_info(authorization)}


def transaction_event(station_id: int, payload: dict) -> dict:
    transaction = payload["transactionInfo"]
    id_token = payload.get("idToken", {})
    evse = payload.get("evse", {})
    result = session_event(
        station_id=station_id,
        event_type=payload["eventType"],
        transaction_id=transaction["transactionId"],
        seq_no=payload["seqNo"],
        timestamp=parse_timestamp(payload["timestamp"], "timestamp"),
        trigger_reason=payload["triggerReason"],
        offline=payload.get("offline", False),
        evse_id=evse.get("id"),
        connector_id=evse.get("connectorId"),
        id_token_uid=id_token.get("idToken", ""),
        id_token_type=id_token.get("type", ""),
        stopped_reason=transaction.get("stoppedReason", ""),
        remote_start_id=transaction.get("remoteStartId"),
        charging_state=transaction.get("chargingState", ""),
        meter_values=meter_values_from_payload(payload.get("meterValue", []), station_id=station_id),
    )
    response = {} if result.authorization is None else {"idTokenInfo": id_token_info(result.authorization)}
    cost = _total_cost(result, payload["eventType"], at=parse_timestamp(payload["timestamp"], "timestamp"))
    if cost is not None:
        response["totalCost"] = cost
    return response


def _total_cost(result, event_type: str, *, at) -> float | None:
    """The running cost incl. VAT under the session's tariff (a subscriber's plan tariff), for an event that moved
    an active session on (or ended it); None without a tariff. A JSON number: the amount is rounded to the
    currency's minor unit, so the float's shortest form is exactly that decimal."""
    session = result.session
    if result.duplicate or not (session.status == ChargingSession.Status.ACTIVE or event_type == "Ended"):
        return None
    rating = session_cost_for_payer(session, at=at)
    if rating is None:
        return None
    return float(rating.total_incl_vat.amount)


def meter_values(station_id: int, payload: dict) -> dict:
    meter_values_record(
        station_id=station_id,
        evse_id=payload["evseId"],
        transaction_id=None,
        meter_values=meter_values_from_payload(payload["meterValue"], station_id=station_id),
    )
    return {}


def notify_event(station_id: int, payload: dict) -> dict:
    notify_event_report(station_id, payload)
    return {}


def security_event_notification(station_id: int, payload: dict) -> dict:
    security_event_report(station_id, payload)
    return {}


def firmware_status_notification(station_id: int, payload: dict) -> dict:
    firmware_status_report(station_id=station_id, status=payload["status"], request_id=payload.get("requestId"))
    command_progress_report(
        station_id=station_id,
        operation="update_firmware",
        status=payload["status"],
        request_id=payload.get("requestId"),
    )
    return {}


def log_status_notification(station_id: int, payload: dict) -> dict:
    """GetLog is 2.0.1's GetDiagnostics: its upload status is the station's diagnostics status."""
    diagnostics_status_report(station_id=station_id, status=payload["status"], request_id=payload.get("requestId"))
    command_progress_report(
        station_id=station_id, operation="get_log", status=payload["status"], request_id=payload.get("requestId")
    )
    return {}


def notify_report(station_id: int, payload: dict) -> dict:
    """A part of a device-model report (GetBaseReport/GetReport): kept verbatim, and its values as the station's
    variables."""
    generated_at = parse_timestamp(payload["generatedAt"], "generatedAt")
    station_event_report(station_id=station_id, kind="report", payload=payload, reported_at=generated_at)
    station_variables_store(
        station_id=station_id, reports=report_variables(payload.get("reportData", [])), at=generated_at
    )
    return {}


def data_transfer(station_id: int, payload: dict) -> dict:
    """Stored as a station event; only vendors listed in OCPP_DATA_TRANSFER_VENDOR_IDS are understood."""
    station_event_report(station_id=station_id, kind="data_transfer", payload=payload)
    understood = payload["vendorId"] in settings.OCPP_DATA_TRANSFER_VENDOR_IDS
    return {"status": "Accepted" if understood else "UnknownVendorId"}


def reservation_status_update(station_id: int, payload: dict) -> dict:
    station_event_report(station_id=station_id, kind="reservation_status", payload=payload)
    reservation_status_set(
        station_id=station_id,
        reservation_id=payload["reservationId"],
        status=RESERVATION_UPDATES[payload["reservationUpdateStatus"]],
    )
    return {}


def notify_charging_limit(station_id: int, payload: dict) -> dict:
    station_event_report(station_id=station_id, kind="charging_limit", payload=payload)
    return {}


def cleared_charging_limit(station_id: int, payload: dict) -> dict:
    station_event_report(station_id=station_id, kind="charging_limit", payload=dict(payload, cleared=True))
    return {}


HANDLERS = {
    "BootNotification": boot_notification,
    "Heartbeat": heartbeat,
    "StatusNotification": status_notification,
    "Authorize": authorize,
    "TransactionEvent": transaction_event,
    "MeterValues": meter_values,
    "NotifyEvent": notify_event,
    "SecurityEventNotification": security_event_notification,
    "FirmwareStatusNotification": firmware_status_notification,
    "LogStatusNotification": log_status_notification,
    "NotifyReport": notify_report,
    "DataTransfer": data_transfer,
    "ReservationStatusUpdate": reservation_status_update,
    "NotifyChargingLimit": notify_charging_limit,
    "ClearedChargingLimit": cleared_charging_limit,
}
