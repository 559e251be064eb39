"""How close the expected waits come: a replay of generated history.

    python bench/waits.py                      # SQLite file in a temporary folder
    python bench/waits.py --days 28 --replay-days 7 --visits-per-day 200 --seed 22 --simulate-queue

Builds its own database (a throw-away SQLite file unless --database-url is given; the
database of DATABASE_URL is never written), migrates it, and fills it with
`manage.py generate_demo_history`. Then, for every visit of the last --replay-days days that
was called in, it asks the one estimate (visits.waits: consultation_times() for the doctor
as of the visit's check-in time, from consultations finished before that moment, and
estimate_wait()) with the queue as it stood at check-in: the doctor's patients checked in and
not yet called (in the one queue order: slot, schedule, queue number), the one in
consultation and for how long, the slot's opening. It compares that with the actual wait
(called_at − check_in_time) and prints the median absolute error of the range's midpoint,
the coverage (the share of actual waits inside the range) and, for scale, the error of a
constant guess (the median actual wait of the replayed days).

Read the figures with the generator in mind: generate_demo_history draws each wait
(5–60 minutes after check-in) and each consultation (5–25 minutes) at random, independently
of the queue, so its history has no queue for an estimate to follow; the replay measures the
estimate's plumbing and calibration on that data, not what a real waiting room would give.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Not bench/ itself first on the path: bench/statistics.py would stand in for the standard
# library's module (which Django's SQLite backend imports).
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != PROJECT_ROOT / "bench"]
sys.path.insert(0, str(PROJECT_ROOT))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Expected waits against generated history.")
    parser.add_argument("--days", type=int, default=28, help="days of history (28)")
    parser.add_argument(
        "--replay-days", type=int, default=7, help="last days replayed visit by visit (7)"
    )
    parser.add_argument("--visits-per-day", type=int, default=200, help="visits a day (200)")
    parser.add_argument("--seed", type=int, default=22, help="generator seed (22)")
    parser.add_argument(
        "--simulate-queue",
        action="store_true",
        help="first re-time the history as real queues: each doctor calls the next patient "
        "in queue order when free (no earlier than the slot and the arrival), keeping each "
        "consultation's generated length",
    )
    parser.add_argument(
        "--database-url",
        default=None,
        help="a database to create the data in (default: a temporary SQLite file)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="clinic-waits-bench-") as folder:
        os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{folder}/waits.sqlite3"
        return run(args)


def run(args: argparse.Namespace) -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-never-used-for-real-data")
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.utils import timezone

    from scheduling.models import slot_bounds
    from visits.models import SLOT_CALL_RANK, Visit, VisitStatus
    from visits.waits import consultation_times, estimate_wait, percentile

    def percentile_median(values: list[float]) -> float:
        return percentile(values, 0.5)

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    end = timezone.localdate() - dt.timedelta(days=1)
    call_command(
        "generate_demo_history",
        days=args.days,
        visits_per_day=args.visits_per_day,
        seed=args.seed,
        end_date=end,
        verbosity=0,
    )
    print(
        f"history: {args.days} days to {end}, about {args.visits_per_day} visits a day, "
        f"seed {args.seed} ({time.perf_counter() - started:.0f} s)"
    )
    print(
        f"settings: last {settings.CLINIC_WAIT_SAMPLE} consultations, at least "
        f"{settings.CLINIC_WAIT_MIN_SAMPLE}, within {settings.CLINIC_WAIT_LOOKBACK_DAYS} days; "
        f"default {settings.CLINIC_WAIT_DEFAULT_MINUTES}"
    )

    if args.simulate_queue:
        simulate_queues()
        print("history re-timed as queues (each doctor one patient at a time, in queue order)")

    first = end - dt.timedelta(days=args.replay_days - 1)
    errors: list[float] = []
    actual_waits: list[float] = []
    inside = without = 0
    by_basis: dict[str, int] = {}
    replay_started = time.perf_counter()
    day = first
    while day <= end:
        # The whole day's visits, one query; the queue at each check-in is rebuilt from them.
        rows = list(
            Visit.objects.filter(visit_date=day)
            .values_list(
                "pk",
                "status",
                "check_in_time",
                "called_at",
                "finished_at",
                "queue_number",
                "department_id",
                "schedule_id",
                "schedule__doctor_id",
                "schedule__time_slot",
            )
            .order_by("pk")
        )
        for pk, _status, check_in, called, _fin, number, dept, sched, doctor, slot in rows:
            if called is None:
                continue  # left unseen: no actual wait to compare with
            at = check_in
            mine = (SLOT_CALL_RANK[slot], sched, number)
            ahead = 0
            started_at = None
            for other in rows:
                o_status, o_in, o_called, o_finished = other[1], other[2], other[3], other[4]
                if other[8] != doctor or other[0] == pk or o_in > at:
                    continue
                if o_called is not None and o_called <= at:
                    if o_finished is not None and o_finished > at:
                        started_at = max(started_at or o_called, o_called)
                    continue
                gone = o_status == VisitStatus.CANCELLED and o_finished <= at
                if not gone and (SLOT_CALL_RANK[other[9]], other[7], other[5]) < mine:
                    ahead += 1
            times = consultation_times({doctor: dept}, now=at)[doctor]
            estimate = estimate_wait(
                ahead=ahead,
                times=times,
                in_consultation_for=at - started_at if started_at is not None else None,
                opens_in=slot_bounds(day, slot)[0] - at,
            )
            actual = (called - check_in).total_seconds() / 60
            actual_waits.append(actual)
            if estimate is None:
                without += 1
                continue
            by_basis[times.basis] = by_basis.get(times.basis, 0) + 1
            middle = (estimate.low_minutes + estimate.high_minutes) / 2
            errors.append(abs(middle - actual))
            inside += estimate.low_minutes <= actual <= estimate.high_minutes
        day += dt.timedelta(days=1)

    time_the_queries(end)

    if not errors:
        print("no estimate could be made: no finished consultations before the replayed days")
        return 1
    constant = percentile_median(actual_waits)
    constant_errors = [abs(constant - wait) for wait in actual_waits]
    print(
        f"replayed {len(actual_waits)} called visits of {args.replay_days} days "
        f"({first} to {end}) in {time.perf_counter() - replay_started:.1f} s"
    )
    print(f"estimates: {len(errors)} (basis: {by_basis}), none for {without}")
    print(f"median absolute error (midpoint of the range): {percentile_median(errors):.1f} min")
    print(f"coverage (actual wait inside the range): {inside / len(errors):.0%}")
    print(
        f"for scale: actual waits median {constant:.1f} min; a constant guess of it errs "
        f"{percentile_median(constant_errors):.1f} min (median absolute)"
    )
    return 0


def time_the_queries(day: dt.date, runs: int = 50) -> None:
    """The live path's statements at the end of `day`: every doctor's last consultations in
    one query (and the departments' in another), timed, with the database's plan."""
    from django.db import connection
    from django.utils import timezone

    from clinic.models import Employee
    from visits.waits import consultation_times, finished_consultations, last_durations

    now = timezone.make_aware(dt.datetime.combine(day, dt.time(18, 0)))
    doctors = dict(
        Employee.objects.filter(schedules__work_date=day)
        .values_list("pk", "department_id")
        .distinct()
    )
    for label, call in (
        ("every doctor's last consultations", lambda: consultation_times(doctors, now=now)),
        (
            "every department's last consultations",
            lambda: last_durations("department_id", doctors.values(), now=now),
        ),
    ):
        timings = []
        for _ in range(runs):
            began = time.perf_counter()
            call()
            timings.append((time.perf_counter() - began) * 1000)
        timings.sort()
        p50, p95 = timings[len(timings) // 2], timings[int(len(timings) * 0.95)]
        print(
            f"{label} ({len(doctors)} doctors, {connection.vendor}): "
            f"p50 {p50:.1f} ms, p95 {p95:.1f} ms"
        )
    if connection.vendor != "mysql":
        return
    for group, ids in (("schedule__doctor_id", doctors), ("department_id", doctors.values())):
        # The rows the window ranks (Django cannot EXPLAIN a query filtered on a window).
        print(f"  EXPLAIN of the rows ranked ({group}):")
        scanned = finished_consultations(group, ids, now=now).order_by().values_list("called_at")
        for line in scanned.explain().splitlines():
            print("   ", line)


def simulate_queues() -> None:
    """Re-time every called visit as a doctor working through the queue: called when the
    doctor is free (and the patient has arrived and the slot has opened), in queue order,
    for the consultation length the generator drew."""
    from scheduling.models import slot_bounds
    from visits.models import SLOT_CALL_RANK, Visit

    visits = list(
        Visit.objects.filter(called_at__isnull=False).select_related("schedule").order_by("pk")
    )
    visits.sort(
        key=lambda v: (
            v.schedule.doctor_id,
            v.visit_date,
            SLOT_CALL_RANK[v.schedule.time_slot],
            v.schedule_id,
            v.queue_number,
        )
    )
    free_at: dict[tuple, dt.datetime] = {}
    for visit in visits:
        key = (visit.schedule.doctor_id, visit.visit_date)
        length = visit.finished_at - visit.called_at
        opens = slot_bounds(visit.visit_date, visit.schedule.time_slot)[0]
        start = max(visit.check_in_time, opens, free_at.get(key, opens))
        visit.called_at, visit.finished_at = start, start + length
        free_at[key] = visit.finished_at
    Visit.objects.bulk_update(visits, ["called_at", "finished_at"], batch_size=500)


if __name__ == "__main__":
    sys.exit(main())
