"""The throw-away database every MariaDB benchmark runs in (never the one in DATABASE_URL)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class CannotRun(Exception):
    """The benchmark cannot run here; the message says why (exit status 2)."""


@contextmanager
def server_cursor() -> Iterator[Any]:
    """A cursor on the database server of DATABASE_URL, outside any database: the one named
    there need not exist, and benchmarks create and drop their own."""
    import MySQLdb
    from django.db import connection

    config = connection.settings_dict
    server = MySQLdb.connect(
        host=config["HOST"] or "localhost",
        port=int(config["PORT"] or 3306),
        user=config["USER"],
        password=config["PASSWORD"],
        charset="utf8mb4",
    )
    try:
        with server.cursor() as cursor:
            yield cursor
    finally:
        server.close()


@contextmanager
def throwaway_database(name: str, *, replace: bool, script: str) -> Iterator[str]:
    """Create and migrate database `name` with Django's test-database utilities, switch the
    default connection to it, and drop it on the way out. Yields the server's name.

    Refuses SQLite (no row locks: the figures would mean nothing), the database named in
    DATABASE_URL, and an existing database of that name unless `replace`.
    """
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    if connection.vendor != "mysql":
        raise CannotRun(
            f"{script} needs MariaDB 10.11 or MySQL 8: SQLite has no row locks. Run it as: "
            f"DATABASE_URL=mysql://USER:PASSWORD@HOST:3306/DB python {script}"
        )
    if name == connection.settings_dict["NAME"]:
        raise CannotRun("--db-name must differ from the database in DATABASE_URL.")
    with server_cursor() as cursor:
        cursor.execute("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", [name])
        if cursor.fetchone() is not None:
            if not replace:
                raise CannotRun(
                    f"Database {name!r} already exists (another bench running?). Choose "
                    "--db-name, or pass --replace to drop it."
                )
            cursor.execute(f"DROP DATABASE {connection.ops.quote_name(name)}")

    connection.settings_dict.setdefault("TEST", {})["NAME"] = name
    print(f"creating and migrating {name} …", file=sys.stderr)
    old_config = setup_databases(
        verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
    )
    try:
        yield f"{connection.display_name} {'.'.join(map(str, connection.mysql_version))}"
    finally:
        connection.close()
        teardown_databases(old_config, verbosity=0)
        print(f"dropped {name}", file=sys.stderr)
