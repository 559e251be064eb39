"""Transactions for the write path: one atomic block per entry point, retried on lock errors.

InnoDB may pick a transaction as a deadlock victim (1213) or give up waiting for a lock
(1205, which MariaDB also reports for a busy NOWAIT lock; MySQL 8 reports NOWAIT as 3572).
The whole transaction is then rolled back, so the only correct reaction is to run it all
again. That happens here, once, at the outermost call: an inner call (already inside an
atomic block) never retries — it cannot, its transaction is the caller's — and lets the
error travel up to the entry point.

On a MariaDB Galera cluster the same 1213 also comes from COMMIT: `SELECT … FOR UPDATE`
locks rows on one node only, and a transaction whose write set conflicts with one already
certified from another node is refused when it commits. Galera rolls it back, so it too is
simply run again. The COMMIT happens in `transaction.atomic().__exit__`, inside the `try`
below, so it is caught like a deadlock in a statement (clinic/tests/test_db.py proves it).
Galera's own `wsrep_retry_autocommit` only retries single autocommit statements, never a
transaction of several.

A lost connection is never retried (`is_database_unreachable`): when it is lost during
COMMIT the client cannot know whether the server committed or not, and running the
transaction again could book a place twice. The error travels up and the request answers
503 (clinic.availability); the client reads the state again before it repeats anything.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

from django.db import (
    DEFAULT_DB_ALIAS,
    InterfaceError,
    OperationalError,
    connections,
    models,
    router,
    transaction,
)
from django.utils.translation import gettext_lazy as _

from clinic.exceptions import ClinicError

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

RETRYABLE_MYSQL_ERRORS = {1205, 1213, 3572}
MAX_ATTEMPTS = 5

# The server cannot be reached, or the connection to it is lost: nothing to retry inside the
# transaction, the request answers 503. Not 4031: MySQL 8.0.24+ uses it for a connection
# closed after inactivity (CONN_HEALTH_CHECKS replaces such a connection before use), but to
# MariaDB it is a trigger definition error.
UNREACHABLE_MYSQL_ERRORS = {
    1040,  # too many connections
    1047,  # Galera: WSREP has not yet prepared node for application use (not in the primary)
    1053,  # server shutdown in progress
    1180,  # Galera: the node left the primary component during COMMIT (outcome unknown)
    1927,  # connection was killed (MariaDB)
    2002,  # cannot connect through the socket
    2003,  # cannot connect to the server (TCP)
    2005,  # unknown server host
    2006,  # server has gone away
    2013,  # lost connection during query
    2055,  # lost connection at a system call
}


class Busy(ClinicError):
    code = "busy"
    status = 503
    default_message = _("The clinic system is busy; please try again in a moment.")


def error_code(error: Exception) -> int | None:
    """The MySQL/MariaDB error number of a database error, None for other backends."""
    code = error.args[0] if error.args else None
    return code if isinstance(code, int) else None


def is_retryable(error: OperationalError) -> bool:
    if error_code(error) in RETRYABLE_MYSQL_ERRORS:
        return True
    # SQLite: another writer holds the database past the busy timeout.
    return "database is locked" in str(error)


def is_database_unreachable(error: BaseException) -> bool:
    """The database cannot be reached or the connection was lost (never retried here)."""
    if isinstance(error, InterfaceError):
        return True
    if isinstance(error, OperationalError):
        return error_code(error) in UNREACHABLE_MYSQL_ERRORS or "unable to open database" in str(
            error
        )
    return False


def atomic_with_retry(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` in `transaction.atomic()`; at the outermost level, retry on lock errors
    (a statement's or the COMMIT's) with jittered exponential backoff, then raise Busy."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            with transaction.atomic():
                return func(*args, **kwargs)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                # The COMMIT runs when this block exits: still inside the `try`.
                with transaction.atomic():
                    return func(*args, **kwargs)
            except OperationalError as error:
                if not is_retryable(error):
                    raise
                code = error_code(error) or "database is locked"
                if attempt == MAX_ATTEMPTS:
                    logger.warning(
                        "db busy: %s gave up after %d attempts, the last failed with %s",
                        func.__qualname__,
                        attempt,
                        code,
                    )
                    raise Busy() from error
                logger.warning(
                    "db retry: %s attempt %d failed with %s; retrying",
                    func.__qualname__,
                    attempt,
                    code,
                )
                # Jitter so that the transactions that collided do not collide again.
                time.sleep(random.uniform(0.005, 0.02) * 2**attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper


def insert_or_add(
    model: type[models.Model],
    *,
    key: dict[str, Any],
    values: dict[str, Any] | None = None,
    add: Sequence[str] = (),
) -> None:
    """Insert a row (`key` and `values`), or, when a row with that key exists (a unique
    constraint over the `key` columns), add the `add` columns' new values to it.

    One atomic statement: INSERT ... ON DUPLICATE KEY UPDATE on MariaDB/MySQL, INSERT ... ON
    CONFLICT DO UPDATE elsewhere. Either way it takes the row's exclusive lock until the
    transaction ends; a concurrent first insert of the same key waits for the other
    transaction, then adds to its row. (A select-then-insert with a savepoint would leave
    every loser holding a shared lock from its duplicate-key error; two of them upgrading to
    update the row is a deadlock.) With nothing to add, the row is only locked. Only quoted
    identifiers of the model are interpolated; every value is a parameter.
    """
    db = connections[router.db_for_write(model)]
    if db.get_autocommit():
        raise transaction.TransactionManagementError(
            "insert_or_add() takes a lock for a transaction: open one."
        )
    quote = db.ops.quote_name
    row = {**key, **(values or {})}
    table, columns = quote(model._meta.db_table), ", ".join(map(quote, row))
    placeholders = ", ".join(["%s"] * len(row))
    insert = f"INSERT INTO {table} ({columns}) VALUES ({placeholders})"  # noqa: S608
    if db.vendor == "mysql":
        # Parameters rather than VALUES(col), which MySQL 8.0.20+ deprecates.
        changes = [f"{quote(c)} = {quote(c)} + %s" for c in add]
        sql = f"{insert} ON DUPLICATE KEY UPDATE "
        params = [*row.values(), *(row[c] for c in add)]
    else:
        changes = [f"{quote(c)} = {quote(c)} + excluded.{quote(c)}" for c in add]
        sql = f"{insert} ON CONFLICT ({', '.join(map(quote, key))}) DO UPDATE SET "
        params = list(row.values())
    # Nothing to add: a key column set to itself, which still locks the row.
    first_key = quote(next(iter(key)))
    sql += ", ".join(changes or [f"{first_key} = {first_key}"])
    with db.cursor() as cursor:
        cursor.execute(sql, params)
