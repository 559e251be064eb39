"""Helpers for the test suites of every app."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone


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
