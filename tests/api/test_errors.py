"""Every API error has the same shape: {"error": {"code", "message", "fields"}}."""

import pytest
from django_tenants.utils import schema_context
from rest_framework.exceptions import Throttled, ValidationError

from apps.api.errors import api_exception_handler
from tests.stations.factories import StationFactory


def test_wrong_method_answers_405(alpha_api):
    response = alpha_api.post("/api/v1/stations/", {}, content_type="application/json")

    assert response.status_code == 405
    assert response.json() == {
        "error": {"code": "method_not_allowed", "message": 'Method "POST" not allowed.', "fields": {}}
    }


def test_unknown_path_answers_404_in_the_api_format(tenant):
    from tests.api.conftest import api_client

    response = api_client("alpha.localhost", None).get("/api/v1/nothing-here/")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_throttled_answers_429_with_retry_after():
    response = api_exception_handler(Throttled(wait=30), {})

    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    assert response.data["error"]["code"] == "throttled"
    assert response.data["error"]["fields"] == {}


def test_nested_and_non_field_validation_errors_keep_their_fields():
    detail = {"non_field_errors": ["Pick one."], "tariff": {"price": ["Too low."]}}

    body = api_exception_handler(ValidationError(detail), {}).data["error"]

    assert body == {
        "code": "invalid",
        "message": "The request is not valid.",
        "fields": {"non_field_errors": ["Pick one."], "tariff": {"price": ["Too low."]}},
    }


def test_a_validation_error_without_fields_puts_its_messages_in_the_message():
    body = api_exception_handler(ValidationError(["Nothing to do."]), {}).data["error"]

    assert body == {"code": "invalid", "message": "Nothing to do.", "fields": {}}


def test_an_unexpected_exception_is_left_to_django():
    assert api_exception_handler(RuntimeError("bug"), {}) is None


@pytest.mark.parametrize("page_size", ["ten", "0", "201", "-3"])
def test_a_page_size_out_of_range_is_refused_not_ignored(alpha_api, page_size):
    response = alpha_api.get("/api/v1/stations/", {"page_size": page_size})

    assert response.status_code == 400
    assert response.json()["error"]["fields"] == {"page_size": ["A whole number from 1 to 200."]}


def test_lists_page_oldest_or_newest_first_as_asked_and_refuse_other_orders(tenant, alpha_api):
    with schema_context(tenant.schema_name):
        first, second, third = StationFactory.create_batch(3)

    def ids(**params):
        return [row["id"] for row in alpha_api.get("/api/v1/stations/", params).json()["results"]]

    assert ids() == [first.pk, second.pk, third.pk]  # the stations list's own order
    assert ids(ordering="-id") == [third.pk, second.pk, first.pk]
    newest = alpha_api.get("/api/v1/stations/", {"ordering": "-id", "page_size": 2}).json()
    assert [row["id"] for row in alpha_api.get(newest["next"]).json()["results"]] == [first.pk]
    refused = alpha_api.get("/api/v1/stations/", {"ordering": "identity"})
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {"ordering": ["One of: id, -id."]}


def test_a_query_parameter_given_twice_is_refused_naming_it(alpha_api):
    response = alpha_api.get("/api/v1/stations/?online=true&online=false&location=1")

    assert response.status_code == 400
    assert response.json() == {
        "error": {
            "code": "invalid",
            "message": "The request is not valid.",
            "fields": {"online": ["Give this parameter once."]},
        }
    }
