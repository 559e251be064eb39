"""Booking under contention: throughput, latency, and proof that no schedule is oversold.

    DATABASE_URL=mysql://clinic:clinic@127.0.0.1:3306/clinic python bench/booking.py

Threads book morning places through `appointments.services.book_appointment` (patients booking
for themselves, no doctor chosen) into departments whose schedules hold fewer places than there
are attempts. The run uses its own database (`clinic_bench` by default, created with Django's
test-database utilities, migrated, and dropped afterwards): the database named in DATABASE_URL
is never written. Needs a MySQL-family server; SQLite has no row locks and is refused.

Exit status: 0 when every check holds, 1 when a schedule is oversold, a counter drifted or a
booking failed with anything but a domain error, 2 when the bench cannot run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-never-used-for-real-data")

import django  # noqa: E402

from bench._db import CannotRun, throwaway_database  # noqa: E402
from bench._http import percentile  # noqa: E402

# A future Monday at 07:30 clinic time: the morning slot (08:00-12:00) is open for booking.
WORK_DAY = dt.date(2030, 3, 4)
BOOKING_CLOCK = dt.time(7, 30)
EXPECTED_CLOCK = dt.time(9, 0)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Concurrent booking benchmark for Clinic Flow (MariaDB/MySQL only)."
    )
    parser.add_argument("--threads", type=int, default=16, help="booking threads (default 16)")
    parser.add_argument(
        "--departments",
        type=int,
        default=4,
        help="departments the schedules are spread over; bookings of one department and slot "
        "serialise on its schedules' locks (default 4)",
    )
    parser.add_argument(
        "--schedules", type=int, default=8, help="morning schedules in all (default 8)"
    )
    parser.add_argument("--capacity", type=int, default=40, help="places per schedule (default 40)")
    parser.add_argument(
        "--attempts",
        type=int,
        default=None,
        help="booking attempts in all, each by a different patient (default: twice the places)",
    )
    parser.add_argument(
        "--db-name", default="clinic_bench", help="throw-away database (default clinic_bench)"
    )
    parser.add_argument(
        "--replace",
        action="store_true",
        help="drop an existing database of that name first (otherwise the bench refuses)",
    )
    args = parser.parse_args(argv)
    if min(args.threads, args.departments, args.schedules, args.capacity) < 1:
        parser.error("--threads, --departments, --schedules and --capacity must be at least 1")
    if args.departments > args.schedules:
        parser.error("--departments cannot exceed --schedules (each needs a schedule)")
    if args.attempts is None:
        args.attempts = 2 * args.schedules * args.capacity
    if args.attempts < 1:
        parser.error("--attempts must be at least 1")
    return args


@dataclass
class Tally:
    """What the threads saw, merged under one lock."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: list[float] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    unexpected: Counter[str] = field(default_factory=Counter)
    lock_errors_retried: int = 0


def create_fixtures(args: argparse.Namespace) -> tuple[list, list[int]]:
    """Departments with their rooms, doctors and morning schedules; patient accounts."""
    from clinic.models import Department, Employee, Gender, Patient, Position, Role, Room, User
    from scheduling.models import Schedule, TimeSlot

    departments = [
        Department.objects.create(name=f"Bench department {index}", code=f"bench{index}")
        for index in range(args.departments)
    ]
    for index in range(args.schedules):
        department = departments[index % args.departments]
        doctor = Employee.objects.create(
            emp_id=f"BD{index:04d}",
            name=f"Doctor {index}",
            gender=Gender.FEMALE,
            position=Position.DOCTOR,
            department=department,
        )
        room = Room.objects.create(room_number=f"B{index:03d}", department=department)
        Schedule.objects.create(
            department=department,
            room=room,
            doctor=doctor,
            work_date=WORK_DAY,
            time_slot=TimeSlot.MORNING,
            max_patients=args.capacity,
        )
    # Unusable passwords: hashing thousands of real ones would dominate the set-up.
    User.objects.bulk_create(
        User(username=f"bench{index}", role=Role.PATIENT, password="!")  # noqa: S106
        for index in range(args.attempts)
    )
    users = dict(User.objects.filter(username__startswith="bench").values_list("username", "pk"))
    Patient.objects.bulk_create(
        Patient(
            name=f"Patient {index}",
            gender=Gender.MALE,
            phone=f"139{index:08d}",
            user_id=users[f"bench{index}"],
        )
        for index in range(args.attempts)
    )
    # In attempt order, so that attempt i is patient i booking department i mod D.
    user_ids = [users[f"bench{index}"] for index in range(args.attempts)]
    return departments, user_ids


def run_bookings(args: argparse.Namespace, departments: list, user_ids: list[int]) -> tuple:
    from django.db import connection
    from django.utils import timezone

    import clinic.db
    from appointments.services import book_appointment
    from clinic.exceptions import ClinicError
    from clinic.models import User

    tz = timezone.get_default_timezone()
    now = timezone.make_aware(dt.datetime.combine(WORK_DAY, BOOKING_CLOCK), tz)
    expected_time = timezone.make_aware(dt.datetime.combine(WORK_DAY, EXPECTED_CLOCK), tz)
    users = User.objects.in_bulk(user_ids)
    tally = Tally()

    # Count the deadlocks and lock-wait timeouts that the entry point's wrapper retries.
    original_is_retryable = clinic.db.is_retryable

    def counting_is_retryable(error: Exception) -> bool:
        retryable = original_is_retryable(error)
        if retryable:
            with tally.lock:
                tally.lock_errors_retried += 1
        return retryable

    clinic.db.is_retryable = counting_is_retryable

    next_attempt = iter(range(args.attempts))
    next_lock = threading.Lock()
    barrier = threading.Barrier(args.threads + 1)

    def worker() -> None:
        latencies: list[float] = []
        outcomes: Counter[str] = Counter()
        unexpected: Counter[str] = Counter()
        try:
            connection.ensure_connection()
            barrier.wait()
            while True:
                with next_lock:
                    attempt = next(next_attempt, None)
                if attempt is None:
                    break
                started = time.perf_counter()
                try:
                    book_appointment(
                        by=users[user_ids[attempt]],
                        department=departments[attempt % len(departments)],
                        expected_time=expected_time,
                        now=now,
                    )
                    outcomes["booked"] += 1
                except ClinicError as error:
                    outcomes[type(error).__name__] += 1
                except Exception as error:
                    unexpected[f"{type(error).__name__}: {error}"[:120]] += 1
                latencies.append(time.perf_counter() - started)
        finally:
            connection.close()
            with tally.lock:
                tally.latencies.extend(latencies)
                tally.outcomes.update(outcomes)
                tally.unexpected.update(unexpected)

    threads = [
        threading.Thread(target=worker, name=f"bench-{index}") for index in range(args.threads)
    ]
    try:
        for thread in threads:
            thread.start()
        barrier.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
    finally:
        clinic.db.is_retryable = original_is_retryable
    return tally, elapsed


@dataclass
class Checks:
    schedules: int
    full: int
    oversold: int
    counter_drift: int
    live_appointments: int


def check_schedules() -> Checks:
    """Every schedule against its maximum and against its live appointments, from the database."""
    from django.db.models import Count, Q

    from appointments.models import LIVE_STATUSES
    from scheduling.models import Schedule

    rows = Schedule.objects.annotate(
        live=Count("appointments", filter=Q(appointments__status__in=LIVE_STATUSES))
    ).values_list("max_patients", "current_patients", "live")
    checks = Checks(len(rows), 0, 0, 0, 0)
    for max_patients, current, live in rows:
        checks.full += current == max_patients
        checks.oversold += current > max_patients or live > max_patients
        checks.counter_drift += current != live
        checks.live_appointments += live
    return checks


def print_report(args, server: str, tally: Tally, elapsed: float, checks: Checks) -> bool:
    latencies = sorted(tally.latencies)
    booked = tally.outcomes.get("booked", 0)
    rejections = {name: n for name, n in sorted(tally.outcomes.items()) if name != "booked"}
    places = args.schedules * args.capacity
    rows: list[tuple[str, str]] = [
        ("attempts", f"{len(latencies)}"),
        ("wall time (s)", f"{elapsed:.2f}"),
        ("attempts per second", f"{len(latencies) / elapsed:.1f}"),
        ("bookings per second", f"{booked / elapsed:.1f}"),
        ("latency p50 (ms)", f"{percentile(latencies, 0.50) * 1000:.1f}"),
        ("latency p95 (ms)", f"{percentile(latencies, 0.95) * 1000:.1f}"),
        ("latency max (ms)", f"{latencies[-1] * 1000:.1f}" if latencies else "-"),
        ("successes", f"{booked}"),
        *((f"rejections: {name}", f"{n}") for name, n in rejections.items()),
        ("rejections (all)", f"{sum(rejections.values())}"),
        ("unexpected errors", f"{sum(tally.unexpected.values())}"),
        ("lock errors retried", f"{tally.lock_errors_retried}"),
        ("schedules full", f"{checks.full} / {checks.schedules}"),
        ("live appointments", f"{checks.live_appointments}"),
        ("oversold schedules", f"{checks.oversold}"),
        ("counter ≠ live appointments", f"{checks.counter_drift}"),
    ]
    width = max(len(name) for name, _ in rows)
    value_width = max(len(value) for _, value in rows)
    print(
        f"\nClinic Flow booking bench · {server} · database {args.db_name}\n"
        f"{args.threads} threads · {args.departments} department(s) · {args.schedules} schedules "
        f"× {args.capacity} places = {places} · {args.attempts} attempts\n"
    )
    print(f"{'figure':<{width}}  {'value':>{value_width}}")
    print(f"{'-' * width}  {'-' * value_width}")
    for name, value in rows:
        print(f"{name:<{width}}  {value:>{value_width}}")
    for message, n in tally.unexpected.most_common(5):
        print(f"  unexpected ×{n}: {message}")

    expected_successes = min(places, args.attempts)
    ok = (
        checks.oversold == 0
        and checks.counter_drift == 0
        and not tally.unexpected
        and booked == checks.live_appointments
    )
    if booked != expected_successes:
        # Not an oversell, but worth a look: places left while someone was turned away.
        print(f"\nnote: {booked} successes for {expected_successes} reachable places")
    print("\nresult:", "OK (no oversell, counters exact)" if ok else "FAILED")
    return ok


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    django.setup()
    if args.threads > 100:
        print("note: each thread holds one connection; mind max_connections.", file=sys.stderr)
    try:
        with throwaway_database(
            args.db_name, replace=args.replace, script="bench/booking.py"
        ) as server:
            departments, user_ids = create_fixtures(args)
            tally, elapsed = run_bookings(args, departments, user_ids)
            checks = check_schedules()
            ok = print_report(args, server, tally, elapsed, checks)
    except CannotRun as error:
        print(error, file=sys.stderr)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
