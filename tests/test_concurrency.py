"""Real threads against MariaDB: places, duplicates and state moves under contention.

Every test creates its rows in the main thread (committed: `transaction=True`), then starts
its threads on one `threading.Barrier` so that the calls really overlap, and finally counts
rows in the database. Each thread opens its own connection before the barrier and closes it
in `finally`; a connection left open would hold its locks into the next test's flush.

SQLite has no row locks (`select_for_update()` is a no-op there): the root conftest skips
these tests with a reason unless DATABASE_URL points to a MySQL-family server.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from django.db.models import Q

from appointments.exceptions import DuplicateBooking
from appointments.models import LIVE_STATUSES, Appointment, AppointmentStatus
from appointments.services import book_appointment
from billing.exceptions import AlreadySettled
from billing.models import Bill, IncomeRecord
from billing.services import settle_visit
from clinic.exceptions import ClinicError, InvalidTransition
from clinic.models import Gender, Patient
from clinic.tests.factories import (
    DepartmentFactory,
    PatientFactory,
    PatientUserFactory,
    ReceptionistFactory,
    make_resident_id,
)
from scheduling.exceptions import NoCapacity
from scheduling.models import Schedule
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time, run_at_once
from visits.models import Visit, VisitStatus
from visits.services import check_in, register_walk_in
from visits.tests.factories import VisitFactory

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]

# 07:30 on the work day: the morning slot (08:00-12:00) is bookable, and check-in and walk-in
# registration are open (they open 60 minutes before the slot starts).
NOW = clinic_time(7, 30)
MORNING = clinic_time(9, 0)


def errors_by_type(results: list[Any]) -> Counter[type]:
    return Counter(type(result) for result in results if isinstance(result, BaseException))


def successes(results: list[Any]) -> list[Any]:
    return [result for result in results if not isinstance(result, BaseException)]


def places_used(schedule: Schedule) -> int:
    """What `current_patients` must be: live appointments plus visits not cancelled."""
    live = Appointment.objects.filter(schedule=schedule, status__in=LIVE_STATUSES).count()
    visits = Visit.objects.filter(schedule=schedule).exclude(status=VisitStatus.CANCELLED)
    return live + visits.count()


def assert_counter_is_exact(schedule: Schedule) -> None:
    schedule.refresh_from_db()
    assert 0 <= schedule.current_patients <= schedule.max_patients
    assert schedule.current_patients == places_used(schedule)


def book_morning(user, department, **kwargs: Any) -> Callable[[], Appointment]:
    return partial(
        book_appointment, by=user, department=department, expected_time=MORNING, now=NOW, **kwargs
    )


def test_fifty_patients_racing_for_ten_places_get_exactly_ten():
    schedule = ScheduleFactory(work_date=WORK_DAY, max_patients=10)
    users = PatientUserFactory.create_batch(50)

    results = run_at_once([book_morning(user, schedule.department) for user in users])

    booked = successes(results)
    assert len(booked) == 10
    assert all(isinstance(appointment, Appointment) for appointment in booked)
    assert errors_by_type(results) == Counter({NoCapacity: 40})
    appointments = Appointment.objects.filter(schedule=schedule)
    assert appointments.count() == 10
    assert appointments.filter(status=AppointmentStatus.PENDING).count() == 10
    assert appointments.values("patient").distinct().count() == 10
    schedule.refresh_from_db()
    assert schedule.current_patients == 10
    assert_counter_is_exact(schedule)


def test_racing_bookings_without_a_doctor_fill_both_schedules_and_never_overfill():
    department = DepartmentFactory()
    small = ScheduleFactory(doctor__department=department, work_date=WORK_DAY, max_patients=4)
    large = ScheduleFactory(doctor__department=department, work_date=WORK_DAY, max_patients=6)
    users = PatientUserFactory.create_batch(30)

    results = run_at_once([book_morning(user, department) for user in users])

    assert len(successes(results)) == 10
    assert errors_by_type(results) == Counter({NoCapacity: 20})
    for schedule, places in ((small, 4), (large, 6)):
        schedule.refresh_from_db()
        assert schedule.current_patients == places
        assert Appointment.objects.filter(schedule=schedule).count() == places
        assert_counter_is_exact(schedule)
    assert Appointment.objects.filter(department=department).count() == 10


def test_cancel_and_check_in_of_one_appointment_at_once_let_exactly_one_win():
    schedule = ScheduleFactory(work_date=WORK_DAY, max_patients=10)
    desk, other_desk = ReceptionistFactory(), ReceptionistFactory()
    winners: Counter[str] = Counter()

    for _round in range(10):
        patient = PatientFactory()
        booked = book_appointment(
            by=desk,
            department=schedule.department,
            patient=patient,
            expected_time=MORNING,
            now=NOW,
        )
        # The cancel's own instance: a transition method re-reads (mutates) it.
        to_cancel = Appointment.objects.get(pk=booked.pk)

        cancelled, checked_in = run_at_once(
            [
                partial(to_cancel.cancel, by=desk, reason="race"),
                partial(
                    check_in,
                    appointment_id=booked.pk,
                    phone=patient.phone,
                    id_card=patient.id_card,
                    by=other_desk,
                    now=NOW,
                ),
            ]
        )

        booked.refresh_from_db()
        if isinstance(checked_in, Visit):
            winners["check_in"] += 1
            assert isinstance(cancelled, InvalidTransition)
            assert booked.status == AppointmentStatus.COMPLETED
            assert Visit.objects.filter(appointment=booked, status=VisitStatus.WAITING).exists()
        else:
            winners["cancel"] += 1
            assert cancelled is None  # cancel() returns nothing when it succeeds
            assert isinstance(checked_in, InvalidTransition)
            assert booked.status == AppointmentStatus.CANCELLED
            assert not Visit.objects.filter(appointment=booked).exists()
        assert_counter_is_exact(schedule)

    assert sum(winners.values()) == 10
    schedule.refresh_from_db()
    assert schedule.current_patients == winners["check_in"]


def test_ten_settlements_of_one_visit_at_once_book_one_bill():
    schedule = ScheduleFactory(work_date=WORK_DAY, current_patients=1)
    visit = VisitFactory(
        schedule=schedule, queue_number=1, status=VisitStatus.AWAITING_PAYMENT, check_in_time=NOW
    )
    cashier = ReceptionistFactory()
    copies = [Visit.objects.get(pk=visit.pk) for _ in range(10)]

    results = run_at_once(
        [
            partial(
                settle_visit,
                visit=copy,
                total_amount="86.50",
                insurance_amount="50.00",
                by=cashier,
                now=NOW,
            )
            for copy in copies
        ]
    )

    bills = successes(results)
    assert len(bills) == 1
    errors = errors_by_type(results)
    assert sum(errors.values()) == 9
    assert set(errors) <= {AlreadySettled, InvalidTransition}
    assert Bill.objects.filter(visit=visit).count() == 1
    bill = Bill.objects.get(visit=visit)
    assert bill.pk == bills[0].pk
    assert (bill.total_amount, bill.insurance_amount, bill.self_pay_amount) == (
        Decimal("86.50"),
        Decimal("50.00"),
        Decimal("36.50"),
    )
    assert IncomeRecord.objects.count() == 1
    assert IncomeRecord.objects.get().bill_id == bill.pk
    visit.refresh_from_db()
    assert visit.status == VisitStatus.LEFT
    # Settling does not give the place back: the doctor's time was used.
    assert_counter_is_exact(schedule)


def test_walk_ins_bookings_and_check_ins_at_once_never_overfill_and_queue_one_to_n():
    schedule = ScheduleFactory(work_date=WORK_DAY, max_patients=12)
    department = schedule.department
    desk = ReceptionistFactory()
    # Three places already held by bookings that check in during the rush.
    arriving = PatientFactory.create_batch(3)
    held = [
        book_appointment(
            by=desk, department=department, patient=patient, expected_time=MORNING, now=NOW
        )
        for patient in arriving
    ]
    check_ins = [
        partial(
            check_in,
            appointment_id=appointment.pk,
            phone=patient.phone,
            id_card=patient.id_card,
            by=desk,
            now=NOW,
        )
        for appointment, patient in zip(held, arriving, strict=True)
    ]
    # New people at the desk (records found or created under lock) and patients booking online.
    walk_ins = [
        partial(
            register_walk_in,
            by=desk,
            department=department,
            name=f"Walk-in {index}",
            phone=f"137{index:08d}",
            id_card=make_resident_id(dt.date(1980, 1, 1) + dt.timedelta(days=index), seed=index),
            gender=Gender.FEMALE,
            now=NOW,
        )
        for index in range(12)
    ]
    bookings = [book_morning(user, department) for user in PatientUserFactory.create_batch(12)]

    results = run_at_once(check_ins + walk_ins + bookings)

    checked_in, walked_in, booked = results[:3], results[3:15], results[15:]
    assert all(isinstance(visit, Visit) for visit in checked_in)
    # Nine places were free for 24 newcomers.
    assert len(successes(walked_in)) + len(successes(booked)) == 9
    assert errors_by_type(results) == Counter({NoCapacity: 15})
    assert all(isinstance(visit, Visit) for visit in successes(walked_in))
    schedule.refresh_from_db()
    assert schedule.current_patients == 12
    assert_counter_is_exact(schedule)
    queue = sorted(Visit.objects.filter(schedule=schedule).values_list("queue_number", flat=True))
    assert queue == list(range(1, 3 + len(successes(walked_in)) + 1))
    # A refused walk-in leaves nothing behind, not even the patient record it created.
    assert Patient.objects.filter(name__startswith="Walk-in ").count() == len(successes(walked_in))


def test_one_patient_booking_twice_at_once_gets_one_appointment():
    schedule = ScheduleFactory(work_date=WORK_DAY, max_patients=10)

    for _round in range(5):
        user = PatientUserFactory()
        results = run_at_once([book_morning(user, schedule.department) for _ in range(2)])

        assert len(successes(results)) == 1
        assert errors_by_type(results) == Counter({DuplicateBooking: 1})
        assert Appointment.objects.filter(patient__user=user).count() == 1
        assert_counter_is_exact(schedule)

    schedule.refresh_from_db()
    assert schedule.current_patients == 5


def test_one_caller_phoned_in_twice_at_once_gets_one_appointment():
    """A phone booking has no patient row to lock: the slot's schedule locks serialise it."""
    schedule = ScheduleFactory(work_date=WORK_DAY, max_patients=10)
    desk, other_desk = ReceptionistFactory(), ReceptionistFactory()
    caller = {"patient_name": "Wang Fang", "phone": "13612345678"}

    results = run_at_once(
        [book_morning(by, schedule.department, **caller) for by in (desk, other_desk)]
    )

    assert len(successes(results)) == 1
    assert errors_by_type(results) == Counter({DuplicateBooking: 1})
    same_caller = Q(patient__isnull=True, **caller)
    assert Appointment.objects.filter(same_caller).count() == 1
    assert_counter_is_exact(schedule)


# A person not yet on file has no row to lock (READ COMMITTED takes no gap locks): the
# matcher locks an identity row per phone first, and an insert that meets the unique ID
# index decides again instead of failing.
def test_one_new_person_registered_at_several_desks_at_once_gets_one_record():
    schedule = ScheduleFactory(work_date=WORK_DAY, max_patients=10)
    person = {
        "name": "Li Lei",
        "phone": "13711112222",
        "id_card": make_resident_id(dt.date(1985, 5, 5), seed=1),
        "gender": Gender.MALE,
    }

    results = run_at_once(
        [
            partial(register_walk_in, by=desk, department=schedule.department, now=NOW, **person)
            for desk in ReceptionistFactory.create_batch(4)
        ]
    )

    # Each desk serves the person (a second visit is allowed) or gets a domain error.
    assert all(isinstance(result, Visit | ClinicError) for result in results), results
    assert Patient.objects.filter(id_card=person["id_card"]).count() == 1
    assert_counter_is_exact(schedule)


def test_one_new_person_without_id_registered_at_several_desks_at_once_gets_one_record():
    schedule = ScheduleFactory(work_date=WORK_DAY, max_patients=10)
    person = {"name": "Han Mei", "phone": "13711113333", "gender": Gender.FEMALE}

    results = run_at_once(
        [
            partial(register_walk_in, by=desk, department=schedule.department, now=NOW, **person)
            for desk in ReceptionistFactory.create_batch(4)
        ]
    )

    assert all(isinstance(result, Visit | ClinicError) for result in results), results
    assert Patient.objects.filter(name="Han Mei", phone="13711113333").count() == 1
    assert_counter_is_exact(schedule)


def test_one_id_number_given_with_different_phones_at_once_gets_one_record():
    schedule = ScheduleFactory(work_date=WORK_DAY, max_patients=10)
    id_card = make_resident_id(dt.date(1990, 6, 6), seed=2)
    desks = ReceptionistFactory.create_batch(4)

    results = run_at_once(
        [
            partial(
                register_walk_in,
                by=desk,
                department=schedule.department,
                now=NOW,
                name="Wei Hua",
                phone=f"1371111444{index}",
                id_card=id_card,
            )
            for index, desk in enumerate(desks)
        ]
    )

    assert all(isinstance(result, Visit | ClinicError) for result in results), results
    assert Patient.objects.filter(id_card=id_card).count() == 1
    assert_counter_is_exact(schedule)
