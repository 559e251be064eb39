"""Income and visit statistics over a date range, grouped by day, department or doctor, as
the API shows them.

The figures come from the statistics page's own queries (billing.selectors: the daily
summaries, one query per table whatever the range), reshaped here. Rows come back in a stable
order: by date, or by department / doctor name. Day grouping lists only days with income or
visits.

Every row has the same keys, whatever the grouping, so callers (the API, exports) can show
one table: the grouping keys that do not apply are None.
- income: date, dept_id, dept_name, doctor_id (staff code), doctor_name, total_income
  (Decimal), record_count.
- visits: the same grouping keys, visit_count, patient_count (distinct patients), and
  by_status ({status code: count} for every visit status).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from billing.selectors import Grouping, IncomeRow, VisitRow, income_by_group, visits_by_group

GroupBy = Literal["day", "dept", "doctor"]
GROUP_BY_CHOICES: tuple[str, ...] = ("day", "dept", "doctor")
_GROUPINGS = {"day": Grouping.DAY, "dept": Grouping.DEPARTMENT, "doctor": Grouping.DOCTOR}


def _grouping(group_by: str) -> Grouping:
    if group_by not in GROUP_BY_CHOICES:
        raise ValueError(f"group_by must be one of {GROUP_BY_CHOICES}, not {group_by!r}")
    return _GROUPINGS[group_by]


def _keys(row: IncomeRow | VisitRow, group_by: str) -> dict[str, Any]:
    result: dict[str, Any] = {
        "date": None,
        "dept_id": None,
        "dept_name": None,
        "doctor_id": None,
        "doctor_name": None,
    }
    if group_by == "day":
        result["date"] = row.key
    elif group_by == "dept":
        result["dept_id"], result["dept_name"] = row.key, row.name
    else:
        # The API names a doctor by staff code; None for income recorded without a doctor.
        result["doctor_id"], result["doctor_name"] = row.code, row.name
    return result


def _in_api_order(rows: list, group_by: str) -> list:
    """Doctors by name, then staff code (no doctor first); days and departments as the
    selectors return them."""
    if group_by != "doctor":
        return rows
    return sorted(rows, key=lambda row: (row.name is not None, row.name or "", row.code or ""))


def income_statistics(
    *, start_date: dt.date, end_date: dt.date, group_by: GroupBy
) -> list[dict[str, Any]]:
    """Income booked between two local dates (both included), one row per group."""
    rows = income_by_group(start_date=start_date, end_date=end_date, group_by=_grouping(group_by))
    return [
        {**_keys(row, group_by), "total_income": row.total, "record_count": row.payments}
        for row in _in_api_order(rows, group_by)
        if row.payments
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
    rows = visits_by_group(
        start_date=start_date, end_date=end_date, group_by=_grouping(group_by), status=status
    )
    return [
        {
            **_keys(row, group_by),
            "visit_count": row.visits,
            "patient_count": row.patients,
            "by_status": dict(row.by_status),
        }
        for row in _in_api_order(rows, group_by)
        if row.visits
    ]
