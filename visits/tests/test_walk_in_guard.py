"""A walk-in never queues a patient twice in one department on one day (issue 19)."""

from __future__ import annotations

import pytest
from django.db.models import F

from appointments.models import LIVE_STATUSES, VISIT_UNFINISHED_STATUSES
from appointments.tests.factories import AppointmentFactory
from clinic.models import AuditEvent, Patient
from clinic.tests.factories import PatientFactory
from scheduling.models import Schedule
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time
from visits.exceptions import AlreadyInQueue
from visits.models import UNFINISHED_STATUSES, Visit, VisitStatus
from visits.services import check_in, register_walk_in

pytestmark = pytest.mark.django_db

OPEN = clinic_time(7, 30)


@pytest.fixture
def schedule():
    return ScheduleFactory(work_date=WORK_DAY, max_patients=5)


def walk_in(schedule, receptionist, **kwargs):
    kwargs.setdefault("name", "路人甲")
    kwargs.setdefault("phone", "13700000001")
    kwargs.setdefault("now", OPEN)
    return register_walk_in(by=receptionist, department=schedule.department, **kwargs)


def written(schedule) -> tuple:
    schedule.refresh_from_db()
    return (
        schedule.current_patients,
        Visit.objects.count(),
        Patient.objects.count(),
        AuditEvent.objects.count(),
    )


@pytest.mark.parametrize("status", UNFINISHED_STATUSES)
def test_a_second_walk_in_in_the_same_department_is_refused_and_writes_nothing(
    schedule, receptionist, status
):
    first = walk_in(schedule, receptionist)
    Visit.objects.filter(pk=first.pk).update(status=status)
    before = written(schedule)
    with pytest.raises(AlreadyInQueue) as refused:
        walk_in(schedule, receptionist)
    assert refused.value.status == 409
    assert refused.value.details["visit"] == first.pk
    assert refused.value.details["queue_number"] == first.queue_number
    assert "department" in refused.value.details
    assert written(schedule) == before


def test_the_chosen_record_is_refused_too(schedule, receptionist):
    patient = PatientFactory()
    walk_in(schedule, receptionist, patient=patient)
    with pytest.raises(AlreadyInQueue):
        walk_in(schedule, receptionist, patient=patient)
    assert Visit.objects.filter(patient=patient).count() == 1


@pytest.mark.parametrize("status", [VisitStatus.LEFT, VisitStatus.CANCELLED])
def test_once_the_visit_is_over_the_patient_may_walk_in_again(schedule, receptionist, status):
    first = walk_in(schedule, receptionist)
    Visit.objects.filter(pk=first.pk).update(status=status)
    second = walk_in(schedule, receptionist)
    assert second.patient == first.patient and second.pk != first.pk


def test_another_department_the_same_day_is_allowed(schedule, receptionist):
    first = walk_in(schedule, receptionist)
    elsewhere = ScheduleFactory(work_date=WORK_DAY, max_patients=5)
    second = register_walk_in(
        by=receptionist, department=elsewhere.department, name="路人甲", phone="13700000001",
        now=OPEN,
    )  # fmt: skip
    assert second.patient == first.patient
    assert second.department != first.department


def test_a_family_member_sharing_the_phone_is_not_refused(schedule, receptionist):
    walk_in(schedule, receptionist, name="王大")
    other = walk_in(schedule, receptionist, name="王小")
    assert other.patient.name == "王小"
    assert Visit.objects.count() == 2


def test_an_open_visit_of_an_earlier_day_does_not_block_today(schedule, receptionist):
    yesterday = ScheduleFactory(
        work_date=WORK_DAY.replace(day=WORK_DAY.day - 1), department=schedule.department
    )
    patient = PatientFactory()
    Visit.objects.create(
        patient=patient,
        department=schedule.department,
        schedule=yesterday,
        queue_number=1,
        visit_date=yesterday.work_date,
        check_in_time=clinic_time(9, day=yesterday.work_date),
        status=VisitStatus.WAITING,
    )
    assert walk_in(schedule, receptionist, patient=patient).patient == patient


def test_the_visit_statuses_the_guard_treats_as_open_are_those_not_final():
    """One definition: the statuses a visit can still move on from."""
    assert set(UNFINISHED_STATUSES) == {status for status, moves in Visit.ALLOWED.items() if moves}
    # Appointments (below visits) spell them out to show a booking as checked in.
    assert set(VISIT_UNFINISHED_STATUSES) == set(UNFINISHED_STATUSES)


def test_checking_in_the_booking_of_a_patient_who_walked_in_is_refused(schedule, receptionist):
    """The booking forgotten, the patient walked in: checking the booking in later would
    queue them twice. Refused, nothing written; the booking stays to cancel."""
    patient = PatientFactory(id_card=None)
    walked = walk_in(schedule, receptionist, patient=patient)
    booking = AppointmentFactory(
        schedule=schedule, patient=patient, patient_name=patient.name, phone=patient.phone,
        id_card="",
    )  # fmt: skip
    Schedule.objects.filter(pk=schedule.pk).update(current_patients=F("current_patients") + 1)
    before = written(schedule)
    with pytest.raises(AlreadyInQueue) as refused:
        check_in(appointment_id=booking.pk, phone=patient.phone, by=receptionist, now=OPEN)
    assert refused.value.details["visit"] == walked.pk
    assert written(schedule) == before
    booking.refresh_from_db()
    assert booking.status in LIVE_STATUSES
