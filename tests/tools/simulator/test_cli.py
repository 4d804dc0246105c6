"""The simulator's command line: which stations it runs, with what, and the summary it prints."""

import argparse
import random

import pytest

from tools.simulator.cli import arguments_add, configs_build, summary
from tools.simulator.station import StationReport, TagPool


def options(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    arguments_add(parser)
    return parser.parse_args(["ws://127.0.0.1:8000/ocpp/demo/", *argv])


def test_named_stations_keep_their_protocols_and_get_their_own_url():
    configs = configs_build(options("--identities", "DEMO-16-01:1.6, DEMO-201-01:2.0.1", "--password", "pw"))
    assert [(c.identity, c.protocol, c.url) for c in configs] == [
        ("DEMO-16-01", "ocpp1.6", "ws://127.0.0.1:8000/ocpp/demo/DEMO-16-01"),
        ("DEMO-201-01", "ocpp2.0.1", "ws://127.0.0.1:8000/ocpp/demo/DEMO-201-01"),
    ]
    assert {c.password for c in configs} == {"pw"}


def test_a_fleet_alternates_protocols_unless_one_is_chosen():
    mixed = configs_build(options("--count", "3", "--prefix", "LOAD"))
    assert [(c.identity, c.protocol) for c in mixed] == [
        ("LOAD-0001", "ocpp1.6"),
        ("LOAD-0002", "ocpp2.0.1"),
        ("LOAD-0003", "ocpp1.6"),
    ]
    assert {c.protocol for c in configs_build(options("--count", "3", "--protocol", "2.0.1"))} == {"ocpp2.0.1"}


def test_fast_mode_options_reach_every_station():
    (config,) = configs_build(
        options("--session-seconds", "30", "--idle-seconds", "5", "--meter-interval", "2", "--max-power", "11",
                "--id-tags", "A,B", "--sessions", "4", "--drop-rate", "0.5")
    )  # fmt: skip
    assert (config.session_seconds, config.idle_seconds, config.meter_interval) == (30, 5, 2)
    assert (config.max_power_w, config.id_tags, config.sessions, config.drop_rate) == (11_000, ("A", "B"), 4, 0.5)


def test_an_unknown_protocol_is_refused_with_a_clear_message():
    with pytest.raises(ValueError, match="unknown protocol '1.5' for X: use 1.6 or 2.0.1"):
        configs_build(options("--identities", "X:1.5"))


def test_a_card_is_in_one_car_at_a_time():
    pool = TagPool(("A", "B", "C"), random.Random(0))
    taken = {pool.take() for _ in range(3)}
    assert taken == {"A", "B", "C"}
    pool.give_back("B")
    assert pool.take() == "B"


def test_the_summary_has_a_line_per_station_with_its_energy():
    report = StationReport(
        identity="DEMO-16-01", protocol="ocpp1.6", connects=2, sessions_completed=3, energy_wh=12_345
    )
    lines = summary([report]).splitlines()
    assert len(lines) == 2 and lines[1].split()[:5] == ["DEMO-16-01", "ocpp1.6", "2", "3", "12.345"]
