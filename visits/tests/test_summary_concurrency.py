"""The daily visit summary under concurrent arrivals and transitions, on MariaDB (real row
locks).

Every visit of one day, department and doctor writes the same summary row; the day's first
arrivals race to create it. Each call runs in its own thread (`run_at_once`: connected before
a shared barrier, connection closed in `finally`).
"""

from __future__ import annotations

import pytest

import clinic.db
from billing.services import settle_visit
from clinic.tests.factories import PatientFactory, ReceptionistFactory
from scheduling.tests.factories import ScheduleFactory, set_places_taken
from tests.support import WORK_DAY, clinic_time, run_at_once
from visits.models import Visit, VisitDailySummary, VisitStatus
from visits.services import register_walk_in
from visits.tests.factories import VisitFactory, diagnosed

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]

OPEN = clinic_time(7, 30)


@pytest.fixture
def lock_errors(monkeypatch) -> list[Exception]:
    """The deadlocks and lock-wait timeouts the entry points retried."""
    seen: list[Exception] = []
    original = clinic.db.is_retryable

    def counting(error: Exception) -> bool:
        retryable = original(error)
        if retryable:
            seen.append(error)
        return retryable

    monkeypatch.setattr(clinic.db, "is_retryable", counting)
    return seen


def the_row(schedule) -> dict[str, int]:
    return (
        VisitDailySummary.objects.filter(
            visit_date=WORK_DAY, department_id=schedule.department_id, doctor_id=schedule.doctor_id
        )
        .values(*VisitDailySummary.FIGURES)
        .get()
    )


def test_the_days_first_walk_ins_racing_for_one_row_all_count(lock_errors):
    schedule = ScheduleFactory(work_date=WORK_DAY, max_patients=40)
    desk = ReceptionistFactory()
    patients = PatientFactory.create_batch(12)
    # Three of the arrivals are a patient already arriving: the duplicate guard queues each
    # person once (their row lock serialises them), and the row counts the twelve.
    arrivals = [*patients, patients[0], patients[0], patients[1]]

    results = run_at_once(
        [
            lambda patient=patient: register_walk_in(
                by=desk,
                department=schedule.department,
                patient=patient,
                doctor=schedule.doctor,
                now=OPEN,
            )
            for patient in arrivals
        ]
    )

    refused = [type(result).__name__ for result in results if isinstance(result, Exception)]
    assert refused == ["AlreadyInQueue"] * 3
    assert Visit.objects.count() == 12
    assert the_row(schedule) == {
        "visits": 12,
        "day_patients": 12,
        "waiting_visits": 12,
        "in_consultation_visits": 0,
        "awaiting_payment_visits": 0,
        "left_visits": 0,
        "cancelled_visits": 0,
    }
    assert VisitDailySummary.differences() == []
    # Retries would be harmless (the whole transaction re-runs), but there are none here.
    assert lock_errors == []


def test_concurrent_transitions_of_one_row_keep_every_counter_exact():
    """Sixteen visits of one doctor's day move at once: consultations start and finish,
    patients leave unseen or pay, and a second move of one visit fails cleanly."""
    schedule = ScheduleFactory(work_date=WORK_DAY, max_patients=40)
    desk = ReceptionistFactory()
    waiting = VisitFactory.create_batch(8, schedule=schedule)
    consulting = [
        diagnosed(visit)  # the doctor wrote the diagnosis: the patient may go to pay
        for visit in VisitFactory.create_batch(
            4, schedule=schedule, status=VisitStatus.IN_CONSULTATION
        )
    ]
    paying = VisitFactory.create_batch(4, schedule=schedule, status=VisitStatus.AWAITING_PAYMENT)
    # The factories insert visits without taking places; leaving unseen gives one back.
    set_places_taken(schedule, 16)
    calls = [
        *(lambda visit=visit: visit.start_consultation(by=desk) for visit in waiting[:4]),
        *(lambda visit=visit: visit.leave_unseen(by=desk) for visit in waiting[4:]),
        *(lambda visit=visit: visit.finish_consultation(by=desk) for visit in consulting),
        *(
            lambda visit=visit: settle_visit(
                visit=visit, total_amount="20.00", insurance_amount="5.00", by=desk
            )
            for visit in paying
        ),
    ]
    calls.append(lambda: Visit.objects.get(pk=waiting[0].pk).start_consultation(by=desk))

    results = run_at_once(calls)

    failures = [result for result in results if isinstance(result, Exception)]
    assert [type(error).__name__ for error in failures] == ["InvalidTransition"]
    assert the_row(schedule) == {
        "visits": 16,
        "day_patients": 16,
        "waiting_visits": 0,
        "in_consultation_visits": 4,
        "awaiting_payment_visits": 4,
        "left_visits": 4,
        "cancelled_visits": 4,
    }
    assert VisitDailySummary.differences() == []
