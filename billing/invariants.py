"""The clinic's invariants, checked against the whole database (after a restore or a drill).

Each check is one aggregate query (each daily summary: two, summary and detail); the list
of problems is empty when everything holds.
"""

from __future__ import annotations

from decimal import Decimal

from django.db.models import Count, DecimalField, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Round

from appointments.models import LIVE_STATUSES
from billing.models import (
    Bill,
    BillLine,
    DailyCategoryIncome,
    DailyIncomeSummary,
    IncomeRecord,
    PayStatus,
)
from scheduling.models import Schedule
from visits.models import Visit, VisitDailySummary, VisitStatus

MONEY_ZERO = Value(Decimal(0), output_field=DecimalField(max_digits=16, decimal_places=2))


def find_problems() -> list[str]:
    problems: list[str] = []
    schedules = Schedule.objects.annotate(
        live=Count("appointments", filter=Q(appointments__status__in=LIVE_STATUSES), distinct=True),
        seen=Count("visits", filter=~Q(visits__status=VisitStatus.CANCELLED), distinct=True),
    ).filter(~Q(current_patients=F("live") + F("seen")) | Q(current_patients__gt=F("max_patients")))
    for schedule in schedules.values("pk", "current_patients", "max_patients", "live", "seen")[:20]:
        problems.append(
            "schedule {pk}: {current_patients} places counted, {live} live bookings + {seen} "
            "visits held, capacity {max_patients}".format(**schedule)
        )
    # In whole cents, as the bill's CHECK compares them (SQLite sums decimals as floats).
    broken_bills = Bill.objects.annotate(
        identity_gap=Round((F("total_amount") - F("insurance_amount") - F("self_pay_amount")) * 100)
    ).filter(
        ~Q(identity_gap=0)
        | Q(insurance_amount__gt=F("total_amount"))
        | Q(total_amount__lt=0)
        | Q(insurance_amount__lt=0)
        | Q(self_pay_amount__lt=0)
    )
    problems += [
        f"bill {pk}: amounts break the identity"
        for pk in broken_bills.values_list("pk", flat=True)[:20]
    ]
    # Every bill is the sum of its lines: total = Σ amounts, estimate = Σ insured parts.
    lines = BillLine.objects.filter(bill=OuterRef("pk")).values("bill").order_by()
    unbalanced = (
        Bill.objects.annotate(
            lines_amount=Coalesce(
                Subquery(lines.annotate(s=Sum("amount")).values("s")), MONEY_ZERO
            ),
            lines_insured=Coalesce(
                Subquery(lines.annotate(s=Sum("insured_amount")).values("s")), MONEY_ZERO
            ),
        )
        # In whole cents (SQLite sums decimals as binary floats).
        .annotate(
            amount_gap=Round((F("total_amount") - F("lines_amount")) * 100),
            insured_gap=Round((F("estimated_insurance_amount") - F("lines_insured")) * 100),
        )
        .filter(~Q(amount_gap=0) | ~Q(insured_gap=0))
        .values("pk", "total_amount", "lines_amount", "estimated_insurance_amount", "lines_insured")
    )
    problems += [
        "bill {pk}: total {total_amount} / estimate {estimated_insurance_amount}, its lines "
        "add up to {lines_amount} / {lines_insured}".format(**row)
        for row in unbalanced[:20]
    ]
    unpaid_left = Visit.objects.filter(status=VisitStatus.LEFT).exclude(
        bill__pay_status=PayStatus.PAID
    )
    problems += [
        f"visit {pk}: left without a paid bill"
        for pk in unpaid_left.values_list("pk", flat=True)[:20]
    ]
    paid_not_left = Bill.objects.filter(pay_status=PayStatus.PAID).exclude(
        visit__status=VisitStatus.LEFT
    )
    problems += [
        f"bill {pk}: paid but its visit has not left"
        for pk in paid_not_left.values_list("pk", flat=True)[:20]
    ]
    income = IncomeRecord.objects.aggregate(total=Sum("amount"))["total"] or 0
    paid = (
        Bill.objects.filter(pay_status=PayStatus.PAID).aggregate(total=Sum("total_amount"))["total"]
        or 0
    )
    if income != paid:
        problems.append(f"income records total {income}, paid bills total {paid}")
    # The statistics' daily summaries equal what the income records and the visits add up to.
    for row in DailyIncomeSummary.differences()[:20]:
        problems.append(
            "income summary {record_date} department {department_id} doctor {doctor_key}: "
            "summary {summary}, income records {detail} "
            "(manage.py rebuild_income_summary)".format(**row)
        )
    for row in DailyCategoryIncome.differences()[:20]:
        problems.append(
            "income by category {record_date} department {department_id} doctor {doctor_key} "
            "{category}: summary {summary}, bill lines {detail} "
            "(manage.py rebuild_income_summary)".format(**row)
        )
    # The statistics' daily visit summary equals what the visits add up to.
    for row in VisitDailySummary.differences()[:20]:
        problems.append(
            "visit summary {visit_date} department {department_id} doctor {doctor_id}: "
            "summary {summary}, visits {detail} (manage.py rebuild_visit_summary)".format(**row)
        )
    return problems
