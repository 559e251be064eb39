"""The periodic tasks' scheduler: CLINIC_PERIODIC_TASKS maps a task's dotted path to its
interval in seconds; `run_worker` calls `enqueue_due` every few seconds beside the worker.

Each task's `PeriodicRun` row is locked while deciding, so however many workers run (one per
machine), a periodic task is enqueued once per interval.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from notifications.models import PeriodicRun

logger = logging.getLogger(__name__)

NEVER = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


def _run_row(task_path: str) -> None:
    with contextlib.suppress(IntegrityError):  # another worker made it at the same moment
        PeriodicRun.objects.get_or_create(task_path=task_path, defaults={"last_enqueued_at": NEVER})


def enqueue_due(now: dt.datetime | None = None) -> list[str]:
    """Enqueue each periodic task whose interval has passed; returns their paths."""
    now = now or timezone.now()
    enqueued = []
    for task_path, seconds in settings.CLINIC_PERIODIC_TASKS.items():
        _run_row(task_path)
        with transaction.atomic():
            run = PeriodicRun.objects.select_for_update().get(task_path=task_path)
            if run.last_enqueued_at + dt.timedelta(seconds=seconds) > now:
                continue
            import_string(task_path).enqueue()
            run.last_enqueued_at = now
            run.save(update_fields=["last_enqueued_at"])
        enqueued.append(task_path)
    return enqueued
