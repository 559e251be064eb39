"""Recompute the daily income summary from the income records and their bills."""

from __future__ import annotations

from billing.models import DailyIncomeSummary
from clinic.management.summary_command import SummaryCommand


class Command(SummaryCommand):
    help = (
        "Rebuild the daily income summary (per day, department and doctor) from the income "
        "records, for a date range or for all dates; --check only compares."
    )
    summary = DailyIncomeSummary
    subject, detail, title, date_noun = "summary", "the detail", "Income summary", "record"
    row_format = (
        "{record_date} department {department_id} doctor {doctor_key}: "
        "detail {detail} summary {summary}"
    )
