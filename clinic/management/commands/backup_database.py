from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand

from clinic.backup import backup


class Command(BaseCommand):
    help = "Write a consistent backup of the database (SQLite file or SQL dump for MySQL)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("output", type=Path, help="the backup file to write")

    def handle(self, *args: Any, output: Path, **options: Any) -> None:
        backup(output)
        self.stdout.write(f"Backed up to {output} ({output.stat().st_size} bytes).")
