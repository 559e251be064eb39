"""Writing schedules: every create or change checks overlaps under the doctor's and room's locks."""

from __future__ import annotations

import datetime as dt

from clinic.db import atomic_with_retry
from clinic.models import Department, Employee
from scheduling.models import OVERLAPPING_SLOTS, Schedule


@atomic_with_retry
def save_schedule(*, schedule: Schedule) -> Schedule:
    """Validate (department, doctor, room, overlaps, capacity) and save, under lock.

    Raises django.core.exceptions.ValidationError with field errors.
    """
    schedule.lock_doctor_and_room()
    schedule.full_clean(exclude=["current_patients"])
    schedule.save()
    return schedule


def lock_slot_schedules(
    *, department: Department, work_date: dt.date, half_day_slot: str
) -> list[Schedule]:
    """Lock every schedule of a department that serves a half-day slot, by ascending id.

    Bookings and walk-ins for one department and slot all take these same locks, whichever
    doctor they choose: they serialise, so neither capacity nor duplicate checks can race.
    Runs inside the caller's transaction.
    """
    # The doctor and room come along for the answer (a booking or a walk-in shows both);
    # InnoDB locks their rows too, which only admins' schedule edits ever wait for (a
    # deadlock with one is retried by atomic_with_retry).
    return list(
        Schedule.objects.select_for_update()
        .filter(
            department=department,
            work_date=work_date,
            time_slot__in=OVERLAPPING_SLOTS[half_day_slot],
        )
        .select_related("doctor", "room")
        .order_by("id")
    )


def lock_schedule(pk: int) -> Schedule:
    """One schedule's row, locked (not its doctor's or room's). Inside the caller's
    transaction."""
    return Schedule.objects.select_for_update().get(pk=pk)


def pick_schedule(schedules: list[Schedule], *, doctor: Employee | None = None) -> Schedule | None:
    """The chosen doctor's schedule, or else the one with the most places left (ties to the
    lowest id); None when no schedule qualifies. It may be full: the caller reserves."""
    if doctor is not None:
        schedules = [schedule for schedule in schedules if schedule.doctor_id == doctor.pk]
    if not schedules:
        return None
    return max(schedules, key=lambda schedule: (schedule.remaining_places, -schedule.pk))
