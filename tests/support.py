"""Helpers for the test suites of every app."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from clinic.models import AuditEvent


def assert_db_rejects(write: Callable[[], Any]) -> None:
    """The database itself refuses `write` (which bypasses Python validation).

    Runs in a savepoint so that the test's transaction stays usable afterwards.
    """
    with pytest.raises(IntegrityError), transaction.atomic():
        write()


# A fixed future Monday for workflow tests, so that slots are never "already ended".
WORK_DAY = dt.date(2030, 3, 4)


def clinic_time(hour: int, minute: int = 0, *, day: dt.date = WORK_DAY) -> dt.datetime:
    """An aware datetime at a clinic-local wall-clock time."""
    return timezone.make_aware(
        dt.datetime.combine(day, dt.time(hour, minute)), timezone.get_default_timezone()
    )


# Generous: a thread that is still running after this has deadlocked or hangs on a lock.
THREAD_TIMEOUT = 60


def run_at_once(calls: list[Callable[[], Any]]) -> list[Any]:
    """Run every call in its own thread, all released together by a barrier; return each
    call's result, or the exception it raised, in the order of `calls`.

    For MariaDB tests with `transaction=True`: each thread opens its own connection before
    the barrier (so that the calls overlap, not the connects) and closes it afterwards.
    """
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def worker(index: int, call: Callable[[], Any]) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=THREAD_TIMEOUT)
            results[index] = call()
        except Exception as error:
            results[index] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=(index, call), name=f"clinic-race-{index}")
        for index, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=THREAD_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return results


def audit_trail() -> list[tuple[Any, ...]]:
    """Every audit event except sign-ins (a test client's login writes one), oldest first:
    (actor id, action, object type, object id, old values, new values)."""
    return list(
        AuditEvent.objects.exclude(action__startswith="auth.")
        .order_by("id")
        .values_list("actor_id", "action", "object_type", "object_id", "old_values", "new_values")
    )
