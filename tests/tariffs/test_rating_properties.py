"""Properties of the engine over generated tariffs and sessions, and time restrictions across DST changes."""

from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.tariffs.exceptions import CurrencyMismatchError
from apps.tariffs.rating import Money, rate
from tests.tariffs.timelines import Segment, charge, session, terms

START = datetime(2025, 3, 29, 21, 0, tzinfo=UTC)  # DST starts in Europe that night
AMS = "Europe/Amsterdam"

prices = st.decimals(min_value=0, max_value=10, places=2)
vats = st.one_of(st.none(), st.decimals(min_value=0, max_value=30, places=1))
segments = st.builds(
    Segment,
    minutes=st.integers(min_value=0, max_value=240),
    kwh=st.decimals(min_value=0, max_value=60, places=3),
    charging=st.booleans(),
)


@st.composite
def tariffs(draw, currency="EUR"):
    """One unrestricted element per dimension, optional limits and idle-fee extensions."""
    components = []
    for dimension, steps in (("ENERGY", (1, 100, 500)), ("TIME", (1, 60, 900)), ("PARKING_TIME", (1, 60, 300))):
        if draw(st.booleans()):
            component = {"type": dimension, "price": draw(prices), "step_size": draw(st.sampled_from(steps))}
            if (vat := draw(vats)) is not None:
                component["vat"] = vat
            components.append(component)
    if draw(st.booleans()) or not components:
        components.append({"type": "FLAT", "price": draw(prices), "vat": draw(vats), "step_size": 1})
    components = [{k: v for k, v in c.items() if v is not None} for c in components]
    ocpi = {"currency": currency, "elements": [{"price_components": components}]}
    low = draw(st.one_of(st.none(), st.decimals(min_value=0, max_value=5, places=2)))
    high = draw(st.one_of(st.none(), st.decimals(min_value=5, max_value=100, places=2)))
    if low is not None:
        ocpi["min_price"] = {"excl_vat": low, "incl_vat": low * Decimal("1.2")}
    if high is not None:
        ocpi["max_price"] = {"excl_vat": high, "incl_vat": high * Decimal("1.2")}
    cap = draw(st.one_of(st.none(), st.decimals(min_value=0, max_value=20, places=2)))
    return terms(ocpi, parking_grace_seconds=draw(st.integers(0, 1800)), parking_fee_cap=cap)


def total(tariff, parts) -> tuple[Decimal, Decimal]:
    rating = rate(tariff, session(START, *parts), time_zone=AMS)
    return rating.total_excl_vat.amount, rating.total_incl_vat.amount


@settings(max_examples=60, deadline=None)
@given(tariff=tariffs(), parts=st.lists(segments, min_size=1, max_size=4), index=st.integers(0, 3), more=segments)
def test_more_energy_never_costs_less(tariff, parts, index, more):
    index %= len(parts)
    richer = list(parts)
    richer[index] = Segment(parts[index].minutes, parts[index].kwh + more.kwh, parts[index].charging)
    before, after = total(tariff, parts), total(tariff, richer)
    assert after[0] >= before[0] and after[1] >= before[1]


@settings(max_examples=60, deadline=None)
@given(tariff=tariffs(), parts=st.lists(segments, min_size=1, max_size=4), more=segments)
def test_more_time_never_costs_less(tariff, parts, more):
    longer = [*parts, Segment(more.minutes, 0, more.charging)]
    before, after = total(tariff, parts), total(tariff, longer)
    assert after[0] >= before[0] and after[1] >= before[1]


@settings(max_examples=40, deadline=None)
@given(price=prices, vat=vats, parts=st.lists(segments, min_size=1, max_size=4))
def test_a_flat_only_tariff_bills_exactly_its_amount(price, vat, parts):
    component = {"type": "FLAT", "price": price, "step_size": 1} | ({"vat": vat} if vat is not None else {})
    rating = rate(terms({"elements": [{"price_components": [component]}]}), session(START, *parts))
    assert rating.total_excl_vat.amount == price
    assert rating.total_incl_vat.amount == (price * (1 + Decimal(vat or 0) / 100)).quantize(
        Decimal("0.01"), "ROUND_HALF_UP"
    )


@settings(max_examples=60, deadline=None)
@given(tariff=tariffs(), parts=st.lists(segments, min_size=1, max_size=4))
def test_incl_vat_is_never_below_excl_vat(tariff, parts):
    excl, incl = total(tariff, parts)
    assert incl >= excl >= 0


@settings(max_examples=20, deadline=None)
@given(eur=tariffs("EUR"), gbp=tariffs("GBP"), parts=st.lists(segments, min_size=1, max_size=3))
def test_amounts_in_different_currencies_are_never_mixed(eur, gbp, parts):
    in_eur = rate(eur, session(START, *parts))
    in_gbp = rate(gbp, session(START, *parts))
    assert in_eur.total_excl_vat.currency == "EUR" and in_gbp.total_excl_vat.currency == "GBP"
    assert {cost.excl_vat.currency for cost in in_gbp.costs.values()} <= {"GBP"}
    with pytest.raises(CurrencyMismatchError):
        _ = in_eur.total_excl_vat + in_gbp.total_excl_vat
    with pytest.raises(CurrencyMismatchError):
        _ = in_eur.total_incl_vat < in_gbp.total_incl_vat


def test_money_in_one_currency_adds_up():
    assert Money("EUR", Decimal("1.10")) + Money("EUR", Decimal("2.20")) == Money("EUR", Decimal("3.30"))


NIGHT_AND_DAY = terms(
    {
        "elements": [
            {
                "price_components": [{"type": "ENERGY", "price": "0.10", "step_size": 1}],
                "restrictions": {"start_time": "00:00", "end_time": "07:00"},
            },
            {"price_components": [{"type": "ENERGY", "price": "0.30", "step_size": 1}]},
        ]
    }
)


@pytest.mark.parametrize(
    ("day", "real_hours", "night_kwh"),
    [
        (26, 12, 8),  # 22:00 to 09:00 local when clocks go back: the night lasts 8 real hours
        (30, 10, 6),  # ... and when they go forward: 6 real hours
    ],
)
def test_time_restrictions_follow_the_local_clock_across_dst(day, real_hours, night_kwh):
    month = 10 if day == 26 else 3
    if month == 3:
        day = 30
    start = datetime(2024, month, day, 22, 0, tzinfo=ZoneInfo(AMS))
    rating = rate(NIGHT_AND_DAY, session(start, charge(real_hours * 60, real_hours)), time_zone=AMS)

    day_kwh = real_hours - night_kwh  # 1 kWh per real hour
    assert rating.total_excl_vat.amount == Decimal("0.10") * night_kwh + Decimal("0.30") * day_kwh
    energy_by_period = [p["dimensions"][0]["volume"] for p in rating.charging_periods]
    assert energy_by_period == [2, night_kwh, 2]


def test_restrictions_are_read_in_the_locations_zone_not_utc():
    start = datetime(2025, 6, 2, 5, 0, tzinfo=UTC)  # 07:00 in Amsterdam: day rate there, night rate in UTC
    timeline = session(start, charge(60, 1))
    assert rate(NIGHT_AND_DAY, timeline, time_zone=AMS).total_excl_vat.amount == Decimal("0.30")
    assert rate(NIGHT_AND_DAY, timeline, time_zone="UTC").total_excl_vat.amount == Decimal("0.10")


def test_an_unknown_zone_is_flagged_not_fatal():
    rating = rate(NIGHT_AND_DAY, session(START, charge(60, 1)), time_zone="Mars/Olympus")
    assert rating.needs_review and "Unknown time zone" in rating.review_reasons[0]


def test_restricted_power_without_power_readings_is_flagged():
    tariff = terms(
        {
            "elements": [
                {
                    "price_components": [{"type": "ENERGY", "price": "0.2", "step_size": 1}],
                    "restrictions": {"max_power": 16},
                },
                {"price_components": [{"type": "ENERGY", "price": "0.5", "step_size": 1}]},
            ]
        }
    )
    from apps.tariffs.rating import MeterReading, Timeline

    timeline = Timeline(START, START, (MeterReading(START, Decimal(0)),))
    rating = rate(tariff, timeline)
    assert rating.total_excl_vat.amount == 0
