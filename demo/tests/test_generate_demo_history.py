"""generate_demo_history: bulk history that obeys the clinic's rules, and never twice."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Max, Q, Sum
from django.db.models.functions import Round
from django.utils import timezone

from appointments.models import LIVE_STATUSES, Appointment, AppointmentStatus
from billing.cashier import current_shift
from billing.invariants import PAID_STATUSES, find_problems
from billing.models import (
    Bill,
    BillLine,
    CashierShift,
    DailyCategoryIncome,
    DailyIncomeSummary,
    IncomeRecord,
    PayStatus,
    Refund,
    ShiftStatus,
    Tender,
)
from billing.selectors import income_by_group
from clinic.models import Employee, Patient, User
from clinic.statistics import Grouping
from clinic.tests.factories import ReceptionistFactory
from scheduling.models import Schedule
from visits.models import Charge, Visit, VisitDailySummary, VisitStatus

pytestmark = pytest.mark.django_db

END = dt.date(2030, 3, 10)


def generate(*args: str) -> str:
    out = StringIO()
    call_command(
        "generate_demo_history",
        "--end-date",
        END.isoformat(),
        "--seed",
        "3",
        *args,
        stdout=out,
    )
    return out.getvalue()


def test_history_on_an_empty_clinic_obeys_the_rules():
    generate("--days", "4", "--visits-per-day", "40", "--patients", "60")

    assert Employee.objects.filter(emp_id="D001").exists()  # the demo doctors were created
    assert Patient.objects.count() == 60
    visits = Visit.objects.all()
    assert 100 < visits.count() < 200
    assert set(visits.values_list("visit_date", flat=True)) == {
        END - dt.timedelta(days=n) for n in range(4)
    }
    # Settled visits have one paid bill and one payment income record; the others none.
    left = visits.filter(status=VisitStatus.LEFT)
    payments = IncomeRecord.objects.filter(refund__isnull=True)
    assert Bill.objects.count() == left.count() == payments.count()
    assert not Bill.objects.exclude(visit__status=VisitStatus.LEFT).exists()
    assert not Bill.objects.exclude(pay_status__in=PAID_STATUSES).exists()
    # In whole cents, as the bill's CHECK compares them (SQLite sums decimals as floats).
    assert (
        not Bill.objects.annotate(
            gap=Round((F("total_amount") - F("insurance_amount") - F("self_pay_amount")) * 100)
        )
        .exclude(gap=0)
        .exists()
    )
    # Every bill is its lines, priced from the visit's charges (registration + orders).
    assert not Visit.objects.filter(status=VisitStatus.LEFT, charges__isnull=True).exists()
    assert BillLine.objects.count() == Charge.objects.count()
    assert not BillLine.objects.filter(charge__isnull=True).exists()
    assert [p for p in find_problems() if p.startswith("bill")] == []
    assert DailyCategoryIncome.differences() == []
    assert not payments.exclude(amount=F("bill__total_amount")).exists()
    for record in payments.select_related("bill")[:50]:
        assert record.record_date == timezone.localdate(record.bill.pay_time)
    # Queue numbers run 1..n on every schedule; places taken are the visits that hold one.
    for schedule in Schedule.objects.annotate(
        visits_n=Count("visits", distinct=True),
        top=Max("visits__queue_number"),
        held=Count("visits", filter=~Q(visits__status=VisitStatus.CANCELLED), distinct=True),
        live=Count("appointments", filter=Q(appointments__status__in=LIVE_STATUSES), distinct=True),
    ):
        assert (schedule.top or 0) == schedule.visits_n
        assert schedule.current_patients == schedule.held + schedule.live
        assert schedule.current_patients <= schedule.max_patients
    # Visits from a booking completed it; other bookings were cancelled or missed.
    assert (
        not Visit.objects.filter(appointment__isnull=False)
        .exclude(appointment__status=AppointmentStatus.COMPLETED)
        .exists()
    )
    assert set(Appointment.objects.values_list("status", flat=True)) <= {
        AppointmentStatus.COMPLETED,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.NO_SHOW,
    }
    # The summary was built: the statistics add up to the bills.
    assert DailyIncomeSummary.differences() == []
    assert VisitDailySummary.differences() == []
    assert (
        VisitDailySummary.objects.aggregate(total=Sum("visits"))["total"] == Visit.objects.count()
    )
    rows = income_by_group(
        start_date=END - dt.timedelta(days=3), end_date=END, group_by=Grouping.DAY
    )
    assert sum(row.total for row in rows) == Bill.objects.aggregate(total=Sum("total_amount"))[
        "total"
    ] - (Refund.objects.aggregate(total=Sum("amount"))["total"] or 0)
    # The whole database holds its invariants (the cashier's too), and the summaries their
    # detail.
    assert find_problems() == []
    call_command("rebuild_income_summary", "--check", stdout=StringIO())


def test_history_pays_through_cashier_shifts_tenders_and_some_refunds():
    out = generate("--days", "3", "--visits-per-day", "60", "--refund-share", "0.1")
    cashier = User.objects.get(username="history-cashier")  # the clinic had no receptionist
    assert not cashier.has_usable_password()
    # One shift per cashier per day, closed at the day's end with the drawer counted.
    shifts = CashierShift.objects.all()
    assert shifts.count() == 3 and "3 cashier shifts" in out
    assert not shifts.exclude(status=ShiftStatus.CLOSED).exists()
    for shift in shifts:
        opened = timezone.localtime(shift.opened_at)
        assert timezone.localtime(shift.closed_at).date() == opened.date()
        assert shift.counted_cash - shift.expected_cash == shift.cash_difference
        assert bool(shift.cash_difference) == bool(shift.close_note)
        for bill in shift.bills.all():
            assert shift.opened_at < bill.pay_time < shift.closed_at
            assert timezone.localdate(bill.pay_time) == opened.date()
    # Every bill is in a shift; its self-pay part is its tenders'.
    bills = Bill.objects.all()
    assert not bills.filter(shift__isnull=True).exists()
    assert not bills.exclude(tendered_amount=F("self_pay_amount")).exists()
    methods = set(Tender.objects.values_list("method__code", flat=True))
    assert {"cash", "wechat", "alipay", "card"} <= methods
    cash = Tender.objects.filter(method__code="cash")
    assert cash.filter(change_given__gt=0).exists()
    assert not cash.exclude(handed_over=F("amount") + F("change_given")).exists()
    assert not Tender.objects.exclude(method__code="cash").filter(reference="").exists()
    split = bills.annotate(n=Count("tenders")).filter(n=2)
    assert split.exists()
    # Refunds: one line each, with a reason; the bill refunded in part or in whole.
    refunds = Refund.objects.all()
    assert refunds.exists() and f"{refunds.count()} refunds" in out
    assert refunds.filter(bill__pay_status=PayStatus.PARTIALLY_REFUNDED).exists()
    for refund in refunds.select_related("bill"):
        [line] = refund.lines.all()
        assert refund.reason and refund.shift_id == refund.bill.shift_id
        assert refund.bill.pay_status in (PayStatus.PARTIALLY_REFUNDED, PayStatus.REFUNDED)
        assert refund.income_record.amount == -refund.amount
        assert refund.record_date == timezone.localdate(refund.bill.pay_time)
        assert (refund.self_pay_amount > 0) == (refund.method is not None)
        assert line.bill_line.refunded_quantity == line.quantity
    # The statistics are net of the refunds, and everything adds up.
    summary = DailyIncomeSummary.objects.aggregate(
        total=Sum("total_amount"), refunds=Sum("refunds")
    )
    assert summary["refunds"] == refunds.count()
    assert (
        summary["total"]
        == Bill.objects.aggregate(total=Sum("total_amount"))["total"]
        - refunds.aggregate(total=Sum("amount"))["total"]
    )
    assert find_problems() == []
    call_command("check_invariants", stdout=StringIO())
    call_command("rebuild_income_summary", "--check", stdout=StringIO())


def test_history_shares_the_days_among_the_first_receptionists():
    desks = [ReceptionistFactory(shift=False) for _ in range(4)]
    generate("--days", "2", "--visits-per-day", "40")
    cashiers = set(CashierShift.objects.values_list("cashier", flat=True))
    assert cashiers == {desk.pk for desk in desks[:3]}
    assert CashierShift.objects.count() == 6
    assert find_problems() == []


def test_a_second_run_leaves_the_same_days_alone():
    generate("--days", "2", "--visits-per-day", "20")
    counts = (Schedule.objects.count(), Visit.objects.count(), Bill.objects.count())
    out = generate("--days", "2", "--visits-per-day", "20")
    assert "2 skipped" in out
    assert (Schedule.objects.count(), Visit.objects.count(), Bill.objects.count()) == counts
    assert CashierShift.objects.count() == 2


def test_history_uses_the_seeded_clinic():
    call_command("seed_demo", stdout=StringIO())
    doctors = set(Employee.objects.filter(position="doctor").values_list("pk", flat=True))
    generate("--days", "1", "--visits-per-day", "30")
    assert set(Schedule.objects.filter(work_date=END).values_list("doctor", flat=True)) == doctors
    assert Employee.objects.filter(position="doctor").count() == len(doctors)
    # The demo receptionist worked the day; her shift of today is still open.
    reception = User.objects.get(username="reception")
    assert CashierShift.objects.filter(cashier=reception, status=ShiftStatus.CLOSED).count() == 1
    assert current_shift(reception) is not None
    assert not User.objects.filter(username="history-cashier").exists()
    assert [p for p in find_problems() if not p.startswith("schedule")] == []
