"""A virtual charging station: connects, boots, reports status, runs charging sessions on each connector, breaks
now and then, loses its connection and comes back, and keeps transaction messages while offline.

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

from tools.simulator.dialects import DIALECTS, FAULT_KINDS, Sample, Transaction
from tools.simulator.rpc import CallError, ConnectionLostError, Rpc
from tools.simulator.vehicle import Vehicle, jittered, line_voltage_v, phase_current_a

logger = logging.getLogger("simulator")

RECONNECT_FIRST_S = 1.0
RECONNECT_MAX_S = 60.0


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
    last_problem: str = ""
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

    def log(self, message: str, *args) -> None:
        logger.info("%s " + message, self.config.identity, *args)

    # --- running ---------------------------------------------------------------------------------------------

    async def run(self) -> StationReport:
        """Run until the configured number of sessions is done, or until cancelled; always leaves cleanly."""
        link = asyncio.create_task(self._link())
        connectors = [asyncio.create_task(self._connector(number)) for number in range(1, self.config.connectors + 1)]
        try:
            await asyncio.gather(*connectors)
            await self._drain()
        finally:
            self.stopping = True
            for task in connectors:
                task.cancel()
            link.cancel()
            await asyncio.gather(*connectors, link, return_exceptions=True)
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
            self.rpc = Rpc(connection, prefix=f"{self.report.connects}-")
            self.log("connected (%s)", connection.subprotocol)
            heartbeat = None
            try:
                if not self.accepted:
                    await self._boot()
                await self._flush()
                for connector, status in self.status.items():
                    await self._call(*self.dialect.status(connector, status, datetime.now(UTC)))
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
        reason = "PowerUp"
        while True:
            answer = await self.rpc.call(*self.dialect.boot(reason))
            self.report.boots += 1
            interval = answer.get("interval") or 0
            if answer["status"] == "Accepted":
                self.accepted = True
                self.heartbeat_s = self.config.heartbeat_interval or interval or 300
                self.log("boot accepted, heartbeat every %s s", self.heartbeat_s)
                return
            wait = max(interval, 1)
            self.log("boot %s, asking again in %s s", answer["status"], wait)
            await asyncio.sleep(wait)
            reason = "Unknown"

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.heartbeat_s)
            await self._send("Heartbeat", {})

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

    async def _send(self, action: str, payload: dict) -> dict | None:
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

    async def _set_status(self, connector: int, status: str) -> None:
        self.status[connector] = status
        await self._send(*self.dialect.status(connector, status, datetime.now(UTC)))

    async def _connector(self, connector: int) -> None:
        await self.online.wait()
        while self._session_quota_left():
            await asyncio.sleep(jittered(self.config.idle_seconds, self.rng))
            if self.rng.random() < self.config.fault_rate:
                await self._fault(connector)
                continue
            await self.online.wait()  # a driver needs the backend to authorize the card
            if not self._session_quota_left():
                break
            self.report.sessions_started += 1
            tag = self.tags.take()
            try:
                if not await self._session(connector, tag):
                    self.report.sessions_started -= 1  # no session took place: the quota is untouched
            finally:
                self.tags.give_back(tag)

    async def _fault(self, connector: int) -> None:
        fault = self.rng.choice(FAULT_KINDS)
        self.report.faults += 1
        self.log("connector %s faulted: %s", connector, fault[0])
        self.status[connector] = "Faulted"
        for message in self.dialect.fault_messages(connector, fault, datetime.now(UTC), cleared=False):
            await self._send(*message)
        await asyncio.sleep(jittered(self.config.fault_seconds, self.rng))
        self.status[connector] = "Available"
        for message in self.dialect.fault_messages(connector, fault, datetime.now(UTC), cleared=True):
            await self._send(*message)
        self.log("connector %s recovered", connector)

    async def _session(self, connector: int, tag: str) -> bool:
        """A car arrives, the driver presents `tag`, the car charges and leaves: whether a session took place."""
        await self._set_status(connector, "Preparing" if self.dialect.protocol == "ocpp1.6" else "Occupied")
        answer = await self._send(*self.dialect.authorize(tag))
        status = self.dialect.authorization_status(answer) if answer else "NoAnswer"
        if status != "Accepted":
            self.report.refused += 1
            self.log("connector %s: card %s not accepted (%s)", connector, tag, status)
            await self._set_status(connector, "Available")
            return False
        vehicle = Vehicle.arriving(self.rng)
        transaction = Transaction(connector=connector, id_tag=tag, meter_start_wh=round(self.register_wh[connector]))
        action, payload = self.dialect.start(transaction)
        answer = await self._send(action, payload)
        if answer is None and transaction.id is None:
            self.log("connector %s: the start was not answered, no session", connector)
            await self._set_status(connector, "Available")
            return False
        authorization = self.dialect.started(transaction, answer) if answer else "Accepted"
        self.log("connector %s: session %s started with %s", connector, transaction.id, tag)
        await self._set_status(connector, self.dialect.charging_status)
        reason = await self._charge(connector, transaction, vehicle, deauthorized=authorization != "Accepted")
        end = self._sample(connector, vehicle, power_w=0.0, context="Transaction.End")
        await self._send(*self.dialect.stop(transaction, end, reason))
        if self.dialect.protocol == "ocpp1.6":
            await self._set_status(connector, "Finishing")
        await self._set_status(connector, "Available")
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

    async def _charge(self, connector: int, transaction: Transaction, vehicle: Vehicle, *, deauthorized: bool) -> str:
        if deauthorized:
            return "DeAuthorized"
        duration = jittered(self.config.session_seconds, self.rng)
        drop_at = self.rng.uniform(0.3, 0.7) * duration if self.rng.random() < self.config.drop_rate else None
        started = last = time.monotonic()
        while (elapsed := time.monotonic() - started) < duration and vehicle.soc < 100:
            await asyncio.sleep(min(self.config.meter_interval, duration - elapsed))
            now = time.monotonic()
            power = vehicle.power_w(self.config.max_power_w)
            self.register_wh[connector] += vehicle.charge(power, now - last)
            last = now
            await self._send(*self.dialect.meter(transaction, self._sample(connector, vehicle, power_w=power)))
            if drop_at is not None and now - started >= drop_at:
                drop_at = None
                self.drop_connection()
        return "EVDisconnected" if self.rng.random() < 0.5 else "Local"

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
