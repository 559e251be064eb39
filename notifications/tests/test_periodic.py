"""The periodic tasks' scheduler enqueues each task once per interval, however often it runs."""

from __future__ import annotations

import datetime as dt

import pytest

from notifications.models import PeriodicRun
from notifications.periodic import enqueue_due
from notifications.tests import tasks_for_tests

pytestmark = pytest.mark.django_db

TASK = "notifications.tests.tasks_for_tests.count_run"
NOW = dt.datetime(2026, 12, 7, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def only_the_test_task(settings):
    settings.CLINIC_PERIODIC_TASKS = {TASK: 60}
    tasks_for_tests.RUNS.clear()


def test_two_calls_within_the_interval_enqueue_once():
    assert enqueue_due(NOW) == [TASK]
    assert enqueue_due(NOW + dt.timedelta(seconds=30)) == []
    assert tasks_for_tests.RUNS == [1]
    assert PeriodicRun.objects.get(task_path=TASK).last_enqueued_at == NOW


def test_the_task_is_enqueued_again_after_its_interval():
    enqueue_due(NOW)
    assert enqueue_due(NOW + dt.timedelta(seconds=60)) == [TASK]
    assert enqueue_due(NOW + dt.timedelta(seconds=90)) == []
    assert len(tasks_for_tests.RUNS) == 2
    assert PeriodicRun.objects.count() == 1


def test_each_task_has_its_own_interval(settings):
    other = "notifications.tasks.send_due_notifications"
    settings.CLINIC_PERIODIC_TASKS = {TASK: 60, other: 300}
    assert enqueue_due(NOW) == [TASK, other]
    assert enqueue_due(NOW + dt.timedelta(seconds=120)) == [TASK]
    assert enqueue_due(NOW + dt.timedelta(seconds=300)) == [TASK, other]


def test_the_periodic_tasks_of_the_settings_are_tasks():
    from django.conf import settings as project_settings
    from django.utils.module_loading import import_string

    from clinic import settings as configured

    for path in configured.CLINIC_PERIODIC_TASKS:
        assert callable(import_string(path).enqueue), path
    assert project_settings.CLINIC_PERIODIC_TASKS == {TASK: 60}  # this module's override
