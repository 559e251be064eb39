"""Places, schedule writes and availability."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from clinic.tests.factories import DoctorFactory, RoomFactory
from scheduling.exceptions import NoCapacity, ScheduleInUse
from scheduling.models import Schedule, TimeSlot
from scheduling.selectors import next_available_slots, slot_availability
from scheduling.services import pick_schedule, save_schedule
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time

pytestmark = pytest.mark.django_db


def test_reserve_and_release_move_the_counter():
    schedule = ScheduleFactory(max_patients=1)
    schedule.reserve_place()
    with pytest.raises(NoCapacity):
        schedule.reserve_place()
    schedule.release_place()
    schedule.refresh_from_db()
    assert schedule.current_patients == 0


def test_a_release_without_reservation_is_refused_by_the_database():
    schedule = ScheduleFactory()
    with pytest.raises(IntegrityError):
        schedule.release_place()


def test_saving_a_stale_copy_never_overwrites_places_taken():
    schedule = ScheduleFactory(max_patients=5)
    stale = Schedule.objects.get(pk=schedule.pk)
    schedule.reserve_place()
    stale.max_patients = 6
    stale.save()
    schedule.refresh_from_db()
    assert (schedule.max_patients, schedule.current_patients) == (6, 1)


def test_a_schedule_holding_places_cannot_be_deleted():
    schedule = ScheduleFactory(current_patients=1)
    with pytest.raises(ScheduleInUse):
        schedule.delete()
    assert Schedule.objects.filter(pk=schedule.pk).exists()


def test_save_schedule_validates_under_lock(admin_user):
    existing = ScheduleFactory(work_date=WORK_DAY, time_slot=TimeSlot.FULL_DAY)
    overlapping = Schedule(
        department=existing.department,
        doctor=existing.doctor,
        room=RoomFactory(department=existing.department),
        work_date=WORK_DAY,
        time_slot=TimeSlot.AFTERNOON,
        max_patients=5,
    )
    with pytest.raises(ValidationError) as excinfo:
        save_schedule(schedule=overlapping, by=admin_user)
    assert "doctor" in excinfo.value.message_dict
    assert Schedule.objects.count() == 1


def test_save_schedule_cannot_lower_capacity_below_places_taken(admin_user):
    schedule = ScheduleFactory(max_patients=5, current_patients=3)
    schedule.current_patients = 0  # a stale copy: the lock re-reads the real count
    schedule.max_patients = 2
    with pytest.raises(ValidationError):
        save_schedule(schedule=schedule, by=admin_user)


def test_pick_schedule_prefers_most_places_then_lowest_id():
    a = ScheduleFactory(max_patients=5, current_patients=2)
    b = ScheduleFactory(max_patients=4)
    c = ScheduleFactory(max_patients=4)
    assert pick_schedule([c, b, a]) == b
    assert pick_schedule([a, b], doctor=a.doctor) == a
    assert pick_schedule([a, b], doctor=DoctorFactory()) is None


def test_availability_shows_full_slots_and_full_day_pools():
    morning = ScheduleFactory(work_date=WORK_DAY, max_patients=2, current_patients=2)
    ScheduleFactory(
        doctor=DoctorFactory(department=morning.department),
        department=morning.department,
        room=RoomFactory(department=morning.department),
        work_date=WORK_DAY + dt.timedelta(days=1),
        time_slot=TimeSlot.FULL_DAY,
        max_patients=3,
    )
    slots = slot_availability(
        department=morning.department,
        start_date=WORK_DAY,
        end_date=WORK_DAY + dt.timedelta(days=1),
        now=clinic_time(7),
    )
    summary = [(s.work_date.day, s.time_slot, s.remaining, s.is_full) for s in slots]
    assert summary == [
        (4, "morning", 0, True),
        (5, "morning", 3, False),
        (5, "afternoon", 3, False),
    ]


def test_next_available_slots_skip_full_and_ended_ones():
    schedule = ScheduleFactory(work_date=WORK_DAY, time_slot=TimeSlot.FULL_DAY, max_patients=2)
    found = next_available_slots(department=schedule.department, now=clinic_time(12, 30))
    assert [(s.time_slot, s.remaining) for s in found] == [("afternoon", 2)]
