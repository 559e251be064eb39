"""Background work: Django 6's tasks API, from the django-tasks backport until Django 6.

Every task in the project is declared with `task` from here, so the move to Django 6 changes
this import only. Tasks are module-level functions in the app that owns the data; each is
idempotent (a task retried, or enqueued twice, never sends or books twice).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

try:  # Django 6.0 and later
    from django.tasks import task  # type: ignore[import-not-found]
except ImportError:  # Django 5.2: the backport
    from django_tasks import task

__all__ = ["enqueue_on_commit", "task"]


def enqueue_on_commit(a_task: Any, *args: Any, **kwargs: Any) -> None:
    """Enqueue once the current transaction commits (at once outside one): a worker never
    sees a task for rows it cannot read yet, and a rolled-back decision sends nothing."""
    enqueue: Callable[[], object] = lambda: a_task.enqueue(*args, **kwargs)  # noqa: E731
    transaction.on_commit(enqueue)
