"""Real threads against MariaDB: the doctor's "call next" never calls a patient twice.

Same method as tests/test_concurrency.py: rows are created and committed in the main thread
(`transaction=True`), the threads start together on a `threading.Barrier`, each opens its own
connection before the barrier and closes it in `finally`, and the outcome is counted in the
database afterwards. SQLite has no row locks: the root conftest skips these tests there.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from functools import partial
from typing import Any

import pytest
from django.db import connection, transaction

from clinic.exceptions import InvalidTransition
from clinic.models import AuditEvent, User
from clinic.tests.factories import (
    DoctorUserFactory,
    PatientFactory,
    ReceptionistFactory,
    RoomFactory,
)
from scheduling.models import Schedule, TimeSlot
from scheduling.tests.factories import ScheduleFactory, set_places_taken
from tests.support import WORK_DAY, clinic_time, run_at_once
from visits.exceptions import ConsultationInProgress, QueueEmpty
from visits.models import Visit, VisitStatus
from visits.services import call_next, save_medical_record

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]

NOW = clinic_time(9)
THREAD_TIMEOUT = 60


def outcomes(results: list[Any]) -> Counter[type]:
    return Counter(type(result) for result in results)


def times_called(visit: Visit) -> int:
    """How often the visit was moved into consultation, by anyone (one audit event each)."""
    return AuditEvent.objects.filter(
        action="visit.consultation_started", object_type="visits.visit", object_id=str(visit.pk)
    ).count()


def doctor_with_schedule(**schedule: Any) -> tuple[User, Schedule]:
    """A doctor of their own with a morning schedule on the work day (so rounds of a test
    never see each other's patients)."""
    doctor = DoctorUserFactory()
    schedule.setdefault("max_patients", 30)
    return doctor, ScheduleFactory(doctor=doctor.employee, work_date=WORK_DAY, **schedule)


@pytest.fixture
def doctor_and_schedule():
    return doctor_with_schedule()


@pytest.fixture
def doctor(doctor_and_schedule):
    return doctor_and_schedule[0]


@pytest.fixture
def schedule(doctor_and_schedule):
    return doctor_and_schedule[1]


def queue(schedule: Schedule, count: int) -> list[Visit]:
    """`count` patients waiting on the schedule, numbers 1..count, each place taken."""
    set_places_taken(schedule, count)
    return [
        Visit.objects.create(
            patient=PatientFactory(name=f"Queued {number}"),
            department=schedule.department,
            schedule=schedule,
            queue_number=number,
            visit_date=schedule.work_date,
            check_in_time=clinic_time(7, 30),
        )
        for number in range(1, count + 1)
    ]


def test_two_tabs_calling_at_once_call_one_patient_and_tell_the_other_to_finish_first():
    for _round in range(5):
        doctor, schedule = doctor_with_schedule()
        first, second, third = queue(schedule, 3)

        results = run_at_once([partial(call_next, by=doctor, now=NOW) for _ in range(2)])

        assert outcomes(results) == Counter({Visit: 1, ConsultationInProgress: 1}), results
        called = next(result for result in results if isinstance(result, Visit))
        assert called.pk == first.pk
        in_consultation = Visit.objects.filter(
            schedule=schedule, status=VisitStatus.IN_CONSULTATION
        )
        assert list(in_consultation.values_list("pk", flat=True)) == [first.pk]
        assert times_called(first) == 1
        for waiting in (second, third):
            waiting.refresh_from_db()
            assert waiting.status == VisitStatus.WAITING


def test_many_tabs_working_through_the_queue_call_each_patient_once_in_order(doctor, schedule):
    """Six tabs each call, finish and call again until nobody waits: every patient is called
    exactly once, and in queue order."""
    visits = queue(schedule, 12)

    def work() -> list[int]:
        called = []
        while True:
            try:
                visit = call_next(by=doctor, now=NOW)
            except ConsultationInProgress:
                time.sleep(0.002)
                continue
            except QueueEmpty:
                return called
            called.append(visit.queue_number)
            save_medical_record(visit=visit, by=doctor, now=NOW, diagnosis="Common cold")
            Visit.objects.get(pk=visit.pk).finish_consultation(by=doctor, now=NOW)

    results = run_at_once([work for _ in range(6)])

    assert not [result for result in results if isinstance(result, BaseException)], results
    numbers = [number for result in results for number in result]
    assert sorted(numbers) == list(range(1, 13))
    assert all(times_called(visit) == 1 for visit in visits)
    assert set(Visit.objects.values_list("status", flat=True)) == {VisitStatus.AWAITING_PAYMENT}
    # Calls happened one after another (schedule lock): their audit order is the queue order.
    started = AuditEvent.objects.filter(action="visit.consultation_started").order_by("id")
    by_pk = {str(visit.pk): visit.queue_number for visit in visits}
    assert [by_pk[event.object_id] for event in started] == list(range(1, 13))


def test_two_doctors_calling_at_once_each_take_their_own_first_patient(doctor, schedule):
    other = DoctorUserFactory(employee__department=doctor.employee.department)
    other_schedule = ScheduleFactory(
        doctor=other.employee,
        room=RoomFactory(department=doctor.employee.department),
        work_date=WORK_DAY,
    )
    mine, theirs = queue(schedule, 2), queue(other_schedule, 2)

    results = run_at_once(
        [partial(call_next, by=doctor, now=NOW), partial(call_next, by=other, now=NOW)]
    )

    assert [result.pk for result in results] == [mine[0].pk, theirs[0].pk]


def test_call_next_racing_the_desk_on_the_same_patient_calls_them_once():
    desk = ReceptionistFactory()
    winners: Counter[str] = Counter()

    for _round in range(10):
        doctor, schedule = doctor_with_schedule()
        first, second = queue(schedule, 2)
        at_desk = Visit.objects.get(pk=first.pk)  # one instance per thread

        by_doctor, by_desk = run_at_once(
            [
                partial(call_next, by=doctor, now=NOW),
                partial(at_desk.start_consultation, by=desk, now=NOW),
            ]
        )

        assert times_called(first) == 1
        first.refresh_from_db()
        assert first.status == VisitStatus.IN_CONSULTATION
        if isinstance(by_doctor, Visit) and by_doctor.pk == first.pk:
            winners["doctor"] += 1
            assert isinstance(by_desk, InvalidTransition), by_desk
        else:
            winners["desk"] += 1
            assert by_desk is None
            # The doctor now has a patient in consultation: no second one is called.
            assert isinstance(by_doctor, ConsultationInProgress), by_doctor
        second.refresh_from_db()
        assert second.status == VisitStatus.WAITING
        assert times_called(second) == 0

    assert sum(winners.values()) == 10


def test_call_next_waiting_behind_the_desks_move_does_not_call_a_second_patient(doctor, schedule):
    """Deterministic version of the race above: the desk holds patient #1's row while it
    moves them in; the doctor's call waits for that row, then must not take #2 as well."""
    first, second = queue(schedule, 2)
    desk = ReceptionistFactory()
    desk_moved = threading.Event()
    release_desk = threading.Event()
    results: dict[str, Any] = {}

    def desk_thread() -> None:
        try:
            with transaction.atomic():
                Visit.objects.get(pk=first.pk).start_consultation(by=desk, now=NOW)
                desk_moved.set()
                release_desk.wait(THREAD_TIMEOUT)
        finally:
            connection.close()

    def doctor_thread() -> None:
        try:
            results["doctor"] = call_next(by=doctor, now=NOW)
        except Exception as error:
            results["doctor"] = error
        finally:
            connection.close()

    desk_worker = threading.Thread(target=desk_thread)
    desk_worker.start()
    assert desk_moved.wait(THREAD_TIMEOUT)
    doctor_worker = threading.Thread(target=doctor_thread)
    doctor_worker.start()
    time.sleep(0.5)  # the doctor's call is now waiting for #1's row lock
    assert doctor_worker.is_alive()
    release_desk.set()
    desk_worker.join(THREAD_TIMEOUT)
    doctor_worker.join(THREAD_TIMEOUT)

    assert isinstance(results["doctor"], ConsultationInProgress), results
    assert times_called(first) == 1
    second.refresh_from_db()
    assert second.status == VisitStatus.WAITING


def test_call_next_racing_a_patient_leaving_unseen_never_calls_a_cancelled_visit():
    desk = ReceptionistFactory()
    for _round in range(5):
        doctor, schedule = doctor_with_schedule()
        (only,) = queue(schedule, 1)
        leaving = Visit.objects.get(pk=only.pk)

        by_doctor, by_desk = run_at_once(
            [partial(call_next, by=doctor, now=NOW), partial(leaving.leave_unseen, by=desk)]
        )

        only.refresh_from_db()
        if only.status == VisitStatus.IN_CONSULTATION:
            assert isinstance(by_doctor, Visit) and by_doctor.pk == only.pk
            assert isinstance(by_desk, InvalidTransition), by_desk
            assert times_called(only) == 1
        else:
            assert only.status == VisitStatus.CANCELLED
            assert by_desk is None
            assert isinstance(by_doctor, QueueEmpty), by_doctor
            assert times_called(only) == 0


def test_time_slot_order_under_contention():
    """With morning and afternoon schedules, racing tabs still start with the morning."""
    doctor = DoctorUserFactory()
    rooms = RoomFactory.create_batch(2, department=doctor.employee.department)
    afternoon = ScheduleFactory(
        doctor=doctor.employee, room=rooms[0], work_date=WORK_DAY, time_slot=TimeSlot.AFTERNOON
    )
    morning = ScheduleFactory(
        doctor=doctor.employee, room=rooms[1], work_date=WORK_DAY, time_slot=TimeSlot.MORNING
    )
    queue(afternoon, 1)
    (first,) = queue(morning, 1)

    results = run_at_once([partial(call_next, by=doctor, now=NOW) for _ in range(4)])

    assert outcomes(results) == Counter({Visit: 1, ConsultationInProgress: 3})
    assert next(result for result in results if isinstance(result, Visit)).pk == first.pk
