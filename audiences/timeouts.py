"""A time limit on each SQL statement of a block: previews and evaluations cannot run forever.

    with transaction.atomic(), statement_timeout(settings.AUDIENCE_PREVIEW_TIMEOUT_MS):
        queryset.count()  # raises StatementTimeout past the limit

PostgreSQL: `statement_timeout` set for the transaction only (`SET LOCAL`, through `set_config`),
and put back when the block ends, so a caller's own transaction keeps its setting. The server
cancels the statement (SQLSTATE 57014).

SQLite: the connection's progress handler, called every few thousand virtual-machine steps,
interrupts the statement once it has run past its deadline (each statement gets a fresh one);
the handler is removed when the block ends. SQLite rolls back the whole transaction when it
interrupts a write (an INSERT ... SELECT), so a block that writes must be its own transaction.

A limit of 0 means none.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, OperationalError, connection

_QUERY_CANCELED = "57014"  # PostgreSQL: canceling statement due to statement timeout
_SQLITE_STEPS = 1000  # virtual-machine instructions between two checks of the deadline


class StatementTimeout(Exception):
    """A statement ran longer than its limit and the database stopped it."""

    def __init__(self, timeout_ms: int):
        self.timeout_ms = timeout_ms
        super().__init__(f"a statement ran longer than {seconds(timeout_ms)} and was stopped")


def seconds(milliseconds: int) -> str:
    """10000 -> "10 seconds", 1 -> "0.001 seconds", 1000 -> "1 second"."""
    value = milliseconds / 1000
    return f"{value:g} second{'' if value == 1 else 's'}"


@contextmanager
def statement_timeout(timeout_ms: int) -> Iterator[None]:
    """Stop any statement of the block that runs longer than `timeout_ms` (0: no limit) with
    StatementTimeout. Must run inside a transaction (`transaction.atomic()`)."""
    if timeout_ms <= 0:
        yield
        return
    if not connection.in_atomic_block:
        raise RuntimeError("statement_timeout() must run inside transaction.atomic()")
    limit = _postgresql if connection.vendor == "postgresql" else _sqlite if connection.vendor == "sqlite" else None
    if limit is None:  # another database: no limit we know how to set
        yield
        return
    with limit(timeout_ms):
        yield


@contextmanager
def _postgresql(timeout_ms: int) -> Iterator[None]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('statement_timeout')")
        previous = cursor.fetchone()[0]
    _set_statement_timeout(f"{timeout_ms}ms")
    try:
        yield
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == _QUERY_CANCELED:
            raise StatementTimeout(timeout_ms) from exc
        raise
    except DatabaseError:
        raise  # the transaction is aborted: its rollback restores the setting
    except BaseException:
        _set_statement_timeout(previous)
        raise
    _set_statement_timeout(previous)


def _set_statement_timeout(value: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('statement_timeout', %s, true)", [value])


@contextmanager
def _sqlite(timeout_ms: int) -> Iterator[None]:
    connection.ensure_connection()
    raw = connection.connection
    state: dict = {"deadline": None, "fired": False}

    def progress() -> int:
        deadline = state["deadline"]
        if deadline is not None and time.monotonic() > deadline:
            state["fired"] = True
            return 1  # non-zero: SQLite interrupts the statement
        return 0

    def each_statement(execute, sql, params, many, context):
        state["deadline"] = time.monotonic() + timeout_ms / 1000
        try:
            return execute(sql, params, many, context)
        finally:
            state["deadline"] = None

    raw.set_progress_handler(progress, _SQLITE_STEPS)
    try:
        with connection.execute_wrapper(each_statement):
            yield
    except OperationalError as exc:
        if state["fired"]:
            raise StatementTimeout(timeout_ms) from exc
        raise
    finally:
        raw.set_progress_handler(None, _SQLITE_STEPS)
