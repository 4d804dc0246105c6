"""The server's remote operations as a virtual station answers them, in both versions, without a network: the
answer (valid against the official schemas), what the station sends because of it (valid too, and only after the
answer) and what changes in it."""

import asyncio
import time

import pytest

from tests.tools.simulator.support import (
    V16,
    V201,
    ask,
    remote_start,
    sent,
    session_start,
    statuses,
    stop_reason,
    stopped,
    until,
)
from tools.simulator.operations import REPORT_ITEMS_PER_MESSAGE
from tools.simulator.rpc import CallRefused

pytestmark = pytest.mark.asyncio


@pytest.fixture
def station_make(offline_stations):
    return offline_stations


# --- remote start and stop ------------------------------------------------------------------------------------------


async def test_a_16_remote_start_begins_a_session_with_that_card_on_that_connector(station_make):
    station = station_make(V16)
    answer = await ask(station, "RemoteStartTransaction", {"idTag": "SIM-TAG-9", "connectorId": 2})
    assert answer == {"status": "Accepted"}
    await until(lambda: sent(station, "MeterValues"))

    (start,) = sent(station, "StartTransaction")
    assert (start["connectorId"], start["idTag"], start["meterStart"]) == (2, "SIM-TAG-9", 1_000_000)
    assert "Authorize" not in sent(station)  # AuthorizeRemoteTxRequests is false
    assert statuses(station) == [(2, "Preparing"), (2, "Charging")]
    assert station.connectors[2].transaction.id == 101
    assert sent(station, "MeterValues")[0]["transactionId"] == 101
    assert (station.report.remote_starts, station.report.sessions_started) == (1, 1)


async def test_a_201_remote_start_begins_a_transaction_that_names_the_request(station_make):
    station = station_make(V201)
    request = {"idToken": {"idToken": "EMAID-1", "type": "eMAID"}, "remoteStartId": 42}
    assert await ask(station, "RequestStartTransaction", request) == {"status": "Accepted"}  # no transactionId yet
    await until(lambda: len(sent(station, "TransactionEvent")) >= 2)

    started, updated = sent(station, "TransactionEvent")[:2]
    assert (started["eventType"], started["triggerReason"]) == ("Started", "RemoteStart")
    assert started["transactionInfo"]["remoteStartId"] == 42
    assert started["idToken"] == {"idToken": "EMAID-1", "type": "eMAID"}
    assert started["evse"] == {"id": 1, "connectorId": 1}  # the first free EVSE
    assert updated["transactionInfo"]["transactionId"] == started["transactionInfo"]["transactionId"]
    assert statuses(station) == [(1, "Occupied")] and "Authorize" not in sent(station)


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_a_remote_start_is_refused_where_no_car_can_start(station_make, protocol):
    station = station_make(protocol)
    await session_start(station, 1)
    station.connectors[2].operative = False

    if protocol == V16:
        busy = await ask(station, "RemoteStartTransaction", {"idTag": "T", "connectorId": 1})
        none_free = await ask(station, "RemoteStartTransaction", {"idTag": "T"})
        unknown = await ask(station, "RemoteStartTransaction", {"idTag": "T", "connectorId": 3})
    else:
        token = {"idToken": "T", "type": "ISO14443"}
        busy = await ask(station, "RequestStartTransaction", {"idToken": token, "remoteStartId": 1, "evseId": 1})
        none_free = await ask(station, "RequestStartTransaction", {"idToken": token, "remoteStartId": 2})
        unknown = await ask(station, "RequestStartTransaction", {"idToken": token, "remoteStartId": 3, "evseId": 3})
    assert [busy, none_free, unknown] == [{"status": "Rejected"}] * 3
    assert station.report.remote_starts == 1


async def test_a_faulted_connector_takes_no_remote_start(station_make):
    station = station_make(V16)
    station.connectors[1].occupant, station.status[1] = "fault", "Faulted"
    answer = await ask(station, "RemoteStartTransaction", {"idTag": "T", "connectorId": 1})
    assert answer == {"status": "Rejected"}


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_authorizing_remote_starts_makes_the_station_ask_first(station_make, protocol):
    station = station_make(protocol)
    key = "AuthorizeRemoteTxRequests" if protocol == V16 else None
    if key:
        assert await ask(station, "ChangeConfiguration", {"key": key, "value": "true"}) == {"status": "Accepted"}
    else:
        entry = {
            "attributeValue": "true",
            "component": {"name": "AuthCtrlr"},
            "variable": {"name": "AuthorizeRemoteStart"},
        }
        (result,) = (await ask(station, "SetVariables", {"setVariableData": [entry]}))["setVariableResult"]
        assert result["attributeStatus"] == "Accepted"
    await session_start(station, 1)
    assert sent(station)[:2] == ["StatusNotification", "Authorize"]


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_a_remote_stop_ends_the_running_transaction_and_frees_the_connector(station_make, protocol):
    station = station_make(protocol)
    transaction = await session_start(station, 2)
    action = "RemoteStopTransaction" if protocol == V16 else "RequestStopTransaction"

    assert await ask(station, action, {"transactionId": transaction.id}) == {"status": "Accepted"}
    await until(lambda: station.connectors[2].occupant is None)

    (stop,) = stopped(station)
    assert stop_reason(station, stop) == "Remote"
    if protocol == V16:
        end_register = stop["transactionData"][0]["sampledValue"][0]
        assert stop["transactionId"] == transaction.id and stop["meterStop"] == int(end_register["value"])
        assert statuses(station)[-2:] == [(2, "Finishing"), (2, "Available")]
    else:
        assert stop["triggerReason"] == "RemoteStop"
        assert statuses(station)[-1] == (2, "Available")
    assert station.report.sessions_completed == 1 and station.report.energy_wh >= 0
    assert await ask(station, action, {"transactionId": transaction.id}) == {"status": "Rejected"}  # over


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_a_remote_stop_of_an_unknown_transaction_is_rejected(station_make, protocol):
    station = station_make(protocol)
    await session_start(station, 1)
    if protocol == V16:
        assert await ask(station, "RemoteStopTransaction", {"transactionId": 999}) == {"status": "Rejected"}
    else:
        assert await ask(station, "RequestStopTransaction", {"transactionId": "nope"}) == {"status": "Rejected"}
    assert stopped(station) == []


async def test_the_energy_of_a_session_stopped_remotely_is_what_the_station_metered(station_make):
    station = station_make(V16)
    transaction = await session_start(station, 1)
    await until(lambda: len(sent(station, "MeterValues")) >= 3)
    await ask(station, "RemoteStopTransaction", {"transactionId": transaction.id})
    await until(lambda: station.report.sessions_completed == 1)
    (stop,) = stopped(station)
    assert stop["meterStop"] - transaction.meter_start_wh == station.report.energy_wh >= 0
    assert stop["meterStop"] == round(station.register_wh[1]) and station.register_wh[1] > 1_000_000


# --- reset ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Hard", "Soft"])
async def test_a_16_reset_ends_the_sessions_and_reboots(station_make, kind):
    station = station_make(V16)
    await session_start(station, 1)
    started = time.monotonic()

    assert await ask(station, "Reset", {"type": kind}) == {"status": "Accepted"}

    (stop,) = stopped(station)
    assert stop["reason"] == f"{kind}Reset"
    assert station.rpc.closed and not station.online.is_set()  # off the network...
    assert station.offline_until >= started + 0.9  # ...for about a second
    assert (station.accepted, station.report.resets) == (False, 1)  # so it boots again when it is back
    assert station.connectors[1].occupant is None and not station.resetting


async def test_a_201_immediate_reset_ends_transactions_and_boots_again_for_a_remote_reset(station_make):
    station = station_make(V201)
    await session_start(station, 1)
    await session_start(station, 2)

    assert await ask(station, "Reset", {"type": "Immediate"}) == {"status": "Accepted"}

    ended = stopped(station)
    assert [(e["transactionInfo"]["stoppedReason"], e["triggerReason"]) for e in ended] == [
        ("ImmediateReset", "ResetCommand")
    ] * 2
    assert station.rpc.closed and (station.accepted, station.report.resets) == (False, 1)
    assert station.dialect.boot(station.boot_reason)[1]["reason"] == "RemoteReset"


async def test_a_201_reset_on_idle_waits_for_the_transaction_to_end(station_make):
    station = station_make(V201)
    transaction = await session_start(station, 1)

    assert await ask(station, "Reset", {"type": "OnIdle"}) == {"status": "Scheduled"}
    await asyncio.sleep(0.2)
    assert not station.rpc.closed and station.connectors[1].transaction is transaction
    assert not station.connector_free(2)  # no new session while the reset waits
    await ask(station, "RequestStopTransaction", {"transactionId": transaction.id})

    await until(lambda: station.report.resets == 1)
    assert station.rpc.closed and not station.accepted
    assert stop_reason(station, stopped(station)[0]) == "Remote"


async def test_a_201_reset_on_idle_of_an_idle_station_reboots_at_once(station_make):
    station = station_make(V201)
    assert await ask(station, "Reset", {"type": "OnIdle"}) == {"status": "Accepted"}
    assert station.rpc.closed and station.report.resets == 1


async def test_a_201_reset_of_one_evse_ends_its_transaction_and_cycles_its_status(station_make):
    station = station_make(V201)
    await session_start(station, 2)
    assert await ask(station, "Reset", {"type": "Immediate", "evseId": 2}) == {"status": "Accepted"}

    assert stop_reason(station, stopped(station)[0]) == "ImmediateReset"
    assert statuses(station)[-2:] == [(2, "Unavailable"), (2, "Available")]
    assert not station.rpc.closed and station.report.resets == 0  # the station itself stays up
    assert await ask(station, "Reset", {"type": "Immediate", "evseId": 5}) == {"status": "Rejected"}


# --- unlock ---------------------------------------------------------------------------------------------------------


async def test_a_16_unlock_stops_the_transaction_first(station_make):
    station = station_make(V16)
    await session_start(station, 1)
    assert await ask(station, "UnlockConnector", {"connectorId": 1}, sends_first=True) == {"status": "Unlocked"}
    (stop,) = stopped(station)  # sent before the answer, as OCPP 1.6 has it
    assert stop["reason"] == "UnlockCommand" and station.connectors[1].occupant is None
    before = len(station.rpc.sent)
    assert await ask(station, "UnlockConnector", {"connectorId": 2}) == {"status": "Unlocked"}
    assert await ask(station, "UnlockConnector", {"connectorId": 3}) == {"status": "NotSupported"}
    assert len(station.rpc.sent) == before


async def test_a_201_unlock_leaves_a_transaction_alone(station_make):
    station = station_make(V201)
    await session_start(station, 1)
    assert await ask(station, "UnlockConnector", {"evseId": 1, "connectorId": 1}) == {
        "status": "OngoingAuthorizedTransaction"
    }
    assert await ask(station, "UnlockConnector", {"evseId": 2, "connectorId": 1}) == {"status": "Unlocked"}
    assert await ask(station, "UnlockConnector", {"evseId": 2, "connectorId": 2}) == {"status": "UnknownConnector"}
    assert await ask(station, "UnlockConnector", {"evseId": 9, "connectorId": 1}) == {"status": "UnknownConnector"}
    assert stopped(station) == []


# --- availability ---------------------------------------------------------------------------------------------------


def availability(protocol: str, connector: int | None, kind: str) -> dict:
    if protocol == V16:
        return {"connectorId": connector or 0, "type": kind}
    return {"operationalStatus": kind} | ({"evse": {"id": connector}} if connector else {})


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_an_inoperative_connector_is_unavailable_and_takes_no_car(station_make, protocol):
    station = station_make(protocol, idle_seconds=0.01)
    assert await ask(station, "ChangeAvailability", availability(protocol, 1, "Inoperative")) == {"status": "Accepted"}
    assert statuses(station) == [(1, "Unavailable")] and not station.connector_free(1)

    cars = asyncio.create_task(station._connector(1))
    await asyncio.sleep(0.3)  # many idle periods
    cars.cancel()
    assert "Authorize" not in sent(station)
    assert await ask(station, *remote_start(protocol, 1)) == {"status": "Rejected"}

    assert await ask(station, "ChangeAvailability", availability(protocol, 1, "Operative")) == {"status": "Accepted"}
    assert statuses(station)[-1] == (1, "Available") and station.connector_free(1)


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_making_a_busy_connector_inoperative_waits_for_its_session(station_make, protocol):
    station = station_make(protocol)
    transaction = await session_start(station, 1)
    answer = await ask(station, "ChangeAvailability", availability(protocol, 1, "Inoperative"))
    assert answer == {"status": "Scheduled"}
    assert station.connectors[1].transaction is transaction  # the session goes on

    stop = "RemoteStopTransaction" if protocol == V16 else "RequestStopTransaction"
    await ask(station, stop, {"transactionId": transaction.id})
    await until(lambda: station.connectors[1].occupant is None)
    assert statuses(station)[-1] == (1, "Unavailable") and not station.connector_free(1)


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_the_whole_station_goes_unavailable(station_make, protocol):
    station = station_make(protocol)
    assert await ask(station, "ChangeAvailability", availability(protocol, None, "Inoperative")) == {
        "status": "Accepted"
    }
    expected = [(1, "Unavailable"), (2, "Unavailable")]
    assert statuses(station) == ([(0, "Unavailable")] if protocol == V16 else []) + expected
    assert not any(station.connector_free(number) for number in (1, 2))
    assert await ask(station, "ChangeAvailability", availability(protocol, 3, "Operative")) == {"status": "Rejected"}


async def test_a_201_station_reports_its_availability_in_the_device_model(station_make):
    station = station_make(V201)
    await ask(station, "ChangeAvailability", availability(V201, None, "Inoperative"))
    request = {
        "getVariableData": [
            {"component": {"name": "ChargingStation"}, "variable": {"name": "AvailabilityState"}},
            {"component": {"name": "EVSE", "evse": {"id": 2}}, "variable": {"name": "AvailabilityState"}},
        ]
    }
    results = (await ask(station, "GetVariables", request))["getVariableResult"]
    assert [r["attributeValue"] for r in results] == ["Unavailable", "Unavailable"]


# --- trigger message ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("requested", "expected"),
    [
        ("BootNotification", ["BootNotification"]),
        ("Heartbeat", ["Heartbeat"]),
        ("StatusNotification", ["StatusNotification"] * 3),  # connector 0 and both connectors
        ("MeterValues", ["MeterValues"] * 2),
        ("DiagnosticsStatusNotification", ["DiagnosticsStatusNotification"]),
        ("FirmwareStatusNotification", ["FirmwareStatusNotification"]),
    ],
)
async def test_a_16_trigger_sends_the_message_after_accepting(station_make, requested, expected):
    station = station_make(V16)
    assert await ask(station, "TriggerMessage", {"requestedMessage": requested}) == {"status": "Accepted"}
    assert sent(station) == expected


async def test_a_16_triggered_reading_is_the_connectors_meter_now(station_make):
    station = station_make(V16)
    transaction = await session_start(station, 2)
    since = len(station.rpc.sent)
    await ask(station, "TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 2})
    await ask(station, "TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 1})
    charging, idle = [
        p
        for a, p in station.rpc.sent[since:]
        if a == "MeterValues" and p["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"
    ]
    assert (charging["connectorId"], charging["transactionId"]) == (2, transaction.id)
    assert (idle["connectorId"], "transactionId" in idle) == (1, False)
    register = idle["meterValue"][0]["sampledValue"][0]
    assert (register["measurand"], register["value"]) == ("Energy.Active.Import.Register", "1000000")

    await ask(station, "TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 2})
    assert statuses(station)[-1] == (2, "Charging")
    assert await ask(station, "TriggerMessage", {"requestedMessage": "Heartbeat", "connectorId": 7}) == {
        "status": "Rejected"
    }


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        ({"requestedMessage": "BootNotification"}, ["BootNotification"]),
        ({"requestedMessage": "Heartbeat"}, ["Heartbeat"]),
        ({"requestedMessage": "StatusNotification", "evse": {"id": 2, "connectorId": 1}}, ["StatusNotification"]),
        ({"requestedMessage": "MeterValues"}, ["MeterValues"] * 2),
        ({"requestedMessage": "MeterValues", "evse": {"id": 1}}, ["MeterValues"]),
        ({"requestedMessage": "FirmwareStatusNotification"}, ["FirmwareStatusNotification"]),
        ({"requestedMessage": "LogStatusNotification"}, ["LogStatusNotification"]),
    ],
)
async def test_a_201_trigger_sends_the_message_after_accepting(station_make, request_, expected):
    station = station_make(V201)
    assert await ask(station, "TriggerMessage", request_) == {"status": "Accepted"}
    assert sent(station) == expected


async def test_a_201_triggered_boot_says_it_was_triggered(station_make):
    station = station_make(V201)
    await ask(station, "TriggerMessage", {"requestedMessage": "BootNotification"})
    assert sent(station, "BootNotification")[0]["reason"] == "Triggered"


async def test_a_201_trigger_of_a_transaction_event_reports_the_running_transaction(station_make):
    station = station_make(V201)
    assert await ask(station, "TriggerMessage", {"requestedMessage": "TransactionEvent"}) == {"status": "Rejected"}
    transaction = await session_start(station, 2)
    since = len(station.rpc.sent)

    assert await ask(station, "TriggerMessage", {"requestedMessage": "TransactionEvent"}) == {"status": "Accepted"}
    (event,) = [e for e in sent(station, "TransactionEvent", since) if e["triggerReason"] == "Trigger"]
    assert (event["eventType"], event["transactionInfo"]["transactionId"]) == ("Updated", transaction.id)
    assert event["meterValue"][0]["sampledValue"][0]["context"] == "Trigger"


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_a_trigger_the_station_cannot_serve_is_answered_so(station_make, protocol):
    station = station_make(protocol)
    if protocol == V16:
        unknown = await station.operations.handle("TriggerMessage", {"requestedMessage": "SignChargePointCertificate"})
    else:
        unknown = await ask(station, "TriggerMessage", {"requestedMessage": "SignV2GCertificate"})
        no_evse = await ask(station, "TriggerMessage", {"requestedMessage": "StatusNotification"})
        assert no_evse == {"status": "Rejected"}
    assert unknown == {"status": "NotImplemented"} and sent(station) == []


# --- configuration (1.6) ----------------------------------------------------------------------------------------------


async def test_a_16_station_reports_its_configuration(station_make):
    station = station_make(V16)
    everything = await ask(station, "GetConfiguration", {})
    keys = {entry["key"]: entry for entry in everything["configurationKey"]}
    assert everything["unknownKey"] == [] and len(keys) >= 20
    assert keys["NumberOfConnectors"] == {"key": "NumberOfConnectors", "readonly": True, "value": "2"}
    assert keys["AuthorizeRemoteTxRequests"]["value"] == "false"
    assert (
        keys["MeterValuesSampledData"]["value"]
        == "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC"
    )
    assert {"ChargeProfileMaxStackLevel", "SupportedFeatureProfiles", "LocalAuthListEnabled"} <= keys.keys()

    some = await ask(station, "GetConfiguration", {"key": ["HeartbeatInterval", "NoSuchKey"]})
    assert some == {
        "configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}],
        "unknownKey": ["NoSuchKey"],
    }


async def test_a_16_configuration_change_takes_effect(station_make):
    station = station_make(V16)
    change = {"HeartbeatInterval": "45", "MeterValueSampleInterval": "15", "ConnectionTimeOut": "90"}
    for key, value in change.items():
        assert await ask(station, "ChangeConfiguration", {"key": key, "value": value}) == {"status": "Accepted"}
    assert (station.heartbeat_s, station.meter_interval) == (45, 15)
    assert station.heartbeat_changed.is_set()  # the heartbeat period starts again
    values = {
        e["key"]: e["value"]
        for e in (await ask(station, "GetConfiguration", {"key": list(change)}))["configurationKey"]
    }
    assert values == change

    refused = [
        ("NumberOfConnectors", "4", "Rejected"),  # read-only
        ("HeartbeatInterval", "often", "Rejected"),
        ("HeartbeatInterval", "0", "Rejected"),
        ("MeterValuesSampledData", "Temperature", "Rejected"),  # this meter has no thermometer
        ("FreeVend", "true", "NotSupported"),
    ]
    for key, value, status in refused:
        assert await ask(station, "ChangeConfiguration", {"key": key, "value": value}) == {"status": status}, key
    assert station.heartbeat_s == 45


async def test_the_sampled_measurands_are_what_the_server_configured(station_make):
    station = station_make(V16)
    answer = await ask(
        station, "ChangeConfiguration", {"key": "MeterValuesSampledData", "value": "Energy.Active.Import.Register,SoC"}
    )
    assert answer == {"status": "Accepted"}
    await session_start(station, 1)
    await until(lambda: sent(station, "MeterValues"))
    values = sent(station, "MeterValues")[0]["meterValue"][0]["sampledValue"]
    assert [value["measurand"] for value in values] == ["Energy.Active.Import.Register", "SoC"]


async def test_a_201_meter_sample_follows_the_tx_updated_settings(station_make):
    station = station_make(V201)
    entries = [
        {
            "attributeValue": "Power.Active.Import",
            "component": {"name": "SampledDataCtrlr"},
            "variable": {"name": "TxUpdatedMeasurands"},
        },
        {"attributeValue": "20", "component": {"name": "SampledDataCtrlr"}, "variable": {"name": "TxUpdatedInterval"}},
    ]
    results = (await ask(station, "SetVariables", {"setVariableData": entries}))["setVariableResult"]
    assert [r["attributeStatus"] for r in results] == ["Accepted", "Accepted"]
    assert station.meter_interval == 20
    station.meter_interval = 0.05
    await session_start(station, 1)
    await until(lambda: len(sent(station, "TransactionEvent")) >= 2)
    updated = sent(station, "TransactionEvent")[1]
    assert [v["measurand"] for v in updated["meterValue"][0]["sampledValue"]] == ["Power.Active.Import"]


# --- device model (2.0.1) ---------------------------------------------------------------------------------------------


def variable(component: str, name: str, **more) -> dict:
    entry = {"component": {"name": component}, "variable": {"name": name}}
    if "evse" in more:
        entry["component"]["evse"] = more.pop("evse")
    if "instance" in more:
        entry["variable"]["instance"] = more.pop("instance")
    return entry | more


async def test_a_201_station_answers_for_its_device_model(station_make):
    station = station_make(V201)
    request = {
        "getVariableData": [
            variable("OCPPCommCtrlr", "HeartbeatInterval"),
            variable("SampledDataCtrlr", "TxUpdatedMeasurands"),
            variable("AuthCtrlr", "AuthorizeRemoteStart"),
            variable("ChargingStation", "Model"),
            variable("SecurityCtrlr", "SecurityProfile"),
            variable("EVSE", "AvailabilityState", evse={"id": 1}),
            variable("DeviceDataCtrlr", "ItemsPerMessage", instance="GetReport"),
            variable("ocppcommctrlr", "heartbeatinterval"),  # names compare without case
            variable("CoffeeMaker", "Strength"),
            variable("OCPPCommCtrlr", "Espresso"),
            variable("EVSE", "AvailabilityState", evse={"id": 9}),
            variable("OCPPCommCtrlr", "HeartbeatInterval", attributeType="MaxSet"),
        ]
    }
    results = (await ask(station, "GetVariables", request))["getVariableResult"]
    assert [(r["attributeStatus"], r.get("attributeValue")) for r in results] == [
        ("Accepted", "300"),
        ("Accepted", "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC"),
        ("Accepted", "false"),
        ("Accepted", "SIM-AC22"),
        ("Accepted", "0"),
        ("Accepted", "Available"),
        ("Accepted", str(REPORT_ITEMS_PER_MESSAGE)),
        ("Accepted", "300"),
        ("UnknownComponent", None),
        ("UnknownVariable", None),
        ("UnknownComponent", None),
        ("NotSupportedAttributeType", None),
    ]
    assert results[5]["component"] == {"name": "EVSE", "evse": {"id": 1}} and results[11]["attributeType"] == "MaxSet"


async def test_a_201_station_applies_the_variables_it_may_set(station_make):
    station = station_make(V201)
    entries = [
        variable("OCPPCommCtrlr", "HeartbeatInterval", attributeValue="60"),
        variable("SampledDataCtrlr", "TxUpdatedInterval", attributeValue="10"),
        variable("TxCtrlr", "EVConnectionTimeOut", attributeValue="120"),
        variable("ChargingStation", "Model", attributeValue="Other"),
        variable("OCPPCommCtrlr", "HeartbeatInterval", attributeValue="soon"),
        variable("CoffeeMaker", "Strength", attributeValue="3"),
        variable("OCPPCommCtrlr", "Espresso", attributeValue="1"),
    ]
    results = (await ask(station, "SetVariables", {"setVariableData": entries}))["setVariableResult"]
    assert [r["attributeStatus"] for r in results] == [
        "Accepted",
        "Accepted",
        "Accepted",
        "Rejected",
        "Rejected",
        "UnknownComponent",
        "UnknownVariable",
    ]
    assert (station.heartbeat_s, station.meter_interval) == (60, 10)
    check = await ask(station, "GetVariables", {"getVariableData": [variable("TxCtrlr", "EVConnectionTimeOut")]})
    assert check["getVariableResult"][0]["attributeValue"] == "120"


@pytest.mark.parametrize(
    ("base", "messages"),
    [("FullInventory", None), ("ConfigurationInventory", 1), ("SummaryInventory", 1)],
)
async def test_a_201_base_report_comes_in_numbered_parts(station_make, base, messages):
    station = station_make(V201)
    if messages is None:  # every variable
        messages = -(-len(station.operations.variables) // REPORT_ITEMS_PER_MESSAGE)
        assert messages >= 3
    assert await ask(station, "GetBaseReport", {"requestId": 5, "reportBase": base}) == {"status": "Accepted"}

    reports = sent(station, "NotifyReport")
    assert [(r["requestId"], r["seqNo"], r["tbc"]) for r in reports] == [
        (5, number, number < messages - 1) for number in range(messages)
    ]
    assert all(len(r["reportData"]) <= REPORT_ITEMS_PER_MESSAGE for r in reports)
    entries = [entry for report in reports for entry in report["reportData"]]
    names = {(e["component"]["name"], e["variable"]["name"]) for e in entries}
    mutability = {e["variableAttribute"][0]["mutability"] for e in entries}
    if base == "FullInventory":
        assert len(entries) == len(station.operations.variables) and mutability == {"ReadOnly", "ReadWrite"}
        assert ("ChargingStation", "VendorName") in names and ("Connector", "ConnectorType") in names
    elif base == "ConfigurationInventory":
        assert mutability == {"ReadWrite"} and ("OCPPCommCtrlr", "HeartbeatInterval") in names
    else:
        assert {name for _, name in names} == {"AvailabilityState"} and len(entries) == 5


# --- data transfer, cache, what is not implemented, malformed requests ----------------------------------------------


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_data_transfer_is_echoed_for_the_simulators_vendor_only(station_make, protocol):
    station = station_make(protocol)
    ours = {"vendorId": "OpenChargeSim", "messageId": "Echo", "data": "hello"}
    assert await ask(station, "DataTransfer", ours) == {"status": "Accepted", "data": "hello"}
    assert await ask(station, "DataTransfer", {"vendorId": "OpenChargeSim"}) == {"status": "Accepted"}
    assert await ask(station, "DataTransfer", {"vendorId": "com.example"}) == {"status": "UnknownVendorId"}
    assert await ask(station, "ClearCache", {}) == {"status": "Accepted"}


@pytest.mark.parametrize(("protocol", "action"), [(V16, "SignedUpdateFirmware"), (V201, "SetDisplayMessage")])
async def test_other_operations_are_not_implemented(station_make, protocol, action):
    station = station_make(protocol)
    with pytest.raises(CallRefused) as refusal:
        await station.operations.handle(action, {})
    assert refusal.value.code == "NotImplemented"


SCHEDULE = {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]}
PROFILE_16 = {
    "chargingProfileId": 1,
    "stackLevel": 0,
    "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Relative",
    "chargingSchedule": SCHEDULE,
}
PROFILE_201 = {
    "id": 1,
    "stackLevel": 0,
    "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Relative",
    "chargingSchedule": [{"id": 1} | SCHEDULE],
}


@pytest.mark.parametrize(
    ("protocol", "action", "payload", "code"),
    [
        (V16, "Reset", {}, "ProtocolError"),
        (V16, "Reset", {"type": "Warm"}, "PropertyConstraintViolation"),
        (V16, "RemoteStartTransaction", {"idTag": 5}, "TypeConstraintViolation"),
        (V16, "RemoteStopTransaction", {"transactionId": True}, "TypeConstraintViolation"),
        (V16, "ChangeAvailability", [1, "Inoperative"], "FormationViolation"),
        (V16, "ChangeConfiguration", {"key": "HeartbeatInterval"}, "ProtocolError"),
        (V201, "Reset", {}, "ProtocolError"),
        (V201, "RequestStartTransaction", {"idToken": {"idToken": "T"}, "remoteStartId": 1}, "ProtocolError"),
        (V201, "GetVariables", {"getVariableData": [{"component": {"name": "X"}}]}, "ProtocolError"),
        (V201, "GetVariables", {"getVariableData": []}, "OccurrenceConstraintViolation"),
        (V201, "SetVariables", {"setVariableData": "all"}, "TypeConstraintViolation"),
        (V201, "GetBaseReport", "FullInventory", "FormatViolation"),
        (V201, "ChangeAvailability", {"operationalStatus": "Operative", "evse": 1}, "TypeConstraintViolation"),
        (
            V16,
            "UpdateFirmware",
            {"location": "https://x/fw.bin", "retrieveDate": "tomorrow"},
            "TypeConstraintViolation",
        ),
        (V16, "SendLocalList", {"listVersion": 1, "updateType": "Sometimes"}, "PropertyConstraintViolation"),
        (V16, "ReserveNow", {"connectorId": 1, "idTag": "A", "reservationId": 1}, "ProtocolError"),
        (
            V16,
            "SetChargingProfile",
            {"connectorId": 1, "csChargingProfiles": PROFILE_16 | {"stackLevel": "0"}},
            "TypeConstraintViolation",
        ),
        (V201, "GetLog", {"log": {}, "logType": "DiagnosticsLog", "requestId": 1}, "ProtocolError"),
        (
            V201,
            "ReserveNow",
            {"id": 1, "expiryDateTime": "2030-01-01T00:00:00Z", "idToken": {"idToken": "A"}},
            "ProtocolError",
        ),
        (
            V201,
            "SetChargingProfile",
            {"evseId": 1, "chargingProfile": PROFILE_201 | {"chargingSchedule": []}},
            "OccurrenceConstraintViolation",
        ),
    ],
)
async def test_a_malformed_request_gets_the_callerror_of_its_version(station_make, protocol, action, payload, code):
    station = station_make(protocol)
    with pytest.raises(CallRefused) as refusal:
        await station.operations.handle(action, payload)
    assert refusal.value.code == code
    assert sent(station) == [] and station.report.resets == 0


async def test_a_malformed_entry_leaves_every_variable_as_it_was(station_make):
    station = station_make(V201)
    entries = [variable("OCPPCommCtrlr", "HeartbeatInterval", attributeValue="77"), {"attributeValue": "1"}]
    with pytest.raises(CallRefused) as refusal:
        await station.operations.handle("SetVariables", {"setVariableData": entries})
    assert refusal.value.code == "ProtocolError" and station.heartbeat_s == 300


async def test_what_a_call_asks_for_waits_until_the_station_is_online(station_make):
    station = station_make(V16)
    station.online.clear()  # a new connection: the connectors are still being reported
    response, after = await station.operations.handle("TriggerMessage", {"requestedMessage": "Heartbeat"})
    acting = asyncio.create_task(after)
    await asyncio.sleep(0.05)
    assert response == {"status": "Accepted"} and sent(station) == []
    station.online.set()
    await acting
    assert sent(station) == ["Heartbeat"]
