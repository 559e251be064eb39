"""The appointments' background tasks (periodic ones are listed in CLINIC_PERIODIC_TASKS)."""

from __future__ import annotations

from appointments import no_shows, reminders
from notifications.background import task


@task()
def queue_reminders() -> int:
    """From the reminder hour, the reminders of tomorrow's bookings not yet written (each
    sent once written); nothing before. Idempotent: one reminder per appointment."""
    return reminders.queue_reminders()


@task()
def mark_due_no_shows() -> int:
    """Mark live bookings whose schedule ended plus the grace period as no-shows; returns
    how many were marked."""
    return no_shows.mark_due_no_shows().marked


@task()
def expire_offers() -> int:
    return 0


@task()
def offer_free_places() -> int:
    return 0
