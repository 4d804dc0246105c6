"""The tariffs module: our tariffs as a CPO (the paginated list, pushes on change) and a CPO partner's tariffs as an
eMSP (receiver, pulls, rating terms)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from apps.roaming.models import OutboxMessage, PartnerTariff
from apps.roaming.modules.tariffs import partner_tariff_terms
from apps.roaming.pull import partner_pull
from apps.tariffs.models import Tariff
from apps.tariffs.rating import MeterReading, Timeline, rate
from tests.roaming.conftest import TOKEN_C, b64, ocpi, partner_as, roles_set
from tests.roaming.factories import PartnerFactory
from tests.tariffs.factories import TariffFactory

CPO = "/ocpi/2.2.1/cpo/tariffs"
EMSP = "/ocpi/2.2.1/emsp/tariffs/DE/BRV"


def tariffs_dated(alpha, *days: int) -> list[str]:
    with schema_context(alpha.schema_name):
        codes = []
        for day in days:
            tariff = TariffFactory(code=f"T-{day}", min_price_excl_vat=Decimal("1.50"))
            Tariff.objects.filter(pk=tariff.pk).update(updated_at=datetime(2026, 1, day, tzinfo=UTC))
            codes.append(tariff.code)
        return codes


# --- CPO, sender ----------------------------------------------------------------------------------------------------


def test_the_list_pages_with_a_link_and_renders_numbers_and_times(alpha, partner):
    codes = tariffs_dated(alpha, 1, 2, 3)

    first = ocpi("GET", CPO, limit=2)
    assert first.status_code == 200 and first.json()["status_code"] == 1000
    assert [t["id"] for t in first.json()["data"]] == codes[:2]
    assert first["X-Total-Count"] == "3" and first["X-Limit"] == "2"
    link = first["Link"]
    assert link.endswith('>; rel="next"') and "offset=2" in link
    second = ocpi("GET", link[1 : link.index(">")].replace("http://alpha.localhost", ""))
    assert [t["id"] for t in second.json()["data"]] == codes[2:] and "Link" not in second

    tariff = first.json()["data"][0]
    assert tariff["country_code"] == "NL" and tariff["party_id"] == "ALP" and tariff["currency"] == "EUR"
    component = tariff["elements"][0]["price_components"][0]
    assert component == {"type": "ENERGY", "price": 0.3, "vat": 21, "step_size": 1}
    assert tariff["min_price"] == {"excl_vat": 1.5}
    assert tariff["last_updated"] == "2026-01-01T00:00:00Z"
    assert first["OCPI-from-party-id"] == "ALP"


def test_the_list_filters_on_the_last_change(alpha, partner):
    codes = tariffs_dated(alpha, 1, 2, 3)

    response = ocpi("GET", CPO, date_from="2026-01-02T00:00:00Z", date_to="2026-01-03T00:00:00Z")
    assert [t["id"] for t in response.json()["data"]] == [codes[1]] and response["X-Total-Count"] == "1"
    assert ocpi("GET", CPO, date_from="soon").json()["status_code"] == 2001


def test_token_a_and_unknown_tokens_are_refused(alpha, partner):
    with schema_context(alpha.schema_name):
        pending = PartnerFactory()

    for token in (pending.token_a, "nobody"):
        for path in (CPO, f"{EMSP}/T1"):
            response = ocpi("GET", path, token=token)
            assert response.status_code == 401 and response.json()["status_code"] == 2000


# --- CPO, pushes ----------------------------------------------------------------------------------------------------


def test_a_saved_tariff_is_put_and_a_deleted_one_deleted_at_every_emsp(
    alpha, partner, partner_server, django_capture_on_commit_callbacks
):
    with schema_context(alpha.schema_name):
        with django_capture_on_commit_callbacks(execute=True):
            tariff = TariffFactory(code="AC-1")
        tariff.name = "Renamed"
        tariff.min_price_excl_vat = Decimal("2.00")
        with django_capture_on_commit_callbacks(execute=True):
            tariff.save()
        with django_capture_on_commit_callbacks(execute=True):
            tariff.delete()

    sent = [(r.method, r.path) for r in partner_server.requests]
    assert sent == [
        ("PUT", "/ocpi/2.2.1/tariffs/NL/ALP/AC-1"),
        ("PUT", "/ocpi/2.2.1/tariffs/NL/ALP/AC-1"),
        ("DELETE", "/ocpi/2.2.1/tariffs/NL/ALP/AC-1"),
    ]
    first, changed = partner_server.requests[0].body, partner_server.requests[1].body
    assert first["id"] == "AC-1" and first["elements"][0]["price_components"][0]["price"] == 0.3
    assert "min_price" not in first and changed["min_price"] == {"excl_vat": 2}


def test_no_tariff_push_without_partners_or_as_an_emsp_only(
    alpha, partner, partner_server, django_capture_on_commit_callbacks
):
    with schema_context(alpha.schema_name):
        roles_set(alpha, ["EMSP"])
        with django_capture_on_commit_callbacks(execute=True):
            TariffFactory()
        roles_set(alpha, ["CPO"])
        partner.status = partner.Status.UNREGISTERED
        partner.save()
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            TariffFactory()
        assert callbacks == []  # not even an on-commit hook: one cached look-up
        assert not OutboxMessage.objects.exists()

    assert partner_server.requests == []


# --- eMSP, receiver ---------------------------------------------------------------------------------------------------


def tariff_data(tariff_id="T1", **changes) -> dict:
    return {
        "country_code": "DE",
        "party_id": "BRV",
        "id": tariff_id,
        "currency": "EUR",
        "elements": [{"price_components": [{"type": "ENERGY", "price": 0.25, "vat": 19, "step_size": 1}]}],
        "last_updated": "2026-02-01T12:00:00Z",
    } | changes


@pytest.fixture
def cpo_partner(alpha, partner):
    """Alpha as an eMSP; Bravo a CPO (DE*BRV)."""
    roles_set(alpha, ["EMSP"])
    with schema_context(alpha.schema_name):
        return partner_as(partner, role="CPO", country_code="DE", party_id="BRV", endpoints_role="SENDER")


def test_put_get_and_delete_a_partner_tariff(alpha, cpo_partner):
    assert ocpi("PUT", f"{EMSP}/T1", tariff_data()).json()["status_code"] == 1000
    with schema_context(alpha.schema_name):
        row = PartnerTariff.objects.get()
        assert (row.country_code, row.party_id, row.object_id) == ("DE", "BRV", "T1")
        assert row.last_updated == datetime(2026, 2, 1, 12, tzinfo=UTC)
    assert ocpi("GET", f"{EMSP}/T1").json()["data"] == tariff_data()

    ocpi("PUT", f"{EMSP}/T1", tariff_data(currency="CHF"))
    assert ocpi("GET", f"{EMSP}/T1").json()["data"]["currency"] == "CHF"

    assert ocpi("DELETE", f"{EMSP}/T1").json()["status_code"] == 1000
    gone = ocpi("GET", f"{EMSP}/T1")
    assert gone.status_code == 404 and gone.json()["status_code"] == 2000
    assert ocpi("DELETE", f"{EMSP}/T1").status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (tariff_data(currency="XXY"), "currency"),
        (tariff_data(elements=[{"price_components": [{"type": "ENERGY", "step_size": 1}]}]), "elements[0]"),
        (tariff_data(last_updated=None), "last_updated"),
        (tariff_data(id="T2"), "id"),
        (tariff_data(end_date_time="2020-01-01T00:00:00Z", start_date_time="2021-01-01T00:00:00Z"), "end_date_time"),
    ],
)
def test_invalid_tariffs_are_2001_naming_the_field(alpha, cpo_partner, body, field):
    response = ocpi("PUT", f"{EMSP}/T1", body)

    assert response.status_code == 200 and response.json()["status_code"] == 2001
    assert field in response.json()["status_message"]
    with schema_context(alpha.schema_name):
        assert not PartnerTariff.objects.exists()


def test_another_partys_tariff_path_is_refused_and_bad_json_is_400(alpha, cpo_partner):
    response = ocpi("PUT", "/ocpi/2.2.1/emsp/tariffs/NL/XYZ/T1", tariff_data(country_code="NL", party_id="XYZ"))
    assert response.json()["status_code"] == 2001

    client = Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Token {b64(TOKEN_C)}")
    bad = client.put(f"{EMSP}/T1", "[1,", content_type="application/json")
    assert bad.status_code == 400 and bad.json()["status_code"] == 2001


def test_the_cpo_list_is_not_served_by_an_emsp_only_brand(alpha, cpo_partner):
    response = ocpi("GET", CPO)

    assert response.status_code == 404 and response.json()["status_code"] == 2000


def test_a_pull_follows_the_link_pages(alpha, cpo_partner, partner_server):
    second = f"{partner_server.url}/ocpi/2.2.1/tariffs/page-2?offset=2&limit=2"
    first_page = [tariff_data("T1"), tariff_data("T2", currency="???")]
    partner_server.answer("GET", "/ocpi/2.2.1/tariffs", first_page, headers={"Link": f'<{second}>; rel="next"'})
    partner_server.answer("GET", "/ocpi/2.2.1/tariffs/page-2", [tariff_data("T3")])

    with schema_context(alpha.schema_name):
        result = partner_pull(partner=cpo_partner, module="tariffs", date_from=datetime(2026, 1, 1, tzinfo=UTC))
        assert sorted(PartnerTariff.objects.values_list("object_id", flat=True)) == ["T1", "T3"]

    assert result.pages == 2 and result.stored == 2 and result.refused[0].startswith("T2:")
    asked = partner_server.of("GET", "/ocpi/2.2.1/tariffs")
    assert asked[0].query == {"date_from": ["2026-01-01T00:00:00Z"]}
    assert asked[1].path == "/ocpi/2.2.1/tariffs/page-2"


def test_partner_tariff_terms_rate_a_partner_session(alpha, cpo_partner):
    ocpi("PUT", f"{EMSP}/T1", tariff_data())
    start = datetime(2026, 2, 2, 10, tzinfo=UTC)
    timeline = Timeline(
        start=start,
        end=start + timedelta(hours=1),
        readings=(
            MeterReading(at=start, energy_wh=Decimal(0)),
            MeterReading(at=start + timedelta(hours=1), energy_wh=Decimal(10000)),
        ),
    )

    with schema_context(alpha.schema_name):
        tariff = partner_tariff_terms(partner=cpo_partner, country_code="de", party_id="brv", tariff_id="T1")
        assert tariff.pk is None and tariff.code == "T1"
        rating = rate(tariff.terms(), timeline, time_zone="Europe/Berlin")
        assert rating.currency == "EUR" and rating.total_excl_vat.amount == Decimal("2.50")
        assert partner_tariff_terms(partner=cpo_partner, country_code="DE", party_id="BRV", tariff_id="NOPE") is None
