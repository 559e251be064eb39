"""No-shows: marked by the periodic task, and the policy that pauses online booking."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from appointments import tasks
from appointments.exceptions import BookingBlocked, NoBlockToLift
from appointments.models import AppointmentStatus
from appointments.no_shows import (
    lift_no_show_block,
    mark_due_no_shows,
    online_booking_blocked_until,
)
from appointments.services import book_appointment
from appointments.tests.factories import AppointmentFactory
from clinic.exceptions import PermissionDenied
from clinic.models import AuditEvent
from clinic.tests.factories import DoctorFactory, PatientFactory, RoomFactory
from scheduling.tests.factories import ScheduleFactory, set_places_taken
from tests.api.conftest import bearer_client
from tests.support import WORK_DAY, clinic_time

pytestmark = pytest.mark.django_db

TODAY = WORK_DAY


@pytest.fixture(autouse=True)
def _policy(settings):
    settings.CLINIC_NO_SHOW_LIMIT = 3
    settings.CLINIC_NO_SHOW_LOOKBACK_DAYS = 90
    settings.CLINIC_NO_SHOW_BLOCK_DAYS = 30
    settings.CLINIC_NO_SHOW_GRACE_MINUTES = 30


def schedule_on(day, **kwargs):
    doctor = DoctorFactory()
    return ScheduleFactory(
        doctor=doctor,
        department=doctor.department,
        room=RoomFactory(department=doctor.department),
        work_date=day,
        **kwargs,
    )


def no_show(patient, day):
    return AppointmentFactory(
        schedule=schedule_on(day), patient=patient, status=AppointmentStatus.NO_SHOW
    )


def days_ago(n, today=TODAY):
    return today - dt.timedelta(days=n)


# --- marking -----------------------------------------------------------------------------


def test_the_task_marks_exactly_the_bookings_whose_schedule_ended_plus_grace():
    ended = schedule_on(WORK_DAY)  # morning: ends 12:00, due from 12:30
    set_places_taken(ended, 3)
    due = [AppointmentFactory(schedule=ended) for _ in range(2)]
    confirmed = AppointmentFactory(schedule=ended, status=AppointmentStatus.CONFIRMED)
    AppointmentFactory(schedule=ended, status=AppointmentStatus.CANCELLED)
    afternoon = schedule_on(WORK_DAY, time_slot="afternoon")
    set_places_taken(afternoon, 1)
    later = AppointmentFactory(schedule=afternoon)
    result = mark_due_no_shows(clinic_time(12, 30))
    assert (result.marked, result.not_yet_due) == (3, 1)
    for appointment in [*due, confirmed]:
        appointment.refresh_from_db()
        assert appointment.status == AppointmentStatus.NO_SHOW
    later.refresh_from_db()
    assert later.status == AppointmentStatus.PENDING
    ended.refresh_from_db()
    assert ended.current_patients == 0
    # Twice: nothing more.
    assert mark_due_no_shows(clinic_time(12, 31)).marked == 0


def test_not_before_the_grace_period_ends():
    schedule = schedule_on(WORK_DAY)
    set_places_taken(schedule, 1)
    appointment = AppointmentFactory(schedule=schedule)
    assert mark_due_no_shows(clinic_time(12, 29)).marked == 0
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.PENDING


def test_the_periodic_task_and_the_command_use_the_same_function(capsys):
    schedule = schedule_on(timezone.localdate() - dt.timedelta(days=1))
    set_places_taken(schedule, 2)
    first, second = AppointmentFactory(schedule=schedule), AppointmentFactory(schedule=schedule)
    assert tasks.mark_due_no_shows.call() == 2
    call_command("mark_no_shows")
    assert "0 appointments marked as no-shows" in capsys.readouterr().out
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == AppointmentStatus.NO_SHOW


# --- the policy --------------------------------------------------------------------------


def test_one_short_of_the_limit_is_not_blocked():
    patient = PatientFactory()
    no_show(patient, days_ago(1))
    no_show(patient, days_ago(2))
    assert online_booking_blocked_until(patient, TODAY) is None


def test_the_limit_blocks_until_the_last_no_show_plus_the_block_days():
    patient = PatientFactory()
    for n in (10, 5, 2):
        no_show(patient, days_ago(n))
    assert online_booking_blocked_until(patient, TODAY) == days_ago(2) + dt.timedelta(days=30)
    # The last day of the block, then the day it ends.
    assert online_booking_blocked_until(patient, days_ago(2) + dt.timedelta(days=29))
    assert online_booking_blocked_until(patient, days_ago(2) + dt.timedelta(days=30)) is None


def test_no_shows_before_the_lookback_do_not_count():
    patient = PatientFactory()
    no_show(patient, days_ago(91))
    no_show(patient, days_ago(3))
    no_show(patient, days_ago(2))
    assert online_booking_blocked_until(patient, TODAY) is None
    no_show(patient, days_ago(90))  # the first day of the look-back counts
    assert online_booking_blocked_until(patient, TODAY) is not None


def test_other_statuses_and_other_patients_do_not_count():
    patient = PatientFactory()
    for n in (1, 2):
        no_show(patient, days_ago(n))
    AppointmentFactory(schedule=schedule_on(days_ago(3)), patient=patient)
    no_show(PatientFactory(), days_ago(3))
    assert online_booking_blocked_until(patient, TODAY) is None


def test_a_limit_of_zero_turns_the_policy_off(settings):
    settings.CLINIC_NO_SHOW_LIMIT = 0
    patient = PatientFactory()
    for n in (1, 2, 3, 4):
        no_show(patient, days_ago(n))
    assert online_booking_blocked_until(patient, TODAY) is None


def _blocked_today(patient):
    for n in (3, 2, 1):
        no_show(patient, timezone.localdate() - dt.timedelta(days=n))


def blocked_patient():
    """A patient blocked from booking online today (also for the API's permission matrix)."""
    patient = PatientFactory()
    _blocked_today(patient)
    return patient


def test_lifting_resets_the_count_and_is_audited(receptionist):
    patient = PatientFactory()
    _blocked_today(patient)
    assert online_booking_blocked_until(patient, timezone.localdate()) is not None
    lift_no_show_block(patient=patient, by=receptionist)
    patient.refresh_from_db()
    assert patient.no_show_block_lifted_at is not None
    assert online_booking_blocked_until(patient, timezone.localdate()) is None
    event = AuditEvent.objects.get(action="patient.no_show_block_lifted")
    assert event.patient_id == patient.pk and event.actor == receptionist
    # New no-shows after the lift count again from zero.
    no_show(patient, timezone.localdate())
    assert online_booking_blocked_until(patient, timezone.localdate()) is None
    with pytest.raises(NoBlockToLift):
        lift_no_show_block(patient=patient, by=receptionist)


@pytest.mark.parametrize("role", ["patient", "doctor"])
def test_only_the_desk_lifts_a_block(personas, role):
    patient = PatientFactory()
    _blocked_today(patient)
    with pytest.raises(PermissionDenied):
        lift_no_show_block(patient=patient, by=personas[role])
    patient.refresh_from_db()
    assert patient.no_show_block_lifted_at is None


def test_an_admin_lifts_a_block(admin_user):
    patient = PatientFactory()
    _blocked_today(patient)
    lift_no_show_block(patient=patient, by=admin_user)
    patient.refresh_from_db()
    assert online_booking_blocked_until(patient, timezone.localdate()) is None


# --- booking -----------------------------------------------------------------------------


def _book(user, schedule, **kwargs):
    return book_appointment(
        by=user,
        department=schedule.department,
        expected_time=clinic_time(9, day=schedule.work_date),
        now=clinic_time(7, day=schedule.work_date),
        **kwargs,
    )


def test_a_blocked_patient_cannot_book_online_and_is_told_until_when(patient_user):
    patient = patient_user.patient
    for n in (3, 2, 1):
        no_show(patient, days_ago(n))
    schedule = schedule_on(TODAY)
    with pytest.raises(BookingBlocked) as raised:
        _book(patient_user, schedule)
    until = days_ago(1) + dt.timedelta(days=30)
    assert raised.value.status == 403
    assert until.isoformat() in raised.value.message
    assert "desk" in raised.value.message
    assert raised.value.details == {"blocked_until": until.isoformat()}
    schedule.refresh_from_db()
    assert schedule.current_patients == 0


def test_the_desk_still_books_for_a_blocked_patient(patient_user, receptionist):
    patient = patient_user.patient
    for n in (3, 2, 1):
        no_show(patient, days_ago(n))
    appointment = _book(receptionist, schedule_on(TODAY), patient=patient)
    assert appointment.patient == patient


# --- pages and API -----------------------------------------------------------------------


def test_the_booking_page_and_my_appointments_show_the_notice(client, patient_user):
    _blocked_today(patient_user.patient)
    client.force_login(patient_user)
    for name in ("appointments:book", "appointments:my-appointments"):
        page = client.get(reverse(name))
        assert page.status_code == 200
        assert 'id="booking-blocked"' in page.content.decode()


def test_the_booking_page_shows_no_notice_when_open(client, patient_user):
    client.force_login(patient_user)
    assert 'id="booking-blocked"' not in client.get(reverse("appointments:book")).content.decode()


def test_the_desk_patient_page_shows_the_history_and_lifts_the_block(client, receptionist):
    patient = PatientFactory()
    _blocked_today(patient)
    client.force_login(receptionist)
    page = client.get(reverse("visits:patient", args=[patient.pk])).content.decode()
    assert 'id="no-shows"' in page
    assert page.count("<li>") >= 3
    lift_url = reverse("appointments:lift-no-show-block", args=[patient.pk])
    assert lift_url in page
    assert client.get(lift_url).status_code == 405
    response = client.post(lift_url)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.no_show_block_lifted_at is not None
    page = client.get(reverse("visits:patient", args=[patient.pk])).content.decode()
    assert lift_url not in page


def test_a_patient_cannot_post_the_lift_button(client, patient_user):
    patient = patient_user.patient
    _blocked_today(patient)
    client.force_login(patient_user)
    response = client.post(reverse("appointments:lift-no-show-block", args=[patient.pk]))
    assert response.status_code in (302, 403)
    patient.refresh_from_db()
    assert patient.no_show_block_lifted_at is None


def test_the_api_refuses_a_blocked_patients_booking_with_the_unified_error(patient_user):
    _blocked_today(patient_user.patient)
    schedule = schedule_on(timezone.localdate() + dt.timedelta(days=1))
    response = bearer_client(patient_user).post(
        "/api/patient/appointments",
        {
            "dept_id": schedule.department_id,
            "expected_time": clinic_time(9, day=schedule.work_date).isoformat(),
        },
        format="json",
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "booking_blocked"
    assert error["details"]["blocked_until"]


def test_the_api_lifts_a_block_for_the_desk_only(patient_user, receptionist, doctor_user):
    patient = PatientFactory()
    _blocked_today(patient)
    url = f"/api/receptionist/patients/{patient.pk}/lift-no-show-block"
    assert bearer_client(patient_user).post(url).status_code == 403
    assert bearer_client(doctor_user).post(url).status_code == 403
    response = bearer_client(receptionist).post(url)
    assert response.status_code == 200, response.json()
    assert response.json()["blocked_until"] is None
    assert response.json()["patient_id"] == patient.pk
    again = bearer_client(receptionist).post(url)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "no_block_to_lift"
    assert (
        bearer_client(receptionist)
        .post("/api/receptionist/patients/999999/lift-no-show-block")
        .status_code
        == 404
    )
