"""The platform side of the API scenarios (e, f), in the bench database; run with DJANGO_SETTINGS_MODULE and
DATABASE_URL of that database:

- `python -m bench.apidata reads SESSIONS` makes the brand `benchapi` (host benchapi.localhost) and seeds it, unless
  it already holds exactly that seed: 500 stations with two EVSEs each, ID tokens, SESSIONS charging sessions spread
  over two years and a few meter samples per recent session, all by COPY, then ANALYZE. Prints JSON: the host, a
  fresh API key with every scope, the station ids and the session id range.
- `python -m bench.apidata commands STATIONS` prepares the brand `bench` (made by bench.prepare) for remote starts
  on stations BENCH-00001..STATIONS: an EVSE with a connector on each, an ID token, a fresh API key. Prints JSON.

`sessions_seed` works in the current schema and is what tests/bench calls on a test tenant.
"""

import json
import math
import random
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import django

if __name__ == "__main__":
    django.setup()

from django.db import connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apps.api.models import Scope  # noqa: E402
from apps.api.services import api_key_create  # noqa: E402
from apps.sessions.models import ChargingSession, IdToken, MeterSample  # noqa: E402
from apps.stations.models import Connector, Evse, Station  # noqa: E402

READS_BRAND = "benchapi"
READS_HOST = "benchapi.localhost"
COMMANDS_BRAND = "bench"
COMMANDS_HOST = "bench.localhost"
COMMANDS_TOKEN = "BENCH-API-TOKEN"
STATIONS = 500
EVSES_PER_STATION = 2
SPAN = timedelta(days=730)
SAMPLED_SESSIONS = 20_000  # the most recent sessions get meter samples (the session detail's)
SAMPLES_PER_SESSION = 4  # energy register at the start, twice on the way, at the stop
CHUNKS = 50  # the span is written in this many slices of time, each sorted, so ids ascend with started_at
STOP_REASONS = ["EVDisconnected", "EVDisconnected", "EVDisconnected", "Local", "Remote", "StoppedByEV"]

SESSION_COLUMNS = (
    "id",
    "station_id",
    "evse_id",
    "connector_id",
    "transaction_id",
    "status",
    "id_token_id",
    "id_token_uid",
    "id_token_type",
    "authorization_status",
    "started_at",
    "stopped_at",
    "meter_start_wh",
    "meter_stop_wh",
    "energy_wh",
    "stop_reason",
    "charging_state",
    "power_w",
    "last_register_wh",
    "last_register_at",
    "offline",
    "register_anomaly",
    "created_at",
    "updated_at",
)
SAMPLE_COLUMNS = (
    "station_id",
    "session_id",
    "evse_id",
    "sampled_at",
    "measurand",
    "phase",
    "location",
    "context",
    "unit",
    "value",
    "value_normalised",
    "signed_data",
)


@dataclass
class Seeded:
    stations: int
    evses: int
    tokens: int
    sessions: int
    samples: int
    first_session_id: int
    last_session_id: int


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _copy(cursor, model, columns: tuple[str, ...], rows) -> int:
    written = 0
    with cursor.copy(f"COPY {_table(model)} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
            written += 1
    return written


def _sequence_follow(cursor, model) -> None:
    """After rows were written with explicit ids, the id sequence continues after the largest."""
    table = model._meta.db_table
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE((SELECT max(id) FROM {_table(model)}), 0) + 1, "
        "false)",
        [table],
    )


def _next_id(cursor, model) -> int:
    cursor.execute(f"SELECT COALESCE(max(id), 0) + 1 FROM {_table(model)}")
    return cursor.fetchone()[0]


def sessions_seed(
    *,
    sessions: int,
    stations: int = STATIONS,
    evses_per_station: int = EVSES_PER_STATION,
    tokens: int | None = None,
    sampled_sessions: int = SAMPLED_SESSIONS,
    samples_per_session: int = SAMPLES_PER_SESSION,
    span: timedelta = SPAN,
    now: datetime | None = None,
    seed: int = 7,
) -> Seeded:
    """Seed the current schema: `stations` accepted stations API-00001... with `evses_per_station` EVSEs (one Type 2
    connector each), `tokens` ID tokens (default one per 50 sessions), `sessions` charging sessions over `span`
    ending at `now`, and `samples_per_session` energy-register samples for each of the `sampled_sessions` most
    recent sessions.

    Realistic shape: stations differ in popularity (0.2x to 1.8x the mean), every EVSE's sessions follow one
    another without overlapping, sessions last 20 min to 8 h and charge 3 to 60 kWh, the ones that would still be
    running at `now` are active, and ids ascend with started_at as they do in production. Sessions and samples go
    by COPY; stations, EVSEs, connectors and tokens (a few thousand rows) by bulk_create."""
    rng = random.Random(seed)
    now = now or timezone.now()
    tokens = tokens if tokens is not None else max(10, sessions // 50)
    begin = now - span
    with transaction.atomic():
        have = Station.objects.filter(identity__startswith="API-").count()
        made = Station.objects.bulk_create(
            Station(
                identity=f"API-{number:05d}",
                registration_status=Station.Registration.ACCEPTED,
                vendor="Bench",
                model=("AC22", "DC150")[number % 2],
                serial_number=f"SN{number:07d}",
                firmware_version="1.4.2",
                protocol=("ocpp1.6", "ocpp2.0.1")[number % 2],
                status="Available",
            )
            for number in range(have + 1, have + stations + 1)
        )
        evses = Evse.objects.bulk_create(
            Evse(station=station, evse_id=number) for station in made for number in range(1, evses_per_station + 1)
        )
        Connector.objects.bulk_create(
            Connector(evse=evse, connector_id=1, status="Available", status_reported_at=now) for evse in evses
        )
        token_rows = IdToken.objects.bulk_create(
            IdToken(uid=f"BENCH{rng.getrandbits(40):010X}{number:06d}", label=f"Card {number}")
            for number in range(tokens)
        )

        # How many sessions each EVSE had: by its station's popularity, summing exactly to `sessions`.
        weights = {station.pk: rng.uniform(0.2, 1.8) for station in made}
        total = sum(weights[evse.station_id] for evse in evses)
        shares = [sessions * weights[evse.station_id] / total for evse in evses]
        counts = [int(share) for share in shares]
        for index in sorted(range(len(evses)), key=lambda i: counts[i] - shares[i])[: sessions - sum(counts)]:
            counts[index] += 1
        # An EVSE with n sessions has n slots of span/n: each session starts early in its slot and ends inside it.
        seconds = span.total_seconds()
        slots = [(evse, count, seconds / count) for evse, count in zip(evses, counts, strict=True) if count]
        registers = {evse.pk: Decimal(rng.randrange(100_000, 5_000_000)) for evse in evses}

        with connection.cursor() as cursor:
            next_id = first_id = _next_id(cursor, ChargingSession)
            sampled_from = first_id + sessions - sampled_sessions
            samples = 0
            chunk_seconds = span.total_seconds() / CHUNKS
            for chunk in range(CHUNKS):
                low, high = chunk * chunk_seconds, (chunk + 1) * chunk_seconds
                starts = []
                for evse, count, slot in slots:
                    for k in range(math.ceil(low / slot), min(count, math.ceil(high / slot))):
                        # A little later than the slot's beginning, but within this slice of time.
                        jitter = rng.uniform(0, min(slot * 0.15, high - k * slot))
                        starts.append((k * slot + jitter, evse, slot))
                starts.sort(key=lambda start: start[0])
                rows, sample_rows = [], []
                for offset, evse, slot in starts:
                    started = begin + timedelta(seconds=offset)
                    duration = timedelta(seconds=min(slot * 0.8, rng.uniform(1200, 28800)))
                    energy = Decimal(rng.randrange(3_000_000, 60_000_000)) / 1000
                    token = token_rows[rng.randrange(len(token_rows))]
                    meter_start = registers[evse.pk]
                    meter_stop = meter_start + energy
                    registers[evse.pk] = meter_stop
                    stopped = started + duration
                    active = stopped > now
                    rows.append(
                        (
                            next_id,
                            evse.station_id,
                            evse.evse_id,
                            1,
                            str(next_id),
                            ChargingSession.Status.ACTIVE if active else ChargingSession.Status.COMPLETED,
                            token.pk,
                            token.uid,
                            token.type,
                            "Accepted",
                            started,
                            None if active else stopped,
                            meter_start,
                            None if active else meter_stop,
                            energy,
                            "" if active else rng.choice(STOP_REASONS),
                            "Charging" if active else "",
                            Decimal(11000) if active else None,
                            meter_stop,
                            min(stopped, now),
                            False,
                            False,
                            started,
                            min(stopped, now),
                        )
                    )
                    if next_id >= sampled_from:
                        for step in range(samples_per_session):
                            share = step / max(1, samples_per_session - 1)
                            at = started + duration * share
                            if at > now:
                                break
                            register = meter_start + (energy * Decimal(share)).quantize(Decimal("0.001"))
                            sample_rows.append(
                                (
                                    evse.station_id,
                                    next_id,
                                    evse.evse_id,
                                    at,
                                    "Energy.Active.Import.Register",
                                    "",
                                    "Outlet",
                                    "Sample.Periodic",
                                    "Wh",
                                    register,
                                    register,
                                    "",
                                )
                            )
                    next_id += 1
                _copy(cursor, ChargingSession, SESSION_COLUMNS, rows)
                samples += _copy(cursor, MeterSample, SAMPLE_COLUMNS, sample_rows)
            _sequence_follow(cursor, ChargingSession)
            for model in (ChargingSession, MeterSample, Station, Evse, Connector, IdToken):
                cursor.execute(f"ANALYZE {_table(model)}")
    return Seeded(len(made), len(evses), len(token_rows), next_id - first_id, samples, first_id, next_id - 1)


def _tenant(slug: str, host: str, name: str):
    from apps.whitelabel.models import Tenant
    from apps.whitelabel.services import platform_tenant_ensure, tenant_create

    platform_tenant_ensure()
    return Tenant.objects.filter(slug=slug).first() or tenant_create(slug=slug, name=name, domains=[host])


def api_key_for_bench() -> str:
    """A fresh API key of the current schema with every scope: its plaintext."""
    _, plaintext = api_key_create(name=f"bench {datetime.now(UTC):%Y-%m-%d %H:%M}", scopes=Scope.values)
    return plaintext


def reads_fixture(sessions: int) -> dict:
    """Scenario e: the current schema holds exactly `sessions` seeded sessions (reseeded from empty otherwise)."""
    seeded = ChargingSession.objects.count() == sessions and Station.objects.count() == STATIONS
    if not seeded:
        with connection.cursor() as cursor:
            cursor.execute(
                "TRUNCATE charging_metersample, charging_transactionevent, charging_chargingsession, charging_idtoken, "
                "stations_connector, stations_evse, stations_station, stations_location, commands_command CASCADE"
            )
        sessions_seed(sessions=sessions)
    ids = list(ChargingSession.objects.order_by("id").values_list("id", flat=True)[:1]) + list(
        ChargingSession.objects.order_by("-id").values_list("id", flat=True)[:1]
    )
    return {
        "reseeded": not seeded,
        "key": api_key_for_bench(),
        "stations": sorted(Station.objects.values_list("id", flat=True)),
        "sessions": [ids[0], ids[-1]] if ids else [],
    }


def commands_fixture(stations: int) -> dict:
    """Scenario f: stations BENCH-00001..`stations` have EVSE 1 with a connector, and there is an ID token."""
    targets = list(Station.objects.filter(identity__lte=f"BENCH-{stations:05d}").order_by("identity"))
    have = set(Evse.objects.filter(station__in=targets, evse_id=1).values_list("station_id", flat=True))
    evses = Evse.objects.bulk_create(Evse(station=station, evse_id=1) for station in targets if station.pk not in have)
    Connector.objects.bulk_create(Connector(evse=evse, connector_id=1) for evse in evses)
    IdToken.objects.get_or_create(uid=COMMANDS_TOKEN, type=IdToken.Type.CENTRAL, defaults={"label": "Bench"})
    return {"key": api_key_for_bench(), "stations": [station.pk for station in targets], "id_token": COMMANDS_TOKEN}


def main(argv: list[str]) -> None:
    what, count = argv[0], int(argv[1])
    if what == "reads":
        tenant = _tenant(READS_BRAND, READS_HOST, "Bench API")
        with schema_context(tenant.schema_name):
            fixture = {"host": READS_HOST, **reads_fixture(count)}
    elif what == "commands":
        from apps.whitelabel.models import Tenant

        with schema_context(Tenant.objects.get(slug=COMMANDS_BRAND).schema_name):
            fixture = {"host": COMMANDS_HOST, **commands_fixture(count)}
    else:
        raise SystemExit(f"unknown: {what} (reads SESSIONS | commands STATIONS)")
    print(json.dumps(fixture))


if __name__ == "__main__":
    main(sys.argv[1:])
