"""Income statistics over a date range as the API shows them: the statistics page's own query
(billing.selectors) reshaped, one row per group with the API's grouping keys
(clinic.statistics), `total_income` (Decimal, net of refunds) and `record_count` (payments).
Day grouping lists only days with income or refunds."""

from __future__ import annotations

import datetime as dt
from typing import Any

from billing.selectors import income_by_group
from clinic.statistics import GroupBy, api_group_keys, grouping_for_api, in_api_order


def income_statistics(
    *, start_date: dt.date, end_date: dt.date, group_by: GroupBy
) -> list[dict[str, Any]]:
    """Income booked between two local dates (both included), one row per group."""
    rows = income_by_group(
        start_date=start_date, end_date=end_date, group_by=grouping_for_api(group_by)
    )
    return [
        {**api_group_keys(row, group_by), "total_income": row.total, "record_count": row.payments}
        for row in in_api_order(rows, group_by)
        if row.payments or row.refunds
    ]
