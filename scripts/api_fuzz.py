"""The JSON API fuzzed from outside, as an attacker's tool would: schemathesis' command line
with every check, mode and phase (`--checks all --mode all --phases
examples,coverage,fuzzing,stateful`) against gunicorn serving the demo clinic, once per role
and once without a token. Any 5xx, any answer outside the schema, any refused schema-valid
request beyond what scripts/schemathesis.toml allows fails it (exit status 1).

    DATABASE_URL=mysql://USER:PASSWORD@127.0.0.1:3306/clinic python scripts/api_fuzz.py

It serves its own database (`test_clinic_fuzz` on the server of DATABASE_URL, dropped
afterwards; an SQLite file when DATABASE_URL is unset), seeded with `seed_demo`: the demo
receptionist's cashier shift is open there, so that her payments can succeed (an
administrator has none: theirs are refused with 409 no_open_shift, as documented).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
BIN = Path(PYTHON).parent
ROLES = {
    "admin": "Admin-demo-2026",
    "reception": "Desk-demo-2026",
    "doctor": "Doctor-demo-2026",
    "patient": "Patient-demo-2026",
    "anonymous": None,
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8811)
    parser.add_argument("--max-examples", type=int, default=5, help="per operation and phase")
    parser.add_argument("--db-name", default="test_clinic_fuzz")
    parser.add_argument("--seed", default="1", help="schemathesis' seed (reproducible runs)")
    parser.add_argument("--roles", nargs="*", default=list(ROLES), choices=list(ROLES))
    return parser.parse_args()


def database_url(args: argparse.Namespace, workdir: str) -> tuple[str, str | None]:
    """The URL to serve, and the MySQL database to drop afterwards (None for SQLite)."""
    given = os.environ.get("DATABASE_URL", "")
    if not given.startswith("mysql"):
        return f"sqlite:///{workdir}/fuzz.sqlite3", None
    url = urllib.parse.urlsplit(given)
    return urllib.parse.urlunsplit(url._replace(path=f"/{args.db_name}")), args.db_name


def mysql(url: str, statement: str) -> None:
    import MySQLdb

    parts = urllib.parse.urlsplit(url)
    server = MySQLdb.connect(
        host=parts.hostname or "localhost",
        port=parts.port or 3306,
        user=urllib.parse.unquote(parts.username or ""),
        password=urllib.parse.unquote(parts.password or ""),
    )
    try:
        server.cursor().execute(statement)
    finally:
        server.close()


def sign_in(port: int, username: str, password: str) -> str:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/auth/login",
        data=json.dumps({"username": username, "password": password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (our server)
        return json.load(response)["access"]


def wait_for(port: int) -> None:
    for _ in range(60):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/schema/", timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise SystemExit("gunicorn did not answer")


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        url, mysql_db = database_url(args, workdir)
        env = {
            **os.environ,
            "DATABASE_URL": url,
            "DEBUG": "0",
            "SECRET_KEY": "api-fuzz-only-secret-key-never-used-for-real-data",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            # The fuzzer signs in and registers far faster than a person: the sign-in
            # throttle (tested on its own) would answer 429 to most of it.
            "API_AUTH_THROTTLE_RATE": "100000/minute",
            "GUNICORN_BIND": f"127.0.0.1:{args.port}",
            "GUNICORN_WORKERS": "2",
        }
        if mysql_db:
            mysql(os.environ["DATABASE_URL"], f"DROP DATABASE IF EXISTS `{mysql_db}`")
            mysql(
                os.environ["DATABASE_URL"],
                f"CREATE DATABASE `{mysql_db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
            )
        server = None
        failed = []
        try:
            for command in (["migrate", "-v0"], ["seed_demo"]):
                subprocess.run(
                    [PYTHON, "manage.py", *command], cwd=ROOT, env=env, check=True,
                    stdout=subprocess.DEVNULL,
                )  # fmt: skip
            server = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "clinic.wsgi"],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            wait_for(args.port)
            for role in args.roles:
                password = ROLES[role]
                headers = []
                if password is not None:
                    token = sign_in(args.port, role, password)
                    headers = ["-H", f"Authorization: Bearer {token}"]
                print(f"== {role}", flush=True)
                run = subprocess.run(
                    [
                        str(BIN / "st"), "--config-file", str(ROOT / "scripts/schemathesis.toml"),
                        "run", f"http://127.0.0.1:{args.port}/api/schema/",
                        "--checks", "all", "--mode", "all",
                        "--phases", "examples,coverage,fuzzing,stateful",
                        "--max-examples", str(args.max_examples), "--seed", args.seed,
                        "--no-color", *headers,
                    ],
                    cwd=ROOT, env=env, check=False,
                )  # fmt: skip
                if run.returncode != 0:
                    failed.append(role)
        finally:
            if server is not None:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
            if mysql_db:
                mysql(os.environ["DATABASE_URL"], f"DROP DATABASE IF EXISTS `{mysql_db}`")
    if failed:
        print(f"API fuzz failed for: {', '.join(failed)}")
        return 1
    print("API fuzz: no failure for any role")
    return 0


if __name__ == "__main__":
    sys.exit(main())
