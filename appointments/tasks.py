"""The appointments' background tasks (periodic ones are listed in CLINIC_PERIODIC_TASKS)."""

from __future__ import annotations

from notifications.background import task


@task()
def queue_reminders() -> int:
    return 0


@task()
def mark_due_no_shows() -> int:
    return 0


@task()
def expire_offers() -> int:
    return 0


@task()
def offer_free_places() -> int:
    return 0
