"""`make bench` / `python -m bench.run [--full]`: the OCPP scenarios (a-d) against the platform and the two
baselines, and the API scenarios (e, f) against the platform; one markdown report per run in bench/results/ (see
docs/performance.md).

Targets, each its own daphne (or websockets) process on this machine, measured from /proc:
- platform: daphne config.asgi with production settings, a bench database on the embedded PostgreSQL, Redis;
- channels: daphne with a bare Channels consumer answering canned CALLRESULTs (bench/baselines/channels_asgi.py);
- bare-ws: a websockets server answering the same (bench/baselines/bare_ws.py).
"""

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from bench.apiload import CLIENTS, ApiRow, api_notes, api_reads, api_table, remote_starts
from bench.loadgen import Fleet, Target
from bench.stats import ms, percentile
from tools import embedded

BASE_DIR = Path(__file__).resolve().parents[1]
RESULTS = BASE_DIR / "bench" / "results"
PASSWORD = "bench-station-password-0123456789"
TICKS = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")

SIZES = {
    # scenario: (short, full)
    "hold_stations": (2000, 10000),
    "hold_seconds": (20, 60),
    "hold_interval": (10.0, 30.0),  # seconds between a station's heartbeats
    "meter_stations": (300, 1500),
    "meter_seconds": (20, 60),
    "meter_rate": (1.0, 1.0),  # MeterValues per station per second
    "storm_stations": (1000, 5000),
    "commands": (200, 1000),
    "api_sessions": (20_000, 1_000_000),  # e. charging sessions seeded in the brand benchapi
    "api_requests": (200, 1000),  # e. requests per endpoint, alone and again by CLIENTS clients
    "remote_starts": (200, 1000),  # f. round trips
}
SCENARIOS = ("hold", "meter", "storm", "commands", "api_reads", "remote_start")
RESPONDERS = 20  # f. stations the generator holds for the remote starts


def size(name: str, full: bool):
    return SIZES[name][1 if full else 0]


# --- processes under test -----------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_listening(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    url: str
    pid: int = 0  # the server's own process when `process` is a wrapper (py-spy)

    def __post_init__(self):
        self.pid = self.pid or self.process.pid

    def rss_bytes(self) -> int:
        return int(Path(f"/proc/{self.pid}/statm").read_text().split()[1]) * PAGE

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS

    def stop(self) -> None:
        if self.pid != self.process.pid:  # py-spy writes its file on Ctrl-C; then the profiled process goes
            self.process.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(60)
            _end(self.pid)
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _end(pid: int, timeout: float = 10) -> None:
    """Terminate a process that is not our child, killing it if it is still there after `timeout`."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(pid, signal.SIGKILL)


def daphne(name: str, application: str, env: dict, log: Path, profile: Path | None = None) -> Server:
    """A daphne process; with `profile`, started by py-spy, which samples it at 100 Hz into that raw stacks file
    (attaching py-spy to a running daphne with several database threads hangs on this machine)."""
    port = free_port()
    command = [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "--websocket_timeout", "-1"]
    command += ["--ping-interval", "30", "--ping-timeout", "30", "--websocket_connect_timeout", "60", application]
    if profile is not None:
        spy = str(Path(sys.executable).with_name("py-spy"))
        command = [spy, "record", "--gil", "--format", "raw", "--rate", "100", "--output", str(profile), "--", *command]
    process = subprocess.Popen(command, cwd=BASE_DIR, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)
    wait_listening(port, process)
    server = Server(name, process, port, f"ws://127.0.0.1:{port}/ocpp/bench")  # the brand in the path
    if profile is not None:
        server.pid = _child_pid(process.pid)
    return server


def _child_pid(pid: int) -> int:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return int(children[0]) if children else pid


def bare_ws(log: Path) -> Server:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.baselines.bare_ws", str(port)],
        cwd=BASE_DIR,
        env={**os.environ, "PYTHONPATH": str(BASE_DIR)},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
    )
    wait_listening(port, process)
    return Server("bare-ws", process, port, f"ws://127.0.0.1:{port}/ocpp")


def platform_env(database_url: str, redis_url: str) -> dict:
    return {
        **os.environ,
        "PYTHONPATH": str(BASE_DIR),
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(48),
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "SECURE_SSL_REDIRECT": "false",
        "ALLOWED_HOSTS": "*",
        "LOG_LEVEL": "WARNING",
        # The API scenarios send thousands of requests a minute with one key: the limiter still counts every one
        # (its cost is measured), it just never refuses.
        "API_RATE_LIMIT_PER_MINUTE": "100000000",
    }


def bench_database() -> str:
    """A database of its own, platform_bench, on DATABASE_URL's server or the embedded PostgreSQL."""
    base = os.environ.get("DATABASE_URL") or embedded.pg_start()
    url = base.rsplit("/", 1)[0] + "/platform_bench"
    with psycopg.connect(base, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = 'platform_bench'").fetchone()
        if not exists:
            connection.execute("CREATE DATABASE platform_bench")
    return url


def django_run(env: dict, *args: str) -> str:
    done = subprocess.run([sys.executable, *args], cwd=BASE_DIR, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


# --- measuring ----------------------------------------------------------------------------------------------------


@dataclass
class Row:
    scenario: str
    target: str
    volume: str
    throughput: float | None
    latencies: list[float]
    rss_per_connection_kb: float | None
    cpu_s: float
    errors: int
    lost: str = "—"
    note: str = ""


def run_fleet(server: Server, scenario: str, count: int, duration: float, extra: float, workers: int) -> tuple:
    fleet = Fleet(scenario, Target(server.name, server.url, PASSWORD), count, workers, duration, extra)
    rss_before = server.rss_bytes()
    fleet.start()
    connected = fleet.meet()  # everyone connected (or ready)
    rss_connected = server.rss_bytes()
    cpu_before = server.cpu_seconds()
    started = time.perf_counter()
    fleet.meet()  # go
    fleet.meet(timeout=duration * 10 + 600)  # done
    elapsed = time.perf_counter() - started
    cpu = server.cpu_seconds() - cpu_before
    tally = fleet.collect()
    if not connected:
        tally.error("a worker failed before the measured phase")
    return tally, elapsed, cpu, rss_before, rss_connected


def scenario_hold(server: Server, full: bool, workers: int) -> Row:
    count, seconds = size("hold_stations", full), size("hold_seconds", full)
    interval = size("hold_interval", full)
    tally, elapsed, cpu, before, connected = run_fleet(server, "hold", count, seconds, interval, workers)
    stations = tally.counts.get("connected", 0)
    beats = tally.latencies.get("heartbeat", [])
    return Row(
        "a. hold + heartbeats",
        server.name,
        f"{stations}/{count} connected, a heartbeat each {interval:.0f} s",
        len(beats) / elapsed,
        beats,
        (connected - before) / 1024 / max(stations, 1),
        cpu,
        tally.counts.get("errors", 0),
        note=tally.errors[0] if tally.errors else "",
    )


def scenario_meter(server: Server, full: bool, workers: int, count_samples=None) -> Row:
    count, seconds, rate = size("meter_stations", full), size("meter_seconds", full), size("meter_rate", full)
    tally, elapsed, cpu, _, _ = run_fleet(server, "meter", count, seconds, rate, workers)
    sent = tally.counts.get("meter_sent", 0)
    lost = "—"
    if count_samples is not None:
        stored = count_samples()
        lost = f"{sent * 5 - stored} of {sent * 5} samples"
    return Row(
        "b. MeterValues (5 samples)",
        server.name,
        f"{count} stations × {rate}/s, {sent} messages",
        sent / elapsed,
        tally.latencies.get("meter", []),
        None,
        cpu,
        tally.counts.get("errors", 0),
        lost,
        tally.errors[0] if tally.errors else "",
    )


def scenario_storm(server: Server, full: bool, workers: int) -> Row:
    count = size("storm_stations", full)
    tally, elapsed, cpu, _, _ = run_fleet(server, "storm", count, 60, 0, workers)
    accepted = tally.counts.get("accepted", 0)
    waits = tally.latencies.get("station_total", [])
    all_in = max(tally.latencies.get("accepted_after", [float("nan")]))
    return Row(
        "c. reconnect storm",
        server.name,
        f"{accepted}/{count} accepted, all in {all_in:.1f} s, longest station {max(waits or [0]):.1f} s",
        accepted / elapsed,
        tally.latencies.get("boot", []),
        None,
        cpu,
        tally.counts.get("errors", 0),
        note=tally.errors[0] if tally.errors else "",
    )


def scenario_commands(server: Server, full: bool, env: dict) -> Row:
    """d. Commands from another process (through Redis) to stations held by the platform's daphne."""
    stations, count = 20, size("commands", full)
    fleet = Fleet("responder", Target(server.name, server.url, PASSWORD), stations, 1, duration=count * 0.2 + 60)
    fleet.start()
    fleet.meet()
    fleet.meet()
    cpu_before = server.cpu_seconds()
    started = time.perf_counter()
    result = json.loads(django_run(env, "-m", "bench.command_rtt", str(count), str(stations)).strip().splitlines()[-1])
    elapsed = time.perf_counter() - started
    cpu = server.cpu_seconds() - cpu_before
    fleet.barrier.abort()  # the responders stop at their deadline; they need not wait for us
    errors = count - result["outcomes"].get("accepted", 0)
    return Row(
        "d. command across processes",
        server.name,
        f"{count} commands, {result['outcomes']}",
        count / elapsed,
        result["latencies"],
        None,
        cpu,
        errors,
    )


def scenario_api_reads(env: dict, log: Path, full: bool) -> list[ApiRow]:
    """e. API reads on the brand benchapi, seeded (once per size) with many charging sessions."""
    sessions = size("api_sessions", full)
    print(f"seeding {sessions:,} charging sessions (skipped when the brand holds them already)", flush=True)
    fixture = json.loads(django_run(env, "-m", "bench.apidata", "reads", str(sessions)).strip().splitlines()[-1])
    server = daphne("platform", "config.asgi:application", env, log)
    print("api reads against platform", flush=True)
    try:
        return api_reads(server, fixture, count=size("api_requests", full), clients=CLIENTS, sessions=sessions)
    finally:
        server.stop()


def scenario_remote_start(env: dict, log: Path, full: bool) -> list[ApiRow]:
    """f. Remote starts through the API to stations held by the generator, which answer at once."""
    count = size("remote_starts", full)
    fixture = json.loads(django_run(env, "-m", "bench.apidata", "commands", str(RESPONDERS)).strip().splitlines()[-1])
    server = daphne("platform", "config.asgi:application", env, log)
    print("remote starts against platform", flush=True)
    fleet = Fleet("responder", Target(server.name, server.url, PASSWORD), RESPONDERS, 1, duration=count * 0.5 + 60)
    try:
        fleet.start()
        fleet.meet()
        fleet.meet()
        return remote_starts(server, fixture, count=count)
    finally:
        fleet.barrier.abort()
        for process in fleet.processes:  # the responders are done: no need to wait for their deadline
            process.terminate()
        server.stop()


# --- report -------------------------------------------------------------------------------------------------------


def report(rows: list[Row], full: bool, seconds: float, api_rows: list[ApiRow] = ()) -> str:
    lines = [
        f"# Bench run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC ({'full' if full else 'short'}, {seconds:.0f} s)",
        "",
        f"Machine: {os.cpu_count()} cores; generator and servers on the same machine. Latency in ms.",
    ]
    if rows:
        lines += ["", *_ocpp_table(rows)]
    if api_rows:
        lines += [
            "",
            "## API",
            "",
            f"Latency of one client alone; throughput and p95 again with {CLIENTS} clients at once (keep-alive, "
            "each sends its next request when its answer came). Targets and baselines: docs/performance.md.",
            "",
            *api_table(api_rows),
        ]
    notes = [f"- {row.target} {row.scenario}: {row.note}" for row in rows if row.note] + api_notes(api_rows)
    if notes:
        lines += ["", "First error seen:", *notes]
    return "\n".join(lines) + "\n"


def _ocpp_table(rows: list[Row]) -> list[str]:
    lines = [
        "| scenario | target | volume | throughput /s | p50 | p95 | p99 | max | RSS/conn KB | server CPU s | errors "
        "| lost | vs bare-ws | vs channels |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    by_scenario: dict[str, dict[str, Row]] = {}
    for row in rows:
        by_scenario.setdefault(row.scenario, {})[row.target] = row
    for row in rows:
        ratios = []
        for baseline in ("bare-ws", "channels"):
            other = by_scenario[row.scenario].get(baseline)
            if row.target == "platform" and other and other.latencies and row.latencies:
                ratios.append(f"p99 ×{percentile(row.latencies, 0.99) / percentile(other.latencies, 0.99):.1f}")
            else:
                ratios.append("")
        lines.append(
            f"| {row.scenario} | {row.target} | {row.volume} | "
            f"{row.throughput:.0f} | {ms(percentile(row.latencies, 0.5))} | {ms(percentile(row.latencies, 0.95))} | "
            f"{ms(percentile(row.latencies, 0.99))} | {ms(max(row.latencies) if row.latencies else float('nan'))} | "
            f"{'' if row.rss_per_connection_kb is None else f'{row.rss_per_connection_kb:.0f}'} | {row.cpu_s:.1f} | "
            f"{row.errors} | {row.lost} | {ratios[0]} | {ratios[1]} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run")
    parser.add_argument("--full", action="store_true", help="the target sizes (10,000 connections, ...)")
    parser.add_argument("--workers", type=int, default=2, help="load generator processes (default 2)")
    parser.add_argument("--only", default="", help=f"comma-separated scenarios: {','.join(SCENARIOS)}")
    parser.add_argument("--servers", default="", help="comma-separated: bare-ws,channels,platform (default all)")
    parser.add_argument(
        "--profile", action="store_true", help="run the platform under py-spy: bench/results/logs/<scenario>.stacks"
    )
    options = parser.parse_args(argv)
    full, workers = options.full, options.workers
    only = set(filter(None, options.only.split(","))) or set(SCENARIOS)
    if only - set(SCENARIOS):
        parser.error(f"unknown scenarios: {', '.join(sorted(only - set(SCENARIOS)))}")
    servers = set(filter(None, options.servers.split(","))) or {"bare-ws", "channels", "platform"}
    RESULTS.mkdir(exist_ok=True)
    logs = RESULTS / "logs"
    logs.mkdir(exist_ok=True)
    began = time.perf_counter()

    database_url = bench_database()
    redis = embedded.redis_start()
    env = platform_env(database_url, redis.url)
    print("preparing the bench database", flush=True)
    django_run(env, "manage.py", "platform_migrate", "-v", "0")
    most = max(size("hold_stations", full), size("storm_stations", full), size("meter_stations", full))
    print(django_run(env, "-m", "bench.prepare", str(most)).strip(), flush=True)

    def count_samples() -> int:
        return int(django_run(env, "-m", "bench.prepare", "--count-samples").strip())

    rows: list[Row] = []
    api_rows: list[ApiRow] = []
    baseline_env = {**os.environ, "PYTHONPATH": str(BASE_DIR)}
    try:
        for scenario in ("hold", "meter", "storm"):
            if scenario not in only:
                continue
            profile = logs / f"{scenario}.stacks" if options.profile else None
            starters = {
                "bare-ws": lambda: bare_ws(logs / "bare-ws.log"),
                "channels": lambda: daphne(
                    "channels", "bench.baselines.channels_asgi:application", baseline_env, logs / "channels.log"
                ),
                "platform": lambda profile=profile: daphne(
                    "platform", "config.asgi:application", env, logs / "platform.log", profile
                ),
            }
            for name, start in starters.items():
                if name not in servers:
                    continue
                server = start()
                print(f"{scenario} against {server.name}", flush=True)
                try:
                    if scenario == "hold":
                        rows.append(scenario_hold(server, full, workers))
                    elif scenario == "meter":
                        if server.name == "platform":
                            django_run(env, "-m", "bench.prepare", str(most))  # empties the samples table
                        samples = count_samples if server.name == "platform" else None
                        rows.append(scenario_meter(server, full, workers, samples))
                    else:
                        rows.append(scenario_storm(server, full, workers))
                finally:
                    server.stop()
        if "commands" in only and "platform" in servers:
            server = daphne("platform", "config.asgi:application", env, logs / "platform.log")
            print("commands against platform", flush=True)
            try:
                rows.append(scenario_commands(server, full, env))
            finally:
                server.stop()
        if "api_reads" in only and "platform" in servers:
            api_rows += scenario_api_reads(env, logs / "platform.log", full)
        if "remote_start" in only and "platform" in servers:
            api_rows += scenario_remote_start(env, logs / "platform.log", full)
    finally:
        redis.stop()

    text = report(rows, full, time.perf_counter() - began, api_rows)
    path = RESULTS / f"{datetime.now(UTC):%Y%m%d-%H%M}-{'full' if full else 'short'}.md"
    path.write_text(text)
    print(text)
    print(f"written to {path.relative_to(BASE_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
