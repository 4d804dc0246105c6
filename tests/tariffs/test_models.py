"""Contradictory tariffs are refused with errors that say what is wrong, and the OCPI form round-trips."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.tariffs.definition import elements_parse
from apps.tariffs.exceptions import TariffInvalidError
from apps.tariffs.models import Tariff
from apps.tariffs.ocpi import tariff_from_ocpi, tariff_to_ocpi
from apps.tariffs.services import tariff_create, tariff_import_ocpi


def element(restrictions=None, *components) -> dict:
    out = {"price_components": list(components) or [{"type": "ENERGY", "price": "0.25", "step_size": 1}]}
    if restrictions is not None:
        out["restrictions"] = restrictions
    return out


def problems(elements) -> str:
    with pytest.raises(TariffInvalidError) as caught:
        elements_parse(elements)
    return str(caught.value)


@pytest.mark.parametrize(
    ("elements", "says"),
    [
        ([element({"min_kwh": 50, "max_kwh": 20})], "min_kwh (50) must be below max_kwh (20)"),
        ([element({"min_power": 22, "max_power": 22})], "could never apply"),
        ([element({"min_duration": 3600, "max_duration": 1800})], "min_duration (3600) must be below"),
        ([element({"start_date": "2025-06-01", "end_date": "2025-05-01"})], "end_date (exclusive) must be after"),
        ([element({"start_time": "08:00", "end_time": "08:00"})], "start_time equals end_time"),
        ([element({"start_time": "25:00"})], "HH:MM"),
        ([element({"day_of_week": ["MONDAY", "FUNDAY"]})], "day_of_week"),
        ([element(None, {"type": "ENERGY", "price": "-0.1", "step_size": 1})], "cannot be negative"),
        ([element(None, {"type": "TIME", "price": "1", "step_size": 0})], "step_size must be at least 1"),
        ([element(None, {"type": "TIME", "price": "1", "step_size": -60})], "step_size must be at least 1"),
        ([element(None, {"type": "TIME", "price": "1", "vat": "120", "step_size": 60})], "percentage"),
        (
            [
                element(
                    None,
                    {"type": "ENERGY", "price": "0.2", "step_size": 1},
                    {"type": "ENERGY", "price": "0.3", "step_size": 1},
                )
            ],
            "already has a ENERGY component",
        ),
        ([element(), element({"max_power": 16})], "never used: element 0 has ENERGY without restrictions"),
        ([element({"reservation": "RESERVATION"})], "only FLAT and TIME"),
        ([element(None, {"type": "CO2", "price": "1", "step_size": 1})], "type must be one of"),
        ([], "at least one element"),
        ([{"price_components": []}], "at least one price component"),
        ([element({"max_kwh": "lots"})], "A number"),
        ([element({"minkwh": 5})], "Unknown field 'minkwh'"),
    ],
)
def test_contradictory_elements_are_refused_with_a_clear_reason(elements, says):
    assert says in problems(elements)


def test_every_problem_is_reported_at_once():
    text = problems([element({"min_kwh": 5, "max_kwh": 1}), element({"start_date": "2025-02-30x"})])
    assert "elements[0].restrictions" in text and "elements[1].restrictions.start_date" in text


def test_floats_are_read_as_the_decimal_they_were_written_as():
    (parsed,) = elements_parse([element(None, {"type": "ENERGY", "price": 0.1, "step_size": 1})])
    assert parsed.price_components[0].price == Decimal("0.1")


@pytest.mark.usefixtures("tenant_schema")
class TestTariffModel:
    def test_an_unknown_currency_is_refused(self):
        with pytest.raises(ValidationError) as caught:
            tariff_create(code="T1", name="x", currency="EUX", elements=[element()])
        assert "ISO 4217" in str(caught.value.message_dict["currency"])
        assert not Tariff.objects.exists()

    def test_element_errors_name_the_element(self):
        with pytest.raises(ValidationError) as caught:
            tariff_create(code="T1", name="x", currency="EUR", elements=[element({"min_kwh": 5, "max_kwh": 1})])
        assert caught.value.message_dict["elements"][0].startswith("elements[0].restrictions:")

    def test_min_price_above_max_price_is_refused(self):
        with pytest.raises(ValidationError) as caught:
            tariff_create(
                code="T1",
                name="x",
                currency="EUR",
                elements=[element()],
                min_price_excl_vat=Decimal(10),
                max_price_excl_vat=Decimal(5),
            )
        assert "max_price_excl_vat" in caught.value.message_dict

    def test_alt_text_must_be_display_texts(self):
        with pytest.raises(ValidationError) as caught:
            tariff_create(
                code="T1", name="x", currency="EUR", elements=[element()], tariff_alt_text=[{"language": "English"}]
            )
        assert "tariff_alt_text" in caught.value.message_dict

    def test_prices_are_stored_and_read_back_as_decimals_in_order(self):
        elements = [
            element({"start_time": "07:00", "end_time": "23:00"}, {"type": "ENERGY", "price": "0.35", "step_size": 1}),
            element(None, {"type": "ENERGY", "price": "0.25", "step_size": 1}),
        ]
        tariff = tariff_create(code="T1", name="x", currency="eur", elements=elements)
        tariff = Tariff.objects.get(pk=tariff.pk)
        assert tariff.currency == "EUR"
        prices = [e.price_components[0].price for e in tariff.parsed_elements]
        assert prices == [Decimal("0.35"), Decimal("0.25")]
        assert all(isinstance(price, Decimal) for price in prices)


OCPI_COMPLEX = {
    "country_code": "DE",
    "party_id": "ALL",
    "id": "14",
    "currency": "EUR",
    "type": "REGULAR",
    "tariff_alt_text": [{"language": "en", "text": "2.50 start, then per hour"}],
    "tariff_alt_url": "https://company.com/tariffs/14",
    "min_price": {"excl_vat": 1.0, "incl_vat": 1.2},
    "max_price": {"excl_vat": 50},
    "elements": [
        {"price_components": [{"type": "FLAT", "price": 2.50, "vat": 15.0, "step_size": 1}]},
        {
            "price_components": [{"type": "TIME", "price": 1.00, "vat": 20.0, "step_size": 900}],
            "restrictions": {"max_current": 32.00},
        },
        {
            "price_components": [{"type": "PARKING_TIME", "price": 5.00, "vat": 10.0, "step_size": 300}],
            "restrictions": {"start_time": "09:00", "end_time": "18:00", "day_of_week": ["MONDAY", "FRIDAY"]},
        },
    ],
    "start_date_time": "2025-01-01T00:00:00Z",
    "end_date_time": "2026-01-01T00:00:00Z",
    "last_updated": "2015-06-29T20:39:09Z",
}


@pytest.mark.usefixtures("tenant_schema")
def test_the_ocpi_form_round_trips():
    tariff = tariff_import_ocpi(data=OCPI_COMPLEX, name="Complex")
    exported = tariff_to_ocpi(Tariff.objects.get(pk=tariff.pk), country_code="DE", party_id="ALL")

    assert exported["elements"][1] == {
        "price_components": [{"type": "TIME", "price": Decimal("1.0"), "vat": Decimal("20.0"), "step_size": 900}],
        "restrictions": {"max_current": Decimal("32.0")},
    }
    assert exported["min_price"] == {"excl_vat": Decimal("1.0"), "incl_vat": Decimal("1.2")}
    assert exported["start_date_time"] == datetime(2025, 1, 1, tzinfo=UTC)
    again = tariff_from_ocpi(exported)
    assert again == tariff_from_ocpi(OCPI_COMPLEX)
    assert {key for key in OCPI_COMPLEX if key != "last_updated"} <= set(exported)


def test_an_invalid_ocpi_tariff_lists_its_problems():
    with pytest.raises(TariffInvalidError) as caught:
        tariff_from_ocpi({**OCPI_COMPLEX, "currency": "XXY", "max_price": {"excl_vat": "0.5"}, "type": "CHEAP"})
    assert set(caught.value.errors) >= {"currency", "max_price", "type"}
