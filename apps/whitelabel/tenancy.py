"""Entering a tenant's schema where django-tenants does not do it for us: async code and Celery tasks.

The schema is a property of the DB connection, and each thread has its own connection: code that
`sync_to_async` moves to a worker thread does not inherit the caller's schema, so it must enter it.
"""

import functools
from collections.abc import Callable
from typing import Any

from celery import shared_task
from channels.db import database_sync_to_async
from django_tenants.utils import schema_context


def schema_name_of(tenant_or_schema) -> str:
    return tenant_or_schema if isinstance(tenant_or_schema, str) else tenant_or_schema.schema_name


async def run_in_tenant(tenant_or_schema, function: Callable[..., Any], /, *args, **kwargs) -> Any:
    """Run a synchronous DB function in a worker thread, inside the tenant's schema."""
    schema_name = schema_name_of(tenant_or_schema)

    def call():
        with schema_context(schema_name):
            return function(*args, **kwargs)

    return await database_sync_to_async(call)()


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
