"""Whether a location is open now, by its OCPI opening hours read in its own timezone, and the hours in a line."""

from datetime import UTC, datetime

import pytest

from apps.stations.models import Location
from apps.stations.network import location_open_now, opening_times_text

NIGHT_SHIFT = {"regular_hours": [{"weekday": 5, "period_begin": "22:00", "period_end": "06:00"}]}  # Fri night


def place(hours, zone="Europe/Amsterdam") -> Location:
    return Location(name="Site", timezone=zone, opening_hours=hours)


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (datetime(2025, 5, 16, 19, 59, tzinfo=UTC), False),  # Fri 21:59 in Amsterdam
        (datetime(2025, 5, 16, 20, 0, tzinfo=UTC), True),  # Fri 22:00
        (datetime(2025, 5, 17, 3, 59, tzinfo=UTC), True),  # Sat 05:59, still Friday's period
        (datetime(2025, 5, 17, 4, 0, tzinfo=UTC), False),  # Sat 06:00
    ],
)
def test_a_period_across_midnight_belongs_to_the_day_it_starts(at, expected):
    assert location_open_now(place(NIGHT_SHIFT), at) is expected


def test_exceptional_closings_beat_everything_and_openings_beat_regular_hours():
    hours = {
        "twentyfourseven": True,
        "exceptional_closings": [{"period_begin": "2025-12-25T00:00:00Z", "period_end": "2025-12-26T00:00:00Z"}],
    }
    assert location_open_now(place(hours), datetime(2025, 12, 25, 12, tzinfo=UTC)) is False
    assert location_open_now(place(hours), datetime(2025, 12, 26, 12, tzinfo=UTC)) is True
    opening = dict(
        NIGHT_SHIFT,
        exceptional_openings=[{"period_begin": "2025-05-14T08:00:00Z", "period_end": "2025-05-14T12:00:00Z"}],
    )
    assert location_open_now(place(opening), datetime(2025, 5, 14, 9, tzinfo=UTC)) is True


@pytest.mark.parametrize(
    "hours",
    [
        {},
        {"regular_hours": [{"weekday": 9, "period_begin": "08:00", "period_end": "20:00"}]},
        {"regular_hours": "x"},
        [],
    ],
)
def test_no_or_garbled_hours_are_unknown_not_closed(hours):
    assert location_open_now(place(hours), datetime(2025, 5, 14, 9, tzinfo=UTC)) is None


def test_an_unknown_timezone_is_read_as_utc():
    hours = {"regular_hours": [{"weekday": 3, "period_begin": "08:00", "period_end": "09:00"}]}

    assert location_open_now(place(hours, zone="Mars/Olympus"), datetime(2025, 5, 14, 8, 30, tzinfo=UTC)) is True


def test_the_hours_in_a_line():
    week = {
        "regular_hours": [
            *({"weekday": day, "period_begin": "07:00", "period_end": "22:00"} for day in range(1, 6)),
            {"weekday": 6, "period_begin": "09:00", "period_end": "24:00"},
        ]
    }

    assert opening_times_text(place(week)) == "Mon–Fri 07:00–22:00; Sat 09:00–24:00; Sun closed"
    assert opening_times_text(place({"twentyfourseven": True})) == "Open 24/7"
    assert opening_times_text(place({})) == ""
