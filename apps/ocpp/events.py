"""Events a station reports (security events, 2.0.1 NotifyEvent) → station events and, for problems, faults.

The OCPP vocabulary (security event types, device-model components and variables) is translated here into the
neutral fault classes of the stations app; whether a fault opens or closes is the stations service's business.
"""

from apps.ocpp.datatypes import optional_timestamp
from apps.stations.services import FaultReport, station_event_report

# Security events (OCPP 1.6 security whitepaper, OCPP 2.0.1 Appendix 1) that mean something is wrong with the
# station rather than a routine record (boot, reset, login). They stay open until an operator closes them: no
# later event clears them.
SECURITY_EVENT_FAULTS = {
    "TamperDetectionActivated": ("other", "critical"),
    "AttemptedReplayAttacks": ("communication", "critical"),
    "MemoryExhaustion": ("internal", "error"),
    "InvalidFirmwareSignature": ("internal", "error"),
    "InvalidFirmwareSigningCertificate": ("internal", "error"),
}

# Device-model variables whose value says a component has a problem (OCPP 2.0.1 Part 2, standardized variables).
PROBLEM_VARIABLES = {"Problem", "Tripped", "Operated", "Overload", "Fault"}
INACTIVE_VALUES = {"", "false", "0", "no", "off"}

COMPONENT_FAULT_CLASSES = {
    "RCD": "ground_fault",
    "Connector": "connector",
    "ConnectorPlugRetentionLock": "connector",
    "ConnectorHolsterRelease": "connector",
    "OverCurrentProtection": "over_current",
    "OverCurrentProtectionRecloser": "over_current",
    "TemperatureSensor": "over_temperature",
    "AirCoolingSystem": "over_temperature",
    "LiquidCoolingSystem": "over_temperature",
    "FiscalMetering": "power_meter",
    "ElectricalMeter": "power_meter",
    "PowerMeter": "power_meter",
    "TokenReader": "reader",
    "OCPPCommCtrlr": "communication",
    "ConnectedEV": "ev_side",
    "ISO15118Ctrlr": "ev_side",
    "CPPWMController": "ev_side",
    "PowerContactor": "internal",
    "PowerConverter": "internal",
    "ElectricalFeed": "internal",
    "Controller": "internal",
    "ChargingStation": "internal",
    "EVSE": "internal",
}
CRITICAL_CLASSES = {"ground_fault", "over_current", "over_temperature"}


def security_event_report(station_id: int, payload: dict) -> None:
    """A SecurityEventNotification (same payload in 1.6 and 2.0.1) as a station event, and a fault if it is one."""
    fault = None
    if payload["type"] in SECURITY_EVENT_FAULTS:
        fault_class, severity = SECURITY_EVENT_FAULTS[payload["type"]]
        fault = FaultReport(
            evse_id=0,
            connector_id=0,
            fault_class=fault_class,
            severity=severity,
            code=payload["type"],
            description=payload.get("techInfo", ""),
            cleared=False,
        )
    station_event_report(
        station_id=station_id,
        kind="security_event",
        payload=payload,
        reported_at=optional_timestamp(payload.get("timestamp"), "timestamp"),
        fault=fault,
    )


def _named(part: dict) -> str:
    return f"{part['name']}[{part['instance']}]" if part.get("instance") else part["name"]


def notify_event_fault(event: dict) -> FaultReport | None:
    """The fault an eventData entry opens or closes, or None when it reports no problem."""
    component, variable = event["component"], event["variable"]
    value = str(event.get("actualValue", "")).strip()
    if variable["name"] == "AvailabilityState":
        active = value == "Faulted"
    elif variable["name"] in PROBLEM_VARIABLES:
        active = value.lower() not in INACTIVE_VALUES
    else:
        return None
    fault_class = COMPONENT_FAULT_CLASSES.get(component["name"], "other")
    evse = component.get("evse", {})
    return FaultReport(
        evse_id=evse.get("id", 0),
        connector_id=evse.get("connectorId", 0),
        fault_class=fault_class,
        severity="critical" if fault_class in CRITICAL_CLASSES else "error",
        code=f"{_named(component)}.{_named(variable)}",
        description=event.get("techInfo") or event.get("techCode") or value,
        cleared=bool(event.get("cleared")) or not active,
    )


def notify_event_report(station_id: int, payload: dict) -> None:
    """Each eventData entry of a NotifyEvent as its own station event (they carry their own timestamps)."""
    for event in payload["eventData"]:
        station_event_report(
            station_id=station_id,
            kind="notify_event",
            payload=dict(event, generatedAt=payload["generatedAt"], seqNo=payload["seqNo"]),
            reported_at=optional_timestamp(event.get("timestamp"), "eventData.timestamp"),
            fault=notify_event_fault(event),
        )
