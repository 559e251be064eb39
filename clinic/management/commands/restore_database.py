from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from clinic.backup import restore


class Command(BaseCommand):
    help = (
        "Restore the database from a backup made by backup_database, then check the clinic's "
        "invariants. Overwrites the current data: stop the site first."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("source", type=Path, help="the backup file to restore")
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args: Any, source: Path, yes: bool, **options: Any) -> None:
        if not yes and input("This replaces the current data. Type 'yes' to go on: ") != "yes":
            raise CommandError("Restore cancelled.")
        restore(source)
        self.stdout.write(f"Restored from {source}.")
        call_command("check_invariants", stdout=self.stdout)
