"""Income statistics over a date range, by day, department or doctor: what the statistics
page and the API show (visits: visits.statistics; what both share: clinic.statistics).

Income reads the daily summary (`DailyIncomeSummary`, kept in step by settlement): a year is a
few thousand rows, whatever the number of payments.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, F, Q, QuerySet, Sum

from billing.cashier import MethodTotal
from billing.models import DailyCategoryIncome, DailyIncomeSummary, PaymentMethod, Refund, Tender
from clinic.models import Department, Employee, FeeCategory
from clinic.statistics import Grouping, days, department_labels, doctor_label, name_of
from visits.models import Visit, VisitStatus

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


@dataclass(frozen=True)
class IncomeRow:
    """Income of one group. `key` is the date, the department id or the doctor's id (None:
    income recorded without a doctor); `label` what a page shows; `name` the department's
    or doctor's name and `code` the doctor's staff code (None where they do not apply)."""

    key: dt.date | int | None
    label: str
    name: str | None = None
    code: str | None = None
    payments: int = 0
    total: Decimal = ZERO
    insurance: Decimal = ZERO
    self_pay: Decimal = ZERO
    # Refunds booked in the group (their amounts are netted in the figures above).
    refunds: int = 0


# --- Income -------------------------------------------------------------------------------

INCOME_SUMS = {
    "payments_sum": Sum("payments"),
    "refunds_sum": Sum("refunds"),
    "total_sum": Sum("total_amount"),
    "insurance_sum": Sum("insurance_amount"),
    "self_pay_sum": Sum("self_pay_amount"),
}


def income_queryset(
    *, start_date: dt.date, end_date: dt.date, group_by: str
) -> QuerySet[DailyIncomeSummary, dict[str, Any]]:
    """The one query behind `income_by_group` (exposed for EXPLAIN and the benchmark).

    Groups on the summary's own columns only; department and doctor names come from
    scalar subqueries on the grouped keys.
    """
    group_by = Grouping(group_by)
    rows = DailyIncomeSummary.objects.filter(record_date__gte=start_date, record_date__lte=end_date)
    if group_by == Grouping.DAY:
        return rows.values("record_date").annotate(**INCOME_SUMS).order_by("record_date")
    if group_by == Grouping.DEPARTMENT:
        return (
            rows.values("department_id")
            .annotate(**INCOME_SUMS)
            .annotate(
                department_name=name_of(Department, "department_id", "name"),
                **department_labels("department_id"),
            )
            .order_by("department_name", "department_id")
        )
    return (
        rows.values("doctor_key")
        .annotate(**INCOME_SUMS)
        .annotate(
            doctor_name=name_of(Employee, "doctor_key", "name"),
            doctor_code=name_of(Employee, "doctor_key", "emp_id"),
        )
        .order_by(F("doctor_code").asc(nulls_last=True), "doctor_key")
    )


def income_by_group(*, start_date: dt.date, end_date: dt.date, group_by: str) -> list[IncomeRow]:
    """Payments, total, insurance and self-pay per day, department or doctor (inclusive
    range of clinic-local dates). One query."""
    group_by = Grouping(group_by)
    rows = []
    for values in income_queryset(start_date=start_date, end_date=end_date, group_by=group_by):
        name = code = None
        if group_by == Grouping.DAY:
            key, label = values["record_date"], values["record_date"].isoformat()
        elif group_by == Grouping.DEPARTMENT:
            key = values["department_id"]
            name = values["department_name"]
            label = values.get("department_label") or name
        else:
            key = values["doctor_key"] or None
            name, code = values["doctor_name"], values["doctor_code"]
            label = doctor_label(name, code)
        rows.append(
            IncomeRow(
                key=key,
                label=label,
                name=name,
                code=code,
                payments=values["payments_sum"] or 0,
                total=values["total_sum"] or ZERO,
                insurance=values["insurance_sum"] or ZERO,
                self_pay=values["self_pay_sum"] or ZERO,
                refunds=values["refunds_sum"] or 0,
            )
        )
    if group_by == Grouping.DAY:
        found = {row.key: row for row in rows}
        rows = [
            found.get(day) or IncomeRow(key=day, label=day.isoformat())
            for day in days(start_date, end_date)
        ]
    return rows


# --- Income by fee category -----------------------------------------------------------------


@dataclass(frozen=True)
class CategoryRow:
    """Income of one fee category over a range: its lines, amount and the lines' insured and
    self-pay parts (the estimates: a bureau's figure replaces them for a whole bill)."""

    category: str
    label: str
    lines: int = 0
    total: Decimal = ZERO
    insured: Decimal = ZERO
    self_pay: Decimal = ZERO


def income_by_category(*, start_date: dt.date, end_date: dt.date) -> list[CategoryRow]:
    """Bill lines' income per fee category between two local dates (both included), in the
    catalogue's category order, categories without income left out. One query on the
    summary (DailyCategoryIncome); the amounts add up to the income table's total."""
    found = {
        row["category"]: row
        for row in DailyCategoryIncome.objects.filter(
            record_date__gte=start_date, record_date__lte=end_date
        )
        .values("category")
        .annotate(
            lines_sum=Sum("lines"),
            total_sum=Sum("total_amount"),
            insured_sum=Sum("insured_amount"),
            self_pay_sum=Sum("self_pay_amount"),
        )
        .order_by()
    }
    return [
        CategoryRow(
            category=category.value,
            label=str(category.label),
            lines=found[category.value]["lines_sum"] or 0,
            total=found[category.value]["total_sum"] or ZERO,
            insured=found[category.value]["insured_sum"] or ZERO,
            self_pay=found[category.value]["self_pay_sum"] or ZERO,
        )
        for category in FeeCategory
        if category.value in found
    ]


# --- Income by payment method ---------------------------------------------------------------


def income_by_method(*, start_date: dt.date, end_date: dt.date) -> list[MethodTotal]:
    """A method's money over a range, as over a shift (billing.cashier.MethodTotal): tenders
    taken minus refunds paid back, per payment method, between two local dates
    (both included; a refund counts on its own date), in the methods' order, methods
    without money left out. Two grouped queries, on the (record_date, method) indexes of
    Tender and Refund, and one for the methods."""
    taken = {
        row["method_id"]: row
        for row in Tender.objects.filter(record_date__gte=start_date, record_date__lte=end_date)
        .values("method_id")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by()
    }
    given_back = {
        row["method_id"]: row
        for row in Refund.objects.filter(
            record_date__gte=start_date, record_date__lte=end_date, method__isnull=False
        )
        .values("method_id")
        .annotate(count=Count("id"), amount=Sum("self_pay_amount"))
        .order_by()
    }
    rows = []
    for method in PaymentMethod.objects.filter(pk__in={*taken, *given_back}):
        tenders = taken.get(method.pk, {})
        refunds = given_back.get(method.pk, {})
        rows.append(
            MethodTotal(
                method=method,
                tenders=tenders.get("count", 0),
                taken=(tenders.get("amount") or ZERO).quantize(CENT),
                refunds=refunds.get("count", 0),
                given_back=(refunds.get("amount") or ZERO).quantize(CENT),
            )
        )
    return rows


@dataclass(frozen=True)
class WindowLoadRow:
    """The visits of the windows starting at one time of day (the load curve): how many, how
    many arrived after their window, how many left unseen."""

    start_time: dt.time
    visits: int = 0
    late: int = 0
    left_unseen: int = 0

    @property
    def label(self) -> str:
        return f"{self.start_time:%H:%M}"


def visits_by_window(
    *, start_date: dt.date, end_date: dt.date, department: Department | int | None = None
) -> list[WindowLoadRow]:
    """Visits over a range (of one department, or all), grouped by the start time of their
    window, in the day's order: one grouped query."""
    visits = Visit.objects.filter(visit_date__gte=start_date, visit_date__lte=end_date)
    if department is not None:
        visits = visits.filter(department_id=getattr(department, "pk", department))
    rows = (
        visits.order_by()
        .values(start=F("window__start_time"))
        .annotate(
            visit_count=Count("id"),
            late_count=Count("id", filter=Q(arrived_late=True)),
            unseen_count=Count("id", filter=Q(status=VisitStatus.CANCELLED)),
        )
        .order_by("start")
    )
    return [
        WindowLoadRow(
            start_time=row["start"],
            visits=row["visit_count"],
            late=row["late_count"],
            left_unseen=row["unseen_count"],
        )
        for row in rows
    ]
