"""Places, schedule writes and availability."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from appointments.tests.factories import AppointmentFactory
from clinic.exceptions import PermissionDenied
from clinic.tests.factories import DoctorFactory, RoomFactory
from scheduling.exceptions import NoCapacity, ScheduleInUse
from scheduling.models import Schedule, TimeSlot
from scheduling.selectors import next_available_slots, slot_availability
from scheduling.services import delete_schedule, save_schedule
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, audit_trail, clinic_time

pytestmark = pytest.mark.django_db


def test_reserve_and_release_move_the_counter():
    schedule = ScheduleFactory(max_patients=1)
    window = schedule.windows.get()
    schedule.reserve_place(window)
    with pytest.raises(NoCapacity):
        schedule.reserve_place(window)
    schedule.release_place(window.pk)
    schedule.refresh_from_db()
    window.refresh_from_db()
    assert (schedule.current_patients, window.used) == (0, 0)


def test_a_release_without_reservation_is_refused_by_the_database():
    schedule = ScheduleFactory()
    with pytest.raises(IntegrityError):
        schedule.release_place(schedule.windows.get().pk)


def test_saving_a_stale_copy_never_overwrites_places_taken():
    schedule = ScheduleFactory(max_patients=5)
    stale = Schedule.objects.get(pk=schedule.pk)
    schedule.reserve_place(schedule.windows.get())
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


def test_a_new_schedule_is_recorded_with_its_values(admin_user):
    doctor = DoctorFactory()
    room = RoomFactory(department=doctor.department)
    schedule = save_schedule(
        schedule=Schedule(
            department=doctor.department,
            room=room,
            doctor=doctor,
            work_date=WORK_DAY,
            time_slot=TimeSlot.AFTERNOON,
            max_patients=8,
        ),
        by=admin_user,
    )
    assert audit_trail() == [
        (
            admin_user.pk,
            "schedule.created",
            "scheduling.schedule",
            str(schedule.pk),
            {},
            {
                "department": doctor.department_id,
                "room": room.pk,
                "doctor": doctor.pk,
                "work_date": "2030-03-04",
                "time_slot": "afternoon",
                "start_time": "13:30:00",
                "end_time": "17:30:00",
                "window_minutes": None,
                "max_patients": 8,
            },
        )
    ]


def test_a_schedule_change_records_only_what_changed(admin_user):
    schedule = ScheduleFactory(work_date=WORK_DAY, time_slot=TimeSlot.MORNING)
    schedule.time_slot = TimeSlot.FULL_DAY
    schedule.max_patients = 30
    save_schedule(schedule=schedule, by=admin_user)
    assert audit_trail() == [
        (
            admin_user.pk,
            "schedule.updated",
            "scheduling.schedule",
            str(schedule.pk),
            {"time_slot": "morning", "end_time": "12:00:00", "max_patients": 10},
            {"time_slot": "full_day", "end_time": "17:30:00", "max_patients": 30},
        )
    ]


def test_an_unchanged_schedule_writes_no_event(admin_user):
    schedule = ScheduleFactory()
    save_schedule(schedule=schedule, by=admin_user)
    assert audit_trail() == []


def test_a_refused_schedule_writes_no_event(admin_user):
    schedule = ScheduleFactory(max_patients=5, current_patients=3)
    schedule.max_patients = 2
    with pytest.raises(ValidationError):
        save_schedule(schedule=schedule, by=admin_user)
    assert Schedule.objects.get(pk=schedule.pk).max_patients == 5
    assert audit_trail() == []


def test_deleting_a_schedule_records_its_values(admin_user):
    schedule = ScheduleFactory(work_date=WORK_DAY)
    pk = schedule.pk
    delete_schedule(schedule=schedule, by=admin_user)
    assert not Schedule.objects.filter(pk=pk).exists()
    [(actor, action, object_type, object_id, old, new)] = audit_trail()
    assert (actor, action, object_type, object_id, new) == (
        admin_user.pk,
        "schedule.deleted",
        "scheduling.schedule",
        str(pk),
        {},
    )
    assert old["work_date"] == "2030-03-04"


def test_a_schedule_holding_places_is_not_deleted_nor_recorded(admin_user):
    schedule = ScheduleFactory(current_patients=1)
    with pytest.raises(ScheduleInUse):
        delete_schedule(schedule=schedule, by=admin_user)
    assert Schedule.objects.filter(pk=schedule.pk).exists()
    assert audit_trail() == []


def test_a_schedule_a_past_booking_names_is_not_deleted_nor_recorded(admin_user):
    schedule = AppointmentFactory(status="cancelled").schedule  # no place held any more
    with pytest.raises(ScheduleInUse):
        delete_schedule(schedule=schedule, by=admin_user)
    assert Schedule.objects.filter(pk=schedule.pk).exists()
    assert audit_trail() == []


@pytest.mark.parametrize("persona", ["patient", "receptionist", "doctor"])
def test_only_administrators_write_schedules(personas, persona):
    schedule = ScheduleFactory()
    schedule.max_patients = 99
    with pytest.raises(PermissionDenied):
        save_schedule(schedule=schedule, by=personas[persona])
    with pytest.raises(PermissionDenied):
        delete_schedule(schedule=schedule, by=personas[persona])
    assert Schedule.objects.get(pk=schedule.pk).max_patients == 10
    assert audit_trail() == []


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
