"""Booking: capacity holds, the choice of schedule, time rules, duplicates, who books for whom."""

from __future__ import annotations

import datetime as dt

import pytest

from appointments.exceptions import DuplicateBooking
from appointments.models import Appointment, AppointmentStatus
from appointments.services import book_appointment
from clinic.exceptions import InvalidInput, PermissionDenied
from clinic.models import AuditEvent
from clinic.tests.factories import DoctorFactory, RoomFactory, UserFactory
from scheduling.exceptions import (
    BeyondHorizon,
    NoCapacity,
    NoSchedule,
    OutsideClinicHours,
    SlotEnded,
)
from scheduling.models import TimeSlot
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time

pytestmark = pytest.mark.django_db

BEFORE_OPENING = clinic_time(7)


def schedule_in(department=None, **kwargs):
    doctor = DoctorFactory(department=department) if department else DoctorFactory()
    return ScheduleFactory(
        doctor=doctor,
        department=doctor.department,
        room=RoomFactory(department=doctor.department),
        work_date=kwargs.pop("work_date", WORK_DAY),
        **kwargs,
    )


def book(user, schedule_or_department, *, at=None, now=BEFORE_OPENING, **kwargs):
    department = getattr(schedule_or_department, "department", schedule_or_department)
    return book_appointment(
        by=user,
        department=department,
        expected_time=at or clinic_time(9),
        now=now,
        **kwargs,
    )


def test_booking_holds_a_place_and_is_pending(patient_user):
    schedule = schedule_in()
    appointment = book(patient_user, schedule)
    schedule.refresh_from_db()
    assert schedule.current_patients == 1
    assert appointment.status == AppointmentStatus.PENDING
    assert appointment.schedule == schedule
    assert appointment.patient == patient_user.patient
    assert appointment.patient_name == patient_user.patient.name
    assert appointment.created_by == patient_user
    assert AuditEvent.objects.filter(action="appointment.booked", object_id=appointment.pk).exists()


def test_the_schedule_with_most_places_left_wins(patient_user):
    fuller = schedule_in(max_patients=10, current_patients=6)
    emptier = schedule_in(fuller.department, max_patients=5, current_patients=0)
    assert book(patient_user, fuller).schedule == emptier


def test_ties_go_to_the_lowest_id(patient_user, other_patient_user):
    first = schedule_in(max_patients=5)
    schedule_in(first.department, max_patients=5)
    assert book(patient_user, first).schedule == first


def test_the_chosen_doctor_is_booked_even_with_fewer_places(patient_user):
    fuller = schedule_in(max_patients=10, current_patients=8)
    schedule_in(fuller.department, max_patients=10)
    assert book(patient_user, fuller, doctor=fuller.doctor).schedule == fuller


def test_a_doctor_not_working_then_is_refused(patient_user):
    schedule = schedule_in()
    with pytest.raises(NoSchedule):
        book(patient_user, schedule, doctor=DoctorFactory(department=schedule.department))


def test_full_day_schedule_serves_both_halves(patient_user, other_patient_user):
    schedule = schedule_in(time_slot=TimeSlot.FULL_DAY)
    assert book(patient_user, schedule, at=clinic_time(9)).schedule == schedule
    assert book(other_patient_user, schedule, at=clinic_time(15)).schedule == schedule


def test_no_capacity_names_the_slot_and_offers_next_slots(patient_user):
    full = schedule_in(max_patients=1, current_patients=1)
    schedule_in(full.department, time_slot=TimeSlot.AFTERNOON, max_patients=3)
    next_day = schedule_in(full.department, work_date=WORK_DAY + dt.timedelta(days=1))
    with pytest.raises(NoCapacity) as excinfo:
        book(patient_user, full, now=clinic_time(7, day=WORK_DAY))
    error = excinfo.value
    assert full.department.name in error.message
    assert error.details["date"] == WORK_DAY.isoformat()
    assert error.details["time_slot"] == "morning"
    # The horizon counts from "now": WORK_DAY is within it.
    assert error.details["alternatives"] == [
        {
            "date": WORK_DAY.isoformat(),
            "time_slot": "afternoon",
            "remaining": 3,
            "windows": [{"start": "13:30", "end": "17:30", "label": "13:30–17:30", "remaining": 3}],
        },
        {
            "date": next_day.work_date.isoformat(),
            "time_slot": "morning",
            "remaining": 10,
            "windows": [
                {"start": "08:00", "end": "12:00", "label": "08:00–12:00", "remaining": 10}
            ],
        },
    ]
    full.refresh_from_db()
    assert full.current_patients == 1
    assert not Appointment.objects.exists()


def test_department_without_schedules_is_refused(patient_user):
    schedule = schedule_in()
    with pytest.raises(NoSchedule):
        book(patient_user, schedule, at=clinic_time(9, day=WORK_DAY + dt.timedelta(days=1)))


def test_inactive_department_is_refused(patient_user):
    schedule = schedule_in()
    schedule.department.is_active = False
    schedule.department.save()
    with pytest.raises(NoSchedule):
        book(patient_user, schedule)


@pytest.mark.parametrize(
    "at", [clinic_time(3), clinic_time(12, 30), clinic_time(17, 30), clinic_time(22)]
)
def test_times_outside_clinic_hours_are_refused(patient_user, at):
    with pytest.raises(OutsideClinicHours):
        book(patient_user, schedule_in(time_slot=TimeSlot.FULL_DAY), at=at)


def test_an_ended_slot_is_refused(patient_user):
    with pytest.raises(SlotEnded):
        book(patient_user, schedule_in(), at=clinic_time(9), now=clinic_time(12))


def test_an_ended_window_of_a_running_slot_is_refused(patient_user):
    schedule = schedule_in(window_minutes=30)
    with pytest.raises(SlotEnded):
        book(patient_user, schedule, at=clinic_time(9), now=clinic_time(10))
    assert schedule.windows.filter(used__gt=0).count() == 0


def test_the_running_window_can_still_be_booked(patient_user):
    schedule = schedule_in(window_minutes=30)
    appointment = book(patient_user, schedule, at=clinic_time(10, 10), now=clinic_time(10, 20))
    assert appointment.window.label == "10:00–10:30"


def test_the_running_slot_can_still_be_booked(patient_user):
    schedule = schedule_in()
    assert book(patient_user, schedule, at=clinic_time(11), now=clinic_time(11, 55)).schedule


def test_bookings_beyond_the_horizon_are_refused(patient_user, settings):
    settings.CLINIC_BOOKING_HORIZON_DAYS = 30
    far = WORK_DAY + dt.timedelta(days=31)
    schedule = schedule_in(work_date=far)
    with pytest.raises(BeyondHorizon):
        book(patient_user, schedule, at=clinic_time(9, day=far))
    last = WORK_DAY + dt.timedelta(days=30)
    schedule = schedule_in(schedule.department, work_date=last)
    assert book(patient_user, schedule, at=clinic_time(9, day=last))


def test_naive_times_are_read_in_the_clinic_time_zone(patient_user):
    schedule = schedule_in()
    appointment = book(patient_user, schedule, at=dt.datetime(2030, 3, 4, 9, 0))
    assert appointment.expected_time == clinic_time(9)


def test_a_patient_holds_one_live_booking_per_department_and_slot(patient_user):
    schedule = schedule_in(max_patients=5)
    book(patient_user, schedule, at=clinic_time(9))
    with pytest.raises(DuplicateBooking):
        book(patient_user, schedule, at=clinic_time(10))
    schedule.refresh_from_db()
    assert schedule.current_patients == 1


def test_another_slot_or_a_cancelled_booking_is_no_duplicate(patient_user):
    schedule = schedule_in(time_slot=TimeSlot.FULL_DAY, max_patients=5)
    first = book(patient_user, schedule, at=clinic_time(9))
    book(patient_user, schedule, at=clinic_time(14))
    first.cancel(by=patient_user)
    book(patient_user, schedule, at=clinic_time(10))
    schedule.refresh_from_db()
    assert schedule.current_patients == 2


def test_phone_bookings_by_the_desk_need_no_account(receptionist):
    schedule = schedule_in()
    appointment = book(receptionist, schedule, patient_name=" 王五 ", phone="139 0000 1111")
    assert (appointment.patient, appointment.patient_name, appointment.phone) == (
        None,
        "王五",
        "13900001111",
    )


def test_one_phone_and_name_hold_one_live_phone_booking(receptionist):
    schedule = schedule_in(max_patients=5)
    book(receptionist, schedule, patient_name="王五", phone="13900001111")
    with pytest.raises(DuplicateBooking):
        book(receptionist, schedule, patient_name="王五", phone="13900001111")
    # A family member on the same phone is a different person.
    book(receptionist, schedule, patient_name="王六", phone="13900001111")


def test_phone_booking_with_bad_details_gives_field_errors(receptionist):
    schedule = schedule_in()
    with pytest.raises(InvalidInput) as excinfo:
        book(receptionist, schedule, patient_name="", phone="123")
    assert set(excinfo.value.details) == {"name", "phone"}
    schedule.refresh_from_db()
    assert schedule.current_patients == 0


def test_a_patient_cannot_book_for_another_patient(patient_user, other_patient_user):
    schedule = schedule_in()
    with pytest.raises(PermissionDenied):
        book(patient_user, schedule, patient=other_patient_user.patient)


def test_a_patient_account_without_record_cannot_book():
    user = UserFactory(role="patient")
    with pytest.raises(PermissionDenied):
        book(user, schedule_in())


def test_doctors_do_not_book(doctor_user):
    with pytest.raises(PermissionDenied):
        book(doctor_user, schedule_in(), patient_name="王五", phone="13900001111")
