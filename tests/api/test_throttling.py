"""Rate limits per API client: 429 with Retry-After past the limit, headers on every answer, one count shared by every
process (Redis when configured, PostgreSQL otherwise), and a store that fails never fails the request."""

import json
import logging
import time

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from apps.api.models import ApiKey, RateLimitCounter, Scope
from apps.api.throttling import WINDOW_SECONDS, ApiClientRateThrottle
from tests.api.conftest import api_client, key_in
from tests.api.test_oauth import ALPHA, _admin, server_app_in, token_of
from tests.conftest import run_python

# A fixed instant 45.5 s into a window: counts cannot roll over mid-test, and Retry-After is known.
WINDOW = 1_800_000_000 - 1_800_000_000 % WINDOW_SECONDS
NOW = WINDOW + 45.5


@pytest.fixture
def frozen_clock(monkeypatch):
    monkeypatch.setattr(ApiClientRateThrottle, "clock", staticmethod(lambda: NOW))


@pytest.fixture
def limit_of_3(settings, frozen_clock):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    settings.REDIS_URL = ""


def _statuses(client, count: int) -> list[int]:
    return [client.get("/api/v1/stations/").status_code for _ in range(count)]


def test_the_request_past_the_limit_gets_429_with_retry_after_and_the_error_body(tenant, limit_of_3):
    client = api_client(ALPHA, key_in(tenant))

    answers = [client.get("/api/v1/stations/") for _ in range(4)]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert [answer["X-RateLimit-Remaining"] for answer in answers] == ["2", "1", "0", "0"]
    assert {answer["X-RateLimit-Limit"] for answer in answers} == {"3"}
    throttled = answers[-1]
    assert throttled["Retry-After"] == "15"  # the window ends 14.5 s later
    error = throttled.json()["error"]
    assert error["code"] == "throttled" and "15 seconds" in error["message"] and error["fields"] == {}


def test_another_client_is_not_affected(tenant, limit_of_3):
    busy = api_client(ALPHA, key_in(tenant))
    other = api_client(ALPHA, key_in(tenant))

    assert _statuses(busy, 4)[-1] == 429
    assert _statuses(other, 3) == [200, 200, 200]


def test_the_count_starts_again_in_the_next_window(tenant, limit_of_3, monkeypatch):
    client = api_client(ALPHA, key_in(tenant))
    assert _statuses(client, 4)[-1] == 429

    monkeypatch.setattr(ApiClientRateThrottle, "clock", staticmethod(lambda: NOW + WINDOW_SECONDS))

    response = client.get("/api/v1/stations/")
    assert response.status_code == 200 and response["X-RateLimit-Remaining"] == "2"


def test_an_oauth_application_may_have_its_own_limit(tenant, limit_of_3):
    application, secret = server_app_in(tenant, scopes=[Scope.STATIONS_READ], rate_limit_per_minute=5)
    client = api_client(ALPHA, token_of(ALPHA, application, secret))

    assert _statuses(client, 6) == [200] * 5 + [429]
    assert client.get("/api/v1/stations/")["X-RateLimit-Limit"] == "5"


def test_an_api_key_may_have_its_own_limit(tenant, limit_of_3):
    own = api_client(ALPHA, key_in(tenant, rate_limit_per_minute=5))
    default = api_client(ALPHA, key_in(tenant))

    assert _statuses(own, 6) == [200] * 5 + [429]
    assert own.get("/api/v1/stations/")["X-RateLimit-Limit"] == "5"
    assert default.get("/api/v1/stations/")["X-RateLimit-Limit"] == "3"


def test_an_operator_sets_a_keys_limit_when_creating_it_in_the_admin(tenant, limit_of_3):
    admin = _admin(tenant)

    response = admin.post(
        "/admin/api/apikey/add/",
        {"name": "Fleet portal", "scopes": ["stations:read"], "rate_limit_per_minute": "4"},
        follow=True,
    )

    [message] = [str(m) for m in response.context["messages"] if "not be shown again" in str(m)]
    client = api_client(ALPHA, message.rsplit(" ", 1)[-1])
    assert _statuses(client, 5) == [200] * 4 + [429]
    assert client.get("/api/v1/stations/")["X-RateLimit-Limit"] == "4"
    with schema_context(tenant.schema_name):
        assert ApiKey.objects.get().rate_limit_per_minute == 4


def test_the_admin_refuses_a_limit_of_zero_for_a_key(tenant):
    response = _admin(tenant).post(
        "/admin/api/apikey/add/", {"name": "Fleet portal", "scopes": ["stations:read"], "rate_limit_per_minute": "0"}
    )

    assert response.status_code == 200
    assert "rate_limit_per_minute" in response.context["adminform"].form.errors
    with schema_context(tenant.schema_name):
        assert not ApiKey.objects.exists()


def test_requests_refused_before_the_throttle_are_not_counted(tenant, limit_of_3):
    client = api_client(ALPHA, key_in(tenant, scopes=[Scope.LOCATIONS_READ]))

    assert _statuses(client, 5) == [403] * 5
    assert client.get("/api/v1/locations/")["X-RateLimit-Remaining"] == "2"


def test_finished_windows_are_pruned_from_postgresql(tenant, limit_of_3):
    with schema_context(tenant.schema_name):
        RateLimitCounter.objects.create(client_id="key:evk_gone", window_start=WINDOW - WINDOW_SECONDS, count=9)

    assert api_client(ALPHA, key_in(tenant)).get("/api/v1/stations/").status_code == 200

    with schema_context(tenant.schema_name):
        assert list(RateLimitCounter.objects.values_list("window_start", "count")) == [(WINDOW, 1)]


def test_the_counter_table_is_unlogged(tenant_schema):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT relpersistence FROM pg_class WHERE oid = %s::regclass",
            [f"{tenant_schema.schema_name}.api_ratelimitcounter"],
        )
        assert cursor.fetchone() == ("u",)


def test_a_store_that_is_down_lets_requests_through_and_logs(tenant, settings, frozen_clock, caplog):
    settings.API_RATE_LIMIT_PER_MINUTE = 1
    settings.REDIS_URL = "redis://127.0.0.1:9/0"  # the discard port: nothing listens
    client = api_client(ALPHA, key_in(tenant))

    with caplog.at_level(logging.ERROR, logger="apps.api.throttling"):
        started = time.monotonic()
        answers = [client.get("/api/v1/stations/") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert "X-RateLimit-Limit" not in answers[0]
    assert time.monotonic() - started < 2
    # Logged once: the store is left alone for a few seconds after it failed.
    assert len([r for r in caplog.records if "rate limit store redis failed" in r.getMessage()]) == 1


def test_redis_counts_per_client_and_window(tenant, settings, frozen_clock, redis_server):
    settings.API_RATE_LIMIT_PER_MINUTE = 3
    settings.REDIS_URL = redis_server.url
    client = api_client(ALPHA, key_in(tenant))

    assert _statuses(client, 4) == [200, 200, 200, 429]

    import redis

    keys = redis.Redis.from_url(redis_server.url, socket_timeout=1).keys(f"api-rate:{tenant.schema_name}:key:*")
    assert len(keys) == 1 and keys[0].decode().endswith(f":{WINDOW}")
    assert 0 < redis.Redis.from_url(redis_server.url, socket_timeout=1).ttl(keys[0]) <= 2 * WINDOW_SECONDS


# Two processes, one count. The subprocess is a second Django process with its own test client; both use the real
# clock, so the test starts early in a window.

SUBPROCESS = """
import django, json
django.setup()
from django.test import Client
client = Client(HTTP_HOST="alpha.localhost", HTTP_AUTHORIZATION="Bearer {key}")
print(json.dumps([client.get("/api/v1/stations/").status_code for _ in range({count})]))
"""


def _fresh_window() -> None:
    """Wait for a new window if less than 20 s remain of this one (the subprocess takes a few seconds to start)."""
    into_window = time.time() % WINDOW_SECONDS
    if into_window > WINDOW_SECONDS - 20:
        time.sleep(WINDOW_SECONDS - into_window + 0.1)


def _statuses_in_subprocess(key: str, count: int, **env) -> list[int]:
    result = run_python(SUBPROCESS.format(key=key, count=count), API_RATE_LIMIT_PER_MINUTE="4", **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.django_db(transaction=True)
def test_two_processes_share_one_count_in_postgresql(tenant, settings):
    settings.API_RATE_LIMIT_PER_MINUTE = 4
    settings.REDIS_URL = ""
    key = key_in(tenant)
    here = api_client(ALPHA, key)
    _fresh_window()

    assert _statuses(here, 2) == [200, 200]
    assert _statuses_in_subprocess(key, 3, REDIS_URL=None) == [200, 200, 429]
    response = here.get("/api/v1/stations/")
    assert response.status_code == 429 and response["X-RateLimit-Remaining"] == "0"


@pytest.mark.django_db(transaction=True)
def test_two_processes_share_one_count_in_redis(tenant, settings, redis_server):
    settings.API_RATE_LIMIT_PER_MINUTE = 4
    settings.REDIS_URL = redis_server.url
    key = key_in(tenant)
    here = api_client(ALPHA, key)
    _fresh_window()

    assert _statuses(here, 2) == [200, 200]
    assert _statuses_in_subprocess(key, 3, REDIS_URL=redis_server.url) == [200, 200, 429]
    assert here.get("/api/v1/stations/").status_code == 429
    with schema_context(tenant.schema_name):
        assert not RateLimitCounter.objects.exists()  # Redis counted, not PostgreSQL
