"""Statistics at size: a year of income and visits, grouped by day, department and doctor.

    DATABASE_URL=mysql://clinic:clinic@127.0.0.1:3306/clinic python bench/statistics.py

Loads a year of history (1,000,000 visits and 1,000,000 income records by default) into its
own database (`clinic_stats_bench`, created with Django's test-database utilities, migrated,
and dropped afterwards: the database named in DATABASE_URL is never written), builds the
daily summaries with `DailyIncomeSummary.rebuild()` and `VisitDailySummary.rebuild()`, checks
both against the detail, then times the statistics page's queries (billing.selectors,
visits.statistics) over the whole year and prints p50/p95 per grouping with the EXPLAIN of
each query. For comparison it also times income grouped by day straight from the detail rows
(what the summary table saves). Visits by department and doctor include their exact distinct
patients, counted on the visits (the one figure a daily summary cannot add up).

The rows are generated in the database (INSERT ... SELECT from MariaDB's sequence engine),
with foreign-key and unique checks off during the load only: a fresh, consistent data set
(one bill and one income record per settled visit, unique queue numbers per schedule).
Needs MariaDB (10.x: the sequence engine); SQLite and MySQL are refused.

Exit status: 0 when both summaries equal the detail and every figure was measured, 1 when a
summary differs, 2 when the bench cannot run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-never-used-for-real-data")

import django  # noqa: E402

from bench._db import server_cursor  # noqa: E402

FIRST_DAY = dt.date(2029, 1, 1)
CHUNK = 250_000
# The SQL below interpolates only integers (counts, chunk bounds); dates are parameters.


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Statistics benchmark for Clinic Flow (MariaDB only)."
    )
    parser.add_argument("--visits", type=int, default=1_000_000, help="visits (1,000,000)")
    parser.add_argument(
        "--income",
        type=int,
        default=1_000_000,
        help="settled visits, each with a bill and an income record (1,000,000; at most "
        "--visits: the rest are spread over the other statuses)",
    )
    parser.add_argument("--days", type=int, default=365, help="days of history (365)")
    parser.add_argument("--departments", type=int, default=8, help="departments (8)")
    parser.add_argument("--doctors", type=int, default=40, help="doctors, one room each (40)")
    parser.add_argument("--patients", type=int, default=200_000, help="patients (200,000)")
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per query (30)")
    parser.add_argument(
        "--db-name", default="clinic_stats_bench", help="throw-away database (clinic_stats_bench)"
    )
    parser.add_argument(
        "--replace", action="store_true", help="drop an existing database of that name first"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the database afterwards (to explore it)"
    )
    args = parser.parse_args(argv)
    if min(args.visits, args.days, args.departments, args.doctors, args.patients) < 1:
        parser.error("--visits, --days, --departments, --doctors and --patients must be >= 1")
    if not 0 <= args.income <= args.visits:
        parser.error("--income must be between 0 and --visits")
    if args.departments > args.doctors:
        parser.error("--departments cannot exceed --doctors")
    return args


def percentile(sorted_values: list[float], fraction: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, round(fraction * len(sorted_values) + 0.5))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def database_exists(name: str) -> bool:

    with server_cursor() as cursor:
        cursor.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", [name])
        return cursor.fetchone() is not None


def drop_database(name: str) -> None:
    from django.db import connection

    with server_cursor() as cursor:
        cursor.execute(f"DROP DATABASE {connection.ops.quote_name(name)}")


class Stopwatch:
    def __init__(self) -> None:
        self.laps: list[tuple[str, float]] = []

    def lap(self, name: str, step: Callable[[], object]) -> object:
        print(f"  {name} …", file=sys.stderr, flush=True)
        started = time.perf_counter()
        result = step()
        self.laps.append((name, time.perf_counter() - started))
        return result


def execute(sql: str, params: list | None = None) -> int:
    """Run one statement. Without params the SQL is sent as is; with params, MySQLdb
    formats it, so the SQL here uses MOD rather than a literal percent sign."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def in_chunks(total: int, insert: Callable[[int, int], None]) -> None:
    """Call insert(first, last) over 1..total in chunks, each its own statement."""
    for first in range(1, total + 1, CHUNK):
        insert(first, min(first + CHUNK - 1, total))


def load(args: argparse.Namespace, watch: Stopwatch) -> None:
    """Departments, doctors and rooms with the ORM; the bulk with INSERT ... SELECT."""
    from clinic.models import Department, Employee, Gender, Position, Room

    doctors, days = args.doctors, args.days
    schedules = days * doctors * 2
    Department.objects.bulk_create(
        Department(pk=index, name=f"Department {index:02d}", code=f"dep{index}")
        for index in range(1, args.departments + 1)
    )
    Employee.objects.bulk_create(
        Employee(
            pk=index,
            emp_id=f"D{index:04d}",
            name=f"Doctor {index:03d}",
            gender=Gender.FEMALE,
            position=Position.DOCTOR,
            department_id=(index - 1) % args.departments + 1,
        )
        for index in range(1, doctors + 1)
    )
    Room.objects.bulk_create(
        Room(
            pk=index, room_number=f"R{index:03d}", department_id=(index - 1) % args.departments + 1
        )
        for index in range(1, doctors + 1)
    )
    execute("SET SESSION foreign_key_checks = 0")
    execute("SET SESSION unique_checks = 0")
    try:
        watch.lap(
            f"patients ({args.patients:,})",
            lambda: in_chunks(
                args.patients,
                lambda first, last: execute(
                    "INSERT INTO clinic_patient (id, name, gender, birth_date, id_type, id_card, "  # noqa: S608 (integers only)
                    "id_verified, phone, user_id, created_at) "
                    f"SELECT seq, CONCAT('Patient ', seq), IF(seq MOD 2, 'male', 'female'), NULL, "
                    f"'other', NULL, FALSE, CONCAT('139', LPAD(seq, 8, '0')), NULL, NOW(6) "
                    f"FROM seq_{first}_to_{last}"
                ),
            ),
        )
        # Schedule s (1-based): day (s-1) DIV (2 × doctors), doctor ((s-1) DIV 2) MOD doctors,
        # morning when s is odd. The doctor's room has the doctor's number.
        watch.lap(
            f"schedules ({schedules:,})",
            lambda: execute(
                "INSERT INTO scheduling_schedule (id, department_id, room_id, doctor_id, "  # noqa: S608 (integers only)
                "work_date, time_slot, max_patients, current_patients, created_at) "
                "SELECT seq, (((seq - 1) DIV 2) MOD %s) MOD %s + 1, ((seq - 1) DIV 2) MOD %s + 1, "
                "((seq - 1) DIV 2) MOD %s + 1, %s + INTERVAL ((seq - 1) DIV (2 * %s)) DAY, "
                "IF(seq MOD 2, 'morning', 'afternoon'), 1000, 0, NOW(6) "
                f"FROM seq_1_to_{schedules}",
                [doctors, args.departments, doctors, doctors, FIRST_DAY, doctors],
            ),
        )
        # Visit v lands on schedule ((v-1) MOD S) + 1 with queue number (v-1) DIV S + 1.
        # Visits up to --income are settled (left); the rest wait, or left unseen.
        schedule = f"((seq - 1) MOD {schedules} + 1)"
        watch.lap(
            f"visits ({args.visits:,})",
            lambda: in_chunks(
                args.visits,
                lambda first, last: execute(
                    "INSERT INTO visits_visit (id, appointment_id, patient_id, department_id, "  # noqa: S608 (integers only)
                    "schedule_id, queue_number, status, visit_date, check_in_time, called_at, "
                    "finished_at, created_at) "
                    f"SELECT seq, NULL, (seq * 7919) MOD %s + 1, "
                    f"((({schedule} - 1) DIV 2) MOD %s) MOD %s + 1, {schedule}, "
                    f"(seq - 1) DIV {schedules} + 1, "
                    "CASE WHEN seq <= %s THEN 'left' "
                    "WHEN seq MOD 3 = 0 THEN 'waiting' WHEN seq MOD 3 = 1 THEN 'cancelled' "
                    "ELSE 'awaiting_payment' END, "
                    f"%s + INTERVAL (({schedule} - 1) DIV (2 * %s)) DAY, "
                    f"TIMESTAMP(%s + INTERVAL (({schedule} - 1) DIV (2 * %s)) DAY, "
                    f"IF({schedule} MOD 2, '01:00:00', '06:00:00')) "
                    "+ INTERVAL (seq MOD 180) MINUTE, "
                    "NULL, NULL, NOW(6) "
                    f"FROM seq_{first}_to_{last}",
                    [
                        args.patients,
                        doctors,
                        args.departments,
                        args.income,
                        FIRST_DAY,
                        doctors,
                        FIRST_DAY,
                        doctors,
                    ],
                ),
            ),
        )
        watch.lap(
            "places taken per schedule",
            lambda: execute(
                "UPDATE scheduling_schedule s JOIN (SELECT schedule_id, COUNT(*) AS held "
                "FROM visits_visit WHERE status <> 'cancelled' GROUP BY schedule_id) v "
                "ON v.schedule_id = s.id SET s.current_patients = v.held"
            ),
        )
        # Bill b belongs to visit b: a total up to 499.99, insurance 0-70 % of it.
        watch.lap(
            f"bills ({args.income:,})",
            lambda: in_chunks(
                args.income,
                lambda first, last: execute(
                    "INSERT INTO billing_bill (id, visit_id, number, total_amount, "  # noqa: S608 (integers only)
                    "insurance_amount, self_pay_amount, estimated_insurance_amount, "
                    "insurance_override_reason, insurance_plan_name, pay_status, pay_time, "
                    "cashier_id, shift_id, tendered_amount, refunded_amount, "
                    "refunded_insurance_amount, refunded_self_pay_amount, created_at) "
                    "SELECT v.id, v.id, CONCAT('B', DATE_FORMAT(v.visit_date, '%Y%m%d'), '-', "
                    "v.id), t.total, t.insurance, t.total - t.insurance, t.insurance, '', '', "
                    "'paid', v.check_in_time + INTERVAL 1 HOUR, NULL, NULL, NULL, 0, 0, 0, "
                    "NOW(6) "
                    "FROM visits_visit v JOIN (SELECT seq, ((seq * 7919) MOD 50000) / 100 AS "
                    "total, ROUND(((seq * 7919) MOD 50000) / 100 * (seq MOD 8) / 10, 2) AS "
                    f"insurance FROM seq_{first}_to_{last}) t ON t.seq = v.id "
                    "WHERE v.status = 'left'"
                ),
            ),
        )
        # Income record i books bill i: the same schedule arithmetic as visit i, no joins.
        income_schedule = f"((seq - 1) MOD {schedules} + 1)"
        watch.lap(
            f"income records ({args.income:,})",
            lambda: in_chunks(
                args.income,
                lambda first, last: execute(
                    "INSERT INTO billing_incomerecord (id, bill_id, refund_id, department_id, "  # noqa: S608 (integers only)
                    "doctor_id, amount, insurance_amount, self_pay_amount, record_date, "
                    "created_at) "
                    f"SELECT seq, seq, NULL, ((({income_schedule} - 1) DIV 2) MOD %s) MOD %s + 1, "
                    f"(({income_schedule} - 1) DIV 2) MOD %s + 1, t.total, t.insurance, "
                    "t.total - t.insurance, "
                    f"%s + INTERVAL (({income_schedule} - 1) DIV (2 * %s)) DAY, NOW(6) "
                    # The bill's figures (the same arithmetic): its parts are the record's.
                    "FROM (SELECT seq, ((seq * 7919) MOD 50000) / 100 AS total, "
                    "ROUND(((seq * 7919) MOD 50000) / 100 * (seq MOD 8) / 10, 2) AS insurance "
                    f"FROM seq_{first}_to_{last}) t",
                    [doctors, args.departments, doctors, FIRST_DAY, doctors],
                ),
            ),
        )
    finally:
        execute("SET SESSION unique_checks = 1")
        execute("SET SESSION foreign_key_checks = 1")
    watch.lap(
        "ANALYZE TABLE",
        lambda: execute(
            "ANALYZE TABLE visits_visit, billing_bill, billing_incomerecord, "
            "scheduling_schedule, clinic_patient"
        ),
    )


def timed(run: Callable[[], object], repeat: int) -> list[float]:
    for _ in range(3):  # warm the buffer pool and the query plan
        run()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return sorted(times)


def explain(queryset) -> str:
    return "\n".join(f"    {line}" for line in queryset.explain().splitlines())


def measure(args: argparse.Namespace) -> list[tuple[str, str, float, float, float, int, str]]:
    from billing.selectors import income_by_group, income_queryset
    from clinic.statistics import Grouping
    from visits.statistics import visit_queryset, visits_by_group

    start = FIRST_DAY
    end = FIRST_DAY + dt.timedelta(days=args.days - 1)
    results = []
    for table, rows_of, queryset_of in (
        ("income", income_by_group, income_queryset),
        ("visits", visits_by_group, visit_queryset),
    ):
        for group_by in Grouping.values:
            print(f"  timing {table} by {group_by} …", file=sys.stderr, flush=True)
            params = {"start_date": start, "end_date": end, "group_by": group_by}
            rows = rows_of(**params)
            times = timed(lambda: rows_of(**params), args.repeat)  # noqa: B023
            results.append(
                (
                    table,
                    group_by,
                    times[0],
                    percentile(times, 0.5),
                    percentile(times, 0.95),
                    len(rows),
                    explain(queryset_of(**params)),
                )
            )
    return results


def baseline(args: argparse.Namespace) -> tuple[float, str]:
    """Income by day over the year straight from the detail rows (no summary table)."""
    from django.db.models import Count, Sum

    from billing.models import IncomeRecord

    queryset = (
        IncomeRecord.objects.filter(
            record_date__gte=FIRST_DAY,
            record_date__lte=FIRST_DAY + dt.timedelta(days=args.days - 1),
        )
        .values("record_date")
        .annotate(
            payments=Count("id"),
            total=Sum("amount"),
            insurance=Sum("insurance_amount"),
            self_pay=Sum("self_pay_amount"),
        )
        .order_by("record_date")
    )
    times = []
    for _ in range(3):
        started = time.perf_counter()
        list(queryset.all())  # a fresh queryset each time: no result cache
        times.append(time.perf_counter() - started)
    return percentile(sorted(times), 0.5), explain(queryset)


def server_is_mariadb() -> bool:

    with server_cursor() as cursor:
        cursor.execute("SELECT VERSION()")
        return "mariadb" in cursor.fetchone()[0].lower()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    django.setup()

    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    if connection.vendor != "mysql" or not server_is_mariadb():
        print(
            "bench/statistics.py needs MariaDB (it generates rows with the sequence engine).\n"
            "Run it as: DATABASE_URL=mysql://USER:PASSWORD@HOST:3306/DB python bench/statistics.py",
            file=sys.stderr,
        )
        return 2
    if args.db_name == connection.settings_dict["NAME"]:
        print("--db-name must differ from the database in DATABASE_URL.", file=sys.stderr)
        return 2
    if database_exists(args.db_name):
        if not args.replace:
            print(
                f"Database {args.db_name!r} already exists (another bench running?). Choose "
                "--db-name, or pass --replace to drop it.",
                file=sys.stderr,
            )
            return 2
        drop_database(args.db_name)

    connection.settings_dict.setdefault("TEST", {})["NAME"] = args.db_name
    print(f"creating and migrating {args.db_name} …", file=sys.stderr)
    old_config = setup_databases(
        verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
    )
    # Asked only now: the database named in DATABASE_URL need not exist.
    server = f"{connection.display_name} {'.'.join(map(str, connection.mysql_version))}"
    try:
        from billing.models import DailyIncomeSummary
        from visits.models import VisitDailySummary

        watch = Stopwatch()
        load(args, watch)
        summary_rows = watch.lap(
            "rebuild the daily income summary", lambda: DailyIncomeSummary.rebuild()
        )
        visit_summary_rows = watch.lap(
            "rebuild the daily visit summary", lambda: VisitDailySummary.rebuild()
        )
        watch.lap(
            "ANALYZE TABLE (summaries)",
            lambda: execute("ANALYZE TABLE billing_dailyincomesummary, visits_visitdailysummary"),
        )
        differences = watch.lap(
            "check: income summary = detail", lambda: DailyIncomeSummary.differences()
        )
        visit_differences = watch.lap(
            "check: visit summary = detail", lambda: VisitDailySummary.differences()
        )
        load_before = os.getloadavg()[0]
        results = measure(args)
        load_after = os.getloadavg()[0]
        baseline_p50, baseline_plan = baseline(args)
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@innodb_buffer_pool_size")
            (pool,) = cursor.fetchone()

        print(
            f"\nClinic Flow statistics bench · {server} · database {args.db_name} · "
            f"buffer pool {pool // 2**20} MiB\n"
            f"{args.days} days from {FIRST_DAY} · {args.departments} departments · "
            f"{args.doctors} doctors · {args.patients:,} patients · {args.visits:,} visits · "
            f"{args.income:,} bills and income records · {summary_rows:,} income and "
            f"{visit_summary_rows:,} visit summary rows\n"
        )
        print("load")
        for name, seconds in watch.laps:
            print(f"  {name:<36} {seconds:8.1f} s")
        print(f"  {'total':<36} {sum(s for _n, s in watch.laps):8.1f} s")
        for name, found in (("income", differences), ("visit", visit_differences)):
            print(f"\n{name} summary = detail: {'yes' if not found else f'NO ({len(found)} rows)'}")
        print(
            f"\nthe year, {args.repeat} runs each (ms, the selector call including Python; "
            f"load average {load_before:.1f} before, {load_after:.1f} after, "
            f"{os.cpu_count()} CPUs)"
        )
        print(f"  {'table':<8} {'group by':<11} {'min':>8} {'p50':>8} {'p95':>8} {'rows':>6}")
        for table, group_by, fastest, p50, p95, rows, _plan in results:
            print(
                f"  {table:<8} {group_by:<11} {fastest * 1000:8.1f} {p50 * 1000:8.1f} "
                f"{p95 * 1000:8.1f} {rows:6d}"
            )
        print(
            f"  income by day from the detail rows (no summary): p50 {baseline_p50 * 1000:.0f} ms"
        )
        print("\nEXPLAIN")
        for table, group_by, _min, _p50, _p95, _rows, plan in results:
            print(f"  {table} by {group_by}:\n{plan}")
        print(f"  income by day from the detail rows:\n{baseline_plan}")
        ok = not differences and not visit_differences
        print("\nresult:", "OK" if ok else "FAILED (a summary differs from the detail)")
        return 0 if ok else 1
    finally:
        connection.close()
        if args.keep:
            print(f"kept {args.db_name}", file=sys.stderr)
        else:
            teardown_databases(old_config, verbosity=0)
            print(f"dropped {args.db_name}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
