"""Transactions for the write path: one atomic block per entry point, retried on lock errors.

InnoDB may pick a transaction as a deadlock victim (1213) or give up waiting for a lock
(1205, which MariaDB also reports for a busy NOWAIT lock; MySQL 8 reports NOWAIT as 3572).
The whole transaction is then rolled back, so the only correct reaction is to run it all
again. That happens here, once, at the outermost call: an inner call (already inside an
atomic block) never retries — it cannot, its transaction is the caller's — and lets the
error travel up to the entry point.
"""

from __future__ import annotations

import functools
import logging
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec, TypeVar

from django.db import DEFAULT_DB_ALIAS, OperationalError, connections, models, router, transaction
from django.utils.translation import gettext_lazy as _

from clinic.exceptions import ClinicError

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

RETRYABLE_MYSQL_ERRORS = {1205, 1213, 3572}
MAX_ATTEMPTS = 5


class Busy(ClinicError):
    code = "busy"
    status = 503
    default_message = _("The clinic system is busy; please try again in a moment.")


def is_retryable(error: OperationalError) -> bool:
    code = error.args[0] if error.args else None
    if code in RETRYABLE_MYSQL_ERRORS:
        return True
    # SQLite: another writer holds the database past the busy timeout.
    return "database is locked" in str(error)


def atomic_with_retry(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` in `transaction.atomic()`; at the outermost level, retry on lock errors."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            with transaction.atomic():
                return func(*args, **kwargs)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                with transaction.atomic():
                    return func(*args, **kwargs)
            except OperationalError as error:
                if not is_retryable(error):
                    raise
                if attempt == MAX_ATTEMPTS:
                    logger.warning("%s gave up after %d lock errors", func.__qualname__, attempt)
                    raise Busy() from error
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
