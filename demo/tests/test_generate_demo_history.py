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
from billing.invariants import find_problems
from billing.models import (
    Bill,
    BillLine,
    DailyCategoryIncome,
    DailyIncomeSummary,
    IncomeRecord,
    PayStatus,
)
from billing.selectors import income_by_group
from clinic.models import Employee, Patient
from clinic.statistics import Grouping
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
    # Settled visits have one paid bill and one income record; the others none.
    left = visits.filter(status=VisitStatus.LEFT)
    assert Bill.objects.count() == left.count() == IncomeRecord.objects.count()
    assert not Bill.objects.exclude(visit__status=VisitStatus.LEFT).exists()
    assert not Bill.objects.exclude(pay_status=PayStatus.PAID).exists()
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
    assert not IncomeRecord.objects.exclude(amount=F("bill__total_amount")).exists()
    for record in IncomeRecord.objects.select_related("bill")[:50]:
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
    assert (
        sum(row.total for row in rows) == Bill.objects.aggregate(total=Sum("total_amount"))["total"]
    )


def test_a_second_run_leaves_the_same_days_alone():
    generate("--days", "2", "--visits-per-day", "20")
    counts = (Schedule.objects.count(), Visit.objects.count(), Bill.objects.count())
    out = generate("--days", "2", "--visits-per-day", "20")
    assert "2 skipped" in out
    assert (Schedule.objects.count(), Visit.objects.count(), Bill.objects.count()) == counts


def test_history_uses_the_seeded_clinic():
    call_command("seed_demo", stdout=StringIO())
    doctors = set(Employee.objects.filter(position="doctor").values_list("pk", flat=True))
    generate("--days", "1", "--visits-per-day", "30")
    assert set(Schedule.objects.filter(work_date=END).values_list("doctor", flat=True)) == doctors
    assert Employee.objects.filter(position="doctor").count() == len(doctors)
