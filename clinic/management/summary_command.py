"""The rebuild-or-check command every daily summary shares (income, visits)."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any, ClassVar

from django.core.management.base import BaseCommand, CommandError, CommandParser


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as error:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value!r}") from error


class SummaryCommand(BaseCommand):
    """Rebuild a summary model's rows for a date range from its detail rows, or with --check
    only compare them. The model provides `rebuild(start_date=, end_date=)` and
    `differences(start_date=, end_date=)`."""

    summary: ClassVar[Any]
    subject: ClassVar[str]  # "The {subject} differs from …"
    detail: ClassVar[str]  # "… from {detail}"
    title: ClassVar[str]  # "{title} rebuilt for …"
    date_noun: ClassVar[str]  # "first {date_noun} date"
    # One differing row, from the keys of the model's `differences()` rows.
    row_format: ClassVar[str]

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--start", type=_date, help=f"first {self.date_noun} date (YYYY-MM-DD)")
        parser.add_argument("--end", type=_date, help=f"last {self.date_noun} date, inclusive")
        parser.add_argument(
            "--check",
            action="store_true",
            help=f"write nothing: list where the summary and {self.detail} differ, and fail if any",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        start, end = options["start"], options["end"]
        if start and end and start > end:
            raise CommandError("--start is after --end.")
        span = f"{start or 'the beginning'} – {end or 'the end'}"
        if options["check"]:
            differences = self.summary.differences(start_date=start, end_date=end)
            for row in differences[:50]:
                self.stdout.write(self.row_format.format(**row))
            if differences:
                raise CommandError(
                    f"The {self.subject} differs from {self.detail} in {len(differences)} rows "
                    f"({span})."
                )
            self.stdout.write(
                self.style.SUCCESS(f"The {self.subject} matches {self.detail} ({span}).")
            )
            return
        started = time.perf_counter()
        written = self.summary.rebuild(start_date=start, end_date=end)
        self.stdout.write(
            self.style.SUCCESS(
                f"{self.title} rebuilt for {span}: {written} rows in "
                f"{time.perf_counter() - started:.1f} s."
            )
        )
