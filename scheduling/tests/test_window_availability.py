"""Availability by window (time-sliced booking): each window's free places, per doctor and
overall, for a department and a date, read in a fixed number of statements."""

from __future__ import annotations

import datetime as dt

import pytest

from clinic.tests.factories import DepartmentFactory, DoctorFactory, RoomFactory
from scheduling.models import ScheduleWindow
from scheduling.selectors import slot_availability, window_availability
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time

pytestmark = pytest.mark.django_db


def schedule_of(department, start=dt.time(8, 0), end=dt.time(10, 0), **kwargs):
    return ScheduleFactory(
        department=department,
        doctor=DoctorFactory(department=department),
        room=RoomFactory(department=department),
        work_date=WORK_DAY,
        start_time=start,
        end_time=end,
        window_minutes=30,
        max_patients=kwargs.pop("max_patients", 8),
        **kwargs,
    )


@pytest.fixture
def department():
    return DepartmentFactory()


def test_windows_of_several_doctors_with_the_same_times_are_one_row(department):
    first = schedule_of(department, max_patients=8)
    second = schedule_of(department, start=dt.time(9, 0), end=dt.time(10, 0), max_patients=4)
    ScheduleWindow.objects.filter(schedule=first, start_time=dt.time(9, 30)).update(used=1)
    rows = window_availability(department=department, work_date=WORK_DAY, now=clinic_time(7))
    assert [row.label for row in rows] == [
        "08:00–08:30",
        "08:30–09:00",
        "09:00–09:30",
        "09:30–10:00",
    ]
    last = rows[-1]
    assert [(place.doctor_id, place.remaining) for place in last.doctors] == [
        (first.doctor_id, 1),
        (second.doctor_id, 2),
    ]
    assert last.remaining == 3
    assert rows[0].remaining == 2 and [p.doctor_id for p in rows[0].doctors] == [first.doctor_id]
    assert all(row.is_bookable for row in rows)


def test_a_window_has_ended_once_its_end_is_past(department):
    schedule_of(department)
    rows = window_availability(department=department, work_date=WORK_DAY, now=clinic_time(9, 0))
    assert [(row.label, row.has_ended) for row in rows] == [
        ("08:00–08:30", True),
        ("08:30–09:00", True),
        ("09:00–09:30", False),  # running: still bookable
        ("09:30–10:00", False),
    ]
    assert [row.is_bookable for row in rows] == [False, False, True, True]


def test_a_desk_only_window_is_full_for_patients_and_open_to_the_desk(department):
    schedule = schedule_of(department)
    ScheduleWindow.objects.filter(schedule=schedule, start_time=dt.time(8, 0)).update(
        desk_only=True
    )
    for_patients = window_availability(
        department=department, work_date=WORK_DAY, now=clinic_time(7)
    )
    for_desk = window_availability(
        department=department, work_date=WORK_DAY, now=clinic_time(7), for_patient=False
    )
    assert (for_patients[0].remaining, for_patients[0].is_bookable) == (0, False)
    assert (for_desk[0].remaining, for_desk[0].is_bookable) == (2, True)
    assert for_desk[0].doctors[0].desk_only
    assert for_patients[1].remaining == for_desk[1].remaining == 2


def test_other_departments_and_dates_are_left_out(department):
    schedule_of(department)
    ScheduleFactory(work_date=WORK_DAY, window_minutes=30)
    ScheduleFactory(
        department=department,
        doctor=DoctorFactory(department=department),
        room=RoomFactory(department=department),
        work_date=WORK_DAY + dt.timedelta(days=1),
    )
    rows = window_availability(department=department, work_date=WORK_DAY, now=clinic_time(7))
    assert len(rows) == 4 and all(len(row.doctors) == 1 for row in rows)


@pytest.mark.parametrize("schedules", [1, 6])
def test_one_statement_whatever_the_number_of_schedules_and_windows(
    department, schedules, django_assert_num_queries
):
    for _ in range(schedules):
        schedule_of(department)
    with django_assert_num_queries(1):
        rows = window_availability(department=department, work_date=WORK_DAY, now=clinic_time(7))
        assert sum(len(row.doctors) for row in rows) == 4 * schedules
        # Everything a page shows is loaded.
        assert all(place.doctor_name and place.room_number for row in rows for place in row.doctors)


@pytest.mark.parametrize("schedules", [1, 5])
def test_slots_carry_their_windows_in_two_statements(
    department, schedules, django_assert_num_queries
):
    for _ in range(schedules):
        schedule_of(department, start=dt.time(11, 0), end=dt.time(14, 30))
    with django_assert_num_queries(2):
        slots = slot_availability(
            department=department, start_date=WORK_DAY, end_date=WORK_DAY, now=clinic_time(7)
        )
    # A full-day schedule's windows belong to the half they start in (none in the break).
    by_slot = {slot.time_slot: [window.label for window in slot.windows] for slot in slots}
    assert by_slot == {
        "morning": ["11:00–11:30", "11:30–12:00"],
        "afternoon": ["13:30–14:00", "14:00–14:30"],
    }
    assert slots[0].as_dict()["windows"][0] == {
        "start": "11:00",
        "end": "11:30",
        "label": "11:00–11:30",
        "remaining": slots[0].windows[0].remaining,
    }
