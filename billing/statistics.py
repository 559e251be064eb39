"""Income and visit statistics over a date range, grouped by day, department or doctor.

Each function runs one aggregate query (values().annotate()) on stored local dates
(`record_date`, `visit_date`), so grouping never depends on the database's time-zone tables.
Rows come back in a stable order: by date, or by department / doctor name.

Every row has the same keys, whatever the grouping, so callers (the API, exports) can show
one table: the grouping keys that do not apply are None.
- income: date, dept_id, dept_name, doctor_id (staff code), doctor_name, total_income
  (Decimal), record_count.
- visits: the same grouping keys, visit_count, patient_count (distinct patients), and
  by_status ({status code: count} for every visit status).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.db.models import Count, Q, Sum

from billing.models import IncomeRecord
from visits.models import Visit, VisitStatus

GroupBy = Literal["day", "dept", "doctor"]
GROUP_BY_CHOICES: tuple[str, ...] = ("day", "dept", "doctor")

# The columns each grouping selects: the date, or an id and the name it is ordered by.
_INCOME_KEYS = {
    "day": ("record_date",),
    "dept": ("department_id", "department__name"),
    "doctor": ("doctor__emp_id", "doctor__name"),
}
_VISIT_KEYS = {
    "day": ("visit_date",),
    "dept": ("department_id", "department__name"),
    "doctor": ("schedule__doctor__emp_id", "schedule__doctor__name"),
}


def _check_group_by(group_by: str) -> None:
    if group_by not in GROUP_BY_CHOICES:
        raise ValueError(f"group_by must be one of {GROUP_BY_CHOICES}, not {group_by!r}")


def _grouping(row: dict[str, Any], group_by: str, keys: tuple[str, ...]) -> dict[str, Any]:
    result: dict[str, Any] = {
        "date": None,
        "dept_id": None,
        "dept_name": None,
        "doctor_id": None,
        "doctor_name": None,
    }
    if group_by == "day":
        result["date"] = row[keys[0]]
    elif group_by == "dept":
        result["dept_id"], result["dept_name"] = row[keys[0]], row[keys[1]]
    else:
        result["doctor_id"], result["doctor_name"] = row[keys[0]], row[keys[1]]
    return result


def income_statistics(
    *, start_date: dt.date, end_date: dt.date, group_by: GroupBy
) -> list[dict[str, Any]]:
    """Income booked between two local dates (both included), one row per group."""
    _check_group_by(group_by)
    keys = _INCOME_KEYS[group_by]
    rows = (
        IncomeRecord.objects.filter(record_date__gte=start_date, record_date__lte=end_date)
        .values(*keys)
        .annotate(total_income=Sum("amount"), record_count=Count("id"))
        .order_by(*reversed(keys))
    )
    return [
        {
            **_grouping(row, group_by, keys),
            "total_income": row["total_income"] or Decimal("0.00"),
            "record_count": row["record_count"],
        }
        for row in rows
    ]


def visit_statistics(
    *,
    start_date: dt.date,
    end_date: dt.date,
    group_by: GroupBy,
    status: str | None = None,
) -> list[dict[str, Any]]:
    """Visits between two local dates (both included), optionally of one status: how many,
    how many distinct patients, and how many ended in each status, one row per group."""
    _check_group_by(group_by)
    keys = _VISIT_KEYS[group_by]
    visits = Visit.objects.filter(visit_date__gte=start_date, visit_date__lte=end_date)
    if status is not None:
        visits = visits.filter(status=status)
    per_status = {
        f"status_{code}": Count("id", filter=Q(status=code)) for code in VisitStatus.values
    }
    rows = (
        visits.values(*keys)
        .annotate(
            visit_count=Count("id"),
            patient_count=Count("patient_id", distinct=True),
            **per_status,
        )
        .order_by(*reversed(keys))
    )
    return [
        {
            **_grouping(row, group_by, keys),
            "visit_count": row["visit_count"],
            "patient_count": row["patient_count"],
            "by_status": {code: row[f"status_{code}"] for code in VisitStatus.values},
        }
        for row in rows
    ]
