"""Rules of time-sliced booking found in review: quotas set per window survive other edits,
times are whole minutes and never in the midday break, a schedule spanning the break has no
windows in it, a booking takes a window still open, a walk-in the running window first, and a
place is never given back to a window of another schedule."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError

from appointments.forms import parse_window
from appointments.services import book_appointment
from appointments.tests.factories import AppointmentFactory
from billing.invariants import find_problems
from clinic.tests.factories import DoctorFactory, RoomFactory
from scheduling.models import Schedule, ScheduleWindow, TimeSlot, window_times
from scheduling.selectors import slot_availability
from scheduling.services import (
    MAX_SCHEDULE_PLACES,
    WindowQuota,
    save_schedule,
    set_window_quotas,
)
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time
from visits.services import walk_in_window

pytestmark = pytest.mark.django_db


def quotas(schedule: Schedule) -> list[tuple[int, bool]]:
    return [(w.quota, w.desk_only) for w in schedule.windows.order_by("start_time")]


@pytest.fixture
def two_hours():
    """08:00–10:00 in 30-minute windows, 12 places (3 each)."""
    return ScheduleFactory(
        work_date=WORK_DAY,
        start_time=dt.time(8),
        end_time=dt.time(10),
        window_minutes=30,
        max_patients=12,
    )


class TestQuotasSurviveEdits:
    def test_a_new_room_keeps_the_quotas_set_per_window(self, two_hours, admin_user):
        windows = list(two_hours.windows.order_by("start_time"))
        set_window_quotas(
            schedule=two_hours,
            quotas=[
                WindowQuota(windows[0].pk, 0),
                WindowQuota(windows[1].pk, 8, desk_only=True),
                WindowQuota(windows[2].pk, 2),
                WindowQuota(windows[3].pk, 2),
            ],
            by=admin_user,
        )
        schedule = Schedule.objects.get(pk=two_hours.pk)
        schedule.room = RoomFactory(department=schedule.department)
        save_schedule(schedule=schedule, by=admin_user)
        assert quotas(schedule) == [(0, False), (8, True), (2, False), (2, False)]

    def test_a_new_maximum_changes_the_quotas_by_the_difference(self, two_hours, admin_user):
        windows = list(two_hours.windows.order_by("start_time"))
        set_window_quotas(
            schedule=two_hours,
            quotas=[WindowQuota(windows[0].pk, 0), WindowQuota(windows[1].pk, 6)],
            by=admin_user,
        )  # 0, 6, 3, 3 = 12
        schedule = Schedule.objects.get(pk=two_hours.pk)
        schedule.max_patients = 15
        save_schedule(schedule=schedule, by=admin_user)
        assert [q for q, _desk in quotas(schedule)] == [3, 6, 3, 3]
        schedule.max_patients = 10
        save_schedule(schedule=schedule, by=admin_user)
        assert [q for q, _desk in quotas(schedule)] == [3, 3, 2, 2]  # the later first
        assert find_problems() == []


class TestTimes:
    @pytest.mark.parametrize(
        ("start", "end"),
        [
            (dt.time(9, 0, 10), dt.time(9, 30)),
            (dt.time(9), dt.time(9, 30, 0, 5)),
            (dt.time(12, 0), dt.time(13, 30)),  # the midday break alone
        ],
    )
    def test_seconds_and_the_break_are_refused(self, start, end):
        doctor = DoctorFactory()
        schedule = Schedule(
            department=doctor.department,
            doctor=doctor,
            room=RoomFactory(department=doctor.department),
            work_date=WORK_DAY,
            start_time=start,
            end_time=end,
            max_patients=3,
        )
        with pytest.raises(ValidationError) as excinfo:
            schedule.full_clean()
        assert {"start_time", "end_time"} & set(excinfo.value.message_dict)

    def test_a_full_day_has_no_windows_in_the_midday_break(self, settings):
        settings.CLINIC_MORNING_HOURS = (dt.time(8), dt.time(12))
        settings.CLINIC_AFTERNOON_HOURS = (dt.time(13, 30), dt.time(17, 30))
        times = window_times(dt.time(8), dt.time(17, 30), 45)
        assert times[4:7] == [
            (dt.time(11), dt.time(11, 45)),
            (dt.time(11, 45), dt.time(12)),
            (dt.time(13, 30), dt.time(14, 15)),
        ]
        assert all(not (dt.time(12) <= start < dt.time(13, 30)) for start, _end in times)
        schedule = ScheduleFactory(time_slot=TimeSlot.FULL_DAY, window_minutes=30, max_patients=15)
        assert schedule.windows.count() == 16  # 8 in the morning, 8 in the afternoon

    @pytest.mark.parametrize(
        "value", ["09:30Z-10:00", "09:30+08-10:00", "09Z-10Z", "9:30-10:00", "10:00-09:30", "x"]
    )
    def test_the_booking_form_reads_only_whole_windows(self, value):
        assert parse_window(value) is None


def test_a_booking_takes_a_window_still_open_when_another_doctors_has_ended(patient_user):
    """Doctor A in 30-minute windows, doctor B in 45-minute ones: at 10:20 the page's
    10:00–10:30 starts at 10:00, which lies in A's running 10:00–10:30 and in B's ended
    09:30–10:15."""
    a = ScheduleFactory(
        work_date=WORK_DAY,
        start_time=dt.time(9),
        end_time=dt.time(11),
        window_minutes=30,
        max_patients=4,
    )
    doctor_b = DoctorFactory(department=a.department)
    ScheduleFactory(
        doctor=doctor_b,
        department=a.department,
        room=RoomFactory(department=a.department),
        work_date=WORK_DAY,
        start_time=dt.time(9, 30),
        end_time=dt.time(11),
        window_minutes=45,
        max_patients=20,
    )
    appointment = book_appointment(
        by=patient_user,
        department=a.department,
        expected_time=clinic_time(10),
        now=clinic_time(10, 20),
    )
    assert (appointment.schedule_id, appointment.window.label) == (a.pk, "10:00–10:30")


def test_a_walk_in_takes_a_running_window_before_a_later_one_with_more_room():
    a = ScheduleFactory(
        work_date=WORK_DAY,
        start_time=dt.time(8),
        end_time=dt.time(10),
        window_minutes=60,
        max_patients=2,
    )
    b = ScheduleFactory(
        doctor=DoctorFactory(department=a.department),
        department=a.department,
        room=RoomFactory(department=a.department),
        work_date=WORK_DAY,
        start_time=dt.time(8),
        end_time=dt.time(10),
        window_minutes=60,
        max_patients=6,
    )
    b.windows.filter(start_time=dt.time(8)).update(used=3)  # b's running window is full
    Schedule.objects.filter(pk=b.pk).update(current_patients=3)
    window = walk_in_window([a, b], clinic_time(8, 30), half_day_slot=TimeSlot.MORNING)
    assert (window.schedule_id, window.start_time) == (a.pk, dt.time(8))


def test_a_place_is_never_given_back_to_a_window_of_another_schedule(two_hours):
    other = ScheduleFactory(max_patients=2, current_patients=1)
    Schedule.objects.filter(pk=two_hours.pk).update(current_patients=1)
    two_hours.refresh_from_db()
    with pytest.raises(ValueError):
        two_hours.release_place(other.windows.get().pk)


def test_a_booking_in_a_window_of_another_schedule_is_an_invariant_problem(two_hours):
    other = ScheduleFactory(current_patients=1)
    appointment = AppointmentFactory(schedule=two_hours, window=other.windows.get())
    assert f"booking {appointment.pk}: its window is not one of its schedule's" in find_problems()


def test_a_slots_places_are_its_open_windows_for_whom_asks(two_hours):
    """08:00–10:00, 3 places a window; at 08:40 the first window has ended, and the last is
    kept for the desk: patients see 3 + 3, the desk 3 + 3 + 3."""
    two_hours.windows.filter(start_time=dt.time(9, 30)).update(desk_only=True)
    now = clinic_time(8, 40)

    def remaining(for_patient):
        (slot,) = slot_availability(
            department=two_hours.department,
            start_date=WORK_DAY,
            end_date=WORK_DAY,
            now=now,
            for_patient=for_patient,
        )
        return slot.remaining

    assert (remaining(True), remaining(False)) == (6, 9)


def test_a_window_left_without_desk_only_keeps_its_own_read_under_the_lock(two_hours, admin_user):
    first = two_hours.windows.order_by("start_time").first()
    ScheduleWindow.objects.filter(pk=first.pk).update(desk_only=True)  # set meanwhile
    set_window_quotas(schedule=two_hours, quotas=[WindowQuota(first.pk, 5)], by=admin_user)
    first.refresh_from_db()
    assert (first.quota, first.desk_only) == (5, True)


def test_quotas_never_add_up_past_a_schedules_limit(two_hours, admin_user):
    first = two_hours.windows.order_by("start_time").first()
    with pytest.raises(ValidationError):
        set_window_quotas(
            schedule=two_hours, quotas=[WindowQuota(first.pk, MAX_SCHEDULE_PLACES)], by=admin_user
        )
    assert Schedule.objects.get(pk=two_hours.pk).max_patients == 12
