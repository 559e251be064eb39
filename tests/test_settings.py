"""Production settings refuse to serve without a secret key, and commands that sign nothing
still run (the before-stop hook's makemigrations --check)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(code: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG")}
    clean.update(DJANGO_SETTINGS_MODULE="clinic.settings", **env)
    return subprocess.run(  # noqa: S603
        [sys.executable, "-c", code], cwd=ROOT, env=clean, capture_output=True, text=True
    )


def test_serving_refuses_to_start_without_a_secret_key(tmp_path):
    result = run("import clinic.wsgi", DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3")
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_serving_starts_with_a_secret_key(tmp_path):
    result = run(
        "import clinic.wsgi",
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
        SECRET_KEY="x" * 60,
    )
    assert result.returncode == 0, result.stderr


def test_migrations_can_be_checked_without_a_secret_key(tmp_path):
    result = run(
        "import sys; from django.core.management import execute_from_command_line;"
        "execute_from_command_line(['manage.py', 'makemigrations', '--check', '--dry-run'])",
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
    )
    assert result.returncode == 0, result.stderr
    assert "No changes detected" in result.stdout


def test_check_deploy_reports_a_missing_secret_key(tmp_path):
    result = run(
        "from django.core.management import execute_from_command_line;"
        "execute_from_command_line(['manage.py', 'check', '--deploy'])",
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
        ALLOWED_HOSTS="clinic.example",
    )
    assert result.returncode != 0
    assert "clinic.E001" in result.stderr
