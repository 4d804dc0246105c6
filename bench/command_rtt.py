"""Scenario d, the caller's side: `python -m bench.command_rtt COUNT STATIONS` sends COUNT commands (ClearCache)
through the command service, round robin over stations BENCH-00001..STATIONS, from this process (not the daphne
that holds the stations), and prints the round-trip times as JSON."""

import json
import sys
import time

import django

django.setup()

from django_tenants.utils import schema_context  # noqa: E402

from apps.commands.services import command_send  # noqa: E402
from apps.stations.models import Station  # noqa: E402
from apps.whitelabel.models import Tenant  # noqa: E402


def main(count: int, stations: int) -> None:
    latencies, outcomes = [], {}
    with schema_context(Tenant.objects.get(slug="bench").schema_name):
        targets = list(Station.objects.filter(identity__lte=f"BENCH-{stations:05d}").order_by("identity"))
        command_send(station=targets[0], operation="clear_cache")  # warm-up: connections, channel layer
        for number in range(count):
            station = targets[number % len(targets)]
            started = time.perf_counter()
            command = command_send(station=station, operation="clear_cache", timeout_s=10)
            latencies.append(time.perf_counter() - started)
            outcomes[command.status] = outcomes.get(command.status, 0) + 1
    print(json.dumps({"latencies": latencies, "outcomes": outcomes}))


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
