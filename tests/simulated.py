"""Simulated stations (tools/simulator) for end-to-end tests against the shared daphne (tests/ocpp/server.py): a
station that boots, stays idle and charges only when it is told to, and an event loop for stations in its own
thread beside Playwright's (the `station_loop` fixture, tests/conftest.py)."""

import asyncio
import threading

from tests.ocpp.client import station_url
from tests.stations.factories import STATION_PASSWORD
from tools.simulator.station import StationConfig


def on_demand_station(port: int, identity: str, **settings) -> StationConfig:
    """A station of one connector, no faults, one meter value a second, that starts a session only on a remote
    start and charges until it is stopped (`session_seconds` overrides how long)."""
    defaults = {
        "password": STATION_PASSWORD,
        "connectors": 1,
        "session_seconds": 600,  # until it is stopped
        "idle_seconds": 600,  # no session of its own
        "meter_interval": 1,
        "fault_rate": 0.0,
        "seed": 1,
    }
    return StationConfig(url=station_url(port, identity), identity=identity, **{**defaults, **settings})


class StationLoop:
    """An event loop in its own thread for the stations, beside Playwright's in the test's thread."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine, timeout: float = 20):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def start(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
