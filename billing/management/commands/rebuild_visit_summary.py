"""Recompute the daily visit summary (the statistics' visit counts) from the visits."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.management.commands.rebuild_income_summary import _date
from visits.models import VisitDailySummary


class Command(BaseCommand):
    help = (
        "Rebuild the daily visit summary (per day, department and doctor: visits, statuses, "
        "patients of the day) from the visits, for a date range or for all dates; --check "
        "only compares."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start", type=_date, help="first visit date (YYYY-MM-DD)")
        parser.add_argument("--end", type=_date, help="last visit date, inclusive")
        parser.add_argument(
            "--check",
            action="store_true",
            help="write nothing: list where the summary and the visits differ, and fail if any",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        start, end = options["start"], options["end"]
        if start and end and start > end:
            raise CommandError("--start is after --end.")
        span = f"{start or 'the beginning'} – {end or 'the end'}"
        if options["check"]:
            differences = VisitDailySummary.differences(start_date=start, end_date=end)
            figures = ", ".join(VisitDailySummary.FIGURES)
            for row in differences[:50]:
                self.stdout.write(
                    f"{row['visit_date']} department {row['department_id']} doctor "
                    f"{row['doctor_id']}: detail {row['detail']} summary {row['summary']} "
                    f"({figures})"
                )
            if differences:
                raise CommandError(
                    f"The visit summary differs from the visits in {len(differences)} rows "
                    f"({span})."
                )
            self.stdout.write(self.style.SUCCESS(f"The visit summary matches the visits ({span})."))
            return
        started = time.perf_counter()
        written = VisitDailySummary.rebuild(start_date=start, end_date=end)
        self.stdout.write(
            self.style.SUCCESS(
                f"Visit summary rebuilt for {span}: {written} rows in "
                f"{time.perf_counter() - started:.1f} s."
            )
        )
