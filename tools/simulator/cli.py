"""`python -m tools.simulator URL ...` and `python manage.py simulate_stations URL ...`: the same options."""

import argparse
import asyncio
import contextlib
import logging
import random
import signal
import socket
import ssl
import sys
import time
import urllib.parse

from tools.simulator.station import StationConfig, StationReport, TagPool, VirtualStation, stations_run

PROTOCOLS = {"1.6": "ocpp1.6", "ocpp1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1", "ocpp2.0.1": "ocpp2.0.1"}


def arguments_add(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "url",
        help="the CSMS endpoint the station identity is appended to, e.g. ws://127.0.0.1:8000/ocpp/demo",
    )
    which = parser.add_argument_group("which stations")
    which.add_argument(
        "--identities",
        default="",
        help="comma-separated identities, each optionally with its protocol: DEMO-16-01:1.6,DEMO-201-01:2.0.1",
    )
    which.add_argument("--count", type=int, default=1, help="without --identities: this many stations (default 1)")
    which.add_argument("--prefix", default="SIM", help="without --identities: identities PREFIX-0001... (default SIM)")
    which.add_argument(
        "--protocol",
        choices=["1.6", "2.0.1", "mixed"],
        default="mixed",
        help="protocol of stations whose identity names none; mixed alternates (default)",
    )
    which.add_argument("--password", help="HTTP Basic password (security profiles 1 and 2)")
    which.add_argument("--ca-file", help="CA bundle to verify a wss:// server with")
    which.add_argument("--insecure", action="store_true", help="wss:// without verifying the server certificate")
    which.add_argument("--connectors", type=int, default=2, help="EVSEs per station, one connector each (default 2)")
    which.add_argument("--max-power", type=float, default=22.0, help="kW a connector offers (default 22)")

    behaviour = parser.add_argument_group("behaviour (seconds)")
    behaviour.add_argument("--id-tags", default="SIM-TAG-1", help="comma-separated RFID cards the drivers present")
    behaviour.add_argument("--session-seconds", type=float, default=1800, help="length of a charge (default 1800)")
    behaviour.add_argument("--idle-seconds", type=float, default=600, help="time between cars (default 600)")
    behaviour.add_argument("--meter-interval", type=float, default=60, help="meter values every (default 60)")
    behaviour.add_argument("--heartbeat", type=float, help="heartbeat interval (default: what the server says)")
    behaviour.add_argument("--fault-rate", type=float, default=0.02, help="chance a connector breaks (default 0.02)")
    behaviour.add_argument("--fault-seconds", type=float, default=30, help="how long a fault lasts (default 30)")
    behaviour.add_argument(
        "--drop-rate", type=float, default=0.0, help="chance a session loses the network halfway (default 0)"
    )
    behaviour.add_argument("--offline-seconds", type=float, default=10, help="how long the network stays away")
    behaviour.add_argument("--sessions", type=int, help="each station stops after this many sessions")
    behaviour.add_argument("--duration", type=float, help="stop after this many seconds")
    behaviour.add_argument("--seed", type=int, help="random seed, for repeatable runs")
    behaviour.add_argument("--wait", type=float, default=0, help="wait up to this long for the server to listen")
    behaviour.add_argument("--quiet", action="store_true", help="only the summary")


def configs_build(options: argparse.Namespace) -> list[StationConfig]:
    if options.identities:
        stations = []
        for entry in filter(None, (item.strip() for item in options.identities.split(","))):
            identity, _, protocol = entry.partition(":")
            if protocol and protocol not in PROTOCOLS:
                raise ValueError(f"unknown protocol {protocol!r} for {identity}: use 1.6 or 2.0.1")
            stations.append((identity, PROTOCOLS[protocol] if protocol else None))
    else:
        stations = [(f"{options.prefix}-{number:04d}", None) for number in range(1, options.count + 1)]
    context = None
    if options.url.startswith("wss://"):
        context = ssl.create_default_context(cafile=options.ca_file)
        if options.insecure:
            context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    base = options.url.rstrip("/")
    configs = []
    for index, (identity, protocol) in enumerate(stations):
        if protocol is None:
            protocol = (
                PROTOCOLS[options.protocol] if options.protocol != "mixed" else ("ocpp1.6", "ocpp2.0.1")[index % 2]
            )
        configs.append(
            StationConfig(
                url=f"{base}/{identity}",
                identity=identity,
                protocol=protocol,
                password=options.password,
                id_tags=tuple(tag.strip() for tag in options.id_tags.split(",") if tag.strip()),
                connectors=options.connectors,
                max_power_w=options.max_power * 1000,
                session_seconds=options.session_seconds,
                idle_seconds=options.idle_seconds,
                meter_interval=options.meter_interval,
                heartbeat_interval=options.heartbeat,
                fault_rate=options.fault_rate,
                fault_seconds=options.fault_seconds,
                drop_rate=options.drop_rate,
                offline_seconds=options.offline_seconds,
                sessions=options.sessions,
                ssl_context=context,
                seed=None if options.seed is None else options.seed + index,
            )
        )
    return configs


def summary(reports: list[StationReport]) -> str:
    header = f"{'station':<20} {'protocol':<10} {'connects':>8} {'sessions':>8} {'kWh':>9} {'faults':>6} "
    header += f"{'drops':>5} {'replayed':>8} {'errors':>6}  last problem"
    lines = [header]
    for report in reports:
        lines.append(
            f"{report.identity:<20} {report.protocol:<10} {report.connects:>8} {report.sessions_completed:>8} "
            f"{report.energy_wh / 1000:>9.3f} {report.faults:>6} {report.drops:>5} {report.replayed:>8} "
            f"{report.call_errors:>6}  {report.last_problem}"
        )
    return "\n".join(lines)


def server_wait(url: str, seconds: float) -> None:
    """Return once the server behind `url` accepts TCP connections, or after `seconds`."""
    address = urllib.parse.urlsplit(url)
    port = address.port or (443 if address.scheme == "wss" else 80)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection((address.hostname, port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.25)


async def _run_until_stopped(stations: list[VirtualStation], duration: float | None) -> None:
    """SIGTERM (as `make run` sends when the server stops) ends the run like Ctrl-C: cleanly, with the summary."""
    task = asyncio.current_task()
    with contextlib.suppress(NotImplementedError):
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    with contextlib.suppress(asyncio.CancelledError):
        await stations_run(stations, duration=duration)


def run(options: argparse.Namespace) -> int:
    logging.basicConfig(
        level=logging.WARNING if options.quiet else logging.INFO,
        format="%(asctime)s [simulator] %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stdout,
    )
    try:
        configs = configs_build(options)
    except ValueError as error:
        print(f"simulator: {error}", file=sys.stderr)
        return 2
    cards = TagPool(configs[0].id_tags, random.Random(options.seed)) if configs else None
    stations = [VirtualStation(config, cards) for config in configs]
    try:
        server_wait(options.url, options.wait)
        asyncio.run(_run_until_stopped(stations, options.duration))
    except KeyboardInterrupt:
        pass
    reports = [station.report for station in stations]
    print(summary(reports), flush=True)
    return 0 if reports and all(report.connects for report in reports) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.simulator",
        description="Virtual OCPP 1.6J and 2.0.1 charging stations with realistic behaviour.",
    )
    arguments_add(parser)
    return run(parser.parse_args(argv))
