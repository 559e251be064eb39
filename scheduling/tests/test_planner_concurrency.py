"""Two administrators planning the same week at once, on MariaDB (real row locks)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from clinic.models import AuditEvent
from clinic.tests.factories import (
    AdminUserFactory,
    DepartmentFactory,
    DoctorFactory,
    RoomFactory,
)
from scheduling.models import Schedule, TimeSlot
from scheduling.services import BatchMode, save_schedule_batch
from tests.support import run_at_once

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]

MONDAY = dt.date(2030, 3, 4)


def week(doctors, rooms, slot: str, by) -> Callable[[], Any]:
    """A fresh (unsaved) week for these doctors in these rooms, as one planner submits it."""

    def plan():
        schedules = [
            Schedule(
                department=doctor.department,
                doctor=doctor,
                room=room,
                work_date=MONDAY + dt.timedelta(days=day),
                time_slot=slot,
                max_patients=10,
            )
            for day in range(5)
            for doctor, room in zip(doctors, rooms, strict=True)
        ]
        return save_schedule_batch(schedules=schedules, mode=BatchMode.ALL_OR_NOTHING, by=by)

    return plan


def test_the_same_week_planned_four_times_at_once_is_created_once():
    department = DepartmentFactory()
    doctors = DoctorFactory.create_batch(3, department=department)
    rooms = RoomFactory.create_batch(3, department=department)
    admin = AdminUserFactory()

    results = run_at_once([week(doctors, rooms, TimeSlot.MORNING, admin) for _ in range(4)])

    assert not [result for result in results if isinstance(result, Exception)]
    assert sorted(result.created for result in results) == [0, 0, 0, 15]
    assert Schedule.objects.count() == 15
    # One event per schedule kept: the losers' events were rolled back with their schedules.
    assert AuditEvent.objects.filter(action="schedule.created").count() == 15


def test_a_full_day_and_a_morning_in_other_rooms_never_both_win():
    """No unique constraint spans a full day and a half day: only the locks keep the doctor
    from being booked into two rooms at once."""
    department = DepartmentFactory()
    doctor = DoctorFactory(department=department)
    first_room, second_room = RoomFactory.create_batch(2, department=department)
    admin = AdminUserFactory()

    results = run_at_once(
        [
            week([doctor], [first_room], TimeSlot.FULL_DAY, admin),
            week([doctor], [second_room], TimeSlot.MORNING, admin),
        ]
    )

    assert not [result for result in results if isinstance(result, Exception)]
    assert sorted(result.created for result in results) == [0, 5]
    assert Schedule.objects.count() == 5
    assert Schedule.objects.values("room").distinct().count() == 1
