"""Charging sessions end to end: real stations of both versions against a real daphne, down to the database."""

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from apps.sessions.models import ChargingSession, IdToken, MeterSample
from apps.stations.models import Connector, MessageLogEntry, StatusChange
from tests.ocpp.client import open_station, station_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("settled")]

PASSWORD = "a-station-password-of-some-length"
T0 = datetime(2025, 3, 1, 8, 0, tzinfo=UTC)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def at(minutes: float) -> str:
    return iso(T0 + timedelta(minutes=minutes))


@pytest.fixture
def id_token(in_tenant):
    with in_tenant():
        return IdToken.objects.create(uid="TAG-0001", type="ISO14443", status="Accepted")


def _connect(server, identity: str, protocol: str):
    return open_station(station_url(server.port, identity), protocol=protocol, identity=identity, password=PASSWORD)


# --- OCPP 1.6 ----------------------------------------------------------------------------------------------------


def v16_meter_value(minutes: float, register_kwh: str, context: str = "Sample.Periodic") -> dict:
    return {
        "timestamp": at(minutes),
        "sampledValue": [
            {"value": register_kwh, "unit": "kWh", "measurand": "Energy.Active.Import.Register", "context": context},
            {"value": "7.2", "unit": "kW", "measurand": "Power.Active.Import", "context": context},
            {"value": "16.1", "unit": "A", "measurand": "Current.Import", "phase": "L1", "context": context},
            {"value": "15.9", "unit": "A", "measurand": "Current.Import", "phase": "L2", "context": context},
            {"value": "230.4", "unit": "V", "measurand": "Voltage", "phase": "L1-N", "context": context},
            {"value": "54", "unit": "Percent", "measurand": "SoC", "location": "EV", "context": context},
            {"value": "31.5", "unit": "Celsius", "measurand": "Temperature", "location": "Body", "context": context},
        ],
    }


async def v16_session(station, *, meter_start: int, meter_stop: int, start_minute: float = 0) -> dict:
    answers = {
        "boot": await station.call("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "AC-22"})
    }
    await station.call(
        "StatusNotification",
        {"connectorId": 1, "errorCode": "NoError", "status": "Preparing", "timestamp": at(start_minute)},
    )
    answers["authorize"] = await station.call("Authorize", {"idTag": "TAG-0001"})
    answers["start"] = await station.call(
        "StartTransaction",
        {"connectorId": 1, "idTag": "TAG-0001", "meterStart": meter_start, "timestamp": at(start_minute)},
    )
    transaction_id = answers["start"]["transactionId"]
    await station.call(
        "MeterValues",
        {
            "connectorId": 1,
            "transactionId": transaction_id,
            "meterValue": [v16_meter_value(start_minute + 15, str(Decimal(meter_start + 2500) / 1000))],
        },
    )
    stop = {
        "transactionId": transaction_id,
        "idTag": "TAG-0001",
        "meterStop": meter_stop,
        "timestamp": at(start_minute + 60),
        "reason": "Local",
        "transactionData": [v16_meter_value(start_minute + 60, str(Decimal(meter_stop) / 1000), "Transaction.End")],
    }
    answers["stop"] = await station.call("StopTransaction", stop)
    answers["stop_again"] = await station.call("StopTransaction", stop)
    return answers


def test_v16_session_ends_completed_with_the_right_energy(ocpp_server, station_make, id_token, in_tenant):
    station = station_make("CP-16-A", password=PASSWORD)

    async def scenario():
        async with _connect(ocpp_server, "CP-16-A", "ocpp1.6") as cp:
            return await v16_session(cp, meter_start=1000, meter_stop=12500)

    answers = asyncio.run(scenario())

    assert answers["boot"]["status"] == "Accepted"
    assert answers["authorize"] == {"idTagInfo": {"status": "Accepted"}}
    assert answers["start"]["idTagInfo"]["status"] == "Accepted"
    assert answers["stop"] == answers["stop_again"]
    with in_tenant():
        session = ChargingSession.objects.get(station=station)
        assert session.transaction_id == str(answers["start"]["transactionId"])
        assert session.status == "completed"
        assert (session.meter_start_wh, session.meter_stop_wh) == (Decimal(1000), Decimal(12500))
        assert session.energy_wh == Decimal(11500)
        assert (session.started_at, session.stopped_at) == (T0, T0 + timedelta(hours=1))
        assert session.stop_reason == "Local"
        samples = MeterSample.objects.filter(session=session)
        # one MeterValues and the stop's transactionData, 7 sampled values each, the retransmitted stop adds none
        assert samples.count() == 14
        assert set(samples.values_list("measurand", "phase", "unit")) >= {
            ("Energy.Active.Import.Register", "", "kWh"),
            ("Power.Active.Import", "", "kW"),
            ("Current.Import", "L1", "A"),
            ("Current.Import", "L2", "A"),
            ("Voltage", "L1-N", "V"),
            ("SoC", "", "Percent"),
            ("Temperature", "", "Celsius"),
        }
        register = samples.filter(measurand="Energy.Active.Import.Register").order_by("sampled_at").first()
        assert (register.value, register.value_normalised) == (Decimal("3.5"), Decimal(3500))
        assert set(samples.filter(measurand="SoC").values_list("location", flat=True)) == {"EV"}
        assert Connector.objects.get(evse__station=station, evse__evse_id=1, connector_id=1).status == "Preparing"


def test_v16_unknown_id_tag_is_invalid(ocpp_server, station_make):
    station_make("CP-16-B", password=PASSWORD)

    async def scenario():
        async with _connect(ocpp_server, "CP-16-B", "ocpp1.6") as cp:
            await cp.call("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "AC-22"})
            return await cp.call("Authorize", {"idTag": "NOBODY"})

    assert asyncio.run(scenario()) == {"idTagInfo": {"status": "Invalid"}}


def test_v16_a_station_that_lost_its_transaction_frees_the_card_by_reporting_available(
    ocpp_server, station_make, id_token, in_tenant
):
    """A charger rebooted mid-session and forgot it: its Available report ends the session at the last reading,
    the driver's card works again, and a stop that turns up later still completes the session."""
    station_make("CP-16-LOST", password=PASSWORD)

    def session_status_and_energy():
        with in_tenant():
            return ChargingSession.objects.values_list("status", "energy_wh").get()

    async def scenario():
        answers = {}
        async with _connect(ocpp_server, "CP-16-LOST", "ocpp1.6") as cp:
            await cp.call("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "AC-22"})
            start = {"connectorId": 1, "idTag": "TAG-0001", "meterStart": 1000, "timestamp": at(0)}
            transaction_id = (await cp.call("StartTransaction", start))["transactionId"]
            readings = {"connectorId": 1, "transactionId": transaction_id, "meterValue": [v16_meter_value(20, "4.0")]}
            await cp.call("MeterValues", readings)
        async with _connect(ocpp_server, "CP-16-LOST", "ocpp1.6") as cp:
            await cp.call("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "AC-22"})
            answers["before"] = await cp.call("Authorize", {"idTag": "TAG-0001"})
            available = {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": at(30)}
            await cp.call("StatusNotification", available)
            answers["after"] = await cp.call("Authorize", {"idTag": "TAG-0001"})
            answers["interrupted"] = await asyncio.to_thread(session_status_and_energy)
            stop = {"transactionId": transaction_id, "meterStop": 4400, "timestamp": at(25), "reason": "PowerLoss"}
            await cp.call("StopTransaction", stop)
        return answers

    answers = asyncio.run(scenario())

    assert answers["before"]["idTagInfo"]["status"] == "ConcurrentTx"
    assert answers["after"]["idTagInfo"]["status"] == "Accepted"
    assert answers["interrupted"] == ("interrupted", Decimal(3000))
    with in_tenant():
        session = ChargingSession.objects.get()
        assert (session.status, session.energy_wh, session.stop_reason) == ("completed", Decimal(3400), "PowerLoss")


def test_v16_offline_replay_keeps_the_stations_own_order(ocpp_server, station_make, id_token, in_tenant):
    station = station_make("CP-16-C", password=PASSWORD)

    async def scenario():
        async with _connect(ocpp_server, "CP-16-C", "ocpp1.6") as cp:
            await cp.call("BootNotification", {"chargePointVendor": "Acme", "chargePointModel": "AC-22"})
            # Back online: the current status first, then what was queued while offline, oldest first.
            await cp.call(
                "StatusNotification",
                {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": at(120)},
            )
            start = await cp.call(
                "StartTransaction", {"connectorId": 1, "idTag": "TAG-0001", "meterStart": 500, "timestamp": at(0)}
            )
            await cp.call(
                "StatusNotification",
                {"connectorId": 1, "errorCode": "NoError", "status": "Charging", "timestamp": at(1)},
            )
            await cp.call(
                "MeterValues",
                {
                    "connectorId": 1,
                    "transactionId": start["transactionId"],
                    "meterValue": [v16_meter_value(30, "4.0")],
                },
            )
            await cp.call(
                "StopTransaction",
                {
                    "transactionId": start["transactionId"],
                    "meterStop": 7500,
                    "timestamp": at(60),
                    "reason": "EVDisconnected",
                },
            )
            # A stop for a transaction the server never saw is recorded, not refused.
            return await cp.call(
                "StopTransaction", {"transactionId": 987654, "meterStop": 100, "timestamp": at(61), "reason": "Other"}
            )

    unknown_stop = asyncio.run(scenario())

    assert unknown_stop == {}
    with in_tenant():
        session = ChargingSession.objects.get(station=station, status="completed")
        assert (session.started_at, session.stopped_at, session.energy_wh) == (T0, T0 + timedelta(hours=1), 7000)
        assert ChargingSession.objects.get(station=station, transaction_id="987654").status == "stopped_unknown_start"
        connector = Connector.objects.get(evse__station=station, evse__evse_id=1, connector_id=1)
        assert connector.status == "Available"  # the newest report wins over the late Charging
        assert StatusChange.objects.filter(station=station, evse_id=1).count() == 2


# --- OCPP 2.0.1 --------------------------------------------------------------------------------------------------


def v201_meter_value(minutes: float, register_wh: float, context: str = "Sample.Periodic") -> dict:
    return {
        "timestamp": at(minutes),
        "sampledValue": [
            {
                "value": register_wh / 1000,
                "measurand": "Energy.Active.Import.Register",
                "context": context,
                "unitOfMeasure": {"unit": "kWh"},
            },
            {
                "value": 11,
                "measurand": "Power.Active.Import",
                "context": context,
                "unitOfMeasure": {"unit": "W", "multiplier": 3},
            },
            {"value": 16.2, "measurand": "Current.Import", "phase": "L1", "context": context},
            {"value": 231.0, "measurand": "Voltage", "phase": "L1-N", "context": context},
            {"value": 61, "measurand": "SoC", "location": "EV", "context": context},
        ],
    }


def transaction_event(event_type: str, seq_no: int, minutes: float, trigger: str, **extra) -> dict:
    payload = {
        "eventType": event_type,
        "timestamp": at(minutes),
        "triggerReason": trigger,
        "seqNo": seq_no,
        "transactionInfo": {"transactionId": extra.pop("transaction_id", "TX-201-1"), **extra.pop("info", {})},
    }
    payload.update(extra)
    return payload


V201_BOOT = {"reason": "PowerUp", "chargingStation": {"vendorName": "Acme", "model": "DC-50", "serialNumber": "S-1"}}


def test_v201_session_ends_completed_with_the_right_energy(ocpp_server, station_make, id_token, in_tenant):
    station = station_make("CS-201-A", password=PASSWORD)
    token = {"idToken": "TAG-0001", "type": "ISO14443"}

    async def scenario():
        async with _connect(ocpp_server, "CS-201-A", "ocpp2.0.1") as cs:
            answers = {"boot": await cs.call("BootNotification", V201_BOOT)}
            await cs.call(
                "StatusNotification",
                {"timestamp": at(0), "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1},
            )
            answers["authorize"] = await cs.call("Authorize", {"idToken": token})
            answers["started"] = await cs.call(
                "TransactionEvent",
                transaction_event(
                    "Started",
                    0,
                    0,
                    "Authorized",
                    idToken=token,
                    evse={"id": 1, "connectorId": 1},
                    info={"chargingState": "Charging"},
                    meterValue=[v201_meter_value(0, 2000, "Transaction.Begin")],
                ),
            )
            updated = transaction_event("Updated", 1, 30, "MeterValuePeriodic", meterValue=[v201_meter_value(30, 9000)])
            answers["updated"] = await cs.call("TransactionEvent", updated)
            answers["updated_again"] = await cs.call("TransactionEvent", updated)  # retransmission: same seqNo
            answers["ended"] = await cs.call(
                "TransactionEvent",
                transaction_event(
                    "Ended",
                    2,
                    60,
                    "StopAuthorized",
                    idToken=token,
                    info={"stoppedReason": "Local", "chargingState": "Idle"},
                    meterValue=[v201_meter_value(60, 17500, "Transaction.End")],
                ),
            )
            return answers

    answers = asyncio.run(scenario())

    assert answers["boot"]["status"] == "Accepted"
    assert answers["authorize"]["idTokenInfo"]["status"] == "Accepted"
    assert answers["started"]["idTokenInfo"]["status"] == "Accepted"
    assert answers["updated"] == answers["updated_again"] == {}
    with in_tenant():
        session = ChargingSession.objects.get(station=station)
        assert (session.transaction_id, session.status) == ("TX-201-1", "completed")
        assert session.energy_wh == Decimal(15500)
        assert (session.started_at, session.stopped_at, session.stop_reason) == (T0, T0 + timedelta(hours=1), "Local")
        assert session.last_seq_no == 2
        samples = MeterSample.objects.filter(session=session)
        assert samples.count() == 15  # three events × five values; the repeated seqNo added none
        power = samples.filter(measurand="Power.Active.Import").first()
        assert power.value == Decimal(11000)  # unitOfMeasure multiplier 3 applied
        assert samples.filter(measurand="Current.Import", phase="L1").first().value == Decimal("16.2")


def test_v201_unknown_token_is_unknown_and_offline_events_are_kept(ocpp_server, station_make, in_tenant):
    station = station_make("CS-201-B", password=PASSWORD)

    async def scenario():
        async with _connect(ocpp_server, "CS-201-B", "ocpp2.0.1") as cs:
            await cs.call("BootNotification", V201_BOOT)
            authorize = await cs.call("Authorize", {"idToken": {"idToken": "NOBODY", "type": "ISO14443"}})
            # Replayed after an outage: an Ended for a transaction never seen Started, then its older Updated.
            ended = await cs.call(
                "TransactionEvent",
                transaction_event(
                    "Ended",
                    5,
                    90,
                    "EVDeparted",
                    transaction_id="TX-OFF",
                    offline=True,
                    evse={"id": 2, "connectorId": 1},
                    info={"stoppedReason": "EVDisconnected"},
                    meterValue=[v201_meter_value(90, 30000, "Transaction.End")],
                ),
            )
            await cs.call(
                "TransactionEvent",
                transaction_event(
                    "Updated",
                    4,
                    45,
                    "MeterValuePeriodic",
                    transaction_id="TX-OFF",
                    offline=True,
                    meterValue=[v201_meter_value(45, 20000)],
                ),
            )
            return authorize, ended

    authorize, ended = asyncio.run(scenario())

    assert authorize["idTokenInfo"]["status"] == "Unknown"
    assert ended == {}
    with in_tenant():
        session = ChargingSession.objects.get(station=station, transaction_id="TX-OFF")
        assert session.offline
        assert session.stopped_at == T0 + timedelta(minutes=90)  # the late Updated did not move it back
        assert session.stop_reason == "EVDisconnected"


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
def test_message_log_holds_every_frame_in_and_out(protocol, ocpp_server, station_make, in_tenant):
    station = station_make("CP-LOG", password=PASSWORD)
    boot = V201_BOOT if protocol == "ocpp2.0.1" else {"chargePointVendor": "Acme", "chargePointModel": "AC-22"}

    async def scenario():
        async with _connect(ocpp_server, "CP-LOG", protocol) as cp:
            await cp.call("BootNotification", boot, message_id="boot-1")
            await cp.call("Heartbeat", {}, message_id="hb-1")
            await cp.send_raw("this is not json")
            await cp.call_error("Heartbeat", {"unexpected": True})

    asyncio.run(scenario())

    with in_tenant():
        entries = list(MessageLogEntry.objects.filter(station=station).order_by("created_at", "direction"))
        seen = [(entry.direction, entry.message_type, entry.message_id, entry.action) for entry in entries]
        assert seen[:4] == [
            ("in", 2, "boot-1", "BootNotification"),
            ("out", 3, "boot-1", "BootNotification"),
            ("in", 2, "hb-1", "Heartbeat"),
            ("out", 3, "hb-1", "Heartbeat"),
        ]
        assert seen[4:6] == [("in", 0, "-1", ""), ("out", 4, "-1", "")]
        assert [entry.direction for entry in entries[6:]] == ["in", "out"]
        assert len(entries) == 8
        boot_answer = entries[1]
        assert boot_answer.payload["status"] == "Accepted" and boot_answer.latency_ms is not None
        assert entries[4].payload == "this is not json"
        assert entries[5].error_code == ("RpcFrameworkError" if protocol == "ocpp2.0.1" else "FormationViolation")
        assert entries[7].error_code in {"FormationViolation", "FormatViolation"}
        assert "unexpected" in entries[6].error_description
