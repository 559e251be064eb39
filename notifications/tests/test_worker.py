"""The database task backend end to end: notify() writes a task row once the transaction
commits, and `run_worker --batch` runs it and sends the message (SQLite, and MariaDB with
DATABASE_URL=mysql://…)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import OperationalError, transaction
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from clinic.tests.factories import PatientFactory
from notifications.management.commands import run_worker
from notifications.models import Notification, NotificationKind, NotificationStatus
from notifications.services import notify
from notifications.tests import tasks_for_tests

DATABASE_TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def templates(test_templates):
    """The tests' own message template, for every engine (notifications/tests/conftest.py)."""


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS=DATABASE_TASKS)
def test_a_message_is_queued_on_commit_and_the_worker_sends_it(settings, templates):
    patient = PatientFactory(phone="13912345678", language="en")
    with transaction.atomic():
        notification = notify(
            key="worker:1",
            kind=NotificationKind.REMINDER,
            subject="Reminder",
            template="notifications_test/greeting.txt",
            context={"name": "Wang"},
            patient=patient,
        )
        assert not DBTaskResult.objects.exists()  # not before the commit
    (queued,) = DBTaskResult.objects.all()
    assert queued.task_path == "notifications.tasks.send_notification"
    assert queued.args_kwargs["args"] == [notification.pk]
    assert queued.status == "READY"
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.PENDING

    call_command("run_worker", batch=True, verbosity=0)

    queued.refresh_from_db()
    assert queued.status == "SUCCESSFUL"
    assert queued.return_value == "sent"
    notification.refresh_from_db()
    assert notification.status == NotificationStatus.SENT
    (sent,) = Path(settings.CLINIC_SMS_FILE_DIR).glob("*.txt")
    assert "Confirmed: Wang" in sent.read_text(encoding="utf-8")


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS=DATABASE_TASKS)
def test_a_rolled_back_decision_queues_nothing(templates):
    patient = PatientFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        notify(
            key="worker:2",
            kind=NotificationKind.REMINDER,
            subject="Reminder",
            template="notifications_test/greeting.txt",
            context={"name": "Wang"},
            patient=patient,
        )
        raise RuntimeError("the booking failed")
    assert not Notification.objects.exists()
    assert not DBTaskResult.objects.exists()


@pytest.mark.django_db(transaction=True)
@override_settings(
    TASKS=DATABASE_TASKS,
    CLINIC_PERIODIC_TASKS={"notifications.tests.tasks_for_tests.count_run": 60},
)
def test_the_scheduler_queues_a_periodic_task_once_and_the_worker_runs_it():
    from notifications.periodic import enqueue_due

    tasks_for_tests.RUNS.clear()
    enqueue_due()
    enqueue_due()
    assert DBTaskResult.objects.count() == 1
    call_command("run_worker", batch=True, verbosity=0)
    assert tasks_for_tests.RUNS == [1]
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"


def test_the_worker_starts_again_after_losing_its_database(monkeypatch):
    """A Galera node killed under the worker: db_worker stops on the lost connection, and
    run_worker starts it again instead of exiting (it leaves only on a signal)."""
    runs = []

    def db_worker(name, **options):
        runs.append(name)
        if len(runs) == 1:
            raise OperationalError(2013, "Lost connection to server during query")

    monkeypatch.setattr(run_worker, "call_command", db_worker)
    monkeypatch.setattr(run_worker.time, "sleep", lambda seconds: None)
    call_command("run_worker", no_scheduler=True, verbosity=0)
    assert runs == ["db_worker", "db_worker"]


@pytest.mark.parametrize(
    ("options", "error_code"),
    [({"no_scheduler": True}, 1064), ({"batch": True}, 2013)],
    ids=["a database error that is not a lost connection", "a batch"],
)
def test_the_worker_stops_on_other_errors(monkeypatch, options, error_code):
    runs = []

    def db_worker(name, **kwargs):
        runs.append(name)
        raise OperationalError(error_code, "error")

    monkeypatch.setattr(run_worker, "call_command", db_worker)
    monkeypatch.setattr(run_worker.time, "sleep", lambda seconds: None)
    with pytest.raises(OperationalError):
        call_command("run_worker", verbosity=0, **options)
    assert runs == ["db_worker"]
