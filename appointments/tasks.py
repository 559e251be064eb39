"""The appointments' background tasks (periodic ones are listed in CLINIC_PERIODIC_TASKS)."""

from __future__ import annotations

from appointments import waitlist
from notifications.background import task


@task()
def queue_reminders() -> int:
    return 0


@task()
def mark_due_no_shows() -> int:
    return 0


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
