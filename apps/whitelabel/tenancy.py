"""Entering a tenant's schema where django-tenants does not do it for us: async code and Celery tasks.

The schema is a property of the DB connection, and each thread has its own connection: code that
`sync_to_async` moves to a worker thread does not inherit the caller's schema, so it must enter it.
"""

import functools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import sync_to_async
from celery import shared_task
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context


def schema_name_of(tenant_or_schema) -> str:
    return tenant_or_schema if isinstance(tenant_or_schema, str) else tenant_or_schema.schema_name


# The threads async code runs its database work in: several, so that one station's round trips to PostgreSQL do not
# queue every other station's behind them (asgiref's default runs all of a process's sync code on one thread).
# Each thread keeps its own connection, and stays in the schema it last entered: a thread serving the same brand
# again skips the `SET search_path` round trip (TENANT_LIMIT_SET_CALLS). Only `run_in_tenant` uses them, and it
# always enters its schema first.
_tenant_threads = ThreadPoolExecutor(max_workers=settings.DB_WORKER_THREADS, thread_name_prefix="tenant-db")


# A worker thread's connection is health-checked (SELECT 1) before its first query after this much idleness, not
# before every call: on a busy station server that check was one extra round trip per message.
HEALTH_CHECK_AFTER_IDLE_S = 5.0
_thread_state = threading.local()


def _connection_refresh() -> None:
    """What Channels' database_sync_to_async does before each call (drop a broken or too old connection), with the
    health check only after idleness."""
    now = time.monotonic()
    connection.close_if_unusable_or_obsolete()
    if now - getattr(_thread_state, "last_call", float("-inf")) < HEALTH_CHECK_AFTER_IDLE_S:
        connection.health_check_done = True
    _thread_state.last_call = now


async def run_in_tenant(tenant_or_schema, function: Callable[..., Any], /, *args, **kwargs) -> Any:
    """Run a synchronous DB function in a worker thread, inside the tenant's schema."""
    schema_name = schema_name_of(tenant_or_schema)

    def call():
        _connection_refresh()
        if connection.schema_name != schema_name:
            connection.set_schema(schema_name)
        return function(*args, **kwargs)

    return await sync_to_async(call, thread_sensitive=False, executor=_tenant_threads)()


def tenant_task(*task_args, **task_kwargs):
    """A Celery task whose first argument is the tenant's schema name, entered before the body runs.

    @tenant_task()
    def session_close(session_id): ...

    session_close.delay(connection.schema_name, session.id)
    """

    def decorator(function):
        options = {"name": f"{function.__module__}.{function.__name__}", **task_kwargs}

        @shared_task(*task_args, **options)
        @functools.wraps(function)
        def task(schema_name: str, *args, **kwargs):
            with schema_context(schema_name):
                return function(*args, **kwargs)

        return task

    return decorator
