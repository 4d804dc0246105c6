"""The load generator itself works (no timing is asserted: figures belong to `make bench`, not to tests)."""

from bench.run import Row, bare_ws, report, run_fleet


def test_the_generator_holds_meters_and_storms_a_bare_server_without_errors(tmp_path):
    server = bare_ws(tmp_path / "bare-ws.log")
    try:
        hold, *_ = run_fleet(server, "hold", 20, duration=1, extra=0.2, workers=2)
        meter, *_ = run_fleet(server, "meter", 10, duration=1, extra=5, workers=2)
        storm, *_ = run_fleet(server, "storm", 30, duration=5, extra=0, workers=2)
    finally:
        server.stop()

    assert (hold.counts.get("connected"), hold.counts.get("errors", 0)) == (20, 0)
    assert len(hold.latencies["heartbeat"]) >= 20
    assert meter.counts["meter_sent"] >= 10 and meter.counts.get("errors", 0) == 0
    assert (storm.counts.get("accepted"), storm.counts.get("errors", 0)) == (30, 0)


def test_the_report_is_a_markdown_table_with_ratios_to_both_baselines():
    rows = [
        Row("a", "bare-ws", "n", 10, [0.001, 0.002], 16, 1.0, 0),
        Row("a", "channels", "n", 10, [0.002, 0.004], 30, 1.0, 0),
        Row("a", "platform", "n", 10, [0.004, 0.008], 50, 2.0, 0),
    ]
    text = report(rows, full=False, seconds=1)
    platform = next(line for line in text.splitlines() if "| platform |" in line)
    assert platform.endswith("| p99 ×4.0 | p99 ×2.0 |")
