"""Operators and finance export tariffs to a spreadsheet, with the OCPI elements as JSON in one column, and import
them back: validated as everywhere else (errors name the element), and a bad line imports nothing."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.tariffs.models import Tariff
from tests.accounts.spreadsheets import Spreadsheets, csv_of, login, preview_lines, rows_of, text_of, xlsx_or_skip
from tests.tariffs.factories import ENERGY_ELEMENTS, TariffFactory

TARIFFS = Spreadsheets(Tariff)
DAY_NIGHT = [
    {
        "price_components": [{"type": "ENERGY", "price": "0.25", "vat": "21", "step_size": 1}],
        "restrictions": {"start_time": "23:00", "end_time": "07:00"},
    },
    {"price_components": [{"type": "ENERGY", "price": "0.35", "vat": "21", "step_size": 1}]},
    {"price_components": [{"type": "FLAT", "price": "0.50", "vat": "21", "step_size": 1}]},
]


def price_list(tenant) -> Tariff:
    with schema_context(tenant.schema_name):
        TariffFactory(code="AC-BASIC", name="AC basic")
        return TariffFactory(
            code="DAY-NIGHT",
            name="Day and night",
            type=Tariff.Type.REGULAR,
            elements=DAY_NIGHT,
            start_date_time=datetime(2026, 1, 1, tzinfo=UTC),
            end_date_time=datetime(2027, 1, 1, tzinfo=UTC),
            min_price_excl_vat=Decimal("1.5000"),
            max_price_excl_vat=Decimal("40"),
            parking_grace_minutes=30,
            tariff_alt_text=[{"language": "en", "text": "0.25 €/kWh at night, 0.35 by day, 0.50 per session"}],
            tariff_alt_url="https://alpha.example/prices",
        )


def snapshot(tenant) -> list[tuple]:
    with schema_context(tenant.schema_name):
        return [
            (t.code, t.name, t.currency, t.type, t.elements, t.start_date_time, t.end_date_time, t.min_price_excl_vat,
             t.max_price_excl_vat, t.parking_grace_minutes, t.tariff_alt_text, t.tariff_alt_url, t.updated_at)
            for t in Tariff.objects.order_by("code")
        ]  # fmt: skip


def test_the_export_has_the_elements_as_ocpi_json_and_this_brands_tariffs_only(tenant, outsider):
    price_list(tenant)
    with schema_context(outsider.schema_name):
        TariffFactory(code="BRAVO-ONLY")
    client = login(tenant, Role.READ_ONLY)

    response = TARIFFS.export(client, "csv")

    rows = {row["code"]: row for row in rows_of(response.content)}
    assert sorted(rows) == ["AC-BASIC", "DAY-NIGHT"]
    row = rows["DAY-NIGHT"]
    assert json.loads(row["elements"]) == DAY_NIGHT
    assert (row["currency"], row["type"], row["start_date_time"], row["end_date_time"]) == (
        "EUR",
        "REGULAR",
        "2026-01-01T00:00:00Z",
        "2027-01-01T00:00:00Z",
    )
    assert (row["min_price_excl_vat"], row["max_price_excl_vat"], row["min_price_incl_vat"]) == (
        "1.5000",
        "40.0000",
        "",
    )
    assert json.loads(row["tariff_alt_text"])[0]["text"].startswith("0.25 €/kWh")


@pytest.mark.parametrize("name", ["csv", "xlsx"])
def test_a_file_exported_and_imported_unchanged_changes_nothing(tenant, name):
    if name == "xlsx":
        xlsx_or_skip()
    price_list(tenant)
    client = login(tenant, Role.FINANCE)
    before = snapshot(tenant)

    page = TARIFFS.load(client, TARIFFS.export(client, name).content, name)

    assert "Import finished: 0 new, 0 updated, 0 deleted and 2 skipped tariffs." in text_of(page)
    assert snapshot(tenant) == before


def test_new_and_changed_tariffs_are_previewed_then_stored_in_their_normal_form(tenant):
    price_list(tenant)
    client = login(tenant)
    content = csv_of(
        {
            "code": "DC-FAST",
            "name": "DC fast",
            "currency": "eur",
            "elements": '[{"price_components": [{"type": "ENERGY", "price": 0.59, "vat": 21, "step_size": 1}]}]',
            "start_date_time": "2026-07-01T00:00:00+02:00",
        },
        {"code": "AC-BASIC", "name": "AC basic (2026)", "currency": "EUR", "elements": json.dumps(ENERGY_ELEMENTS)},
    )

    preview = TARIFFS.preview(client, content)
    with schema_context(tenant.schema_name):
        assert not Tariff.objects.filter(code="DC-FAST").exists()
    page = TARIFFS.load(client, content)

    assert "New" in text_of(preview) and "Update" in text_of(preview)
    assert "Import finished: 1 new, 1 updated" in text_of(page)
    with schema_context(tenant.schema_name):
        fast = Tariff.objects.get(code="DC-FAST")
        assert fast.currency == "EUR" and fast.start_date_time == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
        assert fast.elements == [
            {"price_components": [{"type": "ENERGY", "price": "0.59", "vat": "21", "step_size": 1}]}
        ]
        assert Tariff.objects.get(code="AC-BASIC").name == "AC basic (2026)"


def test_a_file_with_bad_lines_imports_nothing_and_names_each_lines_errors(tenant):
    price_list(tenant)
    client = login(tenant)
    before = snapshot(tenant)
    good = json.dumps(DAY_NIGHT)
    negative = '[{"price_components": [{"type": "ENERGY", "price": "-0.10", "step_size": 1}]}]'
    shadowed = json.dumps([DAY_NIGHT[1], DAY_NIGHT[0]])
    content = csv_of(
        {"code": "GOOD", "name": "Good", "currency": "EUR", "elements": good},
        {"code": "NEGATIVE", "name": "Negative", "currency": "EUR", "elements": negative},
        {"code": "SHADOWED", "name": "Shadowed", "currency": "XXY", "elements": shadowed},
        {"code": "BROKEN", "name": "Broken", "currency": "EUR", "elements": "[{", "min_price_excl_vat": "1,50"},
        {"code": "BACKWARDS", "name": "Backwards", "currency": "EUR", "elements": good,
         "start_date_time": "2027-01-01T00:00:00Z", "end_date_time": "2026-01-01T00:00:00Z"},
        {"code": "GOOD", "name": "Good again", "currency": "EUR", "elements": good},
    )  # fmt: skip

    response = TARIFFS.preview(client, content)

    lines = preview_lines(response)
    assert sorted(lines) == [3, 4, 5, 6, 7]
    assert "elements: elements[0].price_components[0].price:" in lines[3]
    assert "elements: elements[1]: Its ENERGY component is never used" in lines[4]
    assert "currency: 'XXY' is not an ISO 4217 currency code." in lines[4]
    assert "elements: Not valid JSON" in lines[5]
    assert "min_price_excl_vat: '1,50' is not a number (write decimals with '.')." in lines[5]
    assert "end_date_time: Must be after the start." in lines[6]
    assert "code: Line 2 of this file already has this code." in lines[7]
    assert "Confirm import" not in response.content.decode()
    assert snapshot(tenant) == before


@pytest.mark.parametrize("role", [Role.READ_ONLY, Role.TECHNICIAN, Role.SUPPORT])
def test_roles_without_tariff_permissions_see_no_import_and_get_403(tenant, role):
    client = login(tenant, role)

    page = client.get(TARIFFS.url).content.decode()

    assert 'class="export_link"' in page and 'class="import_link"' not in page
    assert TARIFFS.preview(client, csv_of({"code": "SNEAKY", "name": "x"})).status_code == 403
    assert client.post(f"{TARIFFS.url}process_import/", {"import_file_name": "x", "format": "0"}).status_code == 403
    assert TARIFFS.export(client, "csv").status_code == 200
