"""Recompute the daily income summaries (by day, department and doctor; and by fee category)
from the income records, their bills and the bills' lines."""

from __future__ import annotations

from typing import Any

from django.core.management.base import CommandError

from billing.models import DailyCategoryIncome, DailyIncomeSummary
from clinic.management.summary_command import SummaryCommand

SUMMARIES = (
    (
        DailyIncomeSummary,
        "summary",
        "Income summary",
        "{record_date} department {department_id} doctor {doctor_key}: "
        "detail {detail} summary {summary}",
    ),
    (
        DailyCategoryIncome,
        "category summary",
        "Income by category",
        "{record_date} department {department_id} doctor {doctor_key} {category}: "
        "detail {detail} summary {summary}",
    ),
)


class Command(SummaryCommand):
    help = (
        "Rebuild the daily income summaries (per day, department and doctor, and per fee "
        "category) from the income records and bill lines, for a date range or for all dates; "
        "--check only compares."
    )
    summary = DailyIncomeSummary
    subject, detail, title, date_noun = "summary", "the detail", "Income summary", "record"
    row_format = SUMMARIES[0][3]

    def handle(self, *args: Any, **options: Any) -> None:
        """Each summary in turn; with --check, every difference of both is listed before
        the command fails."""
        failures = []
        for summary, subject, title, row_format in SUMMARIES:
            self.summary, self.subject, self.title, self.row_format = (
                summary,
                subject,
                title,
                row_format,
            )
            try:
                super().handle(*args, **options)
            except CommandError as error:
                if not options["check"] or str(error).startswith("--start"):
                    raise
                failures.append(str(error))
        if failures:
            raise CommandError(" ".join(failures))
