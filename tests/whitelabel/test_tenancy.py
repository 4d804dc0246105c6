"""Async code and Celery tasks enter the tenant's schema themselves: the schema does not follow them across threads."""

import subprocess
import sys
import time

import pytest
from celery import Celery
from channels.db import database_sync_to_async
from django.db import connection
from django_tenants.utils import schema_context

from apps.accounts.models import User
from apps.whitelabel import tenancy
from apps.whitelabel.tenancy import run_in_tenant
from tests.accounts.factories import UserFactory
from tests.conftest import BASE_DIR, subprocess_env
from tests.whitelabel.worker_tasks import user_count_for_test, user_create_for_test


def _emails() -> list[str]:
    return list(User.objects.values_list("email", flat=True))


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_async_code_sees_a_brands_users_only_through_run_in_tenant(tenant, outsider):
    def make_user():
        with schema_context(tenant.schema_name):
            UserFactory(email="ann@alpha.test")

    await database_sync_to_async(make_user)()

    assert await run_in_tenant(tenant, _emails) == ["ann@alpha.test"]
    assert await run_in_tenant(outsider.schema_name, _emails) == []
    # Without it the worker thread's connection is in the public schema, where platform staff live.
    assert "ann@alpha.test" not in await database_sync_to_async(_emails)()


def test_eager_tenant_task_runs_in_the_schema_it_was_given(tenant, outsider):
    user_create_for_test.delay(tenant.schema_name, "eager@alpha.test")

    with schema_context(tenant.schema_name):
        assert _emails() == ["eager@alpha.test"]
    assert user_count_for_test.delay(outsider.schema_name).get() == 0
    assert connection.schema_name == "public"  # the caller's schema is untouched


@pytest.mark.django_db(transaction=True)
def test_worker_process_runs_tenant_task_in_the_schema_it_was_given(tenant, redis_server, tmp_path):
    log_path = tmp_path / "worker.log"
    with log_path.open("w") as log:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "-I",
                "tests.whitelabel.worker_tasks",
                "--pool",
                "solo",
                "--loglevel",
                "INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=BASE_DIR,
            env=subprocess_env(CELERY_BROKER_URL=redis_server.url),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    # Any other process (a web process, beat) sends by name through the broker.
    # Not the current app: tasks sent later in this test session must stay on the project app (eager in tests).
    producer = Celery(broker=redis_server.url, set_as_current=False)
    try:
        producer.send_task(user_create_for_test.name, args=[tenant.schema_name, "worker@alpha.test"])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with schema_context(tenant.schema_name):
                if _emails():
                    break
            assert worker.poll() is None, log_path.read_text()
            time.sleep(0.1)
    finally:
        producer.close()
        worker.terminate()
        worker.wait(timeout=20)

    with schema_context(tenant.schema_name):
        assert _emails() == ["worker@alpha.test"], log_path.read_text()
    assert not User.objects.filter(email="worker@alpha.test").exists()


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_database_threads_reconnect_after_the_database_dropped_them(tenant, monkeypatch):
    """After a database restart (here: the worker threads' backends terminated), the next call of an idle worker
    thread checks its connection first and opens a new one: no caller sees the dead connection."""
    # Connections are kept between calls, as in production (the test settings close them after each call).
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)
    pids = {await run_in_tenant(tenant, _backend_pid) for _ in range(16)}

    def terminate(pids):
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM unnest(%s::int[]) AS pid", [sorted(pids)])

    await database_sync_to_async(terminate)(pids)
    monkeypatch.setattr(tenancy, "HEALTH_CHECK_AFTER_IDLE_S", 0.0)  # every thread counts as idle

    assert [await run_in_tenant(tenant, _emails) for _ in range(16)] == [[]] * 16
    assert not pids & {await run_in_tenant(tenant, _backend_pid) for _ in range(16)}
