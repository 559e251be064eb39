from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from clinic.name_keys import stale_name_keys


class Command(BaseCommand):
    help = (
        "Rebuild the pinyin search keys of patients and fee items whose keys do not match "
        "their names (after imports or bulk writes). With --check, only report them, and fail "
        "when there are any."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--check",
            action="store_true",
            help="report stale keys and exit with an error when there are any; change nothing",
        )

    def handle(self, *args: Any, check: bool = False, **options: Any) -> None:
        found = stale_name_keys(repair=not check)
        for label, count in found.items():
            verb = "stale" if check else "rebuilt"
            self.stdout.write(f"{label}: {count} {verb}")
        if check and any(found.values()):
            raise CommandError("Some pinyin search keys do not match their names.")
