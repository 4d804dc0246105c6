"""The API scenarios' measuring (bench/apiload.py) against a small stand-in server, and the percentiles.

The stand-in answers like the platform's API (cursor pages with an absolute `next`, the error format, a command's
outcome) and records what it was asked, so the tests see what the scenarios send. No timing is asserted.
"""

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

from bench.apiload import Client, api_reads, api_table, remote_starts
from bench.run import report
from bench.stats import ms, percentile

SESSIONS = range(1001, 1121)  # 120 sessions: three pages of 50
STATIONS = [11, 12, 13]
UNKNOWN = {"error": {"code": "not_found", "message": "No such endpoint.", "fields": {}}}


class StandIn(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, *, sessions: bool = True, commands: bool = True, answer: str = "accepted"):
        super().__init__(("127.0.0.1", 0), Handler)
        self.sessions, self.commands, self.answer = sessions, commands, answer
        self.seen: list[tuple[str, str, dict | None, dict]] = []
        self.lock = threading.Lock()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def cpu_seconds(self) -> float:
        return time.process_time()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as daphne
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms wait for a delayed ACK

    def log_message(self, *args):
        pass

    def do_GET(self):
        self._answer(None)

    def do_POST(self):
        self._answer(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

    def _answer(self, body):
        server: StandIn = self.server
        with server.lock:
            server.seen.append((self.command, self.path, body, dict(self.headers)))
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        if parts.path == "/healthz":
            return self._send(200, {"status": "ok"})
        if self.headers.get("Authorization") != "Bearer evk_test":
            return self._send(401, {"error": {"code": "not_authenticated", "message": "", "fields": {}}})
        if parts.path == "/api/v1/locations/":
            return self._send(200, {"next": None, "previous": None, "results": []})
        if parts.path == "/api/v1/stations/":
            return self._send(200, {"next": None, "previous": None, "results": [{"id": i} for i in STATIONS]})
        if re.fullmatch(r"/api/v1/stations/\d+/", parts.path):
            return self._send(200, {"id": int(parts.path.split("/")[-2]), "status": ""})
        if server.sessions and parts.path == "/api/v1/sessions/":
            start = int(query.get("cursor", ["0"])[0])
            size = int(query["page_size"][0])
            page = list(SESSIONS)[start : start + size]
            more = start + size < len(SESSIONS)
            following = f"http://{self.headers['Host']}/api/v1/sessions/?cursor={start + size}&page_size={size}"
            return self._send(200, {"next": following if more else None, "previous": None, "results": page})
        if server.sessions and re.fullmatch(r"/api/v1/sessions/\d+/", parts.path):
            return self._send(200, {"id": int(parts.path.split("/")[-2])})
        if server.commands and re.fullmatch(r"/api/v1/stations/\d+/commands/remote_start", parts.path):
            return self._send(200, {"id": 1, "operation": "remote_start", "status": server.answer})
        return self._send(404, UNKNOWN)

    def _send(self, status: int, body: dict):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def stand_in(request):
    options = getattr(request, "param", {})
    server = StandIn(**options)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


FIXTURE = {"host": "benchapi.localhost", "key": "evk_test", "stations": STATIONS, "sessions": [1001, 1120]}


def rows_by_request(rows):
    return {row.request: row for row in rows}


def test_the_reads_measure_every_request_alone_and_with_several_clients(stand_in):
    rows = rows_by_request(api_reads(stand_in, FIXTURE, count=20, clients=3, sessions=120))

    assert len(rows) == 7
    for row in rows.values():
        assert row.available and row.alone.errors == 0 and row.loaded.errors == 0, row.request
        assert len(row.alone.latencies) == len(row.loaded.latencies) == 20
    assert rows["GET /healthz (before DRF)"].baseline and rows["GET /api/v1/locations/ (empty table)"].baseline
    hosts = {headers["Host"] for _, _, _, headers in stand_in.seen}
    assert hosts == {"benchapi.localhost"}


def test_the_reads_filter_by_the_seeded_stations_and_ask_for_seeded_sessions(stand_in):
    api_reads(stand_in, FIXTURE, count=30, clients=2)

    paths = [path for _, path, _, _ in stand_in.seen]
    filtered = {parse_qs(urlsplit(path).query)["station"][0] for path in paths if "station=" in path}
    assert filtered and filtered <= {str(station) for station in STATIONS}
    details = {int(path.split("/")[-2]) for path in paths if re.fullmatch(r"/api/v1/sessions/\d+/", path)}
    assert details and details <= set(SESSIONS)


def test_the_next_page_request_follows_the_returned_cursor_and_starts_over_after_the_last(stand_in):
    api_reads(stand_in, FIXTURE, count=12, clients=1)

    cursors = [parse_qs(urlsplit(path).query).get("cursor", ["first"])[0] for _, path, _, _ in stand_in.seen]
    walked = "".join(cursor[0] for cursor in cursors)  # f(irst), 5(0), 1(00), f(irst), ...
    assert "f51f51" in walked


@pytest.mark.parametrize("stand_in", [{"sessions": False}], indirect=True)
def test_without_the_sessions_endpoints_their_rows_say_not_available_and_the_rest_is_measured(stand_in):
    rows = api_reads(stand_in, FIXTURE, count=5, clients=2, sessions=120)

    sessions = [row for row in rows if "sessions" in row.request or row.request.startswith("…")]
    assert len(sessions) == 4
    assert all(not row.available and row.note.startswith("not available") for row in sessions)
    assert all(row.available and row.alone.errors == 0 for row in rows if row not in sessions)
    table = "\n".join(api_table(rows))
    assert table.count("120 sessions: not available: GET /api/v1/sessions/ answers 404") == 4


def test_a_remote_start_sends_the_token_and_waits_for_the_stations_answer(stand_in):
    rows = rows_by_request(remote_starts(stand_in, {**FIXTURE, "id_token": "TOKEN-1"}, count=9))

    start = rows['POST /api/v1/stations/{id}/commands/remote_start {"wait": true}']
    assert start.available and start.alone.errors == 0 and start.alone.outcomes == {"accepted": 9}
    posts = [(path, body) for method, path, body, _ in stand_in.seen if method == "POST"]
    assert all(body == {"id_token": "TOKEN-1", "evse_id": 1, "wait": True} for _, body in posts)
    assert {path.split("/")[4] for path, _ in posts} == {str(station) for station in STATIONS}  # round robin
    assert "answers: 9 accepted" in start.volume


@pytest.mark.parametrize("stand_in", [{"answer": "rejected"}], indirect=True)
def test_a_remote_start_the_station_refuses_counts_as_an_error(stand_in):
    rows = remote_starts(stand_in, {**FIXTURE, "id_token": "TOKEN-1"}, count=4)

    assert rows[-1].alone.errors == 4 and "rejected" in rows[-1].note


@pytest.mark.parametrize("stand_in", [{"commands": False}], indirect=True)
def test_without_the_commands_endpoint_the_remote_start_row_says_not_available(stand_in):
    baseline, start = remote_starts(stand_in, {**FIXTURE, "id_token": "TOKEN-1"}, count=4)

    assert baseline.available and baseline.alone.errors == 0
    assert not start.available and "404" in start.note


def test_a_wrong_key_is_counted_as_errors_with_the_first_one_reported(stand_in):
    rows = rows_by_request(api_reads(stand_in, {**FIXTURE, "key": "evk_wrong"}, count=3, clients=1))

    stations = rows["GET /api/v1/stations/?page_size=50"]
    assert stations.alone.errors == 3 and "HTTP 401" in stations.note


def test_the_client_keeps_its_connection_alive(stand_in):
    client = Client(stand_in.port, "benchapi.localhost", "evk_test")
    first = client.request("GET", "/healthz")
    connection = client.connection
    second = client.request("GET", "/api/v1/locations/")
    client.close()

    assert (first.status, second.status, second.body["results"]) == (200, 200, [])
    assert client.connection is None and connection is not None


def test_the_report_gives_the_api_table_with_targets_and_ratios_to_the_baseline(stand_in):
    rows = api_reads(stand_in, FIXTURE, count=5, clients=2, sessions=120)
    rows[1].alone.latencies = [0.010] * 20  # the locations baseline: p95 10 ms
    rows[2].alone.latencies = [0.020] * 19 + [0.5]  # stations: p95 20 ms
    rows[3].alone.latencies = [0.150] * 20  # sessions: p95 150 ms

    text = report([], full=False, seconds=1, api_rows=rows)
    lines = {line.split(" | ")[1]: line for line in text.splitlines() if line.startswith("| e.")}
    assert lines["GET /api/v1/stations/?page_size=50"].endswith("| met | p95 ×2.0 |")
    assert lines["GET /api/v1/sessions/?page_size=50"].endswith("| missed | p95 ×15.0 |")
    assert lines["GET /api/v1/locations/ (empty table)"].endswith("| baseline |  |")
    assert "| hold" not in text and "## API" in text


def test_percentiles_are_nearest_rank():
    values = [n / 1000 for n in range(100, 0, -1)]  # 1..100 ms, unordered

    assert [percentile(values, share) for share in (0.5, 0.95, 0.99, 1.0)] == [0.050, 0.095, 0.099, 0.100]
    assert percentile([0.007], 0.99) == 0.007
    assert percentile([0.001, 0.002, 0.003], 0.5) == 0.002
    assert percentile([0.001] * 99 + [1.0], 0.99) == 0.001  # one slow request in 100 is beyond p99
    assert ms(percentile([], 0.5)) == "—" and ms(0.0123) == "12.3"
