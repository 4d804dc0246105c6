"""The hottest path in one process, without the network: `python -m bench.hotpath [N]`.

Runs what the platform does for N MeterValues CALLs of a bench station (parse the frame, validate it against the
official schema, run the handler, log both frames, commit) in the tenant's schema of the bench database, and
prints the CPU per message of each stage and cProfile's top functions. Run with DJANGO_SETTINGS_MODULE and
DATABASE_URL of the bench database after `python -m bench.prepare 100` (`make bench` does both; see
docs/performance.md).
"""

import cProfile
import io
import json
import pstats
import sys
import time
from datetime import UTC, datetime, timedelta

import django

django.setup()

from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.ocpp.dispatch import QueuedCall, call_handle, calls_handle  # noqa: E402
from apps.ocpp.framing import OCPP16, OCPP201, parse_frame, validate_call_payload  # noqa: E402
from apps.stations.models import Station  # noqa: E402
from apps.whitelabel.models import Tenant  # noqa: E402
from bench.loadgen import meter_payload  # noqa: E402
from bench.prepare import BRAND  # noqa: E402

MAX_FRAME_BYTES = 65536


def frames(protocol: str, count: int, later: bool = False) -> list[str]:
    base = datetime.now(UTC) + timedelta(days=1 if later else 0)
    return [
        json.dumps([2, f"m{number}", "MeterValues", meter_payload(protocol, number, base + timedelta(seconds=number))])
        for number in range(count)
    ]


def one(text: str, protocol: str, station_id: int) -> None:
    call = parse_frame(text, max_bytes=MAX_FRAME_BYTES)
    validate_call_payload(protocol, call.action, call.payload)
    call_handle(**vars(queued(call, protocol, station_id)))


BATCH = 100


def queued(call, protocol: str, station_id: int) -> QueuedCall:
    return QueuedCall(station_id, protocol, call, timezone.now(), time.monotonic(), [], False)


def stage_costs(texts: list[str], protocol: str, station_ids: list[int]) -> dict[str, float]:
    """CPU microseconds per message of each stage, measured apart."""
    costs = {}
    started = time.process_time()
    calls = [parse_frame(text, max_bytes=MAX_FRAME_BYTES) for text in texts]
    costs["parse"] = time.process_time() - started
    started = time.process_time()
    for call in calls:
        validate_call_payload(protocol, call.action, call.payload)
    costs["validate"] = time.process_time() - started
    started = time.process_time()
    for call in calls:
        call_handle(**vars(queued(call, protocol, station_ids[0])))
    costs["handle + log + commit"] = time.process_time() - started
    calls = [parse_frame(text, max_bytes=MAX_FRAME_BYTES) for text in frames(protocol, len(texts), later=True)]
    started = time.process_time()
    for first in range(0, len(calls), BATCH):
        batch = calls[first : first + BATCH]
        calls_handle(queued=[queued(call, protocol, station_ids[index]) for index, call in enumerate(batch)])
    costs[f"the same in batches of {BATCH} stations"] = time.process_time() - started
    return {stage: seconds / len(texts) * 1e6 for stage, seconds in costs.items()}


def main(argv: list[str]) -> None:
    count = int(argv[0]) if argv else 2000
    connection.set_schema(Tenant.objects.get(slug=BRAND).schema_name)
    station_ids = list(Station.objects.order_by("identity").values_list("pk", flat=True)[:BATCH])
    if len(station_ids) < BATCH:
        raise SystemExit(f"run `python -m bench.prepare {BATCH}` first")
    station_id = station_ids[0]
    for protocol in (OCPP16, OCPP201):
        for text in frames(protocol, 50):  # warm caches: validators, ORM
            one(text, protocol, station_id)
        costs = stage_costs(frames(protocol, count), protocol, station_ids)
        print(f"{protocol}: CPU per MeterValues, µs: " + ", ".join(f"{k} {v:.0f}" for k, v in costs.items()))
    profile = cProfile.Profile()
    texts = frames(OCPP16, count)
    profile.enable()
    for text in texts:
        one(text, OCPP16, station_id)
    profile.disable()
    out = io.StringIO()
    stats = pstats.Stats(profile, stream=out).sort_stats("cumulative")
    stats.print_stats(40)
    print(out.getvalue())


if __name__ == "__main__":
    main(sys.argv[1:])
