"""Visit statistics over a date range, by day, department or doctor: what the statistics page
and the API show.

They read the daily visit summary (`VisitDailySummary`, kept in step by check-in, walk-in
and every status transition): counts per status, and distinct patients per day. Distinct
patients of a department or doctor do not add up across days: a subquery counts them on the
visits, through an index that holds the patient (exact, and the one figure whose cost grows
with the range).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, OuterRef, QuerySet, Subquery, Sum

from clinic.models import Department, Employee
from clinic.statistics import (
    GroupBy,
    Grouping,
    api_group_keys,
    days,
    department_labels,
    doctor_label,
    grouping_for_api,
    in_api_order,
    name_of,
)
from visits.models import STATUS_COUNTERS, Visit, VisitDailySummary, VisitStatus


@dataclass(frozen=True)
class VisitRow:
    """Visits of one group: how many, how many distinct patients, and how many are in each
    status (`VisitStatus` order). `key`, `label`, `name` and `code` as in IncomeRow."""

    key: dt.date | int | None
    label: str
    name: str | None = None
    code: str | None = None
    visits: int = 0
    patients: int = 0
    by_status: dict[str, int] = field(default_factory=dict)

    def status_counts(self) -> list[int]:
        return [self.by_status.get(status, 0) for status in VisitStatus.values]


VISIT_SUMS = {
    "visits_sum": Sum("visits"),
    "day_patients_sum": Sum("day_patients"),
    **{f"{column}_sum": Sum(column) for column in STATUS_COUNTERS.values()},
}


def _distinct_patients(
    *, start_date: dt.date, end_date: dt.date, status: str | None, group: str, outer: str
) -> Subquery:
    """Distinct patients of one group over the range, counted on the visits themselves (a
    scalar subquery evaluated once per result row, after grouping): they do not add up
    from daily rows. Each group reads one range of an index that holds the patient
    (`visit_department_patients_idx`, `visit_schedule_patients_idx`)."""
    visits = Visit.objects.filter(
        visit_date__gte=start_date, visit_date__lte=end_date, **{group: OuterRef(outer)}
    )
    if status:
        visits = visits.filter(status=status)
    return Subquery(
        visits.order_by()
        .values(group)
        .annotate(patients=Count("patient_id", distinct=True))
        .values("patients")[:1]
    )


def visit_queryset(
    *, start_date: dt.date, end_date: dt.date, group_by: str, status: str | None = None
) -> QuerySet[VisitDailySummary, dict[str, Any]]:
    """The one query behind `visits_by_group` (exposed for EXPLAIN and the benchmark).

    Sums the daily summary's counters per group. Distinct patients: by day, the sum of
    each day's `day_patients` (every patient counted once a day); by department or doctor,
    or for one status only, a scalar subquery on the visits per result row.
    """
    group_by = Grouping(group_by)
    status = VisitStatus(status) if status else None
    rows = VisitDailySummary.objects.filter(visit_date__gte=start_date, visit_date__lte=end_date)
    span = {"start_date": start_date, "end_date": end_date, "status": status}
    if group_by == Grouping.DAY:
        queryset = rows.values("visit_date").annotate(**VISIT_SUMS)
        if status:
            queryset = queryset.annotate(
                patient_count=_distinct_patients(**span, group="visit_date", outer="visit_date")
            )
        order: tuple[Any, ...] = ("visit_date",)
    elif group_by == Grouping.DEPARTMENT:
        queryset = (
            rows.values("department_id")
            .annotate(**VISIT_SUMS)
            .annotate(
                department_name=name_of(Department, "department_id", "name"),
                **department_labels("department_id"),
                patient_count=_distinct_patients(
                    **span, group="department_id", outer="department_id"
                ),
            )
        )
        order = ("department_name", "department_id")
    else:
        queryset = (
            rows.values("doctor_id")
            .annotate(**VISIT_SUMS)
            .annotate(
                doctor_name=name_of(Employee, "doctor_id", "name"),
                doctor_code=name_of(Employee, "doctor_id", "emp_id"),
                patient_count=_distinct_patients(
                    **span, group="schedule__doctor_id", outer="doctor_id"
                ),
            )
        )
        order = ("doctor_code", "doctor_id")
    if status:
        # Only the groups with visits of that status, as when the visits are filtered.
        queryset = queryset.filter(**{f"{STATUS_COUNTERS[status]}_sum__gt": 0})
    return queryset.order_by(*order)


def visits_by_group(
    *, start_date: dt.date, end_date: dt.date, group_by: str, status: str | None = None
) -> list[VisitRow]:
    """Visits, distinct patients and visits per status per day, department or doctor
    (inclusive range of clinic-local dates), optionally of one status only.

    One query on the daily summary (`VisitDailySummary`), whatever the range; distinct
    patients of a department or doctor come from a subquery of it on the visits, which
    makes those groupings cost in proportion to the visits in the range (see
    bench/statistics.py). Distinct patients are counted within each group: they do not add
    up across groups.
    """
    group_by = Grouping(group_by)
    status = VisitStatus(status) if status else None
    rows = []
    for values in visit_queryset(
        start_date=start_date, end_date=end_date, group_by=group_by, status=status
    ):
        name = code = None
        if group_by == Grouping.DAY:
            key, label = values["visit_date"], values["visit_date"].isoformat()
        elif group_by == Grouping.DEPARTMENT:
            key = values["department_id"]
            name = values["department_name"]
            label = values.get("department_label") or name
        else:
            key = values["doctor_id"]
            name, code = values["doctor_name"], values["doctor_code"]
            label = doctor_label(name, code)
        by_status = {
            value: values[f"{column}_sum"] or 0 for value, column in STATUS_COUNTERS.items()
        }
        if status:
            by_status = {value: by_status[value] if value == status else 0 for value in by_status}
        if group_by == Grouping.DAY and not status:
            patients = values["day_patients_sum"] or 0
        else:
            patients = values["patient_count"] or 0
        rows.append(
            VisitRow(
                key=key,
                label=label,
                name=name,
                code=code,
                visits=sum(by_status.values()),
                patients=patients,
                by_status=by_status,
            )
        )
    if group_by == Grouping.DAY:
        found = {row.key: row for row in rows}
        rows = [
            found.get(day) or VisitRow(key=day, label=day.isoformat())
            for day in days(start_date, end_date)
        ]
    return rows


def visit_statistics(
    *,
    start_date: dt.date,
    end_date: dt.date,
    group_by: GroupBy,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Visits between two local dates (both included), optionally of one status: how many,
    how many distinct patients, and how many ended in each status, one row per group."""
    rows = visits_by_group(
        start_date=start_date, end_date=end_date, group_by=grouping_for_api(group_by), status=status
    )
    return [
        {
            **api_group_keys(row, group_by),
            "visit_count": row.visits,
            "patient_count": row.patients,
            "by_status": dict(row.by_status),
        }
        for row in in_api_order(rows, group_by)
        if row.visits
    ]
