"""Everything else a station reports is answered per its schema and kept: events, firmware, logs, faults."""

import asyncio

import pytest

from apps.sessions.models import MeterSample
from apps.stations.models import Fault, Station, StationEvent
from tests.ocpp.client import open_station, station_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settled")]

PASSWORD = "reporting-station-password"
NOW = "2025-05-01T10:00:00Z"
LATER = "2025-05-01T10:05:00Z"


def _exchange(server, identity: str, protocol: str, calls: list[tuple[str, dict]]) -> list[dict]:
    async def scenario():
        url = station_url(server.port, identity)
        async with open_station(url, protocol=protocol, identity=identity, password=PASSWORD) as station:
            return [await station.call(action, payload) for action, payload in calls]

    return asyncio.run(scenario())


def test_v16_reports_are_answered_and_kept(ocpp_server, station_make, in_tenant):
    station = station_make("CP-REPORTS", password=PASSWORD)

    answers = _exchange(
        ocpp_server,
        "CP-REPORTS",
        "ocpp1.6",
        [
            ("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "AC-22"}),
            ("DataTransfer", {"vendorId": "com.acme", "messageId": "telemetry", "data": '{"fan": 3}'}),
            ("DiagnosticsStatusNotification", {"status": "Uploaded"}),
            ("FirmwareStatusNotification", {"status": "Installed"}),
            ("SecurityEventNotification", {"type": "TamperDetectionActivated", "timestamp": NOW}),
            (
                "StatusNotification",
                {"connectorId": 1, "errorCode": "GroundFailure", "status": "Faulted", "timestamp": NOW},
            ),
            (
                "StatusNotification",
                {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": LATER},
            ),
            ("MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": NOW, "sampledValue": [{"value": "42"}]}]}),
        ],
    )

    assert answers[1] == {"status": "UnknownVendorId"}
    assert answers[2:] == [{}] * 6
    with in_tenant():
        kinds = set(StationEvent.objects.filter(station=station).values_list("kind", flat=True))
        assert {"data_transfer", "security_event"} <= kinds
        refreshed = Station.objects.get(pk=station.pk)
        assert (refreshed.firmware_status, refreshed.diagnostics_status) == ("Installed", "Uploaded")
        tamper = Fault.objects.get(station=station, code="TamperDetectionActivated")
        assert (tamper.severity, tamper.closed_at) == ("critical", None)
        ground = Fault.objects.get(station=station, code="GroundFailure")
        assert ground.closed_at is not None
        sample = MeterSample.objects.get(station=station)
        assert (sample.session, sample.value, sample.unit) == (None, 42, "Wh")


def test_v201_reports_are_answered_and_kept(ocpp_server, station_make, in_tenant):
    station = station_make("CS-REPORTS", password=PASSWORD)
    rcd = {"name": "RCD", "evse": {"id": 1}}

    def notify_event(seq_no: int, value: str, timestamp: str) -> dict:
        return {
            "generatedAt": timestamp,
            "seqNo": seq_no,
            "eventData": [
                {
                    "eventId": seq_no,
                    "timestamp": timestamp,
                    "trigger": "Delta",
                    "actualValue": value,
                    "eventNotificationType": "HardWiredNotification",
                    "component": rcd,
                    "variable": {"name": "Tripped"},
                }
            ],
        }

    answers = _exchange(
        ocpp_server,
        "CS-REPORTS",
        "ocpp2.0.1",
        [
            ("BootNotification", {"reason": "PowerUp", "chargingStation": {"vendorName": "Acme", "model": "DC-50"}}),
            ("NotifyEvent", notify_event(0, "true", NOW)),
            ("NotifyEvent", notify_event(1, "false", LATER)),
            ("SecurityEventNotification", {"type": "SettingSystemTime", "timestamp": NOW}),
            ("FirmwareStatusNotification", {"status": "Downloading", "requestId": 7}),
            ("LogStatusNotification", {"status": "Uploading", "requestId": 8}),
            (
                "NotifyReport",
                {
                    "requestId": 9,
                    "generatedAt": NOW,
                    "seqNo": 0,
                    "reportData": [
                        {
                            "component": {"name": "OCPPCommCtrlr"},
                            "variable": {"name": "HeartbeatInterval"},
                            "variableAttribute": [{"value": "300"}],
                        }
                    ],
                },
            ),
            ("DataTransfer", {"vendorId": "com.acme"}),
            ("ReservationStatusUpdate", {"reservationId": 3, "reservationUpdateStatus": "Expired"}),
            (
                "NotifyChargingLimit",
                {"chargingLimit": {"chargingLimitSource": "EMS", "isGridCritical": False}, "evseId": 1},
            ),
            ("ClearedChargingLimit", {"chargingLimitSource": "EMS", "evseId": 1}),
            (
                "MeterValues",
                {
                    "evseId": 1,
                    "meterValue": [{"timestamp": NOW, "sampledValue": [{"value": 230.1, "measurand": "Voltage"}]}],
                },
            ),
        ],
    )

    assert answers[7] == {"status": "UnknownVendorId"}
    assert all(answer == {} for index, answer in enumerate(answers[1:], 1) if index != 7)
    with in_tenant():
        events = StationEvent.objects.filter(station=station)
        assert events.filter(kind="notify_event").count() == 2
        assert {"security_event", "report", "data_transfer", "charging_limit"} <= set(
            events.values_list("kind", flat=True)
        )
        assert events.filter(kind="charging_limit").count() == 2
        rcd_fault = Fault.objects.get(station=station, code="RCD.Tripped")
        assert (rcd_fault.fault_class, rcd_fault.evse_id) == ("ground_fault", 1)
        assert rcd_fault.closed_at is not None
        assert not Fault.objects.filter(station=station, code="SettingSystemTime").exists()
        refreshed = Station.objects.get(pk=station.pk)
        assert (refreshed.firmware_status, refreshed.diagnostics_status) == ("Downloading", "Uploading")
        assert MeterSample.objects.get(station=station, measurand="Voltage").unit == "V"
