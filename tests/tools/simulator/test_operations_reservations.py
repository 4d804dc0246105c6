"""Reservations and the local authorization list as a virtual station keeps them, in both versions, without a
network: the answers (schema-valid), the connector Reserved and back, the reservation used by its card only, its
expiry, and the list's versions."""

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from tests.tools.simulator.support import V16, V201, ask, remote_start, sent, statuses, stopped, until
from tools.simulator.dialects import iso

pytestmark = pytest.mark.asyncio


@pytest.fixture
def station_make(offline_stations):
    return offline_stations


def moment(seconds: float) -> str:
    return iso(datetime.now(UTC) + timedelta(seconds=seconds))


def reserve(protocol: str, connector: int | None, tag: str = "SIM-TAG-R", *, reservation_id=31, expires_in=600, **more):
    """ReserveNow of `connector` (None: any) for `tag`; `more`: further fields."""
    if protocol == V16:
        payload = {"connectorId": connector or 0, "expiryDate": moment(expires_in), "idTag": tag}
        return "ReserveNow", payload | {"reservationId": reservation_id} | more
    token = {"idToken": tag, "type": "Central"}
    payload = {"id": reservation_id, "expiryDateTime": moment(expires_in), "idToken": token}
    return "ReserveNow", payload | ({"evseId": connector} if connector else {}) | more


def started(station) -> dict:
    if station.config.protocol == V16:
        return sent(station, "StartTransaction")[0]
    return next(p for p in sent(station, "TransactionEvent") if p["eventType"] == "Started")


# --- reservations -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_a_reserved_connector_waits_for_its_card(station_make, protocol):
    station = station_make(protocol)
    assert await ask(station, *reserve(protocol, 2)) == {"status": "Accepted"}

    assert statuses(station) == [(2, "Reserved")]
    assert not station.connector_free(2) and station.connector_free(2, "SIM-TAG-R")
    assert station.connector_free(1)  # the other one takes any car

    refused = await station._session(2, "SIM-TAG-1")  # another driver plugs in and shows a card
    assert refused is False and station.report.refused == 1
    assert sent(station) == ["StatusNotification"] and station.status[2] == "Reserved"  # refused on the spot
    assert await ask(station, *remote_start(protocol, 2, "SIM-TAG-1")) == {"status": "Rejected"}


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_the_reserving_card_starts_a_session_that_names_the_reservation(station_make, protocol):
    station = station_make(protocol)
    await ask(station, *reserve(protocol, 2, reservation_id=31))
    if protocol == V16:
        request = ("RemoteStartTransaction", {"idTag": "SIM-TAG-R"})  # no connector: the reserved one
    else:
        token = {"idToken": "SIM-TAG-R", "type": "Central"}
        request = ("RequestStartTransaction", {"idToken": token, "remoteStartId": 1})
    assert await ask(station, *request) == {"status": "Accepted"}
    await until(lambda: station.connectors[2].transaction is not None)

    start = started(station)
    assert start["reservationId"] == 31
    assert (start["connectorId"] if protocol == V16 else start["evse"]["id"]) == 2
    assert station.connectors[2].reservation is None and station.reservation_find(31) is None  # used

    station.session_stop(2, "Local")
    await until(lambda: stopped(station) and station.connectors[2].occupant is None)
    assert statuses(station)[-1] == (2, "Available")  # no longer reserved
    assert await ask(station, "CancelReservation", {"reservationId": 31}) == {"status": "Rejected"}


async def test_the_driver_of_a_reservation_comes_and_uses_it(station_make):
    station = station_make(V16, idle_seconds=0.01, session_seconds=0.1, sessions=1)
    await ask(station, *reserve(V16, 1, "SIM-TAG-R", reservation_id=5))
    await asyncio.wait_for(station._connector(1), 10)
    assert started(station)["idTag"] == "SIM-TAG-R" and started(station)["reservationId"] == 5
    assert station.report.sessions_completed == 1


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_a_reservation_expires_and_frees_the_connector(station_make, protocol):
    station = station_make(protocol)
    await ask(station, *reserve(protocol, 1, reservation_id=8, expires_in=0.3))
    await until(lambda: statuses(station)[-1] == (1, "Available"))

    assert station.connectors[1].reservation is None and station.connector_free(1)
    if protocol == V16:
        assert sent(station) == ["StatusNotification", "StatusNotification"]
    else:
        assert sent(station) == ["StatusNotification", "ReservationStatusUpdate", "StatusNotification"]
        assert sent(station, "ReservationStatusUpdate") == [{"reservationId": 8, "reservationUpdateStatus": "Expired"}]


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_a_cancelled_reservation_frees_the_connector(station_make, protocol):
    station = station_make(protocol)
    await ask(station, *reserve(protocol, 1, reservation_id=9))
    assert await ask(station, "CancelReservation", {"reservationId": 9}) == {"status": "Accepted"}
    assert statuses(station) == [(1, "Reserved"), (1, "Available")]
    assert "ReservationStatusUpdate" not in sent(station)  # the CSMS cancelled it: nothing to tell
    assert await ask(station, "CancelReservation", {"reservationId": 9}) == {"status": "Rejected"}
    await asyncio.sleep(0.05)
    assert station.reservation_find(9) is None


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_a_reservation_is_answered_by_the_state_of_its_connector(station_make, protocol):
    station = station_make(protocol, fault_seconds=30)
    remote = remote_start(protocol, 1)
    assert await ask(station, *remote) == {"status": "Accepted"}
    await until(lambda: station.connectors[1].transaction is not None)
    fault = asyncio.create_task(station._fault(2))
    await until(lambda: station.status[2] == "Faulted")

    assert await ask(station, *reserve(protocol, 1, reservation_id=1)) == {"status": "Occupied"}
    assert await ask(station, *reserve(protocol, 2, reservation_id=2)) == {"status": "Faulted"}
    assert await ask(station, *reserve(protocol, None, reservation_id=3)) == {"status": "Occupied"}  # none free
    fault.cancel()
    await asyncio.gather(fault, return_exceptions=True)
    station.status[2] = "Unavailable"
    station.connectors[2].operative = False
    assert await ask(station, *reserve(protocol, 2, reservation_id=4)) == {"status": "Unavailable"}
    assert await ask(station, *reserve(protocol, 3, reservation_id=5)) == {"status": "Rejected"}  # no such one
    assert await ask(station, *reserve(protocol, 2, reservation_id=6, expires_in=-5)) == {"status": "Rejected"}
    assert all(state.reservation is None for state in station.connectors.values())


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_reservations_can_be_switched_off(station_make, protocol):
    station = station_make(protocol)
    if protocol == V16:
        change = ("ChangeConfiguration", {"key": "ReservationEnabled", "value": "false"})
        assert await ask(station, *change) == {"status": "Accepted"}
    else:
        entry = {"attributeValue": "false", "component": {"name": "ReservationCtrlr"}, "variable": {"name": "Enabled"}}
        results = await ask(station, "SetVariables", {"setVariableData": [entry]})
        assert results["setVariableResult"][0]["attributeStatus"] == "Accepted"
    assert await ask(station, *reserve(protocol, 1)) == {"status": "Rejected"}
    assert sent(station) == []


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_a_reservation_for_any_connector_takes_a_free_one_and_the_same_id_replaces_it(station_make, protocol):
    station = station_make(protocol)
    await ask(station, *remote_start(protocol, 1))
    await until(lambda: station.connectors[1].transaction is not None)

    assert await ask(station, *reserve(protocol, None, "SIM-TAG-R", reservation_id=12)) == {"status": "Accepted"}
    assert station.connectors[2].reservation.id == 12 and statuses(station)[-1] == (2, "Reserved")

    assert await ask(station, *reserve(protocol, 2, "SIM-TAG-S", reservation_id=12)) == {"status": "Accepted"}
    assert station.connectors[2].reservation.id_tag == "SIM-TAG-S"  # replaced, not refused as occupied
    if protocol == V201:
        other_type = reserve(protocol, 1, reservation_id=13, connectorType="cCCS2")
        assert await ask(station, *other_type) == {"status": "Rejected"}


async def test_a_16_reservation_of_a_group_admits_its_cards(station_make):
    station = station_make(V16)
    local = {
        "listVersion": 1,
        "updateType": "Full",
        "localAuthorizationList": [{"idTag": "SIM-TAG-K", "idTagInfo": {"status": "Accepted", "parentIdTag": "FLEET"}}],
    }
    await ask(station, "SendLocalList", local)
    request = {"connectorId": 1, "expiryDate": moment(60), "idTag": "SIM-TAG-R", "reservationId": 4}
    assert await ask(station, "ReserveNow", request | {"parentIdTag": "FLEET"}) == {"status": "Accepted"}
    assert station.connector_free(1, "SIM-TAG-K") and not station.connector_free(1, "SIM-TAG-X")


# --- local authorization list -----------------------------------------------------------------------------------------


def local_list(protocol: str, version: int, full: bool, entries: list[tuple[str, str | None]]) -> tuple:
    kind = "Full" if full else "Differential"
    if protocol == V16:
        items = [{"idTag": tag} | ({"idTagInfo": {"status": status}} if status else {}) for tag, status in entries]
        payload = {"listVersion": version, "updateType": kind}
    else:
        items = [
            {"idToken": {"idToken": tag, "type": "ISO14443"}} | ({"idTokenInfo": {"status": status}} if status else {})
            for tag, status in entries
        ]
        payload = {"versionNumber": version, "updateType": kind}
    return "SendLocalList", payload | ({"localAuthorizationList": items} if items else {})


async def list_version(station) -> int:
    answer = await ask(station, "GetLocalListVersion", {})
    return answer["listVersion" if station.config.protocol == V16 else "versionNumber"]


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_the_local_list_is_kept_by_version(station_make, protocol):
    station = station_make(protocol)
    assert await list_version(station) == 0  # never set

    full = local_list(protocol, 3, True, [("A", "Accepted"), ("B", "Blocked")])
    assert await ask(station, *full) == {"status": "Accepted"}
    assert await list_version(station) == 3

    update = local_list(protocol, 4, False, [("B", None), ("C", "Accepted"), ("A", "Expired")])
    assert await ask(station, *update) == {"status": "Accepted"}
    assert {tag: info["status"] for tag, info in station.local_list.items()} == {"A": "Expired", "C": "Accepted"}
    assert await list_version(station) == 4

    for stale in (4, 2):
        answer = await ask(station, *local_list(protocol, stale, False, [("D", "Accepted")]))
        assert answer == {"status": "VersionMismatch"}
    assert "D" not in station.local_list and await list_version(station) == 4

    assert await ask(station, *local_list(protocol, 1, True, [])) == {"status": "Accepted"}  # a full list: any version
    assert station.local_list == {} and await list_version(station) == 1
    assert sent(station) == []


@pytest.mark.parametrize(("protocol", "refusal", "version"), [(V16, "NotSupported", -1), (V201, "Failed", 0)])
async def test_a_disabled_local_list_takes_no_update(station_make, protocol, refusal, version):
    station = station_make(protocol)
    await ask(station, *local_list(protocol, 2, True, [("A", "Accepted")]))
    if protocol == V16:
        await ask(station, "ChangeConfiguration", {"key": "LocalAuthListEnabled", "value": "false"})
    else:
        entry = {"attributeValue": "false", "component": {"name": "LocalAuthListCtrlr"}}
        entry["variable"] = {"name": "Enabled"}
        await ask(station, "SetVariables", {"setVariableData": [entry]})
    assert await ask(station, *local_list(protocol, 3, True, [("B", "Accepted")])) == {"status": refusal}
    assert await list_version(station) == version
    assert station.local_authorization("A") is None


async def test_a_201_station_reports_its_local_list_size(station_make):
    station = station_make(V201)
    await ask(station, *local_list(V201, 1, True, [("A", "Accepted"), ("B", "Accepted")]))
    request = {"getVariableData": [{"component": {"name": "LocalAuthListCtrlr"}, "variable": {"name": "Entries"}}]}
    results = (await ask(station, "GetVariables", request))["getVariableResult"]
    assert results[0]["attributeValue"] == "2"


async def test_offline_a_card_the_local_list_accepts_still_charges(station_make):
    station = station_make(V201)
    await ask(station, *local_list(V201, 1, True, [("SIM-TAG-L", "Accepted"), ("SIM-TAG-B", "Blocked")]))
    station.online.clear()  # the network is gone: Authorize gets no answer

    assert await station._session(2, "SIM-TAG-B") is False  # blocked on the list
    session = asyncio.create_task(station._session(1, "SIM-TAG-L"))
    await until(lambda: station.connectors[1].transaction is not None)
    station.session_stop(1, "Local")
    assert await session is True

    events = [payload for action, payload in station.queue if action == "TransactionEvent"]
    assert [e["eventType"] for e in (events[0], events[-1])] == ["Started", "Ended"]
    assert all(e["offline"] for e in events) and events[0]["idToken"]["idToken"] == "SIM-TAG-L"
    assert station.report.refused == 1
