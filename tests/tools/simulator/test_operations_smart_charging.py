"""Smart charging in a virtual station, in both versions, without a network: profiles set and cleared (answers
schema-valid), composite schedules with their numbers, and the car's power capped by the limit in force."""

from datetime import UTC, datetime, timedelta

import pytest
from ocpp.messages import MessageType

from tests.tools.simulator.support import V16, V201, ask, schema_error, sent, session_start, until
from tools.simulator.dialects import iso
from tools.simulator.smart_charging import STATION_MAX, TX_DEFAULT, ChargingProfiles, Limit, Period, Profile, tenths

pytestmark = pytest.mark.asyncio

PURPOSES_16 = {STATION_MAX: "ChargePointMaxProfile", TX_DEFAULT: TX_DEFAULT, "TxProfile": "TxProfile"}


@pytest.fixture
def station_make(offline_stations):
    return offline_stations


def profile_request(
    protocol: str,
    evse: int,
    *,
    profile_id: int = 1,
    purpose: str = TX_DEFAULT,
    stack_level: int = 0,
    kind: str = "Relative",
    unit: str = "A",
    periods=((0, 16),),
    transaction_id=None,
    recurrency: str | None = None,
    **schedule,
) -> tuple[str, dict]:
    """SetChargingProfile of the version; `periods` as (startPeriod, limit[, numberPhases]); `schedule`: more fields
    of the chargingSchedule."""
    schedule_periods = [
        {"startPeriod": period[0], "limit": period[1]} | ({"numberPhases": period[2]} if len(period) > 2 else {})
        for period in periods
    ]
    body = {"chargingRateUnit": unit, "chargingSchedulePeriod": schedule_periods} | schedule
    profile = {"stackLevel": stack_level, "chargingProfileKind": kind}
    if transaction_id is not None:
        profile["transactionId"] = transaction_id
    if recurrency is not None:
        profile["recurrencyKind"] = recurrency
    if protocol == V16:
        profile |= {
            "chargingProfileId": profile_id,
            "chargingProfilePurpose": PURPOSES_16[purpose],
            "chargingSchedule": body,
        }
        return "SetChargingProfile", {"connectorId": evse, "csChargingProfiles": profile}
    profile |= {"id": profile_id, "chargingProfilePurpose": purpose, "chargingSchedule": [{"id": 1} | body]}
    return "SetChargingProfile", {"evseId": evse, "chargingProfile": profile}


async def composite(station, evse: int, duration: int = 600, unit: str | None = None) -> list[tuple]:
    """The composite schedule's periods as (startPeriod, limit[, numberPhases])."""
    if station.config.protocol == V16:
        request = {"connectorId": evse, "duration": duration} | ({"chargingRateUnit": unit} if unit else {})
        answer = await ask(station, "GetCompositeSchedule", request)
        assert (answer["status"], answer["connectorId"]) == ("Accepted", evse)
        schedule = answer["chargingSchedule"]
        assert schedule["startSchedule"] == answer["scheduleStart"] and schedule["duration"] == duration
    else:
        request = {"evseId": evse, "duration": duration} | ({"chargingRateUnit": unit} if unit else {})
        answer = await ask(station, "GetCompositeSchedule", request)
        schedule = answer["schedule"]
        assert (answer["status"], schedule["evseId"], schedule["duration"]) == ("Accepted", evse, duration)
    assert schedule["chargingRateUnit"] == (unit or "A")
    return [tuple(period.values()) for period in schedule["chargingSchedulePeriod"]]


# --- setting and clearing ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_the_highest_stack_level_wins_under_the_station_maximum(station_make, protocol):
    station = station_make(protocol)
    default = profile_request(protocol, 0, profile_id=1, periods=((0, 16), (300, 10)))
    assert await ask(station, *default) == {"status": "Accepted"}
    assert await composite(station, 1) == [(0, 16), (300, 10)]

    boost = profile_request(protocol, 1, profile_id=2, stack_level=2, periods=((0, 24),), duration=120)
    maximum = profile_request(protocol, 0, profile_id=3, purpose=STATION_MAX, kind="Absolute", periods=((0, 20),))
    maximum[1]["csChargingProfiles" if protocol == V16 else "chargingProfile"]["validFrom"] = iso(datetime.now(UTC))
    assert [await ask(station, *request) for request in (boost, maximum)] == [{"status": "Accepted"}] * 2

    assert await composite(station, 1) == [(0, 20), (120, 16), (300, 10)]  # 24 A capped at 20 A for 120 s
    assert await composite(station, 2) == [(0, 16), (300, 10)]  # the boost is connector 1's only
    assert await composite(station, 1, unit="W") == [(0, 13800), (120, 11040), (300, 6900)]  # × 230 V × 3
    assert await composite(station, 0, 60) == [(0, 20)]  # the station: its maximum


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_without_profiles_the_schedule_is_what_the_hardware_offers(station_make, protocol):
    station = station_make(protocol, max_power_w=11_000)
    assert await composite(station, 1, unit="W") == [(0, 11000)]
    ((start, amperes),) = await composite(station, 2)
    assert start == 0 and 15.8 <= amperes <= 16.0  # 11 kW on three phases of 230 V
    assert await composite(station, 0, unit="W") == [(0, 22000)]  # both EVSEs


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_a_tx_profile_needs_its_transaction_and_ends_with_it(station_make, protocol):
    station = station_make(protocol)
    tx_profile = profile_request(protocol, 1, profile_id=5, purpose="TxProfile", periods=((0, 8),))
    assert await ask(station, *tx_profile) == {"status": "Rejected"}  # no transaction on connector 1

    transaction = await session_start(station, 1)
    assert await ask(station, *profile_request(protocol, 0, profile_id=4, periods=((0, 10),))) == {"status": "Accepted"}
    wrong = transaction.id + 1 if protocol == V16 else "not-this-one"
    mismatched = profile_request(protocol, 1, profile_id=5, purpose="TxProfile", transaction_id=wrong)
    assert await ask(station, *mismatched) == {"status": "Rejected"}
    assert await ask(station, *tx_profile) == {"status": "Accepted"}
    assert await composite(station, 1) == [(0, 8)]  # instead of the default
    assert await composite(station, 2) == [(0, 10)]

    stop = "RemoteStopTransaction" if protocol == V16 else "RequestStopTransaction"
    await ask(station, stop, {"transactionId": transaction.id})
    await until(lambda: station.connectors[1].occupant is None)
    assert [profile.id for profile in station.profiles.profiles] == [4]  # the TxProfile went with its transaction
    assert await composite(station, 1) == [(0, 10)]


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_profiles_the_station_cannot_take_are_rejected(station_make, protocol):
    station = station_make(protocol)
    refused = [
        profile_request(protocol, 1, purpose=STATION_MAX, kind="Absolute"),  # the maximum is the station's
        profile_request(protocol, 3),  # no such connector
        profile_request(protocol, 0, stack_level=9),  # beyond ChargeProfileMaxStackLevel
        profile_request(protocol, 0, periods=((60, 16),)),  # the first period starts at 0
        profile_request(protocol, 0, periods=[(0, 16)] * 25),  # beyond ChargingScheduleMaxPeriods
        profile_request(protocol, 0, kind="Recurring", recurrency="Daily"),  # when does it recur?
    ]
    if protocol == V201:
        refused.append(profile_request(protocol, 0, purpose="ChargingStationExternalConstraints"))
    for request in refused:
        assert await ask(station, *request) == {"status": "Rejected"}, request
    for number in range(10):
        request = profile_request(protocol, 1 + number // 8, profile_id=number + 1, stack_level=number % 8)
        assert await ask(station, *request) == {"status": "Accepted"}
    assert await ask(station, *profile_request(protocol, 2, profile_id=99, stack_level=5)) == {"status": "Rejected"}
    assert await ask(station, *profile_request(protocol, 1, profile_id=3, stack_level=2)) == {"status": "Accepted"}
    assert len(station.profiles.profiles) == 10 and sent(station) == []


def clear(protocol: str, profile_id=None, evse=None, purpose=None, stack_level=None) -> tuple[str, dict]:
    if protocol == V16:
        fields = {"id": profile_id, "connectorId": evse, "stackLevel": stack_level}
        fields["chargingProfilePurpose"] = PURPOSES_16.get(purpose)
        return "ClearChargingProfile", {key: value for key, value in fields.items() if value is not None}
    criteria = {"evseId": evse, "chargingProfilePurpose": purpose, "stackLevel": stack_level}
    criteria = {key: value for key, value in criteria.items() if value is not None}
    payload = ({"chargingProfileId": profile_id} if profile_id is not None else {}) | (
        {"chargingProfileCriteria": criteria} if criteria else {}
    )
    return "ClearChargingProfile", payload


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_clearing_removes_what_matches(station_make, protocol):
    station = station_make(protocol)
    requests = [
        profile_request(protocol, 0, profile_id=1),
        profile_request(protocol, 1, profile_id=2, stack_level=1),
        profile_request(protocol, 2, profile_id=3, stack_level=1),
        profile_request(protocol, 0, profile_id=4, purpose=STATION_MAX, kind="Absolute"),
    ]
    for request in requests:
        await ask(station, *request)

    assert await ask(station, *clear(protocol, profile_id=2)) == {"status": "Accepted"}
    assert await ask(station, *clear(protocol, profile_id=2)) == {"status": "Unknown"}
    assert await ask(station, *clear(protocol, evse=2, purpose=TX_DEFAULT, stack_level=3)) == {"status": "Unknown"}
    assert await ask(station, *clear(protocol, purpose=TX_DEFAULT, stack_level=1)) == {"status": "Accepted"}
    assert sorted(profile.id for profile in station.profiles.profiles) == [1, 4]
    assert await ask(station, *clear(protocol)) == {"status": "Accepted"}  # no criteria: all
    assert station.profiles.profiles == [] and await ask(station, *clear(protocol)) == {"status": "Unknown"}


# --- the limit applied --------------------------------------------------------------------------------------------


async def charging_power(station, connector: int) -> float:
    """The power of the next meter reading of a charging connector, W."""
    since = len(station.rpc.sent)
    if station.config.protocol == V16:
        await until(lambda: sent(station, "MeterValues", since))
        values = sent(station, "MeterValues", since)[0]["meterValue"][0]["sampledValue"]
        return next(float(v["value"]) for v in values if v["measurand"] == "Power.Active.Import")
    await until(lambda: sent(station, "TransactionEvent", since))
    values = sent(station, "TransactionEvent", since)[0]["meterValue"][0]["sampledValue"]
    return next(float(v["value"]) for v in values if v["measurand"] == "Power.Active.Import")


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_the_cars_power_is_capped_by_the_profile_in_force(station_make, protocol):
    station = station_make(protocol)
    transaction = await session_start(station, 1)
    vehicle = station.connectors[1].vehicle
    uncapped = vehicle.power_w(station.config.max_power_w)
    assert await charging_power(station, 1) == pytest.approx(uncapped, rel=0.002)

    tx_profile = profile_request(protocol, 1, profile_id=7, purpose="TxProfile", periods=((0, 6),))
    assert await ask(station, *tx_profile) == {"status": "Accepted"}
    capped = vehicle.power_w(6 * 230 * vehicle.phases)  # 6 A on each of the car's phases
    assert capped < uncapped
    assert await charging_power(station, 1) == pytest.approx(capped, rel=0.002)
    assert station.power_limit_w(1) == 6 * 230 * vehicle.phases

    await ask(station, *clear(protocol, profile_id=7))
    await ask(station, *profile_request(protocol, 0, profile_id=8, unit="W", periods=((0, 3000.0),)))
    assert await charging_power(station, 1) == pytest.approx(vehicle.power_w(3000), rel=0.002)
    assert transaction is station.connectors[1].transaction


async def test_a_201_evse_reports_the_capped_power(station_make):
    station = station_make(V201)
    await session_start(station, 2)
    await ask(station, *profile_request(V201, 2, profile_id=1, unit="W", periods=((0, 2500),)))
    request = {"getVariableData": [{"component": {"name": "EVSE", "evse": {"id": 2}}, "variable": {"name": "Power"}}]}
    result = (await ask(station, "GetVariables", request))["getVariableResult"][0]
    assert float(result["attributeValue"]) <= 2500
    entries = {"component": {"name": "SmartChargingCtrlr"}}
    entries["variable"] = {"name": "Entries", "instance": "ChargingProfiles"}
    count = (await ask(station, "GetVariables", {"getVariableData": [entries]}))["getVariableResult"][0]
    assert count["attributeValue"] == "1"


@pytest.mark.parametrize("protocol", [V16, V201])
async def test_a_remote_start_with_a_profile_charges_under_it(station_make, protocol):
    station = station_make(protocol)
    profile = profile_request(protocol, 1, profile_id=11, purpose="TxProfile", periods=((0, 10, 1),))[1]
    profile = profile["csChargingProfiles" if protocol == V16 else "chargingProfile"]
    if protocol == V16:
        request = ("RemoteStartTransaction", {"idTag": "SIM-TAG-9", "connectorId": 1, "chargingProfile": profile})
    else:
        token = {"idToken": "SIM-TAG-9", "type": "ISO14443"}
        request = ("RequestStartTransaction", {"idToken": token, "remoteStartId": 2, "evseId": 1})
        request[1]["chargingProfile"] = profile
    assert await ask(station, *request) == {"status": "Accepted"}
    await until(lambda: station.connectors[1].transaction is not None and station.profiles.profiles)

    (installed,) = station.profiles.profiles
    assert (installed.id, installed.transaction_id) == (11, station.connectors[1].transaction.id)
    assert station.power_limit_w(1) == 10 * 230  # on one phase
    assert await composite(station, 1) == [(0, 10, 1)]

    default = profile_request(protocol, 1, purpose=TX_DEFAULT)[1]
    default = default["csChargingProfiles" if protocol == V16 else "chargingProfile"]
    if protocol == V16:
        refused = ("RemoteStartTransaction", {"idTag": "SIM-TAG-8", "connectorId": 2, "chargingProfile": default})
    else:
        token = {"idToken": "SIM-TAG-8", "type": "ISO14443"}
        refused = ("RequestStartTransaction", {"idToken": token, "remoteStartId": 3, "chargingProfile": default})
    assert await ask(station, *refused) == {"status": "Rejected"}  # a remote start takes a TxProfile only


# --- the composite schedule, computed -----------------------------------------------------------------------------

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def limits(periods) -> list[tuple[int, float]]:
    return [(offset, round(limit.watts)) for offset, limit in periods]


async def test_absolute_and_recurring_schedules_start_at_their_time():
    profiles = ChargingProfiles()
    profiles.install(
        Profile(1, 0, 0, STATION_MAX, "Absolute", "W", [Period(0, 10_000)], start_schedule=T0 + timedelta(minutes=10))
    )
    # every day from 06:00: 4 kW for two hours, then 7 kW until 12:30
    night = [Period(0, 4_000), Period(7200, 7_000)]
    daily = Profile(2, 1, 1, TX_DEFAULT, "Recurring", "W", night, recurrency="Daily", duration_s=6 * 3600 + 1800)
    daily.start_schedule = datetime(2025, 1, 1, 6, 0, tzinfo=UTC)
    profiles.install(daily)

    schedule = profiles.composite(1, T0, 3600, tx_start=T0, max_w=22_000)
    # 12:00 the 7 kW of today's repetition, 12:10 also the station maximum, 12:30 the repetition ends
    assert limits(schedule) == [(0, 7000), (1800, 10000)]
    tomorrow = profiles.composite(1, T0 + timedelta(hours=17, minutes=30), 3 * 3600, tx_start=T0, max_w=22_000)
    assert limits(tomorrow) == [(0, 10000), (1800, 4000), (1800 + 7200, 7000)]  # 05:30: 06:00 starts again


async def test_amperes_become_watts_with_the_phases_used():
    profiles = ChargingProfiles()
    profiles.install(Profile(1, 1, 0, TX_DEFAULT, "Relative", "A", [Period(0, 16), Period(60, 16, 1)]))
    at = T0 + timedelta(seconds=30)
    assert profiles.limit(1, at, tx_start=T0, phases=3) == Limit(16 * 230 * 3, 3)
    assert profiles.limit(1, at, tx_start=T0, phases=1) == Limit(16 * 230, 1)  # a car on one phase
    assert profiles.limit(1, T0 + timedelta(seconds=90), tx_start=T0, phases=3) == Limit(16 * 230, 1)
    assert profiles.limit(1, at, tx_start=T0, phases=3, max_w=7_400) == Limit(7_400, 3)


async def test_a_limit_is_a_multiple_of_a_tenth_that_the_16_schema_takes():
    for value in [x / 37 for x in range(1, 4000)]:
        number = tenths(value)
        assert value - 1 < number <= round(value, 1)
        payload = {"status": "Accepted", "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": []}}
        payload["chargingSchedule"]["chargingSchedulePeriod"].append({"startPeriod": 0, "limit": number})
        assert schema_error(V16, MessageType.CallResult, "GetCompositeSchedule", payload) is None, value
