"""The retry wrapper: whole transactions re-run on lock errors, only at the outermost call."""

from __future__ import annotations

import pytest
from django.db import OperationalError, transaction

from clinic import db
from clinic.db import Busy, atomic_with_retry
from clinic.models import Department

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(db.time, "sleep", lambda seconds: None)


def deadlock() -> OperationalError:
    return OperationalError(1213, "Deadlock found when trying to get lock")


def test_a_deadlock_victim_runs_again_and_its_first_attempt_is_rolled_back():
    attempts = []

    @atomic_with_retry
    def create_department():
        attempts.append(1)
        Department.objects.create(name=f"Dept {len(attempts)}", code=f"d{len(attempts)}")
        if len(attempts) == 1:
            raise deadlock()

    create_department()
    assert len(attempts) == 2
    assert list(Department.objects.values_list("name", flat=True)) == ["Dept 2"]


def test_busy_after_the_last_attempt():
    calls = []

    @atomic_with_retry
    def always_deadlocks():
        calls.append(1)
        raise OperationalError(1205, "Lock wait timeout exceeded")

    with pytest.raises(Busy):
        always_deadlocks()
    assert len(calls) == db.MAX_ATTEMPTS


def test_other_errors_are_not_retried():
    calls = []

    @atomic_with_retry
    def broken():
        calls.append(1)
        raise OperationalError(2006, "MySQL server has gone away")

    with pytest.raises(OperationalError):
        broken()
    assert len(calls) == 1


def test_an_inner_call_never_retries():
    calls = []

    @atomic_with_retry
    def inner():
        calls.append(1)
        raise deadlock()

    with pytest.raises(OperationalError), transaction.atomic():
        inner()
    assert len(calls) == 1
