"""The appointment state machine: every legal move, every illegal one, who may move it."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command

from appointments.exceptions import NoShowTooEarly
from appointments.models import Appointment, AppointmentStatus
from appointments.tests.factories import AppointmentFactory
from clinic.audit import record_events
from clinic.exceptions import InvalidTransition, PermissionDenied
from clinic.models import AuditEvent
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time

pytestmark = pytest.mark.django_db

S = AppointmentStatus
ALL = list(S)
AFTER_SLOT = clinic_time(12, 31)  # morning slot ends 12:00, grace 30 minutes


def held(status: str, **kwargs) -> Appointment:
    """An appointment in `status` on a schedule whose counter counts it when live."""
    schedule = ScheduleFactory(work_date=WORK_DAY, current_patients=1)
    return AppointmentFactory(schedule=schedule, status=status, **kwargs)


def move(appointment: Appointment, to: str, user) -> None:
    if to == S.CONFIRMED:
        appointment.confirm(by=user)
    elif to == S.CANCELLED:
        appointment.cancel(by=user, reason="test")
    elif to == S.NO_SHOW:
        appointment.mark_no_show(by=user, now=AFTER_SLOT)
    elif to == S.COMPLETED:
        # Check-in writes the returned audit event together with its own.
        record_events([appointment.complete_by_check_in(by=user)])
    else:
        pytest.fail(f"no method moves to {to}")


def test_the_table_matches_the_design():
    assert {
        S.PENDING: {S.CONFIRMED, S.CANCELLED, S.COMPLETED, S.NO_SHOW},
        S.CONFIRMED: {S.CANCELLED, S.COMPLETED, S.NO_SHOW},
        S.COMPLETED: set(),
        S.CANCELLED: set(),
        S.NO_SHOW: set(),
    } == Appointment.ALLOWED


LEGAL = [(start, to) for start in ALL for to in sorted(Appointment.ALLOWED[start])]
ILLEGAL = [
    (start, to)
    for start in ALL
    for to in ALL
    if to != start and to not in Appointment.ALLOWED[start] and to != S.PENDING
]


@pytest.mark.parametrize(("start", "to"), LEGAL)
def test_legal_move(receptionist, start, to):
    appointment = held(start)
    move(appointment, to, receptionist)
    appointment.refresh_from_db()
    assert appointment.status == to
    event = AuditEvent.objects.get(object_type="appointments.appointment", action__endswith=to)
    assert (event.old_values["status"], event.new_values["status"]) == (start, to)
    assert event.actor == receptionist


@pytest.mark.parametrize(("start", "to"), ILLEGAL)
def test_illegal_move_is_refused_and_changes_nothing(receptionist, start, to):
    appointment = held(start)
    with pytest.raises(InvalidTransition) as excinfo:
        move(appointment, to, receptionist)
    assert excinfo.value.details == {
        "from": start,
        "to": to,
        "allowed": sorted(Appointment.ALLOWED[start]),
    }
    appointment.refresh_from_db()
    appointment.schedule.refresh_from_db()
    assert appointment.status == start
    assert appointment.schedule.current_patients == 1


@pytest.mark.parametrize("start", [S.PENDING, S.CONFIRMED])
def test_cancel_releases_the_held_place(receptionist, start):
    appointment = held(start)
    appointment.cancel(by=receptionist, reason="Called to cancel")
    appointment.refresh_from_db()
    appointment.schedule.refresh_from_db()
    assert appointment.schedule.current_patients == 0
    assert appointment.cancel_reason == "Called to cancel"
    assert appointment.cancelled_at is not None


def test_no_show_releases_the_held_place(receptionist):
    appointment = held(S.CONFIRMED)
    appointment.mark_no_show(by=receptionist, now=AFTER_SLOT)
    appointment.schedule.refresh_from_db()
    assert appointment.schedule.current_patients == 0


def test_no_show_before_the_slot_has_ended_plus_grace_is_refused(receptionist):
    appointment = held(S.PENDING, expected_time=clinic_time(9))
    with pytest.raises(NoShowTooEarly):
        appointment.mark_no_show(by=receptionist, now=clinic_time(12, 29))
    appointment.refresh_from_db()
    assert appointment.status == S.PENDING


def test_the_timer_marks_no_shows_without_a_user():
    past_day = dt.date(2025, 1, 6)
    due = held(S.PENDING, expected_time=clinic_time(9, day=past_day))
    due.schedule.work_date = past_day
    due.schedule.save()
    not_due = held(S.CONFIRMED)  # in 2030
    out = StringIO()
    call_command("mark_no_shows", stdout=out)
    due.refresh_from_db()
    not_due.refresh_from_db()
    assert (due.status, not_due.status) == (S.NO_SHOW, S.CONFIRMED)
    assert "1 appointments marked" in out.getvalue()
    assert AuditEvent.objects.get(action="appointment.no_show").actor is None


@pytest.mark.parametrize("persona", ["patient", "doctor"])
def test_only_the_desk_confirms(personas, persona):
    appointment = held(S.PENDING)
    with pytest.raises(PermissionDenied):
        appointment.confirm(by=personas[persona])
    appointment.refresh_from_db()
    assert appointment.status == S.PENDING


def test_admin_may_confirm_like_the_desk(admin_user):
    appointment = held(S.PENDING)
    appointment.confirm(by=admin_user)
    appointment.refresh_from_db()
    assert appointment.status == S.CONFIRMED


def test_patient_cancels_own_appointment(patient_user):
    appointment = held(S.PENDING, patient=patient_user.patient)
    appointment.cancel(by=patient_user)
    appointment.refresh_from_db()
    assert appointment.status == S.CANCELLED


def test_patient_cannot_cancel_another_patients_appointment(patient_user, other_patient_user):
    appointment = held(S.PENDING, patient=other_patient_user.patient)
    with pytest.raises(PermissionDenied):
        appointment.cancel(by=patient_user)
    appointment.refresh_from_db()
    appointment.schedule.refresh_from_db()
    assert (appointment.status, appointment.schedule.current_patients) == (S.PENDING, 1)


def test_patient_cannot_cancel_a_phone_booking_without_record(patient_user):
    appointment = held(S.PENDING, patient=None)
    with pytest.raises(PermissionDenied):
        appointment.cancel(by=patient_user)


def test_doctor_cannot_cancel(doctor_user):
    with pytest.raises(PermissionDenied):
        held(S.PENDING).cancel(by=doctor_user)


def test_no_show_is_refused_to_patients(patient_user):
    appointment = held(S.PENDING, patient=patient_user.patient)
    with pytest.raises(PermissionDenied):
        appointment.mark_no_show(by=patient_user, now=AFTER_SLOT)


def test_transition_methods_cannot_be_called_from_templates():
    for name in ("confirm", "cancel", "mark_no_show", "complete_by_check_in"):
        assert getattr(Appointment, name).alters_data is True
