"""The portal's API usage page: what each partner application asked of the API, how often it failed, how fast it
was answered and how its webhooks fared, per application and, for one of them, per endpoint and day."""

from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.roles import Role
from apps.api.models import ApiKey, ApiUsageDay
from apps.api.services import PREFIX_LENGTH
from tests.api.conftest import api_client, key_in
from tests.portal.conftest import client_of
from tests.stations.factories import StationFactory

PAGE = "/portal/api-usage/"


def test_each_application_shows_its_requests_and_error_rate_and_one_its_endpoints_per_day(tenant):
    with schema_context(tenant.schema_name):
        station = StationFactory()
    key, quiet_key = key_in(tenant), key_in(tenant)
    api = api_client("alpha.localhost", key)
    for _ in range(3):
        assert api.get("/api/v1/stations/").status_code == 200
    assert api.get(f"/api/v1/stations/{station.pk}/").status_code == 200
    assert api.get("/api/v1/stations/999999/").status_code == 404
    client_id = f"key:{key[:PREFIX_LENGTH]}"
    with schema_context(tenant.schema_name):
        # An older day of the same application, outside the default period of 30 days.
        ApiUsageDay.objects.create(
            day=timezone.now().date() - timedelta(days=40),
            client_id=client_id,
            method="GET",
            endpoint="/api/v1/stations/",
            requests=1000,
        )
        name = ApiKey.objects.get(prefix=key[:PREFIX_LENGTH]).name
    portal = client_of(tenant, Role.READ_ONLY)

    page = portal.get(PAGE)

    assert page.status_code == 200
    [row] = page.context["clients"]  # the key that made no request is not listed
    assert (row["name"], row["requests"], row["percent_4xx"]) == (name, 5, 20.0)
    assert f"key:{quiet_key[:PREFIX_LENGTH]}" not in page.content.decode()
    assert "endpoints" not in page.context

    detail = portal.get(PAGE, {"client": client_id})

    assert detail.status_code == 200
    endpoints = {(row["endpoint"], row["requests"], row["percent_4xx"]) for row in detail.context["endpoints"]}
    assert endpoints == {("/api/v1/stations/", 3, 0.0), ("/api/v1/stations/{station_id}/", 2, 50.0)}
    days = detail.context["days"]
    assert len(days) == 30 and days[-1] == (timezone.now().date(), 5) and sum(n for _, n in days) == 5
    assert "<code>/api/v1/stations/{station_id}/</code>" in detail.content.decode()

    older = portal.get(
        PAGE,
        {
            "start": (timezone.now().date() - timedelta(days=45)).isoformat(),
            "end": timezone.now().date().isoformat(),
            "client": client_id,
        },
    )
    assert older.context["clients"][0]["requests"] == 1005


def test_a_client_of_another_brand_or_unknown_shows_no_detail(tenant, outsider):
    outsider_key = key_in(outsider)
    assert api_client("bravo.localhost", outsider_key).get("/api/v1/stations/").status_code == 200
    portal = client_of(tenant, Role.OPERATOR)

    page = portal.get(PAGE, {"client": f"key:{outsider_key[:PREFIX_LENGTH]}"})

    assert page.status_code == 200
    assert page.context["clients"] == [] and "endpoints" not in page.context


def test_a_bad_period_is_refused_with_the_field_named(tenant):
    page = client_of(tenant, Role.OPERATOR).get(PAGE, {"start": "2026-12-01", "end": "2026-11-01"})

    assert page.status_code == 400
    assert "The end is before the start." in page.content.decode()


def test_drivers_and_visitors_do_not_get_the_page_and_staff_see_it_in_the_menu(tenant):
    assert client_of(tenant).get(PAGE).status_code == 302
    assert client_of(tenant, Role.DRIVER).get(PAGE).status_code == 403
    overview = client_of(tenant, Role.FINANCE).get("/portal/")
    assert 'href="/portal/api-usage/"' in overview.content.decode()
