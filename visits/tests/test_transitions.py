"""The visit state machine: forward only, one step at a time, `left` only by settlement."""

from __future__ import annotations

import pytest

from clinic.exceptions import InvalidTransition, PermissionDenied
from clinic.models import AuditEvent
from clinic.tests.factories import DoctorUserFactory
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time
from visits.exceptions import DiagnosisRequired, SettlementRequired
from visits.models import Visit, VisitStatus
from visits.tests.factories import MedicalRecordFactory, VisitFactory, diagnosed

pytestmark = pytest.mark.django_db

V = VisitStatus
ALL = list(V)


def visit_in(status: str, **kwargs) -> Visit:
    schedule = ScheduleFactory(work_date=WORK_DAY, current_patients=1, **kwargs)
    return VisitFactory(schedule=schedule, status=status)


def move(visit: Visit, to: str, user) -> None:
    if to == V.IN_CONSULTATION:
        visit.start_consultation(by=user, now=clinic_time(9))
    elif to == V.AWAITING_PAYMENT:
        diagnosed(visit).finish_consultation(by=user, now=clinic_time(9, 20))
    elif to == V.CANCELLED:
        visit.leave_unseen(by=user)
    elif to == V.LEFT:
        visit.lock_for_update()
        visit.leave_after_settlement(by=user)
    else:
        pytest.fail(f"no method moves to {to}")


def test_the_table_matches_the_design():
    assert {
        V.WAITING: {V.IN_CONSULTATION, V.CANCELLED},
        V.IN_CONSULTATION: {V.AWAITING_PAYMENT},
        V.AWAITING_PAYMENT: {V.LEFT},
        V.LEFT: set(),
        V.CANCELLED: set(),
    } == Visit.ALLOWED


LEGAL = [(start, to) for start in ALL for to in sorted(Visit.ALLOWED[start])]
ILLEGAL = [
    (start, to)
    for start in ALL
    for to in ALL
    if to != start and to not in Visit.ALLOWED[start] and to != V.WAITING
]


@pytest.mark.parametrize(("start", "to"), LEGAL)
def test_legal_move(receptionist, start, to):
    visit = visit_in(start)
    move(visit, to, receptionist)
    visit.refresh_from_db()
    assert visit.status == to
    assert AuditEvent.objects.filter(
        object_type="visits.visit", object_id=str(visit.pk), old_values__status=start
    ).exists()


@pytest.mark.parametrize(("start", "to"), ILLEGAL)
def test_illegal_move_is_refused_and_changes_nothing(receptionist, start, to):
    visit = visit_in(start)
    with pytest.raises(InvalidTransition) as excinfo:
        move(visit, to, receptionist)
    assert excinfo.value.details["from"] == start
    visit.refresh_from_db()
    visit.schedule.refresh_from_db()
    assert visit.status == start
    assert visit.schedule.current_patients == 1


def test_consultation_times_are_recorded(receptionist):
    visit = visit_in(V.WAITING)
    visit.start_consultation(by=receptionist, now=clinic_time(9))
    diagnosed(visit).finish_consultation(by=receptionist, now=clinic_time(9, 20))
    visit.refresh_from_db()
    assert (visit.called_at, visit.finished_at) == (clinic_time(9), clinic_time(9, 20))


def test_advance_takes_one_step_at_a_time(receptionist):
    visit = visit_in(V.WAITING)
    visit.advance(by=receptionist)
    visit.refresh_from_db()
    assert visit.status == V.IN_CONSULTATION
    diagnosed(visit).advance(by=receptionist)
    visit.refresh_from_db()
    assert visit.status == V.AWAITING_PAYMENT


def test_advance_never_discharges_without_payment(receptionist):
    visit = visit_in(V.AWAITING_PAYMENT)
    with pytest.raises(SettlementRequired):
        visit.advance(by=receptionist)
    visit.refresh_from_db()
    assert visit.status == V.AWAITING_PAYMENT


@pytest.mark.parametrize("start", [V.LEFT, V.CANCELLED])
def test_advance_from_a_final_state_is_refused(receptionist, start):
    with pytest.raises(InvalidTransition):
        visit_in(start).advance(by=receptionist)


def test_leaving_unseen_releases_the_place(receptionist):
    visit = visit_in(V.WAITING)
    visit.leave_unseen(by=receptionist)
    visit.schedule.refresh_from_db()
    assert visit.schedule.current_patients == 0


def test_the_visits_doctor_may_move_it():
    doctor = DoctorUserFactory()
    visit = visit_in(V.WAITING, doctor=doctor.employee)
    visit.start_consultation(by=doctor)
    diagnosed(visit).finish_consultation(by=doctor)
    visit.refresh_from_db()
    assert visit.status == V.AWAITING_PAYMENT


@pytest.mark.parametrize("record", [None, "", "   "])
def test_no_visit_goes_to_payment_without_a_diagnosis(receptionist, record):
    """Neither by the doctor's finish nor the desk's advance; nothing changes."""
    visit = visit_in(V.IN_CONSULTATION)
    if record is not None:
        MedicalRecordFactory(visit=visit, diagnosis=record.strip(), chief_complaint="Cough")
    for attempt in (visit.finish_consultation, visit.advance):
        with pytest.raises(DiagnosisRequired) as excinfo:
            attempt(by=receptionist)
        assert excinfo.value.details == {"diagnosis": [excinfo.value.message]}
        assert excinfo.value.as_dict()["code"] == "diagnosis_required"
    visit.refresh_from_db()
    assert (visit.status, visit.finished_at) == (V.IN_CONSULTATION, None)
    assert not AuditEvent.objects.filter(action="visit.consultation_finished").exists()


def test_another_doctor_may_not(doctor_user):
    visit = visit_in(V.WAITING)
    with pytest.raises(PermissionDenied):
        visit.start_consultation(by=doctor_user)
    visit.refresh_from_db()
    assert visit.status == V.WAITING


def test_patients_may_not_move_visits(patient_user):
    with pytest.raises(PermissionDenied):
        visit_in(V.WAITING).start_consultation(by=patient_user)


def test_transition_methods_cannot_be_called_from_templates():
    for name in (
        "start_consultation",
        "finish_consultation",
        "advance",
        "leave_unseen",
        "leave_after_settlement",
    ):
        assert getattr(Visit, name).alters_data is True
