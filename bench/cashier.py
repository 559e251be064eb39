"""Closing a busy cashier's shift: its report and its close, timed.

    DATABASE_URL=mysql://USER:PASSWORD@127.0.0.1:3306/clinic python bench/cashier.py

In its own database (`clinic_cashier_bench`, created, migrated and dropped: the database of
DATABASE_URL is never written): the demo clinic (`seed_demo`) and --days of history
(`generate_demo_history`, whose cashiers' shifts give the tables their size), then one more
open shift that takes --payments payments through the real settlement (`settle_visit`, each
paid by cash with change, WeChat, or both) and gives --refunds refunds back
(`refund_bill`). It then times, --repeat times each, the shift's report (`shift_report`)
and its close (`close_shift`, in a transaction rolled back after each run so that every run
closes the same open shift), and prints p50/p95 and the statements each takes.

Target (issue 21): closing a shift of 500 payments in under 200 ms on this machine.
Exit status: 0 when measured, 2 when the bench cannot run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != PROJECT_ROOT / "bench"]
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-never-used-for-real-data")

import django  # noqa: E402

from bench._db import CannotRun, throwaway_database  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Closing a cashier's shift, timed (MariaDB).")
    parser.add_argument("--payments", type=int, default=500, help="payments in the shift (500)")
    parser.add_argument("--refunds", type=int, default=20, help="refunds in the shift (20)")
    parser.add_argument("--days", type=int, default=30, help="days of history around it (30)")
    parser.add_argument("--visits-per-day", type=int, default=300, help="history (300/day)")
    parser.add_argument("--repeat", type=int, default=30, help="timed runs of each (30)")
    parser.add_argument("--seed", type=int, default=21, help="random seed (21)")
    parser.add_argument("--db-name", default="clinic_cashier_bench", help="throw-away database")
    parser.add_argument("--replace", action="store_true", help="drop an existing one first")
    args = parser.parse_args(argv)
    if args.payments < 1 or args.repeat < 1 or args.refunds < 0:
        parser.error("--payments and --repeat must be >= 1, --refunds >= 0")
    return args


def awaiting_payment(count: int, rng: random.Random) -> list:
    """`count` visits awaiting payment today, on the history's schedules of today."""
    from django.db.models import Max
    from django.utils import timezone

    from clinic.models import Patient
    from scheduling.models import Schedule
    from visits.models import Visit, VisitDailySummary, VisitStatus

    today = timezone.localdate()
    schedules = list(Schedule.objects.filter(work_date=today)) or list(
        Schedule.objects.order_by("-work_date")[:8]
    )
    patients = list(Patient.objects.order_by("?").values_list("pk", flat=True)[: count * 2])
    now = timezone.now()
    visits = []
    next_number = {
        row["schedule_id"]: row["top"]
        for row in Visit.objects.values("schedule_id").annotate(top=Max("queue_number"))
    }
    first_window = {}
    for index in range(count):
        schedule = schedules[index % len(schedules)]
        next_number[schedule.pk] = next_number.get(schedule.pk, 0) + 1
        if schedule.pk not in first_window:
            first_window[schedule.pk] = schedule.windows.order_by("start_time").first()
        window = first_window[schedule.pk]
        visits.append(
            Visit(
                patient_id=rng.choice(patients),
                department_id=schedule.department_id,
                schedule=schedule,
                window=window,
                queued_from=window.start_time,
                queue_number=next_number[schedule.pk],
                status=VisitStatus.AWAITING_PAYMENT,
                visit_date=schedule.work_date,
                check_in_time=now - dt.timedelta(hours=1),
                called_at=now - dt.timedelta(minutes=40),
                finished_at=now - dt.timedelta(minutes=30),
            )
        )
    Visit.objects.bulk_create(visits)
    # Bulk-written: the statistics' visit summary counts them now (the settlement moves
    # each one in it, and refuses a summary out of step).
    days = [visit.visit_date for visit in visits]
    VisitDailySummary.rebuild(start_date=min(days), end_date=max(days))
    return list(Visit.objects.filter(status=VisitStatus.AWAITING_PAYMENT).order_by("-pk")[:count])


def pay_all(visits: list, cashier, rng: random.Random) -> list:
    from billing.services import settle_visit

    bills = []
    for visit in visits:
        total = Decimal(rng.randrange(1_000, 60_000)) / 100
        insurance = (total * Decimal(rng.choice([0, 50, 70, 90])) / 100).quantize(Decimal("0.01"))
        self_pay = total - insurance
        how = rng.random()
        if not self_pay:
            tenders = None
        elif how < 0.5:
            handed = ((self_pay // 50) + 1) * 50
            tenders = [{"method": "cash", "amount": str(self_pay), "handed_over": str(handed)}]
        elif how < 0.85 or self_pay < 1:
            tenders = [{"method": "wechat", "amount": str(self_pay), "reference": "wx"}]
        else:
            cash = (self_pay / 2).quantize(Decimal("0.01"))
            tenders = [
                {"method": "cash", "amount": str(cash)},
                {"method": "alipay", "amount": str(self_pay - cash), "reference": "ali"},
            ]
        bills.append(
            settle_visit(
                visit=visit,
                total_amount=total,
                insurance_amount=insurance,
                tenders=tenders,
                by=cashier,
            )
        )
    return bills


def timed(call, repeat: int) -> tuple[float, float, int]:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    class Undo(Exception):
        pass

    times = []
    statements = 0
    for _ in range(repeat):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            try:
                with transaction.atomic():
                    call()
                    raise Undo
            except Undo:
                pass
            times.append((time.perf_counter() - started) * 1000)
        statements = len(queries)
    times.sort()
    # The median by hand: `import statistics` here would find bench/statistics.py first.
    middle = len(times) // 2
    median = times[middle] if len(times) % 2 else (times[middle - 1] + times[middle]) / 2
    return median, times[max(0, int(len(times) * 0.95) - 1)], statements


def run(args: argparse.Namespace) -> int:
    from django.core.management import call_command

    from billing.cashier import close_shift, open_shift, shift_report
    from billing.models import Bill, CashierShift, Refund, Tender
    from billing.refunds import refund_bill
    from clinic.models import Role, User

    rng = random.Random(args.seed)
    started = time.perf_counter()
    call_command("seed_demo", stdout=io.StringIO())  # its accounts and screens: not here
    call_command(
        "generate_demo_history",
        days=args.days,
        visits_per_day=args.visits_per_day,
        seed=args.seed,
        verbosity=0,
    )
    history = time.perf_counter() - started
    cashier = User.objects.create_user(username="bench-cashier", role=Role.RECEPTIONIST)
    shift = open_shift(by=cashier, opening_float="500")
    started = time.perf_counter()
    bills = pay_all(awaiting_payment(args.payments, rng), cashier, rng)
    paying = time.perf_counter() - started
    for bill in rng.sample(bills, min(args.refunds, len(bills))):
        refund_bill(
            bill=bill,
            lines=[{"line": bill.lines.first().pk}],
            reason="bench",
            method="cash",
            by=cashier,
        )
    print(
        f"history: {args.days} days × {args.visits_per_day} visits ({history:.0f} s); "
        f"tables: {Bill.objects.count():,} bills, {Tender.objects.count():,} tenders, "
        f"{Refund.objects.count():,} refunds, {CashierShift.objects.count():,} shifts"
    )
    print(
        f"the shift: {len(bills)} payments through settle_visit "
        f"({paying / len(bills) * 1000:.1f} ms each), "
        f"{Refund.objects.filter(shift=shift).count()} refunds"
    )
    report = shift_report(shift)
    print(
        f"its report: {report.bill_count} bills, {report.refund_count} refunds, expected cash "
        f"{report.expected_cash}, net {report.net}"
    )
    p50, p95, count = timed(lambda: shift_report(shift), args.repeat)
    print(f"shift_report  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  {count} statements")
    p50, p95, count = timed(
        lambda: close_shift(
            shift=shift.pk, counted_cash=report.expected_cash, note="bench", by=cashier
        ),
        args.repeat,
    )
    print(f"close_shift   p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  {count} statements")
    print("target: close < 200 ms for 500 payments")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    django.setup()
    try:
        with throwaway_database(
            args.db_name, replace=args.replace, script="bench/cashier.py"
        ) as db:
            print(f"database: {db}")
            return run(args)
    except CannotRun as error:
        print(error, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
