"""Mark live appointments whose slot ended (plus the grace period) as no-shows.

The periodic task appointments.tasks.mark_due_no_shows does this by itself under
`run_worker`; this command (the same function, appointments.no_shows) is for a timer without
a worker, or by hand. Running it twice is safe.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from appointments.no_shows import mark_due_no_shows


class Command(BaseCommand):
    help = "Mark appointments as no-shows once their slot has ended plus the grace period."

    def handle(self, *args: Any, **options: Any) -> None:
        result = mark_due_no_shows()
        self.stdout.write(
            f"{result.marked} appointments marked as no-shows, {result.not_yet_due} not yet due."
        )
