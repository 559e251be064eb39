"""The retry wrapper: whole transactions re-run on lock errors (a statement's or, as Galera
reports a certification conflict, the COMMIT's), only at the outermost call; a lost
connection is never retried."""

from __future__ import annotations

import logging
from unittest import mock

import pytest
from django.db import OperationalError, connection, transaction

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


def failing_commit(error: OperationalError, *, times: int | None):
    """Patch the connection's COMMIT: the first `times` commits (every one when None) raise
    `error` as the server would, the others commit."""
    real_commit = connection.commit

    def commit():
        if times is None or patched.call_count <= times:
            raise error
        real_commit()

    patched = mock.MagicMock(side_effect=commit)
    return mock.patch.object(connection, "commit", patched)


def certification_conflict() -> OperationalError:
    return OperationalError(1213, "Deadlock: wsrep aborted transaction; try restarting transaction")


def test_a_deadlock_raised_by_commit_runs_the_whole_transaction_again(caplog):
    calls = []

    @atomic_with_retry
    def create_department():
        calls.append(1)
        Department.objects.create(name="Cardiology", code="card")

    with (
        caplog.at_level(logging.WARNING, logger="clinic.db"),
        failing_commit(certification_conflict(), times=1) as commit,
    ):
        create_department()
    assert len(calls) == 2
    assert commit.call_count == 2
    assert Department.objects.filter(code="card").count() == 1
    assert [record.getMessage() for record in caplog.records] == [
        "db retry: test_a_deadlock_raised_by_commit_runs_the_whole_transaction_again"
        ".<locals>.create_department attempt 1 failed with 1213; retrying"
    ]


def test_busy_when_every_commit_fails_and_nothing_is_written(caplog):
    calls = []

    @atomic_with_retry
    def create_department():
        calls.append(1)
        Department.objects.create(name="Cardiology", code="card")

    with (
        caplog.at_level(logging.WARNING, logger="clinic.db"),
        failing_commit(certification_conflict(), times=None) as commit,
        pytest.raises(Busy),
    ):
        create_department()
    assert len(calls) == db.MAX_ATTEMPTS
    assert commit.call_count == db.MAX_ATTEMPTS
    assert not Department.objects.filter(code="card").exists()
    messages = [record.getMessage() for record in caplog.records]
    assert sum(message.startswith("db retry:") for message in messages) == db.MAX_ATTEMPTS - 1
    assert messages[-1].startswith("db busy:")


@pytest.mark.parametrize("code", [2006, 2013, 1047, 1927])
def test_a_connection_lost_at_commit_is_not_retried(code, caplog):
    """The server may have committed or not: running the transaction again could do it
    twice. The error goes up (the request answers 503)."""
    calls = []

    @atomic_with_retry
    def create_department():
        calls.append(1)
        Department.objects.create(name="Cardiology", code="card")

    with (
        caplog.at_level(logging.WARNING, logger="clinic.db"),
        failing_commit(OperationalError(code, "Lost connection"), times=1),
        pytest.raises(OperationalError),
    ):
        create_department()
    assert len(calls) == 1
    assert not [r for r in caplog.records if r.getMessage().startswith("db retry:")]
