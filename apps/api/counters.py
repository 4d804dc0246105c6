"""The one statement the API's per-request counters run (rate limits, usage analytics).

In autocommit, the usual request, the statement is all there is and its row lock lasts as long as it does. Inside a
transaction (tests, or a view called within atomic) it runs under a savepoint, so a failing statement, which the
callers log and forgive, cannot break the caller's transaction.
"""

from django.db import connection, transaction


def counter_statement_run(sql: str, params: dict, *, returns: bool = False):
    """Run `sql`; with `returns`, answer the first column of its first row."""
    if connection.in_atomic_block:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchone()[0] if returns else None
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0] if returns else None
