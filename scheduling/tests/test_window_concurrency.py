"""Real threads against MariaDB: time-sliced booking keeps both counters exact under load.

A place is taken in a window and in its schedule in one locked transaction (the schedule
row, then the window's): whatever the interleaving, a window never holds more than its
quota, and the schedule's counter stays the sum of its windows'.

As in tests/test_concurrency.py: rows are created in the main thread (committed:
`transaction=True`), the threads start together on a `threading.Barrier`, each opens its
connection before it and closes it in `finally`, and the counts are read back from the
database. The server allows 151 connections (MariaDB's default) and other test runs may
share it: the requests are spread over fewer threads than requests, each thread sending
its share back to back once the barrier opens.

Every service is given its clock (`now=`): the schedule runs on a fixed future work day
(tests.support.WORK_DAY), so check-in and walk-ins are open at the clocks below whenever
the suite runs. SQLite has no row locks: the root conftest skips these tests there.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
from collections import Counter
from collections.abc import Callable
from functools import partial
from typing import Any

import pytest
from django.db import connection
from django.db.models import Count, Q

from appointments.exceptions import DuplicateBooking
from appointments.models import LIVE_STATUSES, Appointment, AppointmentStatus
from appointments.services import book_appointment
from billing.invariants import find_problems
from clinic.exceptions import InvalidTransition
from clinic.models import Role
from clinic.tests.factories import (
    AdminUserFactory,
    PatientFactory,
    PatientUserFactory,
    ReceptionistFactory,
    letters,
)
from scheduling.exceptions import NoCapacity
from scheduling.models import Schedule, ScheduleWindow
from scheduling.services import WindowQuota, set_window_quotas
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time
from visits.exceptions import AlreadyInQueue
from visits.models import Visit, VisitStatus
from visits.services import check_in, register_walk_in

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]

# The day before the work day: every window is still ahead.
BOOKING_CLOCK = clinic_time(10, day=WORK_DAY - dt.timedelta(days=1))
# During the 08:30-09:00 window: check-in is open for every window of an 08:00-10:00
# schedule (from 60 minutes before its start), walk-ins join the running window or the next.
DESK_CLOCK = clinic_time(8, 40)
# The schedule's end plus the 30 minutes' grace: no-shows may be marked.
NO_SHOW_CLOCK = clinic_time(10, 30)
# Connections held at once by one test's threads (see the module's docstring).
THREADS = 50
JOIN_TIMEOUT = 180


def run_in_threads(calls: list[Callable[[], Any]], *, threads: int = THREADS) -> list[Any]:
    """Run `calls` from `threads` threads (each its share, in turn), all released together by
    a barrier; return each call's result, or the exception it raised, in the order of
    `calls`. Each thread opens its own connection before the barrier and closes it after."""
    threads = min(threads, len(calls))
    barrier = threading.Barrier(threads)
    results: list[Any] = [None] * len(calls)

    def worker(indexes: range) -> None:
        try:
            connection.ensure_connection()
            barrier.wait(timeout=60)
            for index in indexes:
                try:
                    results[index] = calls[index]()
                except Exception as error:
                    results[index] = error
        finally:
            connection.close()

    workers = [
        threading.Thread(target=worker, args=(range(start, len(calls), threads),))
        for start in range(threads)
    ]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in workers), "a thread is stuck"
    return results


def outcomes(results: list[Any]) -> Counter[type]:
    return Counter(type(result) for result in results)


def windowed_schedule(quotas: list[int], *, desk_only: set[int] = frozenset()) -> Schedule:
    """An 08:00-10:00 schedule on the work day in 30-minute windows (4 of them), given these
    quotas (and windows kept for the desk, by index) through the admin's service."""
    schedule = ScheduleFactory(
        work_date=WORK_DAY,
        start_time=dt.time(8, 0),
        end_time=dt.time(10, 0),
        window_minutes=30,
        max_patients=sum(quotas),
    )
    windows = list(schedule.windows.order_by("start_time"))
    assert [window.label for window in windows] == [
        "08:00–08:30",
        "08:30–09:00",
        "09:00–09:30",
        "09:30–10:00",
    ]
    return set_window_quotas(
        schedule=schedule,
        quotas=[
            WindowQuota(window.pk, quota, index in desk_only)
            for index, (window, quota) in enumerate(zip(windows, quotas, strict=True))
        ],
        by=AdminUserFactory(),
    )


def held_in_windows(schedule: Schedule) -> dict[int, tuple[int, int, int]]:
    """Each window's (used, live bookings + visits not cancelled, quota), read afresh."""
    windows = ScheduleWindow.objects.filter(schedule=schedule).annotate(
        live=Count("appointments", filter=Q(appointments__status__in=LIVE_STATUSES), distinct=True),
        seen=Count("visits", filter=~Q(visits__status=VisitStatus.CANCELLED), distinct=True),
    )
    return {window.pk: (window.used, window.live + window.seen, window.quota) for window in windows}


def assert_counters_exact(schedule: Schedule) -> None:
    held = held_in_windows(schedule)
    for window_id, (used, holding, quota) in held.items():
        assert used == holding, f"window {window_id}: {used} counted, {holding} held"
        assert 0 <= used <= quota, f"window {window_id}: {used} of {quota}"
    schedule.refresh_from_db()
    assert schedule.current_patients == sum(used for used, _, _ in held.values())
    assert schedule.max_patients == sum(quota for _, _, quota in held.values())
    assert find_problems() == []


def test_two_hundred_bookings_for_one_window_of_five_book_exactly_five():
    # 20 places in four windows; the 08:30-09:00 window holds 5 of them.
    schedule = windowed_schedule([7, 5, 4, 4])
    target = schedule.windows.get(start_time=dt.time(8, 30))
    assert target.quota == 5
    department = schedule.department
    desk = ReceptionistFactory()
    online = [
        partial(
            book_appointment,
            by=user,
            department=department,
            expected_time=clinic_time(8, 45),
            now=BOOKING_CLOCK,
        )
        for user in PatientUserFactory.create_batch(100)
    ]
    on_the_phone = [
        partial(
            book_appointment,
            by=desk,
            department=department,
            patient_name=f"Caller {letters(index)}",
            phone=f"137{index:08d}",
            expected_time=clinic_time(8, 30 + index % 30),
            now=BOOKING_CLOCK,
        )
        for index in range(100)
    ]
    calls = [call for pair in zip(online, on_the_phone, strict=True) for call in pair]

    results = run_in_threads(calls)

    assert outcomes(results) == Counter({Appointment: 5, NoCapacity: 195})
    refusals = [result for result in results if isinstance(result, NoCapacity)]
    assert {refusal.details["window"] for refusal in refusals} == {"08:30–09:00"}
    booked = Appointment.objects.filter(schedule=schedule)
    assert booked.count() == 5
    assert booked.filter(window=target, status=AppointmentStatus.PENDING).count() == 5
    target.refresh_from_db()
    assert target.used == 5
    others = schedule.windows.exclude(pk=target.pk)
    assert list(others.values_list("used", flat=True)) == [0, 0, 0]
    schedule.refresh_from_db()
    assert schedule.current_patients == 5
    assert_counters_exact(schedule)


def test_a_mixed_storm_over_every_window_keeps_each_window_and_the_schedule_exact():
    rng = random.Random(23)
    # 24 places; the last window is kept for the desk (patients online cannot take it).
    schedule = windowed_schedule([6, 7, 5, 6], desk_only={3})
    department = schedule.department
    desk, other_desk = ReceptionistFactory(), ReceptionistFactory()
    starts = [dt.time(8, 5), dt.time(8, 35), dt.time(9, 5), dt.time(9, 35)]

    # Held before the storm: 14 bookings across the windows (4, 4, 3, 3) and 4 walk-ins.
    booked_patients = PatientFactory.create_batch(14)
    held = [
        book_appointment(
            by=desk,
            department=department,
            patient=patient,
            expected_time=clinic_time(starts[index % 4].hour, starts[index % 4].minute),
            now=BOOKING_CLOCK,
        )
        for index, patient in enumerate(booked_patients)
    ]
    waiting = [
        register_walk_in(by=desk, department=department, patient=patient, now=DESK_CLOCK)
        for patient in PatientFactory.create_batch(4)
    ]
    assert_counters_exact(schedule)

    def booking_move(appointment: Appointment, patient, move: str) -> Callable[[], Any]:
        # Each move its own instance: a transition method re-reads (mutates) it.
        copy = Appointment.objects.get(pk=appointment.pk)
        if move == "cancel":
            return partial(copy.cancel, by=rng.choice([desk, other_desk]), reason="storm")
        if move == "no_show":
            return partial(copy.mark_no_show, by=other_desk, now=NO_SHOW_CLOCK)
        return partial(
            check_in,
            appointment_id=appointment.pk,
            phone=patient.phone,
            id_card=patient.id_card,
            by=rng.choice([desk, other_desk]),
            now=DESK_CLOCK,
        )

    # Two moves race for each held booking (cancel, check-in, no-show): one of them wins.
    contested: dict[int, list[int]] = {}
    calls: list[Callable[[], Any]] = []
    for appointment, patient in zip(held, booked_patients, strict=True):
        for move in rng.sample(["cancel", "check_in", "no_show"], 2):
            contested.setdefault(appointment.pk, []).append(len(calls))
            calls.append(booking_move(appointment, patient, move))
    # New bookings at random times, online and by phone; walk-ins; patients leaving unseen.
    for user in PatientUserFactory.create_batch(20):
        minute = rng.randrange(120)
        calls.append(
            partial(
                book_appointment,
                by=user,
                department=department,
                expected_time=clinic_time(8 + minute // 60, minute % 60),
                now=BOOKING_CLOCK,
            )
        )
    for index in range(20):
        minute = rng.randrange(120)
        calls.append(
            partial(
                book_appointment,
                by=rng.choice([desk, other_desk]),
                department=department,
                patient_name=f"Caller {letters(index)}",
                phone=f"137{index:08d}",
                expected_time=clinic_time(8 + minute // 60, minute % 60),
                now=BOOKING_CLOCK,
            )
        )
    for patient in PatientFactory.create_batch(12):
        calls.append(
            partial(
                register_walk_in,
                by=rng.choice([desk, other_desk]),
                department=department,
                patient=patient,
                now=DESK_CLOCK,
            )
        )
    for visit in waiting:
        calls.append(partial(Visit.objects.get(pk=visit.pk).leave_unseen, by=other_desk))
    order = list(range(len(calls)))
    rng.shuffle(order)
    shuffled = [calls[index] for index in order]

    results_shuffled = run_in_threads(shuffled, threads=16)
    results: list[Any] = [None] * len(calls)
    for position, index in enumerate(order):
        results[index] = results_shuffled[position]

    # Only the refusals the rules allow; never a database error, a deadlock or a timeout.
    refused = {type(result) for result in results if isinstance(result, Exception)}
    assert refused <= {NoCapacity, InvalidTransition, DuplicateBooking, AlreadyInQueue}, results
    for appointment_id, indexes in contested.items():
        won = [results[index] for index in indexes if not isinstance(results[index], Exception)]
        assert len(won) == 1, (appointment_id, [results[index] for index in indexes])
    assert any(isinstance(result, NoCapacity) for result in results), "capacity never ran out"
    for visit in waiting:
        visit.refresh_from_db()
        assert visit.status == VisitStatus.CANCELLED
    # The window kept for the desk took no patient's own booking.
    desk_window = schedule.windows.get(start_time=dt.time(9, 30))
    assert not desk_window.appointments.filter(created_by__role=Role.PATIENT).exists()
    assert_counters_exact(schedule)
