"""Usage analytics: every request under /api/v1/ is counted per client and route pattern by the real middleware,
read back through GET /api/v1/analytics/usage/ (and …/clients/), and shown to operators in the admin."""

import itertools
import logging
import math
import random
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import include, path
from django.utils import timezone
from django_tenants.utils import schema_context
from rest_framework.authentication import BaseAuthentication
from rest_framework.views import APIView

from apps.accounts.roles import Role
from apps.api import analytics, usage
from apps.api.authentication import ApiClient, ApiKeyAuthentication
from apps.api.models import ApiKey, ApiUsageDay, Scope, WebhookDelivery, WebhookEvent
from apps.api.models.usage import LATENCY_RELATIVE_ERROR, latency_bucket_of, latency_buckets_empty, latency_percentile
from apps.api.services import PREFIX_LENGTH
from apps.api.services.webhooks import webhook_subscription_create
from tests.accounts.factories import PASSWORD, UserFactory
from tests.api.conftest import api_client, key_in
from tests.stations.factories import StationFactory

USAGE = "/api/v1/analytics/usage/"
CLIENTS = "/api/v1/analytics/usage/clients/"


class BrokenApi(APIView):
    required_scopes = [Scope.STATIONS_READ]

    def get(self, request):
        raise RuntimeError("a bug")


# A test-only URLconf: the tenant's URLs plus an operation that fails with a 500.
urlpatterns = [
    path("api/v1/broken/", BrokenApi.as_view()),
    path("", include("config.urls_tenants")),
]


def client_id_of(key: str) -> str:
    return f"key:{key[:PREFIX_LENGTH]}"


def rows_in(tenant, **filters) -> list[ApiUsageDay]:
    with schema_context(tenant.schema_name):
        return list(ApiUsageDay.objects.filter(**filters).order_by("client_id", "endpoint", "method"))


def test_requests_are_counted_per_client_and_route_pattern_not_per_id(tenant):
    with schema_context(tenant.schema_name):
        first, second = StationFactory(), StationFactory()
    key, other_key = key_in(tenant), key_in(tenant)
    api, other_api = api_client("alpha.localhost", key), api_client("alpha.localhost", other_key)

    assert api.get(f"/api/v1/stations/{first.pk}/").status_code == 200
    assert api.get(f"/api/v1/stations/{second.pk}/").status_code == 200
    assert api.get("/api/v1/stations/999999/").status_code == 404
    assert api.get("/api/v1/stations/").status_code == 200
    assert other_api.get("/api/v1/stations/").status_code == 200

    rows = {(row.client_id, row.method, row.endpoint): row for row in rows_in(tenant)}
    detail = rows[(client_id_of(key), "GET", "/api/v1/stations/{station_id}/")]
    assert (detail.day, detail.requests, detail.responses_4xx, detail.responses_5xx) == (
        timezone.now().date(),
        3,
        1,
        0,
    )
    assert sum(detail.latency_buckets) == 3 and detail.latency_sum_ms > 0
    assert rows[(client_id_of(key), "GET", "/api/v1/stations/")].requests == 1
    assert rows[(client_id_of(other_key), "GET", "/api/v1/stations/")].requests == 1
    assert len(rows) == 3


def test_refused_requests_are_counted_as_anonymous_or_for_the_brands_key_they_claim(tenant):
    key = key_in(tenant)
    wrong_secret = key[:PREFIX_LENGTH] + "x" * 40

    assert api_client("alpha.localhost", None).get("/api/v1/stations/").status_code == 401
    assert api_client("alpha.localhost", "evk_madeup00" + "y" * 40).get("/api/v1/stations/").status_code == 401
    assert api_client("alpha.localhost", wrong_secret).get("/api/v1/stations/").status_code == 401

    anonymous, claimed = rows_in(tenant, endpoint="/api/v1/stations/")
    assert (anonymous.client_id, anonymous.requests, anonymous.responses_4xx) == ("anonymous", 2, 2)
    assert (claimed.client_id, claimed.requests, claimed.responses_4xx) == (client_id_of(key), 1, 1)


def test_server_errors_are_counted(tenant, settings):
    settings.ROOT_URLCONF = __name__
    key = key_in(tenant)
    api = Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION=f"Bearer {key}", raise_request_exception=False)

    assert api.get("/api/v1/broken/").status_code == 500
    assert api.get("/api/v1/broken/").status_code == 500

    [row] = rows_in(tenant, endpoint="/api/v1/broken/")
    assert (row.client_id, row.requests, row.responses_4xx, row.responses_5xx) == (client_id_of(key), 2, 0, 2)


def test_unknown_paths_share_one_row_and_docs_pages_are_not_counted(tenant):
    api = api_client("alpha.localhost", key_in(tenant))

    assert api.get("/api/v1/no-such-thing/").status_code == 404
    assert api.get("/api/v1/another/unknown/path").status_code in (301, 404)
    assert api.get("/api/schema/").status_code == 200
    assert api.get("/api/docs/").status_code == 200

    [row] = rows_in(tenant)
    assert (row.endpoint, row.requests) == ("(unmatched)", 2)


def test_a_failed_write_is_logged_and_the_request_still_answers(tenant, alpha_api, monkeypatch, caplog):
    monkeypatch.setattr(usage, "_UPSERT_FOR_CLIENT", "INSERT INTO no_such_table VALUES (1)")

    with caplog.at_level(logging.WARNING, logger="apps.api.usage"):
        response = alpha_api.get("/api/v1/stations/")

    assert response.status_code == 200
    assert "Could not record API usage of GET /api/v1/stations/" in caplog.text
    assert rows_in(tenant) == []  # and the surrounding transaction is still usable


def _fake_clock(latencies_ms):
    """perf_counter for the middleware: each request takes the next latency; later ones take 1 ms."""
    now = 0.0
    for latency in itertools.chain(latencies_ms, itertools.repeat(1.0)):
        yield now
        now += latency / 1000
        yield now
        now += 1.0


def test_percentiles_of_a_known_distribution_are_within_the_stated_bound(tenant, alpha_api, monkeypatch):
    latencies = list(range(1, 101))  # 1…100 ms: p50 = 50, p95 = 95, p99 = 99 (nearest rank)
    random.Random(7).shuffle(latencies)
    clock = _fake_clock(latencies)
    monkeypatch.setattr(usage, "perf_counter", lambda: next(clock))
    for _ in latencies:
        alpha_api.get("/api/v1/locations/")

    response = alpha_api.get(USAGE, {"endpoint": "/api/v1/locations/"})

    [row] = response.json()["results"]
    assert row["requests"] == 100
    assert row["latency_mean_ms"] == pytest.approx(50.5)
    for name, exact in (("latency_p50_ms", 50), ("latency_p95_ms", 95), ("latency_p99_ms", 99)):
        assert abs(row[name] - exact) <= exact * LATENCY_RELATIVE_ERROR + 0.01, (name, row[name])


def test_histogram_percentiles_stay_within_the_bound_from_a_millisecond_to_a_minute():
    generator = random.Random(11)
    latencies = [10 ** generator.uniform(0, 4.7) for _ in range(5000)]  # 1 ms … 50 s, log-uniform
    buckets = latency_buckets_empty()
    for latency in latencies:
        buckets[latency_bucket_of(latency)] += 1
    ordered = sorted(latencies)

    for percentile in (1, 50, 90, 95, 99, 99.9, 100):
        exact = ordered[max(1, math.ceil(len(ordered) * percentile / 100)) - 1]
        assert abs(latency_percentile(buckets, percentile) - exact) <= exact * LATENCY_RELATIVE_ERROR + 0.01
    assert LATENCY_RELATIVE_ERROR < 0.045
    assert latency_percentile(latency_buckets_empty(), 50) is None
    assert latency_percentile([3] + [0] * (len(buckets) - 1), 99) == 0.5  # under 1 ms


def test_usage_lists_rows_per_client_endpoint_and_day_for_an_api_key(tenant):
    key = key_in(tenant)
    partner_key = key_in(tenant, scopes=[Scope.STATIONS_READ])
    today, yesterday = timezone.now().date(), timezone.now().date() - timedelta(days=1)
    with schema_context(tenant.schema_name):
        buckets = latency_buckets_empty()
        buckets[latency_bucket_of(20)] = 4
        ApiUsageDay.objects.create(
            day=yesterday,
            client_id=client_id_of(partner_key),
            method="GET",
            endpoint="/api/v1/stations/",
            requests=4,
            responses_5xx=1,
            latency_sum_ms=80,
            latency_buckets=buckets,
        )
    api, partner = api_client("alpha.localhost", key), api_client("alpha.localhost", partner_key)
    partner.get("/api/v1/stations/")
    partner.get("/api/v1/stations/1/")  # a 404
    api.get("/api/v1/locations/")

    response = api.get(USAGE)

    assert response.status_code == 200, response.content
    rows = response.json()["results"]
    assert [(row["day"], row["client_id"], row["method"], row["endpoint"], row["requests"]) for row in rows] == [
        (str(yesterday), client_id_of(partner_key), "GET", "/api/v1/stations/", 4),
        (str(today), client_id_of(partner_key), "GET", "/api/v1/stations/", 1),
        (str(today), client_id_of(partner_key), "GET", "/api/v1/stations/{station_id}/", 1),
        (str(today), client_id_of(key), "GET", "/api/v1/locations/", 1),
    ]
    old = rows[0]
    assert (old["error_rate_4xx"], old["error_rate_5xx"], old["latency_mean_ms"]) == (0.0, 0.25, 20.0)
    assert abs(old["latency_p99_ms"] - 20) <= 20 * LATENCY_RELATIVE_ERROR
    assert (rows[2]["responses_4xx"], rows[2]["error_rate_4xx"]) == (1, 1.0)
    assert response.json()["next"] is None

    only_partner = api.get(USAGE, {"client_id": client_id_of(partner_key), "since": str(today)})
    assert [row["endpoint"] for row in only_partner.json()["results"]] == [
        "/api/v1/stations/",
        "/api/v1/stations/{station_id}/",
    ]
    one_endpoint = api.get(USAGE, {"endpoint": "/api/v1/stations/", "since": str(yesterday), "days": "1"})
    assert [(row["day"], row["requests"]) for row in one_endpoint.json()["results"]] == [(str(yesterday), 4)]


def test_client_totals_sum_the_period_and_merge_webhook_deliveries(tenant):
    key = key_in(tenant)
    api = api_client("alpha.localhost", key)
    for _ in range(3):
        api.get("/api/v1/stations/")
    api.get("/api/v1/stations/1/")
    today = timezone.now().date()

    with schema_context(tenant.schema_name):
        ours_sub, _ = webhook_subscription_create(
            url="http://127.0.0.1:9/hook", event_kinds=["*"], client_id=client_id_of(key)
        )
        fleet_sub, _ = webhook_subscription_create(
            url="http://127.0.0.1:9/hook", event_kinds=["*"], client_id="oauth:fleet"
        )
        now = timezone.now()
        outcomes = [(ours_sub, "succeeded", now)] * 9 + [(ours_sub, "failed", now), (ours_sub, "pending", now)]
        outcomes += [(fleet_sub, "failed", now)] * 2 + [(ours_sub, "failed", now - timedelta(days=8))]  # 8 days: out
        for subscription, status, at in outcomes:
            event = WebhookEvent.objects.create(kind="session.ended", data={}, created_at=at)
            WebhookDelivery.objects.create(event=event, subscription=subscription, status=status, created_at=at)

    response = api.get(CLIENTS, {"days": "7"})

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["since"], body["until"]) == (str(today - timedelta(days=6)), str(today))
    ours, fleet = body["clients"]
    assert (ours["client_id"], ours["requests"], ours["responses_4xx"], ours["error_rate_4xx"]) == (
        client_id_of(key),
        4,
        1,
        0.25,
    )
    assert ours["latency_p50_ms"] is not None and ours["latency_p99_ms"] >= ours["latency_p50_ms"]
    assert (ours["webhooks_succeeded"], ours["webhooks_failed"], ours["webhook_success_rate"]) == (9, 1, 0.9)
    assert (fleet["client_id"], fleet["requests"], fleet["latency_p50_ms"], fleet["webhook_success_rate"]) == (
        "oauth:fleet",
        0,
        None,
        0.0,
    )


class PartnerAppAuthentication(BaseAuthentication):
    """Stands in for an OAuth application: a credential that is not one of the brand's API keys."""

    def authenticate(self, request):
        client_id = request.META.get("HTTP_X_TEST_PARTNER")
        if client_id is None:
            return None
        return ApiClient(client_id=client_id, name="partner", scopes=[Scope.ANALYTICS_READ], credential=object()), None


def test_a_partner_application_sees_only_its_own_usage(tenant, monkeypatch):
    for view in (analytics.UsageListApi, analytics.UsageClientListApi):
        monkeypatch.setattr(view, "authentication_classes", [ApiKeyAuthentication, PartnerAppAuthentication])
    api_client("alpha.localhost", key_in(tenant)).get("/api/v1/stations/")
    partner = Client(HTTP_HOST="alpha.localhost", HTTP_X_TEST_PARTNER="oauth:fleet")
    partner.get(USAGE)  # counted for oauth:fleet

    rows = partner.get(USAGE).json()["results"]
    clients = partner.get(CLIENTS).json()["clients"]
    someone_else = partner.get(USAGE, {"client_id": "anonymous"}).json()["results"]

    assert {row["client_id"] for row in rows} == {"oauth:fleet"}
    assert [client["client_id"] for client in clients] == ["oauth:fleet"]
    assert someone_else == []


def test_another_brands_key_is_refused_and_its_usage_never_shows(tenant, outsider):
    bravo_key = key_in(outsider)
    bravo = api_client("bravo.localhost", bravo_key)
    assert bravo.get("/api/v1/stations/").status_code == 200
    assert bravo.get(USAGE).status_code == 200

    assert api_client("alpha.localhost", bravo_key).get(USAGE).status_code == 401

    alpha_key = key_in(tenant)
    alpha = api_client("alpha.localhost", alpha_key)
    seen = {row["client_id"] for row in alpha.get(USAGE).json()["results"]}
    seen |= {client["client_id"] for client in alpha.get(CLIENTS).json()["clients"]}
    assert seen == {"anonymous", client_id_of(alpha_key)}  # bravo's key on our host counts as anonymous
    assert {row.client_id for row in rows_in(outsider)} == {client_id_of(bravo_key)}


def test_usage_needs_the_analytics_scope(tenant):
    api = api_client("alpha.localhost", key_in(tenant, scopes=[Scope.STATIONS_READ]))

    for url in (USAGE, CLIENTS):
        response = api.get(url)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "scope_missing"


@pytest.mark.parametrize(
    "query, field",
    [
        ({"since": "2026-02-30"}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"days": "0"}, "days"),
        ({"days": "367"}, "days"),
        ({"days": "a week"}, "days"),
        ({"client_id": "x" * 201}, "client_id"),
        ({"endpoint": ""}, "endpoint"),
        ({"endpoint": "/api/v1/stations/\n"}, "endpoint"),
        ({"client_id": "key:\x00"}, "client_id"),
    ],
)
def test_bad_filters_are_refused_with_the_field_named(alpha_api, query, field):
    for url in (USAGE, CLIENTS):
        response = alpha_api.get(url, query)
        assert response.status_code == 400, (url, query, response.content)
        assert list(response.json()["error"]["fields"]) == [field]


def test_a_period_is_a_start_and_a_length_up_to_366_days(alpha_api):
    body = alpha_api.get(CLIENTS, {"since": "2024-01-01", "days": "366"}).json()
    assert (body["since"], body["until"]) == ("2024-01-01", "2024-12-31")
    today = timezone.now().date()
    body = alpha_api.get(CLIENTS).json()
    assert (body["since"], body["until"]) == (str(today - timedelta(days=29)), str(today))
    body = alpha_api.get(CLIENTS, {"since": "9999-12-01", "days": "366"}).json()
    assert (body["since"], body["until"]) == ("9999-12-01", "9999-12-31")


def test_the_admin_shows_each_clients_totals_for_the_last_30_days(tenant):
    key = key_in(tenant)
    api = api_client("alpha.localhost", key)
    for _ in range(3):
        api.get("/api/v1/stations/")
    api.get("/api/v1/stations/1/")
    with schema_context(tenant.schema_name):
        operator = UserFactory(role=Role.OPERATOR)
        ApiUsageDay.objects.create(
            day=timezone.now().date() - timedelta(days=40),
            client_id=client_id_of(key),
            method="GET",
            endpoint="/api/v1/stations/",
            requests=1000,
        )
        name = ApiKey.objects.get(prefix=key[:PREFIX_LENGTH]).name
    admin = Client(HTTP_HOST="alpha.localhost")
    assert admin.post("/admin/login/", {"username": operator.email, "password": PASSWORD}).status_code == 302

    response = admin.get("/admin/api/apiusageday/")

    assert response.status_code == 200
    [summary] = response.context["usage_clients"]
    assert (summary["client_id"], summary["name"], summary["requests"], summary["percent_4xx"]) == (
        client_id_of(key),
        name,
        4,
        25.0,
    )
    page = response.content.decode()
    assert f'data-client="{client_id_of(key)}"' in page
    assert '<td class="requests">4</td>' in page and '<td class="percent-4xx">25.0</td>' in page
    assert "/api/v1/stations/{station_id}/" in page  # the daily rows below
    assert admin.get("/admin/api/apiusageday/add/").status_code == 403


def test_a_bug_in_counting_is_logged_and_the_request_still_answers(tenant, alpha_api, monkeypatch, caplog):
    def broken(match):
        raise ValueError("a bug")

    monkeypatch.setattr(usage, "endpoint_of", broken)

    with caplog.at_level(logging.ERROR, logger="apps.api.usage"):
        response = alpha_api.get("/api/v1/stations/")

    assert response.status_code == 200
    assert "Could not record API usage" in caplog.text
