"""A virtual charging station: connects, boots, reports status, runs charging sessions on each connector, breaks
now and then, loses its connection and comes back, and keeps transaction messages while offline. It answers the
server's remote operations (operations.py) with their effects: remote starts and stops, availability, resets,
reservations, a local authorization list, charging profiles that cap the car's power, firmware updates and
diagnostics uploads.

Everything it reports is physically consistent: meter values integrate the power a simulated car draws over real
time, the energy register never loses a watt-hour across reconnects, and queued messages keep their timestamps.
"""

import asyncio
import base64
import contextlib
import logging
import random
import ssl
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus

from tools.simulator.dialects import DIALECTS, FAULT_KINDS, Sample, Transaction, iso
from tools.simulator.operations import LOCAL_LIST_MAX, LOCAL_LIST_PER_MESSAGE, OPERATIONS
from tools.simulator.rpc import CallError, ConnectionLostError, Rpc
from tools.simulator.smart_charging import MAX_PERIODS, MAX_PROFILES, MAX_STACK_LEVEL, TX, ChargingProfiles, Profile
from tools.simulator.vehicle import Vehicle, jittered, line_voltage_v, phase_current_a

logger = logging.getLogger("simulator")

RECONNECT_FIRST_S = 1.0
RECONNECT_MAX_S = 60.0
REBOOT_S = 1.0  # how long a reset keeps the station off the network
STOP_WAIT_S = 30.0  # how long a reset or an unlock waits for the sessions it ends
SETTLE_S = 10.0  # how long what a server's CALL asked for waits for the station to be online
ACTIVITY_LINES = 500  # what the station remembers of its activity, for the diagnostics file
NO_SHOW_RATE = 0.5  # chance that the driver of a reservation has not come yet when the next car would arrive


@dataclass
class StationConfig:
    url: str  # the station's own endpoint, ending in its identity
    identity: str
    protocol: str = "ocpp1.6"
    password: str | None = None
    id_tags: tuple[str, ...] = ("SIM-TAG-1",)
    connectors: int = 2
    max_power_w: float = 22_000
    session_seconds: float = 1800
    idle_seconds: float = 600
    meter_interval: float = 60
    heartbeat_interval: float | None = None  # None: the interval the server gives at boot
    fault_rate: float = 0.02  # chance that a connector breaks instead of taking the next car
    fault_seconds: float = 30
    drop_rate: float = 0.0  # chance that a session loses the connection for a while halfway through
    offline_seconds: float = 10
    sessions: int | None = None  # stop after this many sessions; None: run until stopped
    meter_start_wh: int | None = None  # None: a random lifetime register
    ssl_context: ssl.SSLContext | None = None
    seed: int | None = None
    vendor: str = "OpenCharge Sim"
    model: str = "SIM-AC22"
    firmware: str = "1.0.0"


@dataclass
class StationReport:
    identity: str
    protocol: str
    connects: int = 0
    boots: int = 0
    sessions_started: int = 0
    sessions_completed: int = 0
    energy_wh: int = 0
    faults: int = 0
    drops: int = 0
    replayed: int = 0
    call_errors: int = 0
    refused: int = 0  # sessions not started because the server refused the ID token
    remote_starts: int = 0  # sessions the server started
    resets: int = 0  # reboots the server asked for
    last_problem: str = ""
    firmware_updates: int = 0  # firmware installed (each with a reboot)
    uploads: int = 0  # diagnostics or log files uploaded
    transactions: list = field(default_factory=list)  # (transaction id, meter start, meter stop) per session


class TagPool:
    """The drivers' RFID cards: a card is in one car at a time, so stations sharing a pool never collide."""

    def __init__(self, tags: tuple[str, ...], rng: random.Random):
        self.tags = list(tags)
        self.in_use: set[str] = set()
        self.rng = rng

    def take(self) -> str:
        free = [tag for tag in self.tags if tag not in self.in_use] or self.tags
        tag = self.rng.choice(free)
        self.in_use.add(tag)
        return tag

    def give_back(self, tag: str) -> None:
        self.in_use.discard(tag)


@dataclass
class Reservation:
    """A connector kept for one card (or its group) until `expires_at` (1.6 and 2.0.1 ReserveNow)."""

    id: int
    connector: int
    id_tag: str
    expires_at: datetime
    group: str | None = None  # 1.6 parentIdTag, 2.0.1 groupIdToken: cards of that group may use it too
    timer: asyncio.Task | None = None  # ends it at expiry


@dataclass
class Connector:
    """One connector (one EVSE in 2.0.1) as the station sees it: who occupies it and what runs on it."""

    number: int
    occupant: str | None = None  # "car" (from arrival to departure), "fault", "reset"; None: free
    transaction: Transaction | None = None  # the one running, once started
    vehicle: Vehicle | None = None  # the car charging, once started
    fault: tuple | None = None
    metered_at: float = 0.0  # monotonic time up to which the register holds the car's energy
    stop_reason: str | None = None  # set to end the session now (remote stop, reset, unlock)
    operative: bool = True  # False: Unavailable, takes no cars (ChangeAvailability)
    scheduled_operative: bool | None = None  # applied when the running session ends
    reservation: Reservation | None = None  # kept for one card until it expires, is cancelled or is used
    start_profile: Profile | None = None  # the TxProfile of a remote start, for the transaction it starts
    wake: asyncio.Event = field(default_factory=asyncio.Event)  # interrupts the charge to end it


class VirtualStation:
    def __init__(self, config: StationConfig, tags: TagPool | None = None):
        self.config = config
        self.rng = random.Random(config.seed if config.seed is not None else config.identity)
        self.dialect = DIALECTS[config.protocol](
            vendor=config.vendor,
            model=config.model,
            serial=f"SN-{config.identity}",
            firmware=config.firmware,
        )
        self.report = StationReport(identity=config.identity, protocol=config.protocol)
        self.rpc: Rpc | None = None
        self.online = asyncio.Event()
        self.accepted = False
        self.queue: deque[tuple[str, dict]] = deque()
        self.flushing = asyncio.Lock()
        self.status: dict[int, str] = dict.fromkeys(self.dialect.stations_connectors(config.connectors), "Available")
        self.connectors = {number: Connector(number) for number in range(1, config.connectors + 1)}
        first_register = config.meter_start_wh
        self.register_wh = {
            connector: float(first_register if first_register is not None else self.rng.randint(100_000, 9_000_000))
            for connector in range(1, config.connectors + 1)
        }
        self.tags = tags or TagPool(config.id_tags, self.rng)
        self.offline_until = 0.0
        self.stopping = False
        self.closing: asyncio.Task | None = None
        self.heartbeat_s = config.heartbeat_interval or 300
        self.heartbeat_changed = asyncio.Event()
        self.meter_interval = config.meter_interval
        self.authorize_remote = False  # 1.6 AuthorizeRemoteTxRequests, 2.0.1 AuthCtrlr.AuthorizeRemoteStart
        self.boot_reason = "PowerUp"
        self.resetting = False  # a reset is ending the sessions and about to reboot
        self.scheduled_resets: set[int] = set()  # 2.0.1 OnIdle resets waiting for sessions to end: 0 the station
        self.tasks: set[asyncio.Task] = set()  # what remote operations started (sessions, resets)
        self.background_tasks: set[asyncio.Task] = set()  # timers and updates: cancelled when the station stops
        self.activity: deque[tuple[datetime, str]] = deque(maxlen=ACTIVITY_LINES)  # for the diagnostics file
        self.installing = False  # a firmware update waits for the sessions to end, installs and reboots
        self.firmware_status, self.firmware_request_id = "Idle", None
        self.firmware_task: asyncio.Task | None = None
        self.log_status, self.log_request_id = "Idle", None
        self.log_task: asyncio.Task | None = None
        self.local_list: dict[str, dict] = {}  # card → its idTagInfo / idTokenInfo (SendLocalList)
        self.local_list_version = 0
        self.local_list_enabled = True  # 1.6 LocalAuthListEnabled, 2.0.1 LocalAuthListCtrlr.Enabled
        self.reservations_enabled = True  # 1.6 ReservationEnabled, 2.0.1 ReservationCtrlr.Enabled
        self.profiles = ChargingProfiles()
        self.operations = OPERATIONS[config.protocol](self)

    def log(self, message: str, *args) -> None:
        """Log what the station does; it also remembers it, for the diagnostics it uploads."""
        self.activity.append((datetime.now(UTC), message % args if args else message))
        logger.info("%s " + message, self.config.identity, *args)

    def background(self, coroutine) -> asyncio.Task:
        """Run something that outlives the CALL that started it (a timer, an update, an upload), until it ends or
        the station stops."""
        task = asyncio.create_task(coroutine)
        self.background_tasks.add(task)
        task.add_done_callback(self.background_tasks.discard)
        return task

    # --- running ---------------------------------------------------------------------------------------------

    async def run(self) -> StationReport:
        """Run until the configured number of sessions is done, or until cancelled; always leaves cleanly."""
        link = asyncio.create_task(self._link())
        connectors = [asyncio.create_task(self._connector(number)) for number in range(1, self.config.connectors + 1)]
        try:
            await asyncio.gather(*connectors)
            while self.tasks:  # sessions the server started are part of the quota too
                await asyncio.gather(*self.tasks, return_exceptions=True)
            await self._drain()
        finally:
            self.stopping = True
            spawned = [*self.tasks, *self.background_tasks]
            for task in [*connectors, *spawned]:
                task.cancel()
            link.cancel()
            await asyncio.gather(*connectors, *spawned, link, return_exceptions=True)
            if self.rpc is not None:
                await self.rpc.close()
        return self.report

    async def _drain(self, timeout: float = 30) -> None:
        """Before leaving, deliver what is queued, as a charger does before it is switched off."""
        deadline = time.monotonic() + timeout
        while self.queue and time.monotonic() < deadline:
            await asyncio.sleep(0.1)

    async def _link(self) -> None:
        """Keep a connection: connect, boot until accepted, replay the queue, heartbeat; reconnect with backoff."""
        backoff = RECONNECT_FIRST_S
        while not self.stopping:
            pause = self.offline_until - time.monotonic()
            if pause > 0:
                await asyncio.sleep(pause)
            try:
                connection = await connect(
                    self.config.url,
                    subprotocols=[self.config.protocol],
                    additional_headers=self._auth_headers(),
                    ssl=self.config.ssl_context,
                    open_timeout=10,
                    proxy=None,
                    compression=None,
                    ping_interval=None,  # the server pings; chargers answer
                )
            except (OSError, TimeoutError, InvalidHandshake) as error:
                reason = f"HTTP {error.response.status_code}" if isinstance(error, InvalidStatus) else str(error)
                self.report.last_problem = f"connect: {reason or type(error).__name__}"
                self.log("cannot connect (%s), retrying in %.0f s", self.report.last_problem, backoff)
                await asyncio.sleep(jittered(backoff, self.rng))
                backoff = min(backoff * 2, RECONNECT_MAX_S)
                continue
            self.report.connects += 1
            self.rpc = Rpc(connection, self.operations.handle, prefix=f"{self.report.connects}-")
            self.log("connected (%s)", connection.subprotocol)
            heartbeat = None
            try:
                if not self.accepted:
                    await self._boot()
                await self._flush()
                for connector in self.status:
                    await self._call(*self.status_message(connector))
                self.online.set()
                await self._flush()  # what the connectors queued while the statuses went out
                backoff = RECONNECT_FIRST_S
                heartbeat = asyncio.create_task(self._heartbeat())
                await self.rpc.wait_closed()
            except ConnectionLostError:
                pass
            except CallError as error:  # the server refused the boot itself: try again later
                self.report.last_problem = str(error)
                self.log("%s", error)
                await self.rpc.close()
                await asyncio.sleep(jittered(backoff, self.rng))
                backoff = min(backoff * 2, RECONNECT_MAX_S)
            finally:
                self.online.clear()
                if heartbeat is not None:
                    heartbeat.cancel()
            if not self.stopping:
                self.log("connection lost, reconnecting")

    def _auth_headers(self) -> dict[str, str]:
        if self.config.password is None:
            return {}
        token = base64.b64encode(f"{self.config.identity}:{self.config.password}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    async def _boot(self) -> None:
        reason = self.boot_reason
        while True:
            answer = await self.rpc.call(*self.dialect.boot(reason))
            self.report.boots += 1
            interval = answer.get("interval") or 0
            if answer["status"] == "Accepted":
                self.accepted = True
                self.heartbeat_set(self.config.heartbeat_interval or interval or 300)
                firmware = self.dialect.firmware
                self.log("boot (%s) accepted, firmware %s, heartbeat every %s s", reason, firmware, self.heartbeat_s)
                return
            wait = max(interval, 1)
            self.log("boot %s, asking again in %s s", answer["status"], wait)
            await asyncio.sleep(wait)
            reason = "Unknown"

    def heartbeat_set(self, seconds: float) -> None:
        """A new heartbeat interval (the server's at boot, or configured): the period starts again."""
        self.heartbeat_s = seconds
        self.heartbeat_changed.set()

    async def _heartbeat(self) -> None:
        while True:
            self.heartbeat_changed.clear()
            try:
                await asyncio.wait_for(self.heartbeat_changed.wait(), self.heartbeat_s)
            except TimeoutError:
                await self.send("Heartbeat", {})

    async def _flush(self) -> None:
        """Deliver the messages queued while offline, oldest first, before anything new. One flush at a time, so
        no queued message is sent twice; a lost connection leaves the rest queued for the next one."""
        async with self.flushing:
            while self.queue:
                action, payload = self.queue[0]
                await self._call(action, payload)
                self.queue.popleft()
                self.report.replayed += 1

    async def _call(self, action: str, payload: dict) -> dict | None:
        try:
            return await self.rpc.call(action, payload)
        except CallError as error:
            self.report.call_errors += 1
            self.report.last_problem = str(error)
            self.log("%s", error)
            return None

    async def send(self, action: str, payload: dict) -> dict | None:
        """Send now if online, after anything queued. Transaction messages are queued when offline or when the
        answer got lost (and sent again later); anything else is dropped then, as chargers do."""
        queued = action in self.dialect.queued_actions
        if self.online.is_set():
            try:
                await self._flush()
                return await self._call(action, payload)
            except ConnectionLostError:
                if not queued:
                    return None
        if queued:
            self.dialect.mark_offline(action, payload)
            self.queue.append((action, payload))
        return None

    async def online_wait(self, timeout: float = SETTLE_S) -> bool:
        """Wait until the station is online (booted, connectors reported), at most `timeout`: whether it is."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.online.wait(), timeout)
        return self.online.is_set()

    def drop_connection(self) -> None:
        """The network goes away for `offline_seconds`: the station keeps charging and queues what it meters."""
        self.report.drops += 1
        self.offline_until = time.monotonic() + self.config.offline_seconds
        self.log("network lost for %.0f s", self.config.offline_seconds)
        if self.rpc is not None:
            self.online.clear()
            self.closing = asyncio.create_task(self.rpc.connection.close(1001, "network lost"))

    # --- a connector's life -------------------------------------------------------------------------------------

    def _session_quota_left(self) -> bool:
        return self.config.sessions is None or self.report.sessions_started < self.config.sessions

    def status_message(self, connector: int) -> tuple[str, dict]:
        """The StatusNotification of a connector as it is now (with its fault while faulted)."""
        state = self.connectors.get(connector)
        fault = state.fault if state is not None and self.status[connector] == "Faulted" else None
        return self.dialect.status(connector, self.status[connector], datetime.now(UTC), fault)

    async def status_set(self, connector: int, status: str) -> None:
        self.status[connector] = status
        await self.send(*self.status_message(connector))

    def _free_status(self, connector: int) -> str:
        """The status of a connector nothing occupies; an availability change that waited for it applies now."""
        state = self.connectors[connector]
        if state.scheduled_operative is not None:
            state.operative, state.scheduled_operative = state.scheduled_operative, None
        if not state.operative:
            return "Unavailable"
        return "Reserved" if state.reservation is not None else "Available"

    def connector_free(self, connector: int, tag: str | None = None) -> bool:
        """Whether a car may start on the connector now: nothing on it, operative, no reset or firmware install
        coming; a reserved one only for the card (`tag`) it is reserved for."""
        state = self.connectors.get(connector)
        return (
            state is not None
            and state.occupant is None
            and state.operative
            and self.status.get(connector) in ("Available", "Reserved")
            and not self.resetting
            and not self.installing
            and not self.stopping
            and not self.scheduled_resets & {0, connector}
            and (state.reservation is None or (tag is not None and self.reservation_allows(state.reservation, tag)))
        )

    def connector_for(self, tag: str) -> int:
        """Where a session for `tag` starts when the server names no connector: the one reserved for that card,
        else the first free one; 0 when there is none."""
        free = [number for number in self.connectors if self.connector_free(number, tag)]
        reserved = [number for number in free if self.connectors[number].reservation is not None]
        return (reserved or free or [0])[0]

    def _spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def _connector(self, connector: int) -> None:
        await self.online.wait()
        state = self.connectors[connector]
        while self._session_quota_left():
            await asyncio.sleep(jittered(self.config.idle_seconds, self.rng))
            reservation = state.reservation
            if reservation is not None:  # the next car is the one it is kept for, when its driver shows up
                if not self.connector_free(connector, reservation.id_tag) or self.rng.random() < NO_SHOW_RATE:
                    continue
            elif not self.connector_free(connector):
                continue  # a session the server started, a fault, a reset, Unavailable: the next car comes later
            elif self.rng.random() < self.config.fault_rate:
                await self._fault(connector)
                continue
            await self.online.wait()  # a driver needs the backend to authorize the card
            if not self._session_quota_left():
                break
            tag = reservation.id_tag if reservation is not None and state.reservation is reservation else None
            if not self.connector_free(connector, tag):
                continue
            self.report.sessions_started += 1
            if tag is None:
                tag, taken = self.tags.take(), True
            else:
                taken = self._card_take(tag)
            try:
                if not await self._session(connector, tag):
                    self.report.sessions_started -= 1  # no session took place: the quota is untouched
            finally:
                if taken:
                    self.tags.give_back(tag)

    def _card_take(self, tag: str) -> bool:
        """A driver's card named by the server (remote start, reservation) is in this car now, if it is one of
        the pool's: whether it was taken (to be given back)."""
        taken = tag in self.tags.tags and tag not in self.tags.in_use
        if taken:
            self.tags.in_use.add(tag)
        return taken

    async def _fault(self, connector: int) -> None:
        state = self.connectors[connector]
        fault = self.rng.choice(FAULT_KINDS)
        state.occupant, state.fault = "fault", fault
        try:
            self.report.faults += 1
            self.log("connector %s faulted: %s", connector, fault[0])
            self.status[connector] = "Faulted"
            for message in self.dialect.fault_messages(connector, fault, datetime.now(UTC), cleared=False):
                await self.send(*message)
            await asyncio.sleep(jittered(self.config.fault_seconds, self.rng))
            self.status[connector] = status = self._free_status(connector)
            state.fault = None
            cleared = self.dialect.fault_messages(connector, fault, datetime.now(UTC), cleared=True, status=status)
            for message in cleared:
                await self.send(*message)
            self.log("connector %s recovered", connector)
        finally:
            state.occupant, state.fault = None, None

    # --- what the server asks for -------------------------------------------------------------------------------

    def remote_start(
        self, connector: int, tag: str, *, token_type: str = "ISO14443", remote_start_id=None, profile=None
    ):
        """Take the free `connector` for a session the server starts (so no arriving car takes it meanwhile); the
        coroutine returned starts it, to be run once the answer has gone out. `profile`: a TxProfile for it."""
        self.connectors[connector].occupant = "car"
        self.connectors[connector].start_profile = profile

        async def start() -> None:
            self._spawn(self._remote_session(connector, tag, token_type, remote_start_id))

        return start()

    async def _remote_session(self, connector: int, tag: str, token_type: str, remote_start_id) -> None:
        self.report.sessions_started += 1
        self.report.remote_starts += 1
        borrowed = self._card_take(tag)
        try:
            started = await self._session(
                connector, tag, token_type=token_type, remote_start_id=remote_start_id, remote=True
            )
            if not started:
                self.report.sessions_started -= 1
        finally:
            if borrowed:
                self.tags.give_back(tag)

    def transaction_find(self, transaction_id) -> Connector | None:
        """The connector where the transaction with this id runs."""
        for state in self.connectors.values():
            if state.transaction is not None and state.transaction.id == transaction_id:
                return state
        return None

    def session_stop(self, connector: int, reason: str, transaction: Transaction | None = None) -> None:
        """End the session on `connector` now with `reason` (if it is still `transaction`, when one is given)."""
        state = self.connectors[connector]
        if state.occupant == "car" and (transaction is None or state.transaction is transaction):
            state.stop_reason = reason
            state.wake.set()

    async def sessions_over(self, connectors, timeout: float = STOP_WAIT_S) -> bool:
        """Wait until no car occupies any of `connectors` (its stop sent, the connector free again)."""
        deadline = time.monotonic() + timeout
        while any(self.connectors[number].occupant == "car" for number in connectors):
            if time.monotonic() > deadline:
                return False
            await asyncio.sleep(0.02)
        return True

    def sessions_running(self, connectors=None) -> list[int]:
        """The connectors (of `connectors`, default all) a car occupies."""
        numbers = self.connectors if connectors is None else connectors
        return [number for number in numbers if self.connectors[number].occupant == "car"]

    def availability_change(self, connectors, operative: bool) -> tuple[bool, list[int]]:
        """Make connectors (in)operative. A running session is never cut: its connector changes when it ends.
        Whether a change had to wait for a session, and the connectors whose status changes now."""
        scheduled, now = False, []
        for number in connectors:
            state = self.connectors[number]
            if state.occupant == "car" and not operative:
                state.scheduled_operative = False
                scheduled = True
                continue
            state.scheduled_operative = None
            if state.operative != operative:
                state.operative = operative
                now.append(number)
        return scheduled, now

    async def availability_report(self, connectors) -> None:
        """Report the status that an availability change gave to the connectors that are free."""
        for number in connectors:
            if self.connectors[number].occupant is None:
                await self.status_set(number, self._free_status(number))

    async def reboot(self, stop_reason: str | None, boot_reason: str = "RemoteReset") -> None:
        """A reset: end the sessions (with `stop_reason`), leave the network for REBOOT_S, then connect and boot
        again (BootNotification with reason `boot_reason` in 2.0.1) and report every connector."""
        self.resetting = True
        try:
            running = self.sessions_running()
            for number in running:
                self.session_stop(number, stop_reason or "Reboot")
            await self.sessions_over(running)
            self.report.resets += 1
            self.log("rebooting")
            self.accepted = False
            self.boot_reason = boot_reason
            self.offline_until = time.monotonic() + REBOOT_S
            self.online.clear()
            if self.rpc is not None:
                await self.rpc.close()
        finally:
            self.resetting = False
            self.scheduled_resets.discard(0)

    async def evse_reset(self, connector: int, stop_reason: str | None) -> None:
        """A reset of one EVSE (2.0.1): its session ends, it is Unavailable for REBOOT_S, then free again."""
        state = self.connectors[connector]
        self.session_stop(connector, stop_reason or "Reboot")
        await self.sessions_over([connector])
        self.scheduled_resets.discard(connector)
        claimed = state.occupant is None
        if claimed:
            state.occupant = "reset"
        try:
            self.log("EVSE %s resetting", connector)
            await self.status_set(connector, "Unavailable")
            await asyncio.sleep(REBOOT_S)
        finally:
            if claimed:
                state.occupant = None
        if state.occupant is None:
            await self.status_set(connector, self._free_status(connector))

    def _resets_due(self) -> None:
        """Start the resets that waited for sessions to end (2.0.1 Reset OnIdle)."""
        if self.stopping:
            return
        if 0 in self.scheduled_resets and not self.sessions_running():
            self.scheduled_resets.discard(0)
            self._spawn(self.reboot(None))
        for number in sorted(self.scheduled_resets - {0}):
            if self.connectors[number].occupant is None:
                self.scheduled_resets.discard(number)
                self._spawn(self.evse_reset(number, None))

    # --- reservations -------------------------------------------------------------------------------------------

    def reservation_find(self, reservation_id: int) -> Reservation | None:
        for state in self.connectors.values():
            if state.reservation is not None and state.reservation.id == reservation_id:
                return state.reservation
        return None

    def reservation_allows(self, reservation: Reservation, tag: str) -> bool:
        """Whether the card may use the reservation: its own card, or one of its group (per the local list)."""
        if tag == reservation.id_tag:
            return True
        if reservation.group is None:
            return False
        entry = self.local_list.get(tag) or {}
        group = entry.get("parentIdTag") or (entry.get("groupIdToken") or {}).get("idToken")
        return reservation.group in (tag, group)

    def reservation_answer(self, connector: int) -> str:
        """What a reservation of the connector is answered: Accepted when it is free, else why not."""
        state = self.connectors[connector]
        if state.fault is not None or self.status[connector] == "Faulted":
            return "Faulted"
        if not state.operative or state.occupant == "reset" or self.resetting or self.installing:
            return "Unavailable"
        if state.occupant is not None or state.reservation is not None:
            return "Occupied"
        return "Accepted"

    def reserve(
        self, reservation_id: int, connector: int | None, tag: str, expires_at: datetime, group: str | None = None
    ) -> tuple[str, object]:
        """Reserve `connector` (None: any) for `tag` until `expires_at`: the answer, and the coroutine reporting
        the connectors whose status changes. A reservation with the same id is replaced."""
        if not self.reservations_enabled or expires_at <= datetime.now(UTC):
            return "Rejected", None
        changed = []
        previous = self.reservation_find(reservation_id)
        if previous is not None:
            self.reservation_drop(previous)
            changed.append(previous.connector)
        if connector is None:
            answers = {number: self.reservation_answer(number) for number in self.connectors}
            accepted = [number for number, answer in answers.items() if answer == "Accepted"]
            if accepted:
                connector, status = accepted[0], "Accepted"
            elif "Occupied" in answers.values():
                status = "Occupied"
            else:
                status = "Faulted" if set(answers.values()) == {"Faulted"} else "Unavailable"
        else:
            status = self.reservation_answer(connector)
        if status == "Accepted":
            reservation = Reservation(reservation_id, connector, tag, expires_at, group)
            self.connectors[connector].reservation = reservation
            reservation.timer = self.background(self._reservation_expiry(reservation))
            until = iso(expires_at)
            self.log("connector %s reserved for %s until %s (reservation %s)", connector, tag, until, reservation_id)
            changed.append(connector)
        return status, (self.availability_report(sorted(set(changed))) if changed else None)

    def reservation_drop(self, reservation: Reservation) -> bool:
        """End a reservation (cancelled, used or expired); its connector's status is the caller's to report."""
        state = self.connectors[reservation.connector]
        if state.reservation is not reservation:
            return False
        state.reservation = None
        if reservation.timer is not None and reservation.timer is not asyncio.current_task():
            reservation.timer.cancel()
        return True

    async def _reservation_expiry(self, reservation: Reservation) -> None:
        await asyncio.sleep(max(0.0, (reservation.expires_at - datetime.now(UTC)).total_seconds()))
        if self.reservation_drop(reservation):
            self.log("reservation %s on connector %s expired", reservation.id, reservation.connector)
            for message in self.dialect.reservation_expired(reservation.id):
                await self.send(*message)
            await self.availability_report([reservation.connector])

    # --- local authorization list -------------------------------------------------------------------------------

    def local_list_update(self, version: int, full: bool, entries: list[tuple[str, dict | None]]) -> str:
        """SendLocalList: a full list replaces the list, a differential one (of a higher version) adds or updates
        the cards with info and removes those without. Accepted, VersionMismatch or Failed (too many cards)."""
        if len(entries) > LOCAL_LIST_PER_MESSAGE:
            return "Failed"
        if full:
            cards = {tag: info for tag, info in entries if info is not None}
        else:
            if version <= self.local_list_version:
                return "VersionMismatch"
            cards = dict(self.local_list)
            for tag, info in entries:
                if info is None:
                    cards.pop(tag, None)
                else:
                    cards[tag] = info
        if len(cards) > LOCAL_LIST_MAX:
            return "Failed"
        self.local_list, self.local_list_version = cards, version
        self.log("local list version %s: %s cards", version, len(cards))
        return "Accepted"

    def local_authorization(self, tag: str) -> str | None:
        """What the local list says of a card (its status; Expired after its expiry), None when it is not on it."""
        entry = self.local_list.get(tag) if self.local_list_enabled else None
        if entry is None:
            return None
        expiry = entry.get("expiryDate") or entry.get("cacheExpiryDateTime")
        with contextlib.suppress(ValueError, TypeError):
            moment = datetime.fromisoformat(expiry)
            if (moment if moment.tzinfo else moment.replace(tzinfo=UTC)) <= datetime.now(UTC):
                return "Expired"
        return entry.get("status")

    # --- charging profiles ----------------------------------------------------------------------------------------

    def charging_profile_set(self, profile: Profile) -> str:
        """SetChargingProfile: Accepted, or Rejected for an unknown EVSE, a station maximum on an EVSE, a TxProfile
        without its transaction running there, a schedule or stack level beyond what the station takes."""
        periods = profile.periods
        if (
            (profile.evse != 0 and profile.evse not in self.connectors)
            or not 0 <= profile.stack_level <= MAX_STACK_LEVEL
            or not periods
            or len(periods) > MAX_PERIODS
            or periods[0].start_s != 0
            or (profile.kind == "Recurring" and profile.start_schedule is None)
            or (profile.purpose not in ("TxDefaultProfile", TX) and profile.evse != 0)
            or (not self.profiles.replaces(profile) and len(self.profiles.profiles) >= MAX_PROFILES)
        ):
            return "Rejected"
        if profile.purpose == TX:
            transaction = self.connectors[profile.evse].transaction if profile.evse else None
            if transaction is None or profile.transaction_id not in (None, transaction.id):
                return "Rejected"  # a TxProfile needs its transaction running on that connector
            profile.transaction_id = transaction.id
        self._integrate_all()  # the energy so far at the limits so far
        self.profiles.install(profile)
        self.log("charging profile %s (%s) set on EVSE %s", profile.id, profile.purpose, profile.evse)
        return "Accepted"

    def charging_profiles_clear(self, **criteria) -> int:
        self._integrate_all()
        removed = self.profiles.clear(**criteria)
        if removed:
            self.log("%s charging profiles cleared", removed)
        return removed

    def power_limit_w(self, connector: int) -> float:
        """What the connector may deliver now to the car on it (three phases when none): its hardware and the
        charging profiles in force."""
        state = self.connectors[connector]
        now = datetime.now(UTC)
        transaction = state.transaction
        limit = self.profiles.limit(
            connector,
            now,
            tx_start=transaction.started_at if transaction is not None else now,
            transaction_id=transaction.id if transaction is not None else None,
            phases=state.vehicle.phases if state.vehicle is not None else 3,
            max_w=self.config.max_power_w,
        )
        return limit.watts

    def composite_schedule(self, evse: int, begin: datetime, duration_s: int):
        """The limits on `evse` (0: the station, all EVSEs' hardware) from `begin` for `duration_s`."""
        state = self.connectors.get(evse)
        transaction = state.transaction if state is not None else None
        max_w = self.config.max_power_w * (1 if evse else len(self.connectors))
        return self.profiles.composite(
            evse,
            begin,
            duration_s,
            tx_start=transaction.started_at if transaction is not None else begin,
            transaction_id=transaction.id if transaction is not None else None,
            max_w=max_w,
        )

    def _integrate_all(self) -> None:
        for state in self.connectors.values():
            if state.transaction is not None and state.vehicle is not None:
                self._integrate(state)

    def reading(self, connector: int, context: str = "Trigger") -> Sample:
        """What the connector's meter reads now: the car's power while one charges, else the idle register."""
        state = self.connectors[connector]
        if state.transaction is not None and state.vehicle is not None:
            return self._sample(connector, state.vehicle, power_w=self._integrate(state), context=context)
        voltage = line_voltage_v(self.rng)
        return Sample(at=datetime.now(UTC), register_wh=self.register_wh[connector], voltage_v=voltage, context=context)

    # --- a session ------------------------------------------------------------------------------------------------

    async def _session(
        self,
        connector: int,
        tag: str,
        *,
        token_type: str = "ISO14443",
        remote_start_id: int | None = None,
        remote: bool = False,
    ) -> bool:
        """A car arrives, the driver presents `tag` (or the server starts the session for it), the car charges and
        leaves: whether a session took place."""
        state = self.connectors[connector]
        state.occupant, state.stop_reason = "car", None
        state.wake.clear()
        try:
            return await self._visit(state, tag, token_type=token_type, remote_start_id=remote_start_id, remote=remote)
        finally:
            state.occupant, state.transaction, state.vehicle, state.stop_reason = None, None, None, None
            state.start_profile = None
            self._resets_due()

    async def _visit(self, state: Connector, tag: str, *, token_type: str, remote_start_id, remote: bool) -> bool:
        connector = state.number
        if state.reservation is not None and not self.reservation_allows(state.reservation, tag):
            self.report.refused += 1  # the connector is kept for another card: refused without asking anyone
            self.log("connector %s: reserved for another card, %s refused", connector, tag)
            return False
        await self.status_set(connector, "Preparing" if self.dialect.protocol == "ocpp1.6" else "Occupied")
        if not remote or self.authorize_remote:
            answer = await self.send(*self.dialect.authorize(tag, token_type))
            # No answer (offline): a card the local list accepts may charge all the same.
            if answer:
                status = self.dialect.authorization_status(answer)
            else:
                status = self.local_authorization(tag) or "NoAnswer"
            if status != "Accepted":
                self.report.refused += 1
                self.log("connector %s: card %s not accepted (%s)", connector, tag, status)
                await self.status_set(connector, self._free_status(connector))
                return False
        if state.stop_reason is not None:  # a reset came before the session began
            await self.status_set(connector, self._free_status(connector))
            return False
        vehicle = Vehicle.arriving(self.rng)
        transaction = Transaction(
            connector=connector,
            id_tag=tag,
            meter_start_wh=round(self.register_wh[connector]),
            remote_start_id=remote_start_id,
            token_type=token_type,
        )
        if state.reservation is not None:  # its card is here (checked above): the reservation is used now
            transaction.reservation_id = state.reservation.id
            self.reservation_drop(state.reservation)
        action, payload = self.dialect.start(transaction)
        answer = await self.send(action, payload)
        if answer is None and transaction.id is None:
            self.log("connector %s: the start was not answered, no session", connector)
            await self.status_set(connector, self._free_status(connector))
            return False
        authorization = self.dialect.started(transaction, answer) if answer else "Accepted"
        state.transaction = transaction
        if state.start_profile is not None:  # the TxProfile the remote start came with
            state.start_profile.transaction_id = transaction.id
            self.profiles.install(state.start_profile)
            state.start_profile = None
        self.log("connector %s: session %s started with %s", connector, transaction.id, tag)
        if self.status[connector] != self.dialect.charging_status:  # 2.0.1: Occupied since the car arrived
            await self.status_set(connector, self.dialect.charging_status)
        reason = await self._charge(state, transaction, vehicle, deauthorized=authorization != "Accepted")
        end = self._sample(connector, vehicle, power_w=0.0, context="Transaction.End")
        state.transaction = None  # it is over: a remote stop for it is refused from now on
        self.profiles.transaction_ended(connector)
        await self.send(*self.dialect.stop(transaction, end, reason))
        if self.dialect.protocol == "ocpp1.6":
            await self.status_set(connector, "Finishing")
        await self.status_set(connector, self._free_status(connector))
        meter_stop = round(end.register_wh)
        self.report.sessions_completed += 1
        self.report.energy_wh += meter_stop - transaction.meter_start_wh
        self.report.transactions.append((transaction.id, transaction.meter_start_wh, meter_stop))
        self.log(
            "connector %s: session %s ended (%s), %.3f kWh",
            connector,
            transaction.id,
            reason,
            (meter_stop - transaction.meter_start_wh) / 1000,
        )
        return True

    async def _charge(self, state: Connector, transaction: Transaction, vehicle: Vehicle, *, deauthorized: bool) -> str:
        """Charge until the car is done or leaves, or until the session is ended from outside: why it ended."""
        if deauthorized:
            return "DeAuthorized"
        connector = state.number
        duration = jittered(self.config.session_seconds, self.rng)
        drop_at = self.rng.uniform(0.3, 0.7) * duration if self.rng.random() < self.config.drop_rate else None
        started = state.metered_at = time.monotonic()
        state.vehicle = vehicle
        while (elapsed := time.monotonic() - started) < duration and vehicle.soc < 100:
            if state.stop_reason is not None:
                return state.stop_reason
            interval = self.meter_interval or duration  # 0: no periodic meter values
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.wake.wait(), min(interval, duration - elapsed))
            power = self._integrate(state)
            if state.stop_reason is not None:
                return state.stop_reason
            if self.meter_interval:
                sample = self._sample(connector, vehicle, power_w=power)
                await self.send(*self.dialect.meter(transaction, sample))
            if drop_at is not None and time.monotonic() - started >= drop_at:
                drop_at = None
                self.drop_connection()
        return "EVDisconnected" if self.rng.random() < 0.5 else "Local"

    def _integrate(self, state: Connector) -> float:
        """Add what the car drew since the last reading to the register: the power it draws now."""
        now = time.monotonic()
        power = state.vehicle.power_w(self.power_limit_w(state.number))
        self.register_wh[state.number] += state.vehicle.charge(power, now - state.metered_at)
        state.metered_at = now
        return power

    def _sample(self, connector: int, vehicle: Vehicle, *, power_w: float, context: str = "Sample.Periodic") -> Sample:
        voltage = line_voltage_v(self.rng)
        return Sample(
            at=datetime.now(UTC),
            register_wh=self.register_wh[connector],
            power_w=power_w,
            current_a=phase_current_a(power_w, vehicle.phases, voltage),
            voltage_v=voltage,
            phases=vehicle.phases,
            soc=vehicle.soc,
            context=context,
        )


async def stations_run(stations: list[VirtualStation], *, duration: float | None = None) -> list[StationReport]:
    """Run the stations concurrently until each has done its sessions, for `duration` seconds, or until cancelled;
    every station disconnects cleanly in all three cases."""
    tasks = [asyncio.create_task(station.run()) for station in stations]
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*tasks), duration)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return [station.report for station in stations]
