"""The price a driver is told before starting: incl. VAT, per component, with a plain sentence."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.utils import translation

from apps.tariffs.selectors import price_of
from tests.stations.factories import LocationFactory, StationFactory
from tests.tariffs.factories import ConnectorFactory, TariffAssignmentFactory, TariffFactory

# A Monday, 10:00 in Amsterdam (summer time).
MONDAY_MORNING = datetime(2025, 5, 12, 8, 0, tzinfo=UTC)
MONDAY_NIGHT = datetime(2025, 5, 12, 22, 0, tzinfo=UTC)


@pytest.fixture
def connector(tenant_schema):
    return ConnectorFactory(evse__station=StationFactory(location=LocationFactory(timezone="Europe/Amsterdam")))


def component(type_, price, vat="21", step_size=1):
    return {"type": type_, "price": price, "vat": vat, "step_size": step_size}


def priced(connector, elements, at=MONDAY_MORNING, **tariff):
    TariffAssignmentFactory(location=connector.evse.station.location, tariff=TariffFactory(elements=elements, **tariff))
    return price_of(connector, at=at)


def test_no_tariff_no_price(connector):
    assert price_of(connector, at=MONDAY_MORNING) is None


def test_energy_time_flat_and_idle_with_grace_incl_vat(connector):
    price = priced(
        connector,
        [
            {
                "price_components": [
                    component("ENERGY", "0.3223"),  # 0.39 incl. 21 %
                    component("TIME", "2.4793", step_size=60),  # 3.00 / h incl. VAT: 0.05 / min
                    component("FLAT", "0.8264"),  # 1.00
                    component("PARKING_TIME", "4.9587", step_size=60),  # 6.00 / h: 0.10 / min
                ]
            }
        ],
        parking_grace_minutes=60,
    )

    assert price.as_dict() == {
        "currency": "EUR",
        "tariff_code": price.tariff_code,
        "per_kwh": "0.39",
        "per_minute": "0.05",
        "per_session": "1.00",
        "idle_per_minute": "0.10",
        "idle_grace_minutes": 60,
        "vat_percent": "21",
        "includes_vat": True,
        "summary": "€0.39 per kWh, €0.05 per minute, €0.10 per minute after 60 min idle, €1.00 per session.",
    }


def test_components_the_tariff_lacks_are_null(connector):
    price = priced(connector, [{"price_components": [component("ENERGY", "0.25", vat="0")]}]).as_dict()

    assert price["per_kwh"] == "0.25"
    assert (price["per_minute"], price["per_session"], price["idle_per_minute"], price["idle_grace_minutes"]) == (
        None,
        None,
        None,
        None,
    )
    assert price["vat_percent"] == "0"
    assert price["summary"] == "€0.25 per kWh."


def test_fractions_of_a_cent_are_kept_not_rounded_away(connector):
    price = priced(connector, [{"price_components": [component("ENERGY", "0.3925", vat=None)]}]).as_dict()

    assert price["per_kwh"] == "0.3925"
    assert price["vat_percent"] is None
    assert price["summary"] == "€0.3925 per kWh."


def test_idle_fee_without_grace(connector):
    price = priced(
        connector,
        [{"price_components": [component("ENERGY", "0.30", vat=None), component("PARKING_TIME", "12", vat=None)]}],
    )

    assert price.as_dict()["summary"] == "€0.30 per kWh, €0.20 per minute idle."


def test_a_time_of_day_tariff_states_the_price_now_and_that_it_varies(connector):
    elements = [
        {
            "price_components": [component("ENERGY", "0.20", vat=None)],
            "restrictions": {"start_time": "22:00", "end_time": "07:00"},
        },
        {"price_components": [component("ENERGY", "0.40", vat=None)]},
    ]

    day = priced(connector, elements, at=MONDAY_MORNING).as_dict()
    night = price_of(connector, at=MONDAY_NIGHT).as_dict()  # midnight in Amsterdam

    assert day["per_kwh"] == "0.40" and night["per_kwh"] == "0.20"
    assert day["summary"] == "€0.40 per kWh now; prices vary by time."
    assert night["summary"] == "€0.20 per kWh now; prices vary by time."


def test_a_price_that_changes_during_the_session_says_so(connector):
    elements = [
        {"price_components": [component("TIME", "0", vat=None)], "restrictions": {"max_duration": 3600}},
        {"price_components": [component("TIME", "6", vat=None), component("ENERGY", "0.30", vat=None)]},
    ]

    price = priced(connector, elements).as_dict()

    assert price["per_minute"] is None  # the first hour is free
    assert price["summary"] == "€0.30 per kWh at the start; prices vary during the session."


def test_a_minimum_price_is_stated(connector):
    price = priced(
        connector,
        [{"price_components": [component("ENERGY", "0.30", vat=None)]}],
        min_price_excl_vat=Decimal("2"),
        min_price_incl_vat=Decimal("2.42"),
    )

    assert price.as_dict()["summary"] == "€0.30 per kWh, minimum €2.42."


def test_a_free_tariff_says_free(connector):
    assert priced(connector, [{"price_components": [component("FLAT", "0")]}]).as_dict()["summary"] == "Free."


def test_the_most_specific_tariff_is_the_one_stated(connector):
    priced(connector, [{"price_components": [component("ENERGY", "0.30", vat=None)]}])
    TariffAssignmentFactory(
        connector=connector,
        tariff=TariffFactory(elements=[{"price_components": [component("ENERGY", "0.55", vat=None)]}]),
    )

    assert price_of(connector, at=MONDAY_MORNING).per_kwh == Decimal("0.55")


def test_other_currencies_use_their_code_and_minor_units(connector):
    price = priced(connector, [{"price_components": [component("FLAT", "500", vat=None)]}], currency="JPY")
    chf = ConnectorFactory(evse__station=StationFactory(location=LocationFactory()))
    TariffAssignmentFactory(
        connector=chf,
        tariff=TariffFactory(currency="CHF", elements=[{"price_components": [component("ENERGY", "0.5", vat=None)]}]),
    )

    assert price.as_dict()["per_session"] == "500"
    assert price.as_dict()["summary"] == "¥500 per session."
    assert price_of(chf, at=MONDAY_MORNING).as_dict()["summary"] == "CHF 0.50 per kWh."


def test_the_summary_is_in_the_drivers_language(connector):
    price = priced(connector, [{"price_components": [component("ENERGY", "0.39", vat=None)]}])

    with translation.override("de"):
        summary = price.as_dict()["summary"]

    assert "0,39" in summary  # German decimals; the words follow once translated
