"""Recompute the daily income summary from the income records and their bills."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.models import DailyIncomeSummary


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value!r}") from error


class Command(BaseCommand):
    help = (
        "Rebuild the daily income summary (per day, department and doctor) from the income "
        "records, for a date range or for all dates; --check only compares."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start", type=_date, help="first record date (YYYY-MM-DD)")
        parser.add_argument("--end", type=_date, help="last record date, inclusive")
        parser.add_argument(
            "--check",
            action="store_true",
            help="write nothing: list where the summary and the detail differ, and fail if any",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        start, end = options["start"], options["end"]
        if start and end and start > end:
            raise CommandError("--start is after --end.")
        span = f"{start or 'the beginning'} – {end or 'the end'}"
        if options["check"]:
            differences = DailyIncomeSummary.differences(start_date=start, end_date=end)
            for row in differences[:50]:
                self.stdout.write(
                    f"{row['record_date']} department {row['department_id']} doctor "
                    f"{row['doctor_key']}: detail {row['detail']} summary {row['summary']}"
                )
            if differences:
                raise CommandError(
                    f"The summary differs from the detail in {len(differences)} rows ({span})."
                )
            self.stdout.write(self.style.SUCCESS(f"The summary matches the detail ({span})."))
            return
        started = time.perf_counter()
        written = DailyIncomeSummary.rebuild(start_date=start, end_date=end)
        self.stdout.write(
            self.style.SUCCESS(
                f"Income summary rebuilt for {span}: {written} rows in "
                f"{time.perf_counter() - started:.1f} s."
            )
        )
