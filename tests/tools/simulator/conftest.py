import asyncio

import pytest_asyncio
from ocpp.messages import MessageType

from tests.tools.simulator.support import schema_error, station_offline_make


@pytest_asyncio.fixture
async def offline_stations():
    """Make stations without a network; afterwards, every message each one sent must be schema-valid."""
    made = []

    def make(protocol: str, **overrides):
        station = station_offline_make(protocol, **overrides)
        made.append(station)
        return station

    yield make
    for station in made:
        station.stopping = True
        running = [*station.tasks, *station.background_tasks]
        for task in running:
            task.cancel()
        await asyncio.gather(*running, return_exceptions=True)
    errors = [
        error
        for station in made
        for action, payload in station.rpc.sent
        if (error := schema_error(station.config.protocol, MessageType.Call, action, payload))
    ]
    assert errors == []
