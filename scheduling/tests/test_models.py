from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db.models import F

from clinic.models import EmployeeStatus, RoomStatus
from clinic.tests.factories import DoctorFactory, EmployeeFactory, RoomFactory
from scheduling.exceptions import NoCapacity
from scheduling.models import Schedule, TimeSlot, slot_bounds
from scheduling.tests.factories import ScheduleFactory
from tests.support import assert_db_rejects

pytestmark = pytest.mark.django_db


class TestCapacityConstraints:
    def test_current_patients_cannot_exceed_max(self):
        schedule = ScheduleFactory(max_patients=2, current_patients=2)
        assert_db_rejects(
            lambda: Schedule.objects.filter(pk=schedule.pk).update(
                current_patients=F("current_patients") + 1
            )
        )

    def test_current_patients_cannot_go_negative(self):
        schedule = ScheduleFactory(current_patients=0)
        assert_db_rejects(
            lambda: Schedule.objects.filter(pk=schedule.pk).update(
                current_patients=F("current_patients") - 1
            )
        )

    def test_max_patients_cannot_go_negative(self):
        schedule = ScheduleFactory(max_patients=0)
        assert_db_rejects(lambda: Schedule.objects.filter(pk=schedule.pk).update(max_patients=-1))

    def test_max_patients_cannot_drop_below_places_taken(self):
        schedule = ScheduleFactory(max_patients=5, current_patients=4)
        assert_db_rejects(lambda: Schedule.objects.filter(pk=schedule.pk).update(max_patients=3))

    def test_unknown_time_slot_is_refused(self):
        schedule = ScheduleFactory()
        assert_db_rejects(lambda: Schedule.objects.filter(pk=schedule.pk).update(time_slot="night"))


class TestTimes:
    def test_a_schedule_ends_after_it_starts(self):
        schedule = ScheduleFactory()
        assert_db_rejects(
            lambda: Schedule.objects.filter(pk=schedule.pk).update(end_time=F("start_time"))
        )

    def test_a_window_length_outside_5_to_240_minutes_is_refused(self):
        schedule = ScheduleFactory()
        assert_db_rejects(lambda: Schedule.objects.filter(pk=schedule.pk).update(window_minutes=3))

    def test_a_preset_fills_the_times_from_the_settings(self, settings):
        schedule = ScheduleFactory(time_slot=TimeSlot.AFTERNOON)
        assert (schedule.start_time, schedule.end_time) == settings.CLINIC_AFTERNOON_HOURS

    def test_times_name_the_slot_they_lie_in(self):
        morning = ScheduleFactory(start_time=dt.time(9), end_time=dt.time(11), time_slot="")
        spanning = ScheduleFactory(start_time=dt.time(10), end_time=dt.time(15), time_slot="")
        assert (morning.time_slot, spanning.time_slot) == (TimeSlot.MORNING, TimeSlot.FULL_DAY)

    def test_a_doctor_may_work_two_stretches_of_one_morning(self):
        first = ScheduleFactory(start_time=dt.time(8), end_time=dt.time(10), time_slot="")
        second = Schedule(
            department=first.department,
            doctor=first.doctor,
            room=first.room,
            work_date=first.work_date,
            start_time=dt.time(10),
            end_time=dt.time(12),
            max_patients=4,
        )
        second.full_clean()


class TestScheduleValidation:
    def build(self, **kwargs) -> Schedule:
        doctor = kwargs.pop("doctor", None) or DoctorFactory()
        room = kwargs.pop("room", None) or RoomFactory(department=doctor.department)
        fields = {
            "department": doctor.department,
            "doctor": doctor,
            "room": room,
            "work_date": dt.date(2030, 1, 7),
            "time_slot": TimeSlot.MORNING,
            "max_patients": 10,
        }
        fields.update(kwargs)
        return Schedule(**fields)

    def errors(self, schedule: Schedule) -> dict[str, list[str]]:
        with pytest.raises(ValidationError) as excinfo:
            schedule.full_clean()
        return excinfo.value.message_dict

    def test_a_valid_schedule_passes(self):
        self.build().full_clean()

    def test_room_of_another_department_is_refused(self):
        assert "room" in self.errors(self.build(room=RoomFactory()))

    def test_disabled_room_is_refused(self):
        doctor = DoctorFactory()
        room = RoomFactory(department=doctor.department, status=RoomStatus.DISABLED)
        assert "room" in self.errors(self.build(doctor=doctor, room=room))

    def test_doctor_of_another_department_is_refused(self):
        schedule = self.build()
        schedule.doctor = DoctorFactory()
        assert "doctor" in self.errors(schedule)

    def test_non_doctor_is_refused(self):
        schedule = self.build()
        schedule.doctor = EmployeeFactory(department=schedule.department)
        assert "doctor" in self.errors(schedule)

    def test_doctor_on_leave_is_refused(self):
        doctor = DoctorFactory(status=EmployeeStatus.ON_LEAVE)
        assert "doctor" in self.errors(self.build(doctor=doctor))

    @pytest.mark.parametrize(
        ("existing", "new"),
        [
            (TimeSlot.FULL_DAY, TimeSlot.MORNING),
            (TimeSlot.FULL_DAY, TimeSlot.AFTERNOON),
            (TimeSlot.MORNING, TimeSlot.FULL_DAY),
            (TimeSlot.AFTERNOON, TimeSlot.AFTERNOON),
        ],
    )
    def test_overlapping_slots_of_a_doctor_are_refused(self, existing, new):
        first = self.build(time_slot=existing)
        first.save()
        other_room = RoomFactory(department=first.department)
        second = self.build(doctor=first.doctor, room=other_room, time_slot=new)
        assert "doctor" in self.errors(second)

    def test_overlapping_slots_of_a_room_are_refused(self):
        first = self.build(time_slot=TimeSlot.FULL_DAY)
        first.save()
        other_doctor = DoctorFactory(department=first.department)
        second = self.build(doctor=other_doctor, room=first.room, time_slot=TimeSlot.MORNING)
        assert "room" in self.errors(second)

    def test_overlapping_times_of_a_doctor_are_refused(self):
        first = self.build(start_time=dt.time(8), end_time=dt.time(10))
        first.save()
        other_room = RoomFactory(department=first.department)
        second = self.build(
            doctor=first.doctor, room=other_room, start_time=dt.time(9, 30), end_time=dt.time(11)
        )
        assert "doctor" in self.errors(second)

    def test_times_outside_the_clinic_hours_are_refused(self):
        schedule = self.build(start_time=dt.time(6), end_time=dt.time(9))
        assert "end_time" in self.errors(schedule)

    def test_morning_and_afternoon_do_not_overlap(self):
        first = self.build(time_slot=TimeSlot.MORNING)
        first.save()
        self.build(doctor=first.doctor, room=first.room, time_slot=TimeSlot.AFTERNOON).full_clean()

    def test_maximum_below_places_taken_is_refused(self):
        schedule = ScheduleFactory(max_patients=5, current_patients=4)
        schedule.max_patients = 3
        assert "max_patients" in self.errors(schedule)


def test_slot_bounds_use_the_configured_hours_in_the_clinic_time_zone(settings):
    settings.CLINIC_MORNING_HOURS = (dt.time(8), dt.time(12))
    settings.CLINIC_AFTERNOON_HOURS = (dt.time(13, 30), dt.time(17, 30))
    start, end = slot_bounds(dt.date(2030, 1, 7), TimeSlot.FULL_DAY)
    assert (start.isoformat(), end.isoformat()) == (
        "2030-01-07T08:00:00+08:00",
        "2030-01-07T17:30:00+08:00",
    )


class TestHeldSchedules:
    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("work_date", dt.date(2030, 1, 9)),
            ("start_time", dt.time(9)),
            ("window_minutes", 30),
        ],
    )
    def test_a_schedule_holding_places_cannot_move(self, field, value):
        schedule = ScheduleFactory(work_date=dt.date(2030, 1, 7), current_patients=2)
        setattr(schedule, field, value)
        with pytest.raises(ValidationError) as excinfo:
            schedule.full_clean()
        assert field in excinfo.value.message_dict

    def test_an_empty_schedule_may_move(self):
        schedule = ScheduleFactory(work_date=dt.date(2030, 1, 7))
        schedule.work_date = dt.date(2030, 1, 9)
        schedule.full_clean()


def test_a_room_with_booked_schedules_cannot_move_or_be_disabled():
    schedule = ScheduleFactory(work_date=dt.date(2030, 1, 7), current_patients=1)
    room = schedule.room
    room.status = RoomStatus.DISABLED
    with pytest.raises(ValidationError):
        room.full_clean()
    room.status = RoomStatus.ACTIVE
    room.department = DoctorFactory().department
    with pytest.raises(ValidationError):
        room.full_clean()


@pytest.mark.django_db
class TestPlaces:
    def test_the_database_decides_the_last_place_even_for_a_stale_copy(self):
        schedule = ScheduleFactory(max_patients=2)
        stale = Schedule.objects.get(pk=schedule.pk)
        Schedule.objects.filter(pk=schedule.pk).update(current_patients=2)
        assert stale.remaining_places == 2  # what this copy believes
        with pytest.raises(NoCapacity):
            stale.reserve_place(schedule.windows.get())
        assert Schedule.objects.get(pk=schedule.pk).current_patients == 2

    def test_reserve_and_release_move_the_counter_in_the_database_and_in_memory(self):
        schedule = ScheduleFactory(max_patients=3)
        window = schedule.windows.get()
        schedule.reserve_place(window)
        schedule.reserve_place(window)
        assert (schedule.current_patients, window.used) == (2, 2)
        schedule.release_place(window.pk)
        assert schedule.current_patients == 1
        assert Schedule.objects.get(pk=schedule.pk).current_patients == 1
        window.refresh_from_db()
        assert window.used == 1
