"""The API scenarios' client side: HTTP requests to the platform's daphne, timed, and their report.

- e. reads on a brand seeded with many charging sessions (bench/apidata.py): the session list's first page, the
  same filtered by station, following the list's `next` cursor, a session's detail and the station list, with two
  baselines on the same server: /healthz (answered before tenancy and DRF) and /api/v1/locations/ of an empty table
  (the API's whole path: tenancy, API key, scopes, DRF, pagination, one query).
- f. remote start through the API with `"wait": true` to stations the load generator holds: from the request to
  the response carrying the station's answer; baseline GET /api/v1/stations/{id}/ on the same server.

Every request is measured twice: by one client alone (its latency, the figures the targets are about) and by
CLIENTS clients at once, each sending its next request when its answer came (the server's throughput, and the
latency under that load). Keep-alive connections (http.client), one per client thread.
"""

import http.client
import json
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bench.stats import ms, percentile

P95_TARGET_S = 0.100
CLIENTS = 4


@dataclass
class Answer:
    status: int
    body: dict | list | None
    seconds: float


class Client:
    """One keep-alive HTTP/1.1 connection to the server, speaking to `host` with the API key."""

    def __init__(self, port: int, host: str, key: str | None = None, timeout: float = 60):
        self.port, self.host, self.timeout = port, host, timeout
        self.headers = {"Host": host, "Accept": "application/json"}
        if key:
            self.headers["Authorization"] = f"Bearer {key}"
        self.connection = None

    def request(self, method: str, path: str, body: dict | None = None) -> Answer:
        headers = dict(self.headers)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):  # a keep-alive connection the server closed meanwhile is opened again, once
            if self.connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
                connection.connect()
                connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                self.connection = connection
            started = time.perf_counter()
            try:
                self.connection.request(method, path, body=data, headers=headers)
                response = self.connection.getresponse()
                raw = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt == 2:
                    raise
                continue
            seconds = time.perf_counter() - started
            if response.getheader("Connection", "").lower() == "close":
                self.close()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = None
            return Answer(response.status, parsed, seconds)
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
            self.connection = None


# --- what is requested --------------------------------------------------------------------------------------------


@dataclass
class Endpoint:
    """A request to measure: `make(memory)` gives (method, path, body) for a client's next request, where `memory`
    is the client's own dict holding its last answer's body under "last"; `ok(answer)` judges an answer."""

    label: str
    make: Callable[[dict], tuple[str, str, dict | None]]
    ok: Callable[[Answer], bool] = lambda answer: answer.status == 200
    baseline: bool = False  # no target; the scenario's last baseline is what its other requests are compared with
    outcomes: bool = False  # count the answers' "status" (a command's outcome)


def ok_200(answer: Answer) -> bool:
    return answer.status == 200


def list_ok(answer: Answer) -> bool:
    return answer.status == 200 and isinstance(answer.body, dict) and isinstance(answer.body.get("results"), list)


def fixed(label: str, path: str, *, ok=ok_200, baseline: bool = False) -> Endpoint:
    return Endpoint(label, lambda memory: ("GET", path, None), ok, baseline)


def chosen(label: str, template: str, choices: list, *, ok=ok_200, baseline: bool = False, seed: int = 1) -> Endpoint:
    """GET `template` with a value drawn at random from `choices` for each request."""
    rng = random.Random(seed)
    return Endpoint(label, lambda memory: ("GET", template.format(rng.choice(choices)), None), ok, baseline)


def page_walk(label: str, first: str, *, ok=list_ok) -> Endpoint:
    """GET `first`, then the `next` of each answer, back to `first` after the last page: each client walks on."""

    def make(memory: dict) -> tuple[str, str, None]:
        last = memory.get("last")
        following = last.get("next") if isinstance(last, dict) else None
        return "GET", path_of(following) if following else first, None

    return Endpoint(label, make, ok)


def path_of(url: str) -> str:
    """The path and query of an absolute or relative URL (a cursor's `next` names the host it was asked on)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- measuring ----------------------------------------------------------------------------------------------------


@dataclass
class Measurement:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)  # the body's "status", when it has one (commands)
    errors: int = 0
    first_error: str = ""
    elapsed: float = 0.0

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def add(self, answer: Answer, ok: bool, label: str, outcomes: bool = False) -> None:
        self.latencies.append(answer.seconds)
        self.statuses[answer.status] += 1
        if outcomes and isinstance(answer.body, dict):
            self.outcomes[str(answer.body.get("status"))] += 1
        if not ok:
            self.errors += 1
            if not self.first_error:
                self.first_error = f"{label}: HTTP {answer.status} {json.dumps(answer.body)[:200]}"


def measure(endpoint: Endpoint, *, port: int, host: str, key: str | None, count: int, clients: int = 1) -> Measurement:
    """`count` requests of `endpoint` by `clients` threads at once, each with its own connection and memory."""
    result = Measurement()
    lock = threading.Lock()
    left = iter(range(count))

    def work() -> None:
        client, memory = Client(port, host, key), {}
        try:
            while True:
                with lock:
                    if next(left, None) is None:
                        return
                method, path, body = endpoint.make(memory)
                try:
                    answer = client.request(method, path, body)
                except OSError as error:
                    answer = Answer(0, {"exception": f"{type(error).__name__}: {error}"}, 0.0)
                memory["last"] = answer.body
                with lock:
                    result.add(answer, endpoint.ok(answer), endpoint.label, endpoint.outcomes)
        finally:
            client.close()

    threads = [threading.Thread(target=work, daemon=True) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result.elapsed = time.perf_counter() - started
    return result


def availability(client: Client, method: str, path: str, body: dict | None = None) -> str:
    """ "" when the server has the endpoint (it answers anything but a 404 for an unknown path or a 405), else why
    not: so a scenario can run before the endpoint is merged and say so instead of failing."""
    try:
        answer = client.request(method, path, body)
    except OSError as error:
        return f"not available: {type(error).__name__}: {error}"
    message = (answer.body or {}).get("error", {}).get("message", "") if isinstance(answer.body, dict) else ""
    if answer.status == 404 and message == "No such endpoint.":
        return f"not available: {method} {path.split('?')[0]} answers 404 (no such endpoint on this server)"
    if answer.status in (404, 405) and not isinstance(answer.body, dict):
        return f"not available: {method} {path.split('?')[0]} answers {answer.status}"
    return ""


# --- the report's rows --------------------------------------------------------------------------------------------


@dataclass
class ApiRow:
    scenario: str
    request: str
    volume: str
    alone: Measurement | None  # one client
    loaded: Measurement | None  # CLIENTS clients
    cpu_s: float = 0.0
    baseline: bool = False
    note: str = ""  # "not available: ..." or the first error

    @property
    def available(self) -> bool:
        return self.alone is not None


def api_table(rows: list[ApiRow], clients: int = CLIENTS) -> list[str]:
    lines = [
        f"| scenario | request | volume | p50 | p95 | p99 | max | throughput /s ({clients} clients) "
        f"| p95 at {clients} clients | server CPU ms/request | errors | p95 < {P95_TARGET_S * 1000:.0f} ms "
        "| vs baseline |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    baselines = {row.scenario: row for row in rows if row.baseline and row.available}  # the last one of each
    for row in rows:
        if not row.available:
            volume = f"{row.volume}: {row.note}" if row.volume else row.note
            lines.append(f"| {row.scenario} | {row.request} | {volume} | — | — | — | — | — | — | — | — | — | |")
            continue
        values = row.alone.latencies
        p95 = percentile(values, 0.95)
        loaded = row.loaded or Measurement()
        base = baselines.get(row.scenario)
        ratio = ""
        if base is not None and not row.baseline and base.alone.latencies:
            ratio = f"p95 ×{p95 / percentile(base.alone.latencies, 0.95):.1f}"
        requests = len(values) + len(loaded.latencies)
        throughput = f"{loaded.throughput:.0f}" if loaded.latencies else f"{row.alone.throughput:.0f} (1 client)"
        target = "baseline" if row.baseline else ("met" if p95 < P95_TARGET_S else "missed")
        lines.append(
            f"| {row.scenario} | {row.request} | {row.volume} | {ms(percentile(values, 0.5))} | {ms(p95)} | "
            f"{ms(percentile(values, 0.99))} | {ms(max(values) if values else float('nan'))} | "
            f"{throughput} | {ms(percentile(loaded.latencies, 0.95))} | "
            f"{row.cpu_s * 1000 / max(requests, 1):.1f} | {row.alone.errors + loaded.errors} | {target} | {ratio} |"
        )
    return lines


def api_notes(rows: list[ApiRow]) -> list[str]:
    return [f"- {row.scenario} {row.request}: {row.note}" for row in rows if row.available and row.note]


# --- the scenarios ------------------------------------------------------------------------------------------------


def measured_row(
    scenario: str,
    endpoint: Endpoint,
    server,
    *,
    host: str,
    key: str | None,
    count: int,
    clients: int,
    volume: str = "",
    warmup: int = 10,
) -> ApiRow:
    """`endpoint` measured alone (count requests) and under load (count requests by `clients` clients), after a
    warm-up; `server` has `port` and `cpu_seconds()`."""
    measure(endpoint, port=server.port, host=host, key=key, count=warmup)
    cpu_before = server.cpu_seconds()
    alone = measure(endpoint, port=server.port, host=host, key=key, count=count)
    loaded = measure(endpoint, port=server.port, host=host, key=key, count=count, clients=clients) if clients else None
    cpu = server.cpu_seconds() - cpu_before
    note = alone.first_error or (loaded.first_error if loaded else "")
    requests = f"{count} requests" + (f" + {count} by {clients} clients" if clients else "")
    volume = f"{volume}, {requests}" if volume else requests
    if alone.outcomes:
        volume += ", answers: " + ", ".join(f"{n} {outcome}" for outcome, n in alone.outcomes.most_common())
    return ApiRow(scenario, endpoint.label, volume, alone, loaded, cpu, endpoint.baseline, note)


def api_reads(server, fixture: dict, *, count: int, clients: int = CLIENTS, sessions: int = 0) -> list[ApiRow]:
    """e. Reads on the seeded brand; the session requests only when the server has the sessions endpoints."""
    scenario = "e. API reads"
    host, key = fixture["host"], fixture["key"]
    stations, (first_id, last_id) = fixture["stations"], fixture["sessions"] or (0, 0)
    common = {"host": host, "key": key, "count": count, "clients": clients}
    rows = [
        measured_row(scenario, fixed("GET /healthz (before DRF)", "/healthz", baseline=True), server, **common),
        measured_row(
            scenario,
            fixed("GET /api/v1/locations/ (empty table)", "/api/v1/locations/", baseline=True),
            server,
            **common,
        ),
    ]
    rows.append(
        measured_row(
            scenario,
            fixed("GET /api/v1/stations/?page_size=50", "/api/v1/stations/?page_size=50", ok=list_ok),
            server,
            volume=f"{len(stations)} stations",
            **common,
        )
    )
    seeded = f"{sessions:,} sessions" if sessions else "sessions"
    first_page = "/api/v1/sessions/?page_size=50"
    session_requests = [
        fixed(f"GET {first_page}", first_page, ok=list_ok),
        chosen("… &station=<id>", first_page + "&station={}", stations, ok=list_ok),
        page_walk("… next page by cursor", first_page),
        chosen("GET /api/v1/sessions/{id}/", "/api/v1/sessions/{}/", range(first_id, last_id + 1) or [1]),
    ]
    missing = availability(Client(server.port, host, key), "GET", "/api/v1/sessions/?page_size=1")
    for endpoint in session_requests:
        if missing:
            rows.append(ApiRow(scenario, endpoint.label, seeded, None, None, note=missing))
        else:
            rows.append(measured_row(scenario, endpoint, server, volume=seeded, **common))
    return rows


def remote_starts(server, fixture: dict, *, count: int) -> list[ApiRow]:
    """f. Remote starts through the API, one at a time, round robin over the stations the generator holds."""
    scenario = "f. remote start via API"
    host, key, stations = fixture["host"], fixture["key"], fixture["stations"]
    body = {"id_token": fixture["id_token"], "evse_id": 1, "wait": True}
    turn = iter(range(10**9))

    def make(memory: dict) -> tuple[str, str, dict]:
        return "POST", f"/api/v1/stations/{stations[next(turn) % len(stations)]}/commands/remote_start", body

    def answered(answer: Answer) -> bool:
        status = answer.body.get("status") if isinstance(answer.body, dict) else None
        return answer.status in (200, 201) and status == "accepted"

    start = Endpoint('POST /api/v1/stations/{id}/commands/remote_start {"wait": true}', make, answered, outcomes=True)
    baseline = chosen("GET /api/v1/stations/{id}/", "/api/v1/stations/{}/", stations, baseline=True)
    volume = f"{len(stations)} stations"
    rows = [measured_row(scenario, baseline, server, host=host, key=key, count=count, clients=0, volume=volume)]
    missing = availability(Client(server.port, host, key), *make({}))
    if missing:
        rows.append(ApiRow(scenario, start.label, volume, None, None, note=missing))
    else:
        rows.append(measured_row(scenario, start, server, host=host, key=key, count=count, clients=0, volume=volume))
    return rows
