"""Recompute the daily income summary from the income records and their bills."""

from __future__ import annotations

from typing import Any

from billing.management.summary_command import SummaryCommand
from billing.models import DailyIncomeSummary


class Command(SummaryCommand):
    help = (
        "Rebuild the daily income summary (per day, department and doctor) from the income "
        "records, for a date range or for all dates; --check only compares."
    )
    summary = DailyIncomeSummary
    subject, detail, title, date_noun = "summary", "the detail", "Income summary", "record"

    def describe(self, row: dict[str, Any]) -> str:
        return (
            f"{row['record_date']} department {row['department_id']} doctor "
            f"{row['doctor_key']}: detail {row['detail']} summary {row['summary']}"
        )
