"""Restart drill: MariaDB goes away under a running server and comes back.

    DATABASE_URL=mysql://USER:PASSWORD@127.0.0.1:3306/clinic python scripts/db_restart_drill.py

Runs the real stack (gunicorn, DEBUG off) against its own database (`clinic_drill`, created
and dropped here), signs a patient in through the API, and sends requests while it stops the
MariaDB server and starts it again. While the database is down every answer must be a clean
503 (JSON error for the API, never a 500 or a stack trace); after the restart requests must
succeed again, a booking must go through, and the clinic's invariants must hold.

It stops and starts the machine's MariaDB (as root, through the unix socket and
start-stop-daemon), so it runs as its own CI step after the test suite, never inside it.
Exit status 0 when every check holds, 1 otherwise.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
PORT = int(os.environ.get("DRILL_PORT", "8765"))
BASE = f"http://127.0.0.1:{PORT}"
DB_NAME = "clinic_drill"


def log(message: str) -> None:
    print(f"[drill] {message}", flush=True)


def drill_env() -> dict[str, str]:
    url = urlsplit(os.environ["DATABASE_URL"])
    if not url.scheme.startswith("mysql"):
        sys.exit("The drill needs DATABASE_URL=mysql://... (it restarts MariaDB).")
    drill_url = urlunsplit(url._replace(path=f"/{DB_NAME}"))
    return {
        **os.environ,
        "DATABASE_URL": drill_url,
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(64),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "SESSION_COOKIE_SECURE": "0",
        "CSRF_COOKIE_SECURE": "0",
        "CONN_MAX_AGE": "60",
        "API_AUTH_THROTTLE_RATE": "1000/minute",
    }


def mariadb(*sql: str) -> None:
    for statement in sql:
        subprocess.run(["mariadb", "--protocol=socket", "-uroot", "-e", statement], check=True)


def server_up() -> bool:
    return (
        subprocess.run(
            ["mariadb-admin", "--protocol=socket", "-uroot", "ping"],
            capture_output=True,
            check=False,
        ).returncode
        == 0
    )


def stop_mariadb() -> None:
    subprocess.run(["mariadb-admin", "--protocol=socket", "-uroot", "shutdown"], check=True)
    for _ in range(60):
        if not server_up():
            return
        time.sleep(0.5)
    raise RuntimeError("MariaDB did not stop")


def start_mariadb() -> None:
    Path("/run/mysqld").mkdir(exist_ok=True)
    shutil.chown("/run/mysqld", "mysql", "mysql")
    subprocess.run(
        [
            "start-stop-daemon",
            "--start",
            "--oknodo",
            "--background",
            "--exec",
            "/usr/sbin/mariadbd",
            "--",
            "--user=mysql",
        ],
        check=True,
    )
    for _ in range(120):
        if server_up():
            return
        time.sleep(0.5)
    raise RuntimeError("MariaDB did not come back")


def request(method: str, path: str, body: dict | None = None, token: str = "") -> tuple[int, str]:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"{BASE}{path}", data=data, method=method)  # noqa: S310
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=15) as response:  # noqa: S310
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        return 0, str(error)


def main() -> int:
    env = drill_env()
    failures: list[str] = []
    mariadb(
        f"DROP DATABASE IF EXISTS `{DB_NAME}`",
        f"CREATE DATABASE `{DB_NAME}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
    )
    manage = [PYTHON, str(ROOT / "manage.py")]
    subprocess.run([*manage, "migrate", "--no-input", "-v0"], env=env, check=True, cwd=ROOT)
    subprocess.run([*manage, "seed_demo"], env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    # DEBUG off serves hashed static files from STATIC_ROOT, as in production.
    subprocess.run([*manage, "collectstatic", "--no-input", "-v0"], env=env, check=True, cwd=ROOT)
    server_log = tempfile.TemporaryFile()  # noqa: SIM115 (closed in the finally below)
    gunicorn = subprocess.Popen(
        [
            str(Path(PYTHON).parent / "gunicorn"),
            "clinic.wsgi",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            "2",
            "--threads",
            "4",
            "--timeout",
            "30",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        # A file, not a pipe: an unread pipe fills up and blocks the server's logging.
        stderr=server_log,
    )
    try:
        for _ in range(60):
            if request("GET", "/accounts/login/")[0] == 200:
                break
            time.sleep(0.5)
        status, body = request(
            "POST", "/api/auth/login", {"username": "patient", "password": "Patient-demo-2026"}
        )
        if status != 200:
            raise RuntimeError(f"login failed: {status} {body[:200]}")
        token = json.loads(body)["access"]
        before = request("GET", "/api/patient/departments", token=token)[0]
        log(f"before the stop: {before}")
        if before != 200:
            failures.append(f"before the stop: {before}")

        log("stopping MariaDB")
        stop_mariadb()
        # The API (every call reads the token's user) and a page that reads the database.
        down = [request("GET", "/api/patient/departments", token=token) for _ in range(10)]
        down += [request("GET", "/display/IM/") for _ in range(3)]
        statuses = [status for status, _body in down]
        log(f"while down: {statuses}")
        for status, body in down:
            if status != 503:
                failures.append(f"while down: {status} {body[:120]}")
            if "Traceback" in body:
                failures.append("a stack trace was shown")

        log("starting MariaDB")
        start_mariadb()
        recovered_at = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if request("GET", "/api/patient/departments", token=token)[0] == 200:
                recovered_at = time.monotonic()
                break
            time.sleep(0.5)
        if recovered_at is None:
            failures.append("requests did not succeed again within 30 s")
        else:
            after = [request("GET", "/api/patient/departments", token=token)[0] for _ in range(10)]
            log(f"after the restart: {after}")
            failures += [f"after the restart: {status}" for status in after if status != 200]
            status, body = request(
                "POST",
                "/api/patient/appointments",
                {"dept_id": 1, "expected_time": next_bookable_time()},
                token=token,
            )
            log(f"a booking after the restart: {status}")
            if status not in (201, 409):
                failures.append(f"booking after the restart: {status} {body[:200]}")
    finally:
        gunicorn.send_signal(signal.SIGTERM)
        try:
            gunicorn.wait(timeout=20)
        except subprocess.TimeoutExpired:
            gunicorn.kill()
            gunicorn.wait()
        server_log.seek(0)
        errors = server_log.read()
        if not server_up():
            start_mariadb()
    check = subprocess.run(
        [*manage, "check_invariants"], env=env, cwd=ROOT, capture_output=True, text=True
    )
    log(check.stdout.strip() or check.stderr.strip())
    if check.returncode != 0:
        failures.append("invariants broken after the drill")
    if b"Traceback" in (errors or b"") and failures:
        log((errors or b"").decode(errors="replace")[-2000:])
    server_log.close()
    mariadb(f"DROP DATABASE IF EXISTS `{DB_NAME}`")
    if failures:
        log("FAILED:\n  " + "\n  ".join(failures))
        return 1
    log("OK: 503 while down, served again after the restart, invariants intact")
    return 0


def next_bookable_time() -> str:
    """Tomorrow 09:00 clinic time (the demo schedules cover the next six days)."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(os.environ.get("TIME_ZONE", "Asia/Shanghai"))
    tomorrow = dt.datetime.now(tz).date() + dt.timedelta(days=1)
    return dt.datetime.combine(tomorrow, dt.time(9, 0), tzinfo=tz).isoformat()


if __name__ == "__main__":
    sys.exit(main())
