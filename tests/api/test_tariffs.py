"""Tariffs over the API: the brand's own, validated by the same rules as the admin, errors naming the element."""

import json

from django_tenants.utils import schema_context

from apps.api.models import Scope
from apps.billing.services.cdrs import cdr_issue
from apps.tariffs.models import Tariff, TariffAssignment
from tests.api.conftest import api_client, key_in
from tests.billing.factories import session_with_readings
from tests.stations.factories import LocationFactory
from tests.tariffs.factories import TariffAssignmentFactory, TariffFactory

ALPHA, BRAVO = "alpha.localhost", "bravo.localhost"
DAY_AND_NIGHT = [
    {
        "price_components": [{"type": "ENERGY", "price": "0.35", "vat": "21", "step_size": 1}],
        "restrictions": {"start_time": "07:00", "end_time": "23:00"},
    },
    {"price_components": [{"type": "ENERGY", "price": 0.25, "step_size": 1}]},
]


def post_json(client, path, body):
    return client.post(path, json.dumps(body), content_type="application/json")


def patch_json(client, path, body):
    return client.patch(path, json.dumps(body), content_type="application/json")


def test_tariff_list_shows_this_brands_tariffs_with_elements_as_decimal_strings(tenant, outsider, alpha_api):
    with schema_context(tenant.schema_name):
        tariff = TariffFactory(code="AC-DAY", elements=DAY_AND_NIGHT)
    with schema_context(outsider.schema_name):
        TariffFactory(code="BRAVO-1")

    response = alpha_api.get("/api/v1/tariffs/")

    assert response.status_code == 200, response.content
    [row] = response.json()["results"]
    assert (row["id"], row["code"], row["currency"]) == (tariff.pk, "AC-DAY", "EUR")
    assert row["elements"] == [
        {
            "price_components": [{"type": "ENERGY", "price": "0.35", "vat": "21", "step_size": 1}],
            "restrictions": {"start_time": "07:00", "end_time": "23:00"},
        },
        {"price_components": [{"type": "ENERGY", "price": "0.25", "step_size": 1}]},
    ]
    assert row["min_price_excl_vat"] is None and row["parking_grace_minutes"] == 0


def test_tariff_list_filters_by_currency_and_refuses_an_unknown_type(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        TariffFactory(code="EUR-1")
        chf = TariffFactory(code="CHF-1", currency="CHF")

    listed = alpha_api.get("/api/v1/tariffs/", {"currency": "chf"}).json()["results"]
    refused = alpha_api.get("/api/v1/tariffs/", {"type": "CHEAPEST"})

    assert [row["id"] for row in listed] == [chf.pk]
    assert refused.status_code == 400
    assert set(refused.json()["error"]["fields"]) == {"type"}


def test_create_stores_the_tariff_as_the_admin_would(tenant, outsider, alpha_api):
    response = post_json(
        alpha_api,
        "/api/v1/tariffs/",
        {
            "code": "AC-2025",
            "name": "AC standard",
            "currency": "eur",
            "elements": DAY_AND_NIGHT,
            "max_price_excl_vat": "50.00",
            "parking_grace_minutes": 15,
            "tariff_alt_text": [{"language": "en", "text": "0.35/kWh by day, 0.25/kWh at night"}],
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["code"], body["currency"], body["max_price_excl_vat"]) == ("AC-2025", "EUR", "50.0000")
    assert body["elements"][1]["price_components"][0]["price"] == "0.25"
    with schema_context(tenant.schema_name):
        stored = Tariff.objects.get(pk=body["id"])
        assert stored.terms().elements[0].restrictions.start_time.hour == 7
    with schema_context(outsider.schema_name):
        assert not Tariff.objects.filter(code="AC-2025").exists()


def test_create_refuses_an_unknown_currency_naming_the_field(alpha_api):
    response = post_json(
        alpha_api, "/api/v1/tariffs/", {"code": "T1", "name": "x", "currency": "EUX", "elements": DAY_AND_NIGHT}
    )

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert list(error["fields"]) == ["currency"]
    assert "ISO 4217" in error["fields"]["currency"][0]


def test_element_errors_are_nested_under_the_element_and_component(tenant, alpha_api):
    elements = [
        {
            "price_components": [{"type": "ENERGY", "price": "-0.10", "step_size": 1}],
            "restrictions": {"min_kwh": 5, "max_kwh": 1},
        },
        {"price_components": [{"type": "TIME", "price": "2.00", "step_size": 0}]},
    ]

    response = post_json(
        alpha_api, "/api/v1/tariffs/", {"code": "T1", "name": "x", "currency": "EUR", "elements": elements}
    )

    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert fields["elements"]["0"]["price_components"]["0"]["price"] == ["A price cannot be negative."]
    assert "min_kwh (5) must be below max_kwh (1)" in fields["elements"]["0"]["restrictions"][0]
    assert fields["elements"]["1"]["price_components"]["0"]["step_size"] == ["step_size must be at least 1."]
    with schema_context(tenant.schema_name):
        assert not Tariff.objects.exists()


def test_an_element_that_can_never_apply_is_refused_with_its_index(alpha_api):
    elements = list(reversed(DAY_AND_NIGHT))  # the unrestricted element first shadows the day element

    response = post_json(
        alpha_api, "/api/v1/tariffs/", {"code": "T1", "name": "x", "currency": "EUR", "elements": elements}
    )

    assert response.status_code == 400
    assert "never used" in response.json()["error"]["fields"]["elements"]["1"][0]


def test_create_refuses_a_duplicate_code_and_missing_elements(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        TariffFactory(code="TAKEN")

    duplicate = post_json(
        alpha_api, "/api/v1/tariffs/", {"code": "TAKEN", "name": "x", "currency": "EUR", "elements": DAY_AND_NIGHT}
    )
    missing = post_json(alpha_api, "/api/v1/tariffs/", {"code": "NEW", "name": "x", "currency": "EUR"})
    empty = post_json(alpha_api, "/api/v1/tariffs/", {"code": "NEW", "name": "x", "currency": "EUR", "elements": []})

    assert duplicate.status_code == 400 and list(duplicate.json()["error"]["fields"]) == ["code"]
    assert missing.status_code == 400 and list(missing.json()["error"]["fields"]) == ["elements"]
    assert "A tariff needs a list of at least one element." in empty.json()["error"]["fields"]["elements"]


def test_a_body_that_is_not_json_is_refused(alpha_api):
    response = alpha_api.post("/api/v1/tariffs/", "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "parse_error"


def test_tariff_detail(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        tariff = TariffFactory(code="MINE")

    response = alpha_api.get(f"/api/v1/tariffs/{tariff.pk}/")

    assert response.status_code == 200 and response.json()["code"] == "MINE"


def test_another_brands_tariff_is_not_found_read_changed_or_deleted(tenant, outsider, alpha_api):
    with schema_context(outsider.schema_name):
        theirs = TariffFactory(code="THEIRS", name="Bravo's")
    with schema_context(tenant.schema_name):
        Tariff.objects.filter(pk=theirs.pk).delete()  # ids are per schema: make sure alpha has none with this id

    responses = [
        alpha_api.get(f"/api/v1/tariffs/{theirs.pk}/"),
        patch_json(alpha_api, f"/api/v1/tariffs/{theirs.pk}/", {"name": "hijacked"}),
        alpha_api.delete(f"/api/v1/tariffs/{theirs.pk}/"),
    ]

    assert [response.status_code for response in responses] == [404, 404, 404]
    assert responses[0].json()["error"]["code"] == "not_found"
    with schema_context(outsider.schema_name):
        assert Tariff.objects.get(pk=theirs.pk).name == "Bravo's"


def test_patch_changes_fields_and_validates_the_whole_tariff(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        tariff = TariffFactory(code="AC", max_price_excl_vat=10)

    renamed = patch_json(alpha_api, f"/api/v1/tariffs/{tariff.pk}/", {"name": "AC night", "elements": DAY_AND_NIGHT})
    contradicts = patch_json(alpha_api, f"/api/v1/tariffs/{tariff.pk}/", {"min_price_excl_vat": "20"})
    recoded = patch_json(alpha_api, f"/api/v1/tariffs/{tariff.pk}/", {"code": "OTHER"})

    assert renamed.status_code == 200, renamed.content
    assert renamed.json()["name"] == "AC night" and len(renamed.json()["elements"]) == 2
    assert contradicts.status_code == 400
    assert contradicts.json()["error"]["fields"] == {"max_price_excl_vat": ["Below the minimum price."]}
    assert recoded.status_code == 400 and list(recoded.json()["error"]["fields"]) == ["code"]
    with schema_context(tenant.schema_name):
        stored = Tariff.objects.get(pk=tariff.pk)
        assert (stored.code, stored.name, stored.min_price_excl_vat) == ("AC", "AC night", None)


def test_delete_removes_an_unused_tariff_and_refuses_one_in_use(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        unused = TariffFactory()
        assigned = TariffAssignmentFactory(location=LocationFactory()).tariff

    deleted = alpha_api.delete(f"/api/v1/tariffs/{unused.pk}/")
    refused = alpha_api.delete(f"/api/v1/tariffs/{assigned.pk}/")

    assert deleted.status_code == 204
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "tariff_in_use"
    with schema_context(tenant.schema_name):
        assert list(Tariff.objects.values_list("pk", flat=True)) == [assigned.pk]


def test_a_read_key_cannot_write_tariffs(tenant):
    with schema_context(tenant.schema_name):
        tariff = TariffFactory()
    reader = api_client(ALPHA, key_in(tenant, scopes=[Scope.TARIFFS_READ]))

    responses = [
        post_json(reader, "/api/v1/tariffs/", {"code": "T", "name": "x", "currency": "EUR", "elements": DAY_AND_NIGHT}),
        patch_json(reader, f"/api/v1/tariffs/{tariff.pk}/", {"name": "y"}),
        reader.delete(f"/api/v1/tariffs/{tariff.pk}/"),
    ]

    assert reader.get("/api/v1/tariffs/").status_code == 200
    for response in responses:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "scope_missing"
        assert "tariffs:write" in response.json()["error"]["message"]
    with schema_context(tenant.schema_name):
        assert Tariff.objects.get(pk=tariff.pk).name == tariff.name


def test_a_key_without_tariff_scopes_cannot_read_them(tenant):
    other = api_client(ALPHA, key_in(tenant, scopes=[Scope.STATIONS_READ]))

    assert other.get("/api/v1/tariffs/").status_code == 403


def test_another_brands_key_is_unknown_here(outsider):
    bravo_key_on_alpha = api_client(ALPHA, key_in(outsider))

    responses = [
        bravo_key_on_alpha.get("/api/v1/tariffs/"),
        post_json(bravo_key_on_alpha, "/api/v1/tariffs/", {"code": "T", "name": "x", "currency": "EUR"}),
    ]

    assert [response.status_code for response in responses] == [401, 401]
    assert responses[0].json()["error"]["code"] == "api_key_unknown"


def test_an_unsupported_method_answers_405(alpha_api):
    assert alpha_api.put("/api/v1/tariffs/", "{}", content_type="application/json").status_code == 405


def test_a_tariff_that_priced_a_cdr_cannot_be_deleted_even_unassigned(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        cdr = cdr_issue(session=session_with_readings())
        tariff = Tariff.objects.get(code=cdr.tariff_code)
        TariffAssignment.objects.all().delete()

    response = alpha_api.delete(f"/api/v1/tariffs/{tariff.pk}/")

    assert response.status_code == 409
    assert "1 CDR(s)" in response.json()["error"]["message"]
    with schema_context(tenant.schema_name):
        assert Tariff.objects.filter(pk=tariff.pk).exists()
