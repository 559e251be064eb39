"""The appointments' background tasks (periodic ones are listed in CLINIC_PERIODIC_TASKS)."""

from __future__ import annotations

from appointments import no_shows, reminders, waitlist
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
    """Every waitlist offer past its time: released and offered to the next in line, each in
    its own transaction (waitlist.expire_offer re-checks it under its lock, so a task run
    twice, or racing an acceptance, changes each offer once)."""
    expired = 0
    for entry_id in waitlist.expired_offer_ids():
        expired += waitlist.expire_offer(entry_id=entry_id)
    return expired


@task()
def offer_free_places() -> int:
    """Free places with people waiting for them (an admin added places, a visit was left
    unseen where nobody was waiting yet): offered, one slot per transaction."""
    offered = 0
    for department_id, work_date, time_slot in waitlist.slots_with_waiting():
        offered += waitlist.offer_free_places_in(
            department_id=department_id, work_date=work_date, time_slot=time_slot
        )
    return offered
