"""Backing up and restoring the database the project runs on.

SQLite (the quick start) uses SQLite's online backup API, which copies a consistent snapshot
while the site keeps running. MySQL/MariaDB use mysqldump with --single-transaction (a
consistent InnoDB snapshot without locking tables) and the mysql client to restore. The
password goes to the clients through MYSQL_PWD, never on the command line.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from pathlib import Path

from django.core.management.base import CommandError
from django.db import connections


def _mysql_client_args(settings_dict: dict) -> tuple[list[str], dict[str, str]]:
    args = [
        f"--host={settings_dict.get('HOST') or '127.0.0.1'}",
        f"--port={settings_dict.get('PORT') or 3306}",
        f"--user={settings_dict['USER']}",
        "--default-character-set=utf8mb4",
    ]
    env = {**os.environ, "MYSQL_PWD": settings_dict.get("PASSWORD") or ""}
    return args, env


def _client(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise CommandError(f"None of {', '.join(names)} is installed (apt-get install mariadb-client).")


def backup(output: Path, *, alias: str = "default") -> None:
    connection = connections[alias]
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        target = sqlite3.connect(output)
        try:
            connection.connection.backup(target)
        finally:
            target.close()
    elif connection.vendor == "mysql":
        args, env = _mysql_client_args(connection.settings_dict)
        dump = _client("mariadb-dump", "mysqldump")
        with output.open("wb") as handle:
            result = subprocess.run(  # noqa: S603 (fixed executable, no shell)
                [
                    dump,
                    *args,
                    "--single-transaction",
                    "--routines",
                    "--triggers",
                    "--no-tablespaces",
                    connection.settings_dict["NAME"],
                ],
                stdout=handle,
                stderr=subprocess.PIPE,
                env=env,
                check=False,
            )
        if result.returncode != 0:
            raise CommandError(f"{dump} failed: {result.stderr.decode(errors='replace').strip()}")
    else:
        raise CommandError(f"No backup method for {connection.vendor}.")


def restore(source: Path, *, alias: str = "default") -> None:
    if not source.exists():
        raise CommandError(f"{source} does not exist.")
    connection = connections[alias]
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        backup_db = sqlite3.connect(source)
        try:
            backup_db.backup(connection.connection)
        finally:
            backup_db.close()
    elif connection.vendor == "mysql":
        args, env = _mysql_client_args(connection.settings_dict)
        client = _client("mariadb", "mysql")
        connection.close()
        with source.open("rb") as handle:
            result = subprocess.run(  # noqa: S603 (fixed executable, no shell)
                [client, *args, connection.settings_dict["NAME"]],
                stdin=handle,
                stderr=subprocess.PIPE,
                env=env,
                check=False,
            )
        if result.returncode != 0:
            raise CommandError(f"{client} failed: {result.stderr.decode(errors='replace').strip()}")
    else:
        raise CommandError(f"No restore method for {connection.vendor}.")
