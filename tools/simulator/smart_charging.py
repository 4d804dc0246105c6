"""Charging profiles as a station keeps them (OCPP smart charging), the limit they put on a connector now and the
composite schedule of the coming seconds.

Per connector (EVSE) and purpose the valid profile of the highest stack level whose schedule covers the moment
wins; a transaction's TxProfile replaces the TxDefaultProfile while it runs, a TxDefaultProfile set on the connector
replaces one set for the whole station (connector 0), and the station maximum caps them all: the limit is the
minimum of the station maximum, the transaction's limit and what the hardware offers. Absolute schedules start at
their startSchedule, relative ones when the transaction started (or now, when none runs), recurring ones at the
last daily or weekly repetition of their startSchedule. A limit in amperes is per phase: it becomes watts with
the nominal voltage and the number of phases used (the schedule period's, at most the car's).
"""

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from tools.simulator.vehicle import NOMINAL_VOLTAGE_V

STATION_MAX = "ChargingStationMaxProfile"  # 1.6 ChargePointMaxProfile
TX_DEFAULT = "TxDefaultProfile"
TX = "TxProfile"
PHASES = 3  # the station's supply: a limit without numberPhases applies to three phases
RECURRENCE = {"Daily": timedelta(days=1), "Weekly": timedelta(days=7)}
MAX_STACK_LEVEL = 8  # 1.6 ChargeProfileMaxStackLevel, 2.0.1 SmartChargingCtrlr.ProfileStackLevel
MAX_PERIODS = 24  # 1.6 ChargingScheduleMaxPeriods, 2.0.1 SmartChargingCtrlr.PeriodsPerSchedule
MAX_PROFILES = 10  # 1.6 MaxChargingProfilesInstalled, 2.0.1 SmartChargingCtrlr.Entries (maxLimit)


@dataclass(frozen=True)
class Period:
    start_s: int
    limit: float
    phases: int | None = None


@dataclass(frozen=True)
class Limit:
    """A limit in force: watts for the phases it applies to."""

    watts: float
    phases: int = PHASES


@dataclass
class Profile:
    id: int
    evse: int  # 0: the whole station
    stack_level: int
    purpose: str  # STATION_MAX, TX_DEFAULT or TX
    kind: str  # Absolute, Relative or Recurring
    unit: str  # A or W
    periods: list[Period]
    start_schedule: datetime | None = None
    duration_s: int | None = None
    recurrency: str | None = None
    valid_from: datetime | None = None
    valid_to: datetime | None = None
    transaction_id: int | str | None = None  # a TxProfile's transaction
    installed_at: datetime | None = None  # an Absolute schedule without startSchedule starts then

    def __post_init__(self):
        self.periods = sorted(self.periods, key=lambda period: period.start_s)

    def _start(self, at: datetime, tx_start: datetime) -> datetime:
        """When the schedule in force at `at` began."""
        if self.kind == "Relative":
            return tx_start
        start = self.start_schedule or self.installed_at or tx_start
        step = RECURRENCE.get(self.recurrency or "Daily") if self.kind == "Recurring" else None
        if step is not None and at > start:
            start += step * math.floor((at - start) / step)
        return start

    def period_at(self, at: datetime, tx_start: datetime) -> Period | None:
        """The period in force at `at`; None when the profile is not valid then or its schedule does not cover it."""
        if (self.valid_from and at < self.valid_from) or (self.valid_to and at >= self.valid_to):
            return None
        offset = (at - self._start(at, tx_start)).total_seconds()
        if offset < 0 or (self.duration_s is not None and offset >= self.duration_s):
            return None
        current = None
        for period in self.periods:
            if period.start_s > offset:
                break
            current = period
        return current

    def changes(self, begin: datetime, end: datetime, tx_start: datetime) -> set[datetime]:
        """The moments in [begin, end) at which this profile's limit may change."""
        moments = {self.valid_from, self.valid_to}
        starts = [self._start(begin, tx_start)]
        step = RECURRENCE.get(self.recurrency or "Daily") if self.kind == "Recurring" else None
        while step is not None and starts[-1] + step < end:
            starts.append(starts[-1] + step)
        for start in starts:
            moments.update(start + timedelta(seconds=period.start_s) for period in self.periods)
            if self.duration_s is not None:
                moments.add(start + timedelta(seconds=self.duration_s))
        return {moment for moment in moments if moment is not None and begin <= moment < end}


def limit_of(period: Period, unit: str, phases: int = PHASES) -> Limit:
    """A period's limit in watts for a consumer on `phases` phases."""
    used = min(phases, period.phases or PHASES)
    if unit == "W":
        return Limit(float(period.limit), used)
    return Limit(period.limit * NOMINAL_VOLTAGE_V * used, used)


@dataclass
class ChargingProfiles:
    """The profiles a station holds, per EVSE."""

    profiles: list[Profile] = field(default_factory=list)

    def install(self, profile: Profile) -> None:
        """Add a profile; it replaces one with its id, and one of the same EVSE, purpose and stack level."""
        self.profiles = [
            kept
            for kept in self.profiles
            if kept.id != profile.id
            and (kept.evse, kept.purpose, kept.stack_level) != (profile.evse, profile.purpose, profile.stack_level)
        ]
        self.profiles.append(profile)

    def replaces(self, profile: Profile) -> bool:
        return any(
            kept.id == profile.id
            or (kept.evse, kept.purpose, kept.stack_level) == (profile.evse, profile.purpose, profile.stack_level)
            for kept in self.profiles
        )

    def clear(self, *, profile_id=None, evse=None, purpose=None, stack_level=None) -> int:
        """Remove the profile with `profile_id`, or those matching every criterion given (none: all): how many."""

        def matches(profile: Profile) -> bool:
            if profile_id is not None:
                return profile.id == profile_id
            return (
                (evse is None or profile.evse == evse)
                and (purpose is None or profile.purpose == purpose)
                and (stack_level is None or profile.stack_level == stack_level)
            )

        kept = [profile for profile in self.profiles if not matches(profile)]
        removed = len(self.profiles) - len(kept)
        self.profiles = kept
        return removed

    def transaction_ended(self, evse: int) -> None:
        """A TxProfile lives as long as its transaction."""
        self.profiles = [p for p in self.profiles if not (p.purpose == TX and p.evse == evse)]

    def _winner(self, candidates, at: datetime, tx_start: datetime) -> tuple[Profile, Period] | None:
        best = None
        for profile in candidates:
            period = profile.period_at(at, tx_start)
            if period is not None and (best is None or profile.stack_level > best[0].stack_level):
                best = (profile, period)
        return best

    def in_force(self, evse: int, at: datetime, *, tx_start: datetime, transaction_id=None) -> list[tuple]:
        """(profile, period) of each purpose that limits `evse` at `at`: the station maximum, and the transaction's
        profile or else the default one (the EVSE's own before the whole station's). EVSE 0: the station maximum."""
        found = [self._winner([p for p in self.profiles if p.purpose == STATION_MAX], at, tx_start)]
        if evse:
            tx = None
            if transaction_id is not None:
                candidates = [p for p in self.profiles if p.purpose == TX and p.evse == evse]
                tx = self._winner([p for p in candidates if p.transaction_id in (None, transaction_id)], at, tx_start)
            if tx is None:
                defaults = [p for p in self.profiles if p.purpose == TX_DEFAULT]
                tx = self._winner([p for p in defaults if p.evse == evse], at, tx_start) or self._winner(
                    [p for p in defaults if p.evse == 0], at, tx_start
                )
            found.append(tx)
        return [item for item in found if item is not None]

    def limit(self, evse: int, at: datetime, *, tx_start: datetime, transaction_id=None, phases=PHASES, max_w=None):
        """The tightest limit on `evse` at `at` for a consumer on `phases` phases (`max_w`: the hardware's)."""
        limits = [
            limit_of(period, profile.unit, phases)
            for profile, period in self.in_force(evse, at, tx_start=tx_start, transaction_id=transaction_id)
        ]
        if max_w is not None:
            limits.append(Limit(float(max_w), phases))
        return min(limits, key=lambda limit: limit.watts, default=None)

    def composite(
        self, evse: int, begin: datetime, duration_s: int, *, tx_start: datetime, transaction_id=None, max_w: float
    ) -> list[tuple[int, Limit]]:
        """The limits on `evse` over [begin, begin + duration_s): (seconds from begin, limit) at each change."""
        end = begin + timedelta(seconds=duration_s)
        moments = {begin}
        for profile in self.profiles:
            moments |= profile.changes(begin, end, tx_start)
        periods: list[tuple[int, Limit]] = []
        for moment in sorted(moments):
            limit = self.limit(evse, moment, tx_start=tx_start, transaction_id=transaction_id, max_w=max_w)
            offset = int((moment - begin).total_seconds())
            if periods and periods[-1][1] == limit:
                continue
            if periods and periods[-1][0] == offset:
                periods[-1] = (offset, limit)
            else:
                periods.append((offset, limit))
        return periods


def in_unit(limit: Limit, unit: str) -> float:
    """A limit in W, or in A per phase."""
    return limit.watts if unit == "W" else limit.watts / (NOMINAL_VOLTAGE_V * limit.phases)


def tenths(value: float) -> int | float:
    """A number with at most one decimal that JSON-schema validators take as a multiple of 0.1 (1.6 asks for that
    and checks it in floating point, where 0.3 / 0.1 is not whole): rounded, or the next tenth below."""
    for step in range(10):
        number = round(round(value, 1) - step / 10, 1)
        if number == int(number):
            return int(number)
        if (number / 0.1) == int(number / 0.1):
            return number
    return math.floor(value)
