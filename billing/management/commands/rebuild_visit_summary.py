"""Recompute the daily visit summary (the statistics' visit counts) from the visits."""

from __future__ import annotations

from typing import Any

from billing.management.summary_command import SummaryCommand
from visits.models import VisitDailySummary


class Command(SummaryCommand):
    help = (
        "Rebuild the daily visit summary (per day, department and doctor: visits, statuses, "
        "patients of the day) from the visits, for a date range or for all dates; --check "
        "only compares."
    )
    summary = VisitDailySummary
    subject, detail, title, date_noun = "visit summary", "the visits", "Visit summary", "visit"

    def describe(self, row: dict[str, Any]) -> str:
        return (
            f"{row['visit_date']} department {row['department_id']} doctor "
            f"{row['doctor_id']}: detail {row['detail']} summary {row['summary']} "
            f"({', '.join(VisitDailySummary.FIGURES)})"
        )
