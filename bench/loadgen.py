"""The load generator: many cheap virtual stations per process, measuring what they see.

A station here is a websocket and a counter: raw OCPP-J frames, one CALL in flight, the latency of each answer.
No validation and no simulation beyond what a scenario needs, so that the generator is not what is measured.
Workers are separate processes (`multiprocessing`), each running an asyncio loop with its share of the stations;
they meet the conductor at barriers between phases, so the server can be measured with everyone connected.
"""

import asyncio
import base64
import itertools
import json
import multiprocessing
import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from websockets.asyncio.client import connect

CONNECT_CONCURRENCY = 100  # per worker: handshakes in flight at once


def iso(moment: datetime) -> str:
    return moment.isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class Target:
    name: str
    url: str  # ws://host:port/ocpp/<tenant>; the identity is appended
    password: str | None = None


@dataclass
class Tally:
    """What one worker saw: latencies in seconds per kind, counts, errors."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def latency(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)

    def count(self, kind: str, number: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + number

    def error(self, text: str) -> None:
        if len(self.errors) < 20:
            self.errors.append(text)
        self.count("errors")


class Station:
    def __init__(self, target: Target, identity: str, protocol: str):
        self.target, self.identity, self.protocol = target, identity, protocol
        self.ids = itertools.count(1)
        self.connection = None

    async def open(self) -> None:
        headers = {}
        if self.target.password:
            token = base64.b64encode(f"{self.identity}:{self.target.password}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        self.connection = await connect(
            f"{self.target.url}/{self.identity}",
            subprotocols=[self.protocol],
            additional_headers=headers,
            compression=None,
            open_timeout=120,
            ping_interval=None,
            close_timeout=2,
            proxy=None,
            max_queue=None,
        )

    async def call(self, action: str, payload: dict) -> float:
        """Send a CALL and wait for its answer: the latency in seconds (ValueError if it is not a CALLRESULT)."""
        message_id = f"{next(self.ids)}"
        started = time.perf_counter()
        await self.connection.send(json.dumps([2, message_id, action, payload]))
        while True:
            frame = json.loads(await self.connection.recv())
            if frame[0] == 2:  # a CALL of the server (a command): answered at once, then keep waiting
                await self.connection.send(json.dumps([3, frame[1], {"status": "Accepted"}]))
                continue
            break
        elapsed = time.perf_counter() - started
        if frame[0] != 3 or frame[1] != message_id:
            raise ValueError(f"{action}: {str(frame)[:200]}")
        return elapsed

    async def serve(self, until: float) -> int:
        """Answer the server's CALLs (commands) until `until`: how many were answered."""
        answered = 0
        while time.monotonic() < until:
            try:
                text = await asyncio.wait_for(self.connection.recv(), max(0.01, until - time.monotonic()))
            except TimeoutError:
                break
            frame = json.loads(text)
            if frame[0] == 2:
                await self.connection.send(json.dumps([3, frame[1], {"status": "Accepted"}]))
                answered += 1
        return answered

    async def close(self) -> None:
        if self.connection is not None:
            await self.connection.close()


def boot_payload(protocol: str) -> dict:
    if protocol == "ocpp1.6":
        return {"chargePointVendor": "Bench", "chargePointModel": "LoadGen"}
    return {"chargingStation": {"vendorName": "Bench", "model": "LoadGen"}, "reason": "PowerUp"}


def status_payload(protocol: str) -> dict:
    if protocol == "ocpp1.6":
        return {"connectorId": 1, "errorCode": "NoError", "status": "Available", "timestamp": iso(datetime.now(UTC))}
    return {"timestamp": iso(datetime.now(UTC)), "connectorStatus": "Available", "evseId": 1, "connectorId": 1}


def meter_payload(protocol: str, register_wh: int, at: datetime) -> dict:
    """MeterValues with five sampled values: energy register, power, current and voltage on L1, SoC."""
    if protocol == "ocpp1.6":
        values = [
            {"value": str(register_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": "11000", "measurand": "Power.Active.Import", "unit": "W"},
            {"value": "16.0", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
            {"value": "230.0", "measurand": "Voltage", "phase": "L1-N", "unit": "V"},
            {"value": "55", "measurand": "SoC", "location": "EV", "unit": "Percent"},
        ]
        return {"connectorId": 1, "meterValue": [{"timestamp": iso(at), "sampledValue": values}]}
    values = [
        {"value": register_wh, "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "Wh"}},
        {"value": 11000, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}},
        {"value": 16.0, "measurand": "Current.Import", "phase": "L1", "unitOfMeasure": {"unit": "A"}},
        {"value": 230.0, "measurand": "Voltage", "phase": "L1-N", "unitOfMeasure": {"unit": "V"}},
        {"value": 55, "measurand": "SoC", "location": "EV", "unitOfMeasure": {"unit": "Percent"}},
    ]
    return {"evseId": 1, "meterValue": [{"timestamp": iso(at), "sampledValue": values}]}


def protocol_of(index: int) -> str:
    return ("ocpp1.6", "ocpp2.0.1")[index % 2]


def identity_of(index: int) -> str:
    return f"BENCH-{index:05d}"


async def _open_all(stations: list[Station], tally: Tally, *, boot: bool) -> list[Station]:
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def one(station: Station) -> Station | None:
        async with limit:
            started = time.perf_counter()
            try:
                await station.open()
                if boot:
                    await station.call("BootNotification", boot_payload(station.protocol))
            except Exception as error:  # noqa: BLE001 - every failure is counted and reported
                tally.error(f"{station.identity} connect: {type(error).__name__}: {error}"[:200])
                return None
            tally.latency("connect", time.perf_counter() - started)
            return station

    opened = await asyncio.gather(*(one(station) for station in stations))
    return [station for station in opened if station is not None]


# --- scenarios, one worker's share ---------------------------------------------------------------------------------


async def hold(target: Target, indices: list[int], barrier, duration: float, interval: float) -> Tally:
    """a. Hold connections and send heartbeats every `interval` s for `duration` s once everyone is connected."""
    tally = Tally()
    stations = await _open_all([Station(target, identity_of(i), protocol_of(i)) for i in indices], tally, boot=False)
    tally.count("connected", len(stations))
    await asyncio.to_thread(barrier.wait)  # everyone connected: the conductor measures memory
    await asyncio.to_thread(barrier.wait)  # measured: heartbeats begin
    until = time.monotonic() + duration

    async def beat(station: Station) -> None:
        await asyncio.sleep(random.uniform(0, interval))
        while time.monotonic() < until:
            try:
                tally.latency("heartbeat", await station.call("Heartbeat", {}))
            except Exception as error:  # noqa: BLE001
                tally.error(f"{station.identity} heartbeat: {error}"[:200])
                return
            await asyncio.sleep(interval)

    await asyncio.gather(*(beat(station) for station in stations))
    await asyncio.to_thread(barrier.wait)  # done: the conductor reads the server's CPU
    await asyncio.gather(*(station.close() for station in stations), return_exceptions=True)
    return tally


async def meter(target: Target, indices: list[int], barrier, duration: float, rate_per_station: float) -> Tally:
    """b. Steady MeterValues: each station sends one every 1/rate s (distinct timestamps, so none is a duplicate)."""
    tally = Tally()
    stations = await _open_all([Station(target, identity_of(i), protocol_of(i)) for i in indices], tally, boot=False)
    await asyncio.to_thread(barrier.wait)
    await asyncio.to_thread(barrier.wait)
    until = time.monotonic() + duration
    interval = 1 / rate_per_station
    base = datetime.now(UTC)

    async def send(station: Station, offset: int) -> None:
        await asyncio.sleep(random.uniform(0, interval))
        number = 0
        while time.monotonic() < until:
            number += 1
            at = base + timedelta(seconds=number, microseconds=offset)
            try:
                latency = await station.call("MeterValues", meter_payload(station.protocol, number, at))
            except Exception as error:  # noqa: BLE001
                tally.error(f"{station.identity} meter: {error}"[:200])
                return
            tally.latency("meter", latency)
            tally.count("meter_sent")
            await asyncio.sleep(max(0.0, interval - latency))

    await asyncio.gather(*(send(station, offset) for offset, station in enumerate(stations)))
    await asyncio.to_thread(barrier.wait)
    await asyncio.gather(*(station.close() for station in stations), return_exceptions=True)
    return tally


async def storm(target: Target, indices: list[int], barrier, duration: float, _unused: float) -> Tally:
    """c. Reconnect storm: all at once, each connects, boots and reports a status; the time each one waited."""
    tally = Tally()
    stations = [Station(target, identity_of(i), protocol_of(i)) for i in indices]
    await asyncio.to_thread(barrier.wait)
    await asyncio.to_thread(barrier.wait)
    started = time.perf_counter()

    async def one(station: Station) -> None:
        begun = time.perf_counter()
        try:
            await station.open()
            tally.latency("boot", await station.call("BootNotification", boot_payload(station.protocol)))
            tally.latency("status", await station.call("StatusNotification", status_payload(station.protocol)))
        except Exception as error:  # noqa: BLE001
            tally.error(f"{station.identity} storm: {type(error).__name__}: {error}"[:200])
            return
        tally.latency("accepted_after", time.perf_counter() - started)
        tally.latency("station_total", time.perf_counter() - begun)
        tally.count("accepted")

    await asyncio.gather(*(one(station) for station in stations))
    await asyncio.to_thread(barrier.wait)
    await asyncio.gather(*(station.close() for station in stations), return_exceptions=True)
    return tally


async def responder(target: Target, indices: list[int], barrier, duration: float, _unused: float) -> Tally:
    """d. (the station side) connect and answer the server's commands until `duration` has passed."""
    tally = Tally()
    stations = await _open_all([Station(target, identity_of(i), protocol_of(i)) for i in indices], tally, boot=False)
    await asyncio.to_thread(barrier.wait)
    await asyncio.to_thread(barrier.wait)
    answered = await asyncio.gather(*(station.serve(time.monotonic() + duration) for station in stations))
    tally.count("commands_answered", sum(answered))
    await asyncio.to_thread(barrier.wait)
    await asyncio.gather(*(station.close() for station in stations), return_exceptions=True)
    return tally


SCENARIOS = {"hold": hold, "meter": meter, "storm": storm, "responder": responder}


def _worker(name: str, target: Target, indices: list[int], barrier, duration: float, extra: float, results) -> None:
    try:
        results.put(asyncio.run(SCENARIOS[name](target, indices, barrier, duration, extra)))
    except Exception as error:  # noqa: BLE001 - the conductor reports it instead of hanging
        tally = Tally()
        tally.error(f"worker failed: {type(error).__name__}: {error}")
        barrier.abort()
        results.put(tally)


class Fleet:
    """`workers` processes running scenario `name` over stations 1..count, met at barriers by the conductor."""

    def __init__(self, name: str, target: Target, count: int, workers: int, duration: float, extra: float = 0):
        context = multiprocessing.get_context("fork")
        self.barrier = context.Barrier(workers + 1)
        self.results = context.Queue()
        shares = [list(range(1 + w, count + 1, workers)) for w in range(workers)]
        self.processes = [
            context.Process(
                target=_worker, args=(name, target, share, self.barrier, duration, extra, self.results), daemon=True
            )
            for share in shares
        ]

    def start(self) -> None:
        for process in self.processes:
            process.start()

    def meet(self, timeout: float = 600) -> bool:
        """Wait at the next barrier with the workers; False if it broke (a worker failed)."""
        try:
            self.barrier.wait(timeout)
            return True
        except Exception:  # noqa: BLE001 - threading.BrokenBarrierError
            return False

    def collect(self, timeout: float = 600) -> Tally:
        merged = Tally()
        for _ in self.processes:
            tally = self.results.get(timeout=timeout)
            for kind, values in tally.latencies.items():
                merged.latencies.setdefault(kind, []).extend(values)
            for kind, number in tally.counts.items():
                merged.count(kind, number)
            merged.errors.extend(tally.errors[: 20 - len(merged.errors)])
        for process in self.processes:
            process.join(10)
        return merged
