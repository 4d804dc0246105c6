"""Load balancers learn whether a process is alive (/healthz) and can serve (/readyz), on any host."""

import json

import pytest
from django.test import Client

from tests.processes import DaphneProcess


@pytest.mark.parametrize("host", ["alpha.localhost", "localhost", "10.1.2.3", "unknown.example"])
def test_healthz_answers_on_every_host(tenant, host):
    response = Client(HTTP_HOST=host).get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_each_dependency_in_the_embedded_default(tenant):
    response = Client(HTTP_HOST="alpha.localhost").get("/readyz")

    assert response.status_code == 200
    checks = response.json()["checks"]
    assert checks["database"] == {"ok": True, "detail": "postgresql"}
    assert checks["channel_layer"] == {"ok": True, "detail": "InMemoryChannelLayer"}
    assert checks["broker"]["ok"] and checks["broker"]["detail"].startswith("eager")


def test_readyz_is_503_when_the_broker_is_unreachable(tenant, settings):
    from config.celery_app import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.update(broker_url="redis://127.0.0.1:1/0")
    try:
        response = Client(HTTP_HOST="alpha.localhost").get("/readyz")
    finally:
        app.conf.update(broker_url=None)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["broker"]["ok"] is False
    assert body["checks"]["database"]["ok"] is True


@pytest.mark.django_db(transaction=True)
def test_readyz_of_a_daphne_process_on_redis(tenant, redis_server, tmp_path):
    with DaphneProcess(tmp_path / "daphne.log", REDIS_URL=redis_server.url) as server:
        status, body = server.get("/readyz", host="alpha.localhost")

    checks = json.loads(body)["checks"]
    assert status == 200, body
    assert checks["channel_layer"] == {"ok": True, "detail": "RedisChannelLayer"}
    assert checks["broker"] == {"ok": True, "detail": "redis"}
