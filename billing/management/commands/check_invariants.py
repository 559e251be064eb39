from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing.invariants import find_problems


class Command(BaseCommand):
    help = (
        "Check capacity counters, bill identities, one paid bill per left visit, tenders, "
        "refunds, closed shifts' cash and income (net of refunds)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        problems = find_problems()
        if problems:
            raise CommandError("Invariants broken:\n  " + "\n  ".join(problems))
        self.stdout.write("All invariants hold.")
