"""Helpers for the test suites of every app."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.db import IntegrityError, transaction


def assert_db_rejects(write: Callable[[], Any]) -> None:
    """The database itself refuses `write` (which bypasses Python validation).

    Runs in a savepoint so that the test's transaction stays usable afterwards.
    """
    with pytest.raises(IntegrityError), transaction.atomic():
        write()
