"""The worked examples of OCPI 2.2.1's tariffs module (mod_tariffs.asciidoc), with the numbers the spec gives.
Pure engine: no database."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from apps.tariffs.rating import ReservationPeriod, rate
from tests.tariffs.timelines import charge, park, session, terms

AMS = "Europe/Amsterdam"
MONDAY = datetime(2024, 3, 4, tzinfo=ZoneInfo(AMS))
SATURDAY = datetime(2024, 3, 9, tzinfo=ZoneInfo(AMS))


def at(day: datetime, hh: int, mm: int) -> datetime:
    return day.replace(hour=hh, minute=mm)


def component(type_, price, step_size=1, vat=None) -> dict:
    out = {"type": type_, "price": price, "step_size": step_size}
    if vat is not None:
        out["vat"] = vat
    return out


def totals(rating) -> tuple[str, str]:
    return str(rating.total_excl_vat.amount), str(rating.total_incl_vat.amount)


ENERGY_025 = {"price_components": [component("ENERGY", "0.25", 1, "10")]}
START_050 = component("FLAT", "0.50", 1, "20")


def test_simple_tariff_025_per_kwh():
    rating = rate(terms({"elements": [ENERGY_025]}), session(at(MONDAY, 10, 0), charge(120, 20)))
    assert totals(rating) == ("5.00", "5.50")
    assert rating.costs["ENERGY"].volume == Decimal(20)


def test_025_per_kwh_plus_start_fee():
    tariff = terms({"elements": [{"price_components": [START_050, component("ENERGY", "0.25", 1, "10")]}]})
    assert totals(rate(tariff, session(at(MONDAY, 10, 0), charge(120, 20)))) == ("5.50", "6.10")


@pytest.mark.parametrize(("kwh", "expected"), [(20, ("5.00", "5.50")), (1, ("0.50", "0.55"))])
def test_025_per_kwh_with_minimum_price(kwh, expected):
    tariff = terms({"min_price": {"excl_vat": "0.50", "incl_vat": "0.55"}, "elements": [ENERGY_025]})
    rating = rate(tariff, session(at(MONDAY, 10, 0), charge(60, kwh)))
    assert totals(rating) == expected
    if kwh == 1:
        assert rating.price_limit_excl_vat.amount == Decimal("0.25")  # what the minimum added


def test_025_per_kwh_parking_and_start_fee_parking_billed_per_quarter():
    tariff = terms(
        {
            "elements": [
                {"price_components": [START_050, component("ENERGY", "0.25", 1, "10")]},
                {"price_components": [component("PARKING_TIME", "2.00", 900, "20")]},
            ]
        }
    )
    rating = rate(tariff, session(at(MONDAY, 10, 0), charge(90, 20), park(40)))
    assert totals(rating) == ("7.00", "7.90")
    assert rating.costs["PARKING_TIME"].volume == Decimal("0.75")  # 45 minutes for 40


@pytest.mark.parametrize(("kwh", "expected"), [(50, ("10.00", "11.00")), (30, ("8.00", "8.85"))])
def test_start_fee_with_maximum_price(kwh, expected):
    tariff = terms(
        {
            "max_price": {"excl_vat": "10.00", "incl_vat": "11.00"},
            "elements": [{"price_components": [START_050, component("ENERGY", "0.25", 1, "10")]}],
        }
    )
    assert totals(rate(tariff, session(at(MONDAY, 10, 0), charge(150, kwh)))) == expected


def test_2_euro_per_hour_charging_time():
    tariff = terms({"elements": [{"price_components": [component("TIME", "2.00", 60, "10")]}]})
    assert totals(rate(tariff, session(at(MONDAY, 10, 0), charge(150, 30), park(30)))) == ("5.00", "5.50")


def test_3_euro_per_hour_and_5_euro_per_hour_parking():
    tariff = terms(
        {
            "elements": [
                {
                    "price_components": [
                        component("TIME", "3.00", 60, "10"),
                        component("PARKING_TIME", "5.00", 300, "20"),
                    ]
                }
            ]
        }
    )
    rating = rate(tariff, session(at(MONDAY, 10, 0), charge(150, 30), park(42)))
    assert totals(rating) == ("11.25", "12.75")


def test_ad_hoc_tariff_19_per_hour_billed_per_5_minutes():
    tariff = terms({"elements": [{"price_components": [component("TIME", "1.90", 300, "5.2")]}]})
    assert totals(rate(tariff, session(at(MONDAY, 10, 0), charge(150, 30)))) == ("4.75", "5.00")


COMPLEX = {
    "elements": [
        {"price_components": [component("FLAT", "2.50", 1, "15.0")]},
        {"price_components": [component("TIME", "1.00", 900, "20.0")], "restrictions": {"max_current": "32.00"}},
        {
            "price_components": [component("TIME", "2.00", 600, "20.0")],
            "restrictions": {
                "min_current": "32.00",
                "day_of_week": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
            },
        },
        {
            "price_components": [component("TIME", "1.25", 600, "20.0")],
            "restrictions": {"min_current": "32.00", "day_of_week": ["SATURDAY", "SUNDAY"]},
        },
        {
            "price_components": [component("PARKING_TIME", "5.00", 300, "10.0")],
            "restrictions": {
                "start_time": "09:00",
                "end_time": "18:00",
                "day_of_week": ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY"],
            },
        },
        {
            "price_components": [component("PARKING_TIME", "6.00", 300, "10.0")],
            "restrictions": {"start_time": "10:00", "end_time": "17:00", "day_of_week": ["SATURDAY"]},
        },
    ]
}


def test_complex_tariff_monday_morning_at_16_amps():
    timeline = session(at(MONDAY, 9, 30), charge(147, 8, current_a=16), park(42))
    assert totals(rate(terms(COMPLEX), timeline, time_zone=AMS)) == ("8.75", "10.00")


def test_complex_tariff_saturday_afternoon_at_43_amps():
    timeline = session(at(SATURDAY, 13, 30), charge(114, 40, current_a=43), park(71))
    rating = rate(terms(COMPLEX), timeline, time_zone=AMS)
    assert totals(rating) == ("12.50", "14.13")
    assert rating.costs["TIME"].volume == Decimal(2)  # 114 minutes billed as 120
    assert rating.costs["PARKING_TIME"].volume == Decimal("1.25")  # 71 minutes billed as 75


def test_free_of_charge_tariff():
    tariff = terms({"elements": [{"price_components": [component("FLAT", "0.00", 1)]}]})
    assert totals(rate(tariff, session(at(MONDAY, 10, 0), charge(60, 10)))) == ("0.00", "0.00")


def test_first_hour_of_parking_and_first_kwh_free():
    tariff = terms(
        {
            "elements": [
                {
                    "price_components": [component("PARKING_TIME", "0.0", 60)],
                    "restrictions": {"min_duration": 0, "max_duration": 3600},
                },
                {
                    "price_components": [component("PARKING_TIME", "2.0", 60)],
                    "restrictions": {"min_duration": 3600, "max_duration": 10800},
                },
                {"price_components": [component("PARKING_TIME", "3.0", 60)], "restrictions": {"min_duration": 10800}},
                {"price_components": [component("ENERGY", "0.0", 1)], "restrictions": {"max_kwh": "1.0"}},
                {"price_components": [component("ENERGY", "0.2", 1)], "restrictions": {"min_kwh": "1.0"}},
            ]
        }
    )
    # The spec's driver parks 2.75 hours counted from the session's start: charging takes (almost) no time here.
    rating = rate(tariff, session(at(MONDAY, 10, 0), charge("0.0166666", 20), park(165)))
    assert rating.total_excl_vat.amount == Decimal("7.30")
    assert rating.costs["ENERGY"].excl_vat.amount == Decimal("3.80")


class TestStepSizeWhenSwitchingElements:
    """Charging 1.20/h before 17:00 (per 30 min), 2.40/h after (per 15 min); parking 1.00/h until 20:00."""

    TARIFF = terms(
        {
            "elements": [
                {
                    "price_components": [component("TIME", "1.20", 1800), component("PARKING_TIME", "1.00", 900)],
                    "restrictions": {"start_time": "00:00", "end_time": "17:00"},
                },
                {
                    "price_components": [component("TIME", "2.40", 900), component("PARKING_TIME", "1.00", 900)],
                    "restrictions": {"start_time": "17:00", "end_time": "20:00"},
                },
                {
                    "price_components": [component("TIME", "2.40", 900)],
                    "restrictions": {"start_time": "20:00", "end_time": "23:59"},
                },
            ]
        }
    )

    def test_1_the_extra_charging_time_covers_the_short_parking(self):
        rating = rate(self.TARIFF, session(at(MONDAY, 16, 55), charge(10, 2), park(2)), time_zone=AMS)
        assert rating.total_excl_vat.amount == Decimal("0.50")
        assert "PARKING_TIME" not in rating.costs

    def test_2_the_rest_of_the_last_step_is_billed_at_the_last_elements_price(self):
        rating = rate(self.TARIFF, session(at(MONDAY, 16, 35), charge(35, 6)), time_zone=AMS)
        assert rating.total_excl_vat.amount == Decimal("1.30")
        assert rating.costs["TIME"].volume == Decimal("0.75")

    def test_3_parking_after_20_is_free(self):
        rating = rate(self.TARIFF, session(at(MONDAY, 19, 55), charge(10, 2), park(2)), time_zone=AMS)
        assert rating.total_excl_vat.amount == Decimal("0.60")


def test_power_tiers_with_max_power():
    tariff = terms(
        {
            "elements": [
                {"price_components": [component("ENERGY", "0.20", 1, "20")], "restrictions": {"max_power": "16.00"}},
                {"price_components": [component("ENERGY", "0.35", 1, "20")], "restrictions": {"max_power": "32.00"}},
                {"price_components": [component("ENERGY", "0.50", 1, "20")]},
            ]
        }
    )
    timeline = session(
        at(MONDAY, 10, 0), charge(10, 1, power_kw=6), charge(50, 40, power_kw=48), charge("7.5", "0.5", power_kw=4)
    )
    rating = rate(tariff, timeline)
    assert rating.total_excl_vat.amount == Decimal("20.30")
    assert [p["dimensions"][0]["volume"] for p in rating.charging_periods] == [1, 40, Decimal("0.5")]


def test_duration_limits_first_30_minutes_free():
    tariff = terms(
        {
            "elements": [
                {"price_components": [component("ENERGY", "0.00", 1, "20")], "restrictions": {"max_duration": 1800}},
                {"price_components": [component("ENERGY", "0.25", 1, "20")], "restrictions": {"max_duration": 3600}},
                {"price_components": [component("ENERGY", "0.40", 1, "20")]},
            ]
        }
    )
    rating = rate(tariff, session(at(MONDAY, 10, 0), charge(30, 5), charge(10, "1.2")))
    assert rating.total_excl_vat.amount == Decimal("0.30")


RESERVATION_FEE_AND_TIME = {
    "elements": [
        {
            "price_components": [component("FLAT", "2.00", 1, "20"), component("TIME", "5.00", 300, "20")],
            "restrictions": {"reservation": "RESERVATION"},
        },
        {"price_components": [START_050, component("ENERGY", "0.25", 1, "10")]},
    ]
}
RESERVATION_EXPIRE_FEE = {
    "elements": [
        {
            "price_components": [component("FLAT", "4.00", 1, "20")],
            "restrictions": {"reservation": "RESERVATION_EXPIRES"},
        },
        {"price_components": [component("TIME", "2.00", 600, "20")], "restrictions": {"reservation": "RESERVATION"}},
        {"price_components": [START_050, component("ENERGY", "0.25", 1, "10")]},
    ]
}
RESERVATION_EXPIRE_TIME = {
    "elements": [
        {
            "price_components": [component("TIME", "6.00", 600, "20")],
            "restrictions": {"reservation": "RESERVATION_EXPIRES"},
        },
        {"price_components": [component("TIME", "3.00", 600, "20")], "restrictions": {"reservation": "RESERVATION"}},
        {"price_components": [START_050, component("ENERGY", "0.25", 1, "10")]},
    ]
}


def reserved_then_charged(minutes_reserved: int):
    start = at(MONDAY, 10, 0)
    reservation = ReservationPeriod(start - timedelta(minutes=minutes_reserved), start)
    return session(start, charge(120, 20), reservation=reservation)


@pytest.mark.parametrize(
    ("tariff", "minutes", "expected"),
    [
        (
            {
                "elements": [
                    {
                        "price_components": [component("TIME", "5.00", 60, "20")],
                        "restrictions": {"reservation": "RESERVATION"},
                    },
                    {"price_components": [START_050, component("ENERGY", "0.25", 1, "10")]},
                ]
            },
            15,
            ("6.75", "7.60"),
        ),
        (RESERVATION_FEE_AND_TIME, 13, ("8.75", "10.00")),
        (RESERVATION_EXPIRE_FEE, 22, ("6.50", "7.30")),
        (RESERVATION_EXPIRE_TIME, 22, ("7.00", "7.90")),
    ],
)
def test_reservations_followed_by_a_session(tariff, minutes, expected):
    assert totals(rate(terms(tariff), reserved_then_charged(minutes))) == expected


@pytest.mark.parametrize(
    ("tariff", "minutes", "expected"),
    [(RESERVATION_EXPIRE_FEE, 60, ("6.00", "7.20")), (RESERVATION_EXPIRE_TIME, 90, ("9.00", "10.80"))],
)
def test_expired_reservations(tariff, minutes, expected):
    start = at(MONDAY, 10, 0)
    reservation = ReservationPeriod(start, start + timedelta(minutes=minutes), expired=True)
    from apps.tariffs.rating import Timeline

    rating = rate(terms(tariff), Timeline(start=None, end=None, reservation=reservation))
    assert totals(rating) == expected
    assert rating.charging_periods[0]["dimensions"][-1]["type"] == "RESERVATION_TIME"


@pytest.mark.parametrize(
    ("step_size", "expected"), [(1, Decimal("0.029")), (25, Decimal("0.031")), (500, Decimal("0.125"))]
)
def test_step_size_note_115_2_wh(step_size, expected):
    """115.2 Wh at 0.25/kWh is billed as 116 Wh (step 1), 125 Wh (step 25) or 500 Wh (step 500)."""
    tariff = terms({"currency": "BHD", "elements": [{"price_components": [component("ENERGY", "0.25", step_size)]}]})
    rating = rate(tariff, session(at(MONDAY, 10, 0), charge(1, "0.1152")))
    assert rating.total_excl_vat.amount == expected  # BHD has three decimals: the spec's 0.029 shows
