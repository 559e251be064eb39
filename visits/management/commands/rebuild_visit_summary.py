"""Recompute the daily visit summary (the statistics' visit counts) from the visits."""

from __future__ import annotations

from clinic.management.summary_command import SummaryCommand
from visits.models import VisitDailySummary


class Command(SummaryCommand):
    help = (
        "Rebuild the daily visit summary (per day, department and doctor: visits, statuses, "
        "patients of the day) from the visits, for a date range or for all dates; --check "
        "only compares."
    )
    summary = VisitDailySummary
    subject, detail, title, date_noun = "visit summary", "the visits", "Visit summary", "visit"
    row_format = (
        "{visit_date} department {department_id} doctor {doctor_id}: "
        f"detail {{detail}} summary {{summary}} ({', '.join(VisitDailySummary.FIGURES)})"
    )
