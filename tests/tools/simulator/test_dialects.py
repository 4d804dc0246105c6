"""Every message a virtual station sends is valid against the official OCPP JSON schemas of its version."""

from datetime import UTC, datetime

import pytest
from jsonschema.exceptions import best_match
from ocpp.messages import MessageType, get_validator

from apps.ocpp.framing import SCHEMA_VERSIONS
from tools.simulator.dialects import DIALECTS, FAULT_KINDS, Sample, Transaction

AT = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)


def schema_error(protocol: str, action: str, payload: dict) -> str | None:
    error = best_match(get_validator(MessageType.Call, action, SCHEMA_VERSIONS[protocol]).iter_errors(payload))
    return None if error is None else f"{action}: {error.message}"


def every_message(protocol: str) -> list[tuple[str, dict]]:
    dialect = DIALECTS[protocol](vendor="Sim", model="AC", serial="SN-1", firmware="1.0")
    transaction = Transaction(connector=2, id_tag="TAG-1", meter_start_wh=1_250_000, id=None, started_at=AT)
    messages = [dialect.boot("PowerUp"), dialect.status(1, "Available", AT), dialect.authorize("TAG-1")]
    messages.append(dialect.start(transaction))
    if transaction.id is None:  # 1.6: the server's id
        dialect.started(transaction, {"transactionId": 77, "idTagInfo": {"status": "Accepted"}})
    sample = Sample(at=AT, register_wh=1_251_234.4, power_w=10_950.0, current_a=15.87, voltage_v=229.8, soc=63.2)
    messages.append(dialect.meter(transaction, sample))
    single_phase = Sample(at=AT, register_wh=1_251_300, power_w=7_000.0, current_a=30.4, voltage_v=230, phases=1)
    messages.append(dialect.meter(transaction, single_phase))
    end = Sample(at=AT, register_wh=1_252_000, context="Transaction.End")
    messages.append(dialect.stop(transaction, end, "EVDisconnected"))
    for fault in FAULT_KINDS:
        messages += dialect.fault_messages(1, fault, AT, cleared=False)
        messages += dialect.fault_messages(1, fault, AT, cleared=True)
    return messages


@pytest.mark.parametrize("protocol", ["ocpp1.6", "ocpp2.0.1"])
def test_every_message_a_station_sends_is_schema_valid(protocol):
    messages = every_message(protocol)
    assert [error for action, payload in messages if (error := schema_error(protocol, action, payload))] == []
    assert {action for action, _ in messages} >= {"BootNotification", "StatusNotification", "Authorize"}


def test_a_16_session_reports_the_register_in_wh_and_every_phase():
    dialect = DIALECTS["ocpp1.6"](vendor="Sim", model="AC", serial="SN-1", firmware="1.0")
    transaction = Transaction(connector=1, id_tag="TAG-1", meter_start_wh=1000, id=5, started_at=AT)
    _, payload = dialect.meter(
        transaction, Sample(at=AT, register_wh=1499.6, power_w=11_000, current_a=16, voltage_v=230)
    )
    values = payload["meterValue"][0]["sampledValue"]
    register = next(value for value in values if value["measurand"] == "Energy.Active.Import.Register")
    assert (register["value"], register["unit"]) == ("1500", "Wh")
    assert sorted(value["phase"] for value in values if value["measurand"] == "Current.Import") == ["L1", "L2", "L3"]
    _, stop = dialect.stop(transaction, Sample(at=AT, register_wh=2000.4, context="Transaction.End"), "Local")
    assert (stop["meterStop"], stop["transactionData"][0]["sampledValue"][0]["context"]) == (2000, "Transaction.End")


def test_a_201_transaction_numbers_its_events_and_flags_the_ones_sent_late():
    dialect = DIALECTS["ocpp2.0.1"](vendor="Sim", model="AC", serial="SN-1", firmware="1.0")
    transaction = Transaction(connector=1, id_tag="TAG-1", meter_start_wh=0, started_at=AT)
    _, started = dialect.start(transaction)
    _, updated = dialect.meter(transaction, Sample(at=AT, register_wh=10))
    _, ended = dialect.stop(transaction, Sample(at=AT, register_wh=20, context="Transaction.End"), "Local")
    assert [event["seqNo"] for event in (started, updated, ended)] == [0, 1, 2]
    assert {event["transactionInfo"]["transactionId"] for event in (started, updated, ended)} == {transaction.id}
    assert (ended["transactionInfo"]["stoppedReason"], ended["triggerReason"]) == ("Local", "StopAuthorized")
    dialect.mark_offline("TransactionEvent", updated)
    assert updated["offline"] is True and "offline" not in started


def test_a_201_fault_is_an_alert_on_the_broken_component_and_its_clearing():
    dialect = DIALECTS["ocpp2.0.1"](vendor="Sim", model="AC", serial="SN-1", firmware="1.0")
    fault = next(kind for kind in FAULT_KINDS if kind[1] == "RCD")
    (_, raised), (_, faulted) = dialect.fault_messages(2, fault, AT, cleared=False)
    (_, cleared), (_, available) = dialect.fault_messages(2, fault, AT, cleared=True)
    event = raised["eventData"][0]
    assert (event["component"], event["variable"], event["actualValue"]) == (
        {"name": "RCD", "evse": {"id": 2, "connectorId": 1}},
        {"name": "Tripped"},
        "true",
    )
    assert cleared["eventData"][0]["cleared"] is True and cleared["seqNo"] == raised["seqNo"] + 1
    assert (faulted["connectorStatus"], available["connectorStatus"]) == ("Faulted", "Available")
