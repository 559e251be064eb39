"""Production settings refuse to serve without a secret key, and commands that sign nothing
still run (the before-stop hook's makemigrations --check); the shared cache and causal reads
as the environment asks for them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

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


SHOW_SETTINGS = (
    "import json; from django.conf import settings; "
    "print(json.dumps({'caches': settings.CACHES, 'database': settings.DATABASES['default']}))"
)
MYSQL_URL = "mysql://clinic@db.example:3306/clinic"
SQL_MODE = "SET sql_mode='STRICT_TRANS_TABLES,NO_ZERO_DATE,NO_ZERO_IN_DATE'"


def show_settings(**env: str) -> dict:
    for name in ("REDIS_URL", "DATABASE_WSREP_SYNC_WAIT"):
        env.setdefault(name, "")
    result = run(SHOW_SETTINGS, SECRET_KEY="x" * 60, **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_redis_url_makes_the_shared_cache_the_default():
    caches = show_settings(REDIS_URL="redis://cache.example:6379/2")["caches"]
    assert caches == {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://cache.example:6379/2",
            "KEY_PREFIX": "clinic",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }


def test_without_redis_url_each_process_has_its_local_memory_cache():
    caches = show_settings()["caches"]
    assert caches["default"]["BACKEND"] == "django.core.cache.backends.locmem.LocMemCache"


def test_a_redis_url_of_another_scheme_is_refused():
    result = run(SHOW_SETTINGS, SECRET_KEY="x" * 60, REDIS_URL="cache.example:6379")
    assert result.returncode != 0
    assert "REDIS_URL must start with redis://" in result.stderr


def test_causal_reads_join_the_sql_mode_in_one_init_command():
    database = show_settings(DATABASE_URL=MYSQL_URL, DATABASE_WSREP_SYNC_WAIT="1")["database"]
    assert database["OPTIONS"]["init_command"] == f"{SQL_MODE}, SESSION wsrep_sync_wait=1"


def test_without_causal_reads_the_init_command_sets_the_sql_mode_only():
    database = show_settings(DATABASE_URL=MYSQL_URL)["database"]
    assert database["OPTIONS"]["init_command"] == SQL_MODE


@pytest.mark.parametrize("value", ["16", "-1"])
def test_a_sync_wait_outside_the_bitmask_is_refused(value):
    result = run(
        SHOW_SETTINGS,
        SECRET_KEY="x" * 60,
        DATABASE_URL=MYSQL_URL,
        DATABASE_WSREP_SYNC_WAIT=value,
        REDIS_URL="",
    )
    assert result.returncode != 0
    assert "DATABASE_WSREP_SYNC_WAIT must be between 0 and 15" in result.stderr


@pytest.mark.mariadb
@pytest.mark.django_db
def test_the_session_of_a_new_connection_waits_for_causality():
    """A real connection opened with the settings' init_command (MariaDB accepts the
    variable outside a cluster too, where it changes nothing)."""
    db = connection.settings_dict
    password = f":{quote(db['PASSWORD'], safe='')}" if db["PASSWORD"] else ""
    url = f"mysql://{quote(db['USER'], safe='')}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    result = run(
        "from django.db import connection; cursor = connection.cursor(); "
        "cursor.execute('SELECT @@SESSION.wsrep_sync_wait, @@SESSION.sql_mode'); "
        "print(*cursor.fetchone())",
        SECRET_KEY="x" * 60,
        DATABASE_URL=url,
        DATABASE_WSREP_SYNC_WAIT="1",
        REDIS_URL="",
    )
    assert result.returncode == 0, result.stderr
    sync_wait, sql_mode = result.stdout.split()
    assert sync_wait == "1"
    assert "STRICT_TRANS_TABLES" in sql_mode
