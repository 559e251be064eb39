"""The cluster drill (`make cluster-drill`): a mixed load through HAProxy while a Galera node
and an app server die and come back, then the checks that nothing acknowledged was lost.

    .venv/bin/python scripts/cluster.py up      # the local cluster (scripts/cluster.py)
    .venv/bin/python scripts/cluster_drill.py   # [--duration 60] [--clients 16]

In order:

1. Seeds its own small clinic on top of the demo data, through the Django ORM connected via
   HAProxy (DATABASE_URL of the app servers' single-writer mode, their settings and secret
   read from .cluster/app-a.env, so that the tokens it mints are theirs): three departments
   with two doctors each, today's schedules (the slot open now), bookable schedules for the
   coming days, patients with accounts (one JWT each), receptionists with an open cashier
   shift, today's bookings to check in and visits awaiting payment. Every code, name and
   phone carries a run tag, so the drill runs any number of times on one cluster.
2. Multi-writer mode (`cluster.py mode multi`: app-a writes through node1, app-b through
   node2): the capacity storm (200 simultaneous bookings for 10 places, half to each app
   server directly), then the causal read (a booking POSTed to app-a read back at once
   through app-b, 50 times).
3. The limits across both app servers: failed sign-ins for one username, alternating
   servers, lock it out after LOGIN_FAILURE_LIMIT in total; the API's sign-in throttle
   answers 429 after API_AUTH_THROTTLE_RATE's count in total.
4. Single-writer mode, and the mixed load through HAProxy (bookings, check-ins, walk-ins,
   payments, searches; `--clients` at once for `--duration` seconds). At 1/3 of it node1
   (the writer) is killed with SIGKILL, at 1/2 app-a, at 3/4 both are started again.
5. The checks, each PASS or FAIL: no 500; every answer a 2xx or a 409/503 JSON error with
   the unified body; every acknowledged id on every node; `check_invariants` on every node;
   identical row counts per table on the three nodes; a primary key on every table; node1
   rejoined by IST. With the figures: requests, answers by kind, retries ("db retry:" lines
   the app servers logged), the time until a survivor saw the node gone, and the time the
   node took to rejoin.

Exit status 0 when every check passed, 1 otherwise, 2 when it cannot run.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import datetime as dt
import os
import random
import re
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HAPROXY_URL = "mysql://clinic:clinic@127.0.0.1:3310/clinic_cluster"
NODE_URLS = [
    f"mysql://clinic:clinic@127.0.0.1:{port}/clinic_cluster" for port in (3307, 3308, 3309)
]
# One cashier (with an open shift) per client at most: a desk settles one visit at a time.
DEPARTMENTS, DOCTORS_PER_DEPARTMENT, DESKS = 3, 2, 16
STORM_REQUESTS, STORM_PLACES, CAUSAL_READS = 200, 10, 50
BOOKING_DAYS = 2
# What the mixed load may use up: one booking per account, each booking a check-in, each
# visit a payment. More than 16 clients can do in 60 s on this machine's two cores.
LOAD_ACCOUNTS, CHECK_INS, AWAITING_PAYMENT, WALK_INS = 2500, 900, 700, 600
# What a joining node logs (MariaDB 10.11, Galera 4). The log says "SST" even when only an
# incremental transfer ran (the SST script runs in any case, and transfers nothing then):
# the node asked with a position of its own ("Local state: <uuid>:<seqno>", not
# 00000000-…:-1), the "SST" installed that same position, and the missed writesets came as
# "IST received". A whole snapshot shows as an undefined local state, a newer installed
# position, or the script's "SST completed on joiner".
LOCAL_STATE = re.compile(r"Local state: ([0-9a-f-]{36}):(-?\d+)")
INSTALLED = re.compile(r"Installed new state from SST: ([0-9a-f-]{36}):(-?\d+)")
IST_RECEIVED = re.compile(r"IST received: ([0-9a-f-]{36}):(-?\d+)")
SNAPSHOT_DONE = re.compile(r"SST completed on joiner")
NO_STATE = "00000000-0000-0000-0000-000000000000"
RETRY_MARK = b"db retry:"
MAX_UNAVAILABLE = 0.05


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (60)")
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (16)")
    parser.add_argument(
        "--cluster-root",
        type=Path,
        default=ROOT,
        help="the checkout whose scripts/cluster.py runs the cluster (its .cluster/ folder)",
    )
    parser.add_argument("--url", default="http://127.0.0.1:8100", help="HAProxy's HTTP address")
    parser.add_argument(
        "--app-urls",
        default="http://127.0.0.1:8101,http://127.0.0.1:8102",
        help="app-a and app-b directly",
    )
    parser.add_argument("--database-url", default=HAPROXY_URL, help="the seed's database")
    parser.add_argument(
        "--node-urls", default=",".join(NODE_URLS), help="the Galera nodes, comma-separated"
    )
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        choices=["storm", "causal", "limits", "faults", "modes"],
        help="leave out a part (development against one server)",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (the run tag)")
    args = parser.parse_args(argv)
    args.cluster_dir = args.cluster_root / ".cluster"
    args.app_urls = args.app_urls.split(",")
    args.node_urls = args.node_urls.split(",")
    return args


def log(message: str) -> None:
    print(f"[drill {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def read_env_file(path: Path) -> dict[str, str]:
    result = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            result[key.strip()] = value.strip().strip("'\"")
    return result


def setup_django(args: argparse.Namespace) -> dict[str, str]:
    """The app servers' settings (their secret: the tokens minted here must be theirs), with
    the seed's database. Returns the app servers' environment."""
    env_file = args.cluster_dir / "app-a.env"
    if not env_file.exists():
        raise CannotRun(f"{env_file} is missing: is the cluster up (scripts/cluster.py up)?")
    app_env = read_env_file(env_file)
    os.environ.update(app_env)
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
    import django

    django.setup()
    return app_env


class CannotRun(Exception):
    pass


# --- The drill's clinic -----------------------------------------------------------------------


@dataclass
class Plan:
    tag: str
    today: dt.date
    # The names bench/load.py's Work reads: it hands out the load's bookings, arrivals and
    # walk-ins.
    departments: list[tuple[int, str]]  # (id, code)
    desk_tokens: list[str]
    patient_tokens: list[str]  # one booking each
    storm_tokens: list[str]
    causal_tokens: list[str]
    storm_department: int
    storm_time: str
    storm_schedule: int
    causal_department: int
    causal_time: str
    booking_times: list[str]
    check_ins: list[tuple[int, str, str]]  # (appointment id, phone, ID number)
    awaiting_payment: list[int]
    walk_ins: list  # bench.load.Person
    login_user: str
    login_password: str
    check_in_open: bool
    phone_prefix: str
    itemised_visits: list[int] = field(default_factory=list)  # none (Work reads it)


def open_slot(now: dt.datetime) -> str | None:
    """The half-day slot whose check-in is open now (it opens CLINIC_CHECK_IN_EARLY_MINUTES
    before the slot's first window), or None outside the clinic's hours."""
    from django.conf import settings

    from scheduling.models import HALF_DAY_SLOTS, slot_bounds

    early = dt.timedelta(minutes=min(45, settings.CLINIC_CHECK_IN_EARLY_MINUTES))
    for slot in HALF_DAY_SLOTS:
        start, end = slot_bounds(now.date(), slot)
        if start - early <= now < end - dt.timedelta(minutes=10):
            return slot
    return None


def seed(
    rng: random.Random,
    *,
    load_accounts: int = LOAD_ACCOUNTS,
    check_ins: int = CHECK_INS,
    awaiting_payment: int = AWAITING_PAYMENT,
) -> Plan:
    """Bulk-inserted like bench/load.py's clinic (its helpers keep the counters exact).
    The sizes: accounts for the load's bookings, bookings to check in today, visits awaiting
    payment."""
    from django.conf import settings
    from django.contrib.auth.hashers import make_password
    from django.db import transaction
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import AccessToken

    from appointments.models import Appointment
    from bench.load import (
        Person,
        bookings_to_check_in,
        count_places,
        create_schedules,
        windows_of,
    )
    from bench.load import (
        awaiting_payment as awaiting_payment_visits,
    )
    from billing.cashier import open_shift
    from clinic.models import Department, Employee, Gender, Patient, Position, Role, Room, User
    from scheduling.models import Schedule, TimeSlot, slot_hours
    from visits.models import Visit, VisitDailySummary, VisitStatus

    started = time.perf_counter()
    tag = f"{rng.randrange(10_000):04d}"
    while Department.objects.filter(code=f"drill-{tag}-0").exists():
        tag = f"{rng.randrange(10_000):04d}"
    prefix = f"139{tag}"  # 11-digit phones: prefix and a 4-digit index
    now = timezone.localtime()
    today = now.date()
    slot = open_slot(now)
    tz = timezone.get_default_timezone()

    def at(day: dt.date, moment: dt.time) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, moment), tz)

    with transaction.atomic():
        departments = [
            Department.objects.create(code=f"drill-{tag}-{d}", name=f"演练{tag}科{d}")
            for d in range(DEPARTMENTS)
        ]
        posts = []
        for d, department in enumerate(departments):
            for k in range(DOCTORS_PER_DEPARTMENT):
                doctor = Employee.objects.create(
                    emp_id=f"DD{tag}{d}{k}",
                    name=f"演练医生{d}{k}",
                    gender=Gender.FEMALE,
                    position=Position.DOCTOR,
                    department=department,
                )
                room = Room.objects.create(room_number=f"DR{tag}-{d}{k}", department=department)
                posts.append((department, doctor, room))
        desks = []
        for i in range(DESKS):
            employee = Employee.objects.create(
                emp_id=f"DR{tag}{i:02d}",
                name=f"演练前台{i}",
                gender=Gender.FEMALE,
                position=Position.RECEPTIONIST,
            )
            desks.append(
                User.objects.create(
                    username=f"drill-{tag}-desk{i}", role=Role.RECEPTIONIST, employee=employee
                )
            )
        login_password = f"Drill-{tag}-{rng.randrange(10**9)}"
        User.objects.create(
            username=f"drill-{tag}-signin",
            role=Role.PATIENT,
            password=make_password(login_password),
        )
    for desk in desks:
        open_shift(by=desk, opening_float="500.00", now=at(today, slot_hours(TimeSlot.MORNING)[0]))

    # Accounts: the load's bookings, the storm's, the causal reads' (one booking each).
    accounts = load_accounts + STORM_REQUESTS + CAUSAL_READS
    users = User.objects.bulk_create(
        (
            User(username=f"drill-{tag}-p{i}", role=Role.PATIENT, password="!")  # noqa: S106
            for i in range(accounts)
        ),
        batch_size=2000,
    )
    if any(user.pk is None for user in users):  # MySQL cannot return new ids
        users = list(User.objects.filter(username__startswith=f"drill-{tag}-p").order_by("pk"))
    on_file = check_ins + awaiting_payment
    Patient.objects.bulk_create(
        (
            Patient(
                name=f"演练{i}",
                phone=f"{prefix}{i:04d}",
                gender=Gender.MALE if i % 2 else Gender.FEMALE,
                user_id=users[i].pk if i < accounts else None,
            )
            for i in range(accounts + on_file)
        ),
        batch_size=2000,
    )
    patients = list(Patient.objects.filter(phone__startswith=prefix).order_by("phone"))
    tokens = [str(AccessToken.for_user(user)) for user in users]

    # Today: a schedule per doctor in the slot open now (the morning's when none is), with
    # room for the bookings to check in, the visits awaiting payment and the walk-ins.
    def schedules(day: dt.date, time_slot: str, places: int, posts=posts, minutes=None) -> list:
        return create_schedules(
            [
                Schedule(
                    department=department,
                    doctor=doctor,
                    room=room,
                    work_date=day,
                    time_slot=time_slot,
                    window_minutes=minutes or settings.CLINIC_WINDOW_MINUTES,
                    max_patients=places,
                )
                for department, doctor, room in posts
            ]
        )

    # Each window's quota holds the bookings and visits seeded in it.
    places = max(1000, 4 * (check_ins + awaiting_payment))
    schedules_today = schedules(today, slot or TimeSlot.MORNING, places)
    booking = [
        schedule
        for day in range(1, BOOKING_DAYS + 1)
        for time_slot in (TimeSlot.MORNING, TimeSlot.AFTERNOON)
        for schedule in schedules(today + dt.timedelta(days=day), time_slot, 800)
    ]
    # The storm: one schedule of 10 places in one window, alone in its department that day;
    # the causal reads: a department's schedules of a day of their own.
    storm_day, causal_day = today + dt.timedelta(days=4), today + dt.timedelta(days=5)
    storm_department, storm_doctor, storm_room = posts[0]
    storm = Schedule.objects.create(
        department=storm_department,
        doctor=storm_doctor,
        room=storm_room,
        work_date=storm_day,
        time_slot=TimeSlot.MORNING,
        max_patients=STORM_PLACES,
    )
    causal_posts = [post for post in posts if post[0] == departments[1]]
    schedules(causal_day, TimeSlot.MORNING, 8 * CAUSAL_READS, posts=causal_posts)
    morning_start = slot_hours(TimeSlot.MORNING)[0]
    one_hour_in = (dt.datetime.combine(today, morning_start) + dt.timedelta(hours=1)).time()

    # Today's bookings wait in the windows whose check-in is open now or in the next half
    # hour; the visits awaiting payment take turns in every window.
    open_windows = {
        schedule_id: [
            window
            for window in windows
            if now - dt.timedelta(hours=1) < window.ends_at(today)
            and window.starts_at(today) <= now + dt.timedelta(minutes=30)
        ]
        or windows[:1]
        for schedule_id, windows in windows_of(schedules_today).items()
    }
    appointments = bookings_to_check_in(
        patients[accounts : accounts + (check_ins if slot else 0)],
        schedules_today,
        open_windows,
        today,
        desks,
    )
    visits = awaiting_payment_visits(
        patients[accounts + check_ins : accounts + check_ins + awaiting_payment],
        schedules_today,
        today,
        lambda day, hour: at(day, dt.time(hour)),
    )
    Appointment.objects.bulk_create(appointments, batch_size=2000)
    Visit.objects.bulk_create(visits, batch_size=2000)
    count_places([schedule.pk for schedule in schedules_today])
    VisitDailySummary.rebuild(start_date=today, end_date=today)
    check_ins = list(
        Appointment.objects.filter(schedule__in=schedules_today)
        .order_by("pk")
        .values_list("pk", "phone", "id_card")
    )
    rng.shuffle(check_ins)
    awaiting = list(
        Visit.objects.filter(
            schedule__in=schedules_today, status=VisitStatus.AWAITING_PAYMENT
        ).values_list("pk", flat=True)
    )
    rng.shuffle(awaiting)
    # Bookings spread over every window of the coming days (5 minutes into each).
    booking_times = sorted(
        f"{schedule.work_date:%Y-%m-%d}T"
        f"{dt.datetime.combine(today, window.start_time) + dt.timedelta(minutes=5):%H:%M}:00"
        for schedule in booking[:: len(posts)]
        for window in windows_of([schedule])[schedule.pk]
    )
    plan = Plan(
        tag=tag,
        today=today,
        departments=[(department.pk, department.code) for department in departments],
        desk_tokens=[str(AccessToken.for_user(desk)) for desk in desks],
        patient_tokens=tokens[:load_accounts],
        storm_tokens=tokens[load_accounts : load_accounts + STORM_REQUESTS],
        causal_tokens=tokens[load_accounts + STORM_REQUESTS :],
        storm_department=storm_department.pk,
        storm_time=f"{storm_day:%Y-%m-%d}T{one_hour_in:%H:%M}:00",
        storm_schedule=storm.pk,
        causal_department=departments[1].pk,
        causal_time=f"{causal_day:%Y-%m-%d}T{one_hour_in:%H:%M}:00",
        booking_times=booking_times,
        check_ins=check_ins,
        awaiting_payment=awaiting,
        walk_ins=[Person("演练散客", f"137{tag}{i:04d}", "") for i in range(WALK_INS)],
        login_user=f"drill-{tag}-signin",
        login_password=login_password,
        check_in_open=slot is not None,
        phone_prefix=prefix,
    )
    log(
        f"seeded clinic {tag} in {time.perf_counter() - started:.1f} s: {accounts} accounts, "
        f"{len(check_ins)} bookings to check in, {len(awaiting)} visits awaiting payment"
        + ("" if slot else " (no slot open now: no check-ins or walk-ins)")
    )
    return plan


# --- The client's record ----------------------------------------------------------------------


def unified_error(response) -> bool:
    """The API's error body: {"error": {"code": …, "message": …, …}}."""
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return False
    return isinstance(error, dict) and "code" in error and "message" in error


@dataclass
class Record:
    """Every answer by operation and kind, and every id a 2xx write was told."""

    kinds: collections.Counter = field(default_factory=collections.Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    acknowledged: dict[str, set[int]] = field(default_factory=lambda: collections.defaultdict(set))
    # Answers that are neither a 2xx nor a 409/503 JSON error: a few samples of each kind.
    strange: dict[str, list[str]] = field(default_factory=lambda: collections.defaultdict(list))

    async def call(self, operation, client, method, path, *, token=None, body=None, ack=()):
        """One request; `ack`: (table, field) pairs of the ids a 2xx answer reports."""
        from bench._http import ConnectionLost

        headers = {"Authorization": f"Bearer {token}"} if token else None
        started = time.perf_counter()
        try:
            response = await client.request(method, path, json_body=body, headers=headers)
        except (OSError, ConnectionLost, asyncio.IncompleteReadError) as error:
            self.latencies[operation].append(time.perf_counter() - started)
            self._strange(operation, f"no answer ({type(error).__name__})", str(error))
            await client.close()
            return None
        self.latencies[operation].append(time.perf_counter() - started)
        status = response.status
        if 200 <= status < 300:
            self.kinds[(operation, str(status))] += 1
            if ack:
                data = response.json()
                for table, name in ack:
                    self.acknowledged[table].add(int(data[name]))
        elif status in (409, 503) and unified_error(response):
            self.kinds[(operation, f"{status} {response.error_code}")] += 1
        else:
            code = response.error_code if unified_error(response) else "not the JSON error"
            self._strange(
                operation, f"{status} {code}", response.body[:300].decode(errors="replace")
            )
        return response

    def _strange(self, operation: str, kind: str, sample: str) -> None:
        self.kinds[(operation, kind)] += 1
        if len(self.strange[kind]) < 3:
            self.strange[kind].append(f"{operation}: {sample}")

    def count(self, predicate=lambda operation, kind: True) -> int:
        return sum(n for (operation, kind), n in self.kinds.items() if predicate(operation, kind))

    def ok(self, operation: str) -> int:
        return self.count(lambda op, kind: op == operation and kind.startswith("2"))

    def merge(self, other: Record) -> None:
        self.kinds.update(other.kinds)
        for table, ids in other.acknowledged.items():
            self.acknowledged[table] |= ids
        for kind, samples in other.strange.items():
            self.strange[kind].extend(samples[: 3 - len(self.strange[kind])])


def host_port(url: str) -> tuple[str, int]:
    parts = urllib.parse.urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def client_for(url: str, headers: dict[str, str] | None = None):
    from bench._http import Client

    return Client(*host_port(url), headers=headers)


# --- The database nodes -----------------------------------------------------------------------


def connect(url: str, timeout: int = 3):
    import MySQLdb

    parts = urllib.parse.urlsplit(url)
    return MySQLdb.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=urllib.parse.unquote(parts.username or ""),
        password=urllib.parse.unquote(parts.password or ""),
        database=parts.path.lstrip("/"),
        connect_timeout=timeout,
        autocommit=True,
    )


def node_status(connection, name: str) -> str | None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW GLOBAL STATUS LIKE %s", (name,))
        row = cursor.fetchone()
    return None if row is None else str(row[1])


def is_galera(url: str) -> bool:
    connection = connect(url)
    try:
        return is_galera_connection(connection)
    finally:
        connection.close()


def wait_for(url: str, *, synced: bool, size: int, timeout: float) -> float | None:
    """Seconds until the node reports the cluster size (and, with `synced`, its own state
    Synced: wsrep_local_state 4), polled every 0.1 s; None after `timeout`."""
    import MySQLdb

    started = time.monotonic()
    connection = None
    while time.monotonic() - started < timeout:
        try:
            if connection is None:
                connection = connect(url, timeout=1)
            state = node_status(connection, "wsrep_local_state")
            if node_status(connection, "wsrep_cluster_size") == str(size) and (
                not synced or state == "4"
            ):
                return time.monotonic() - started
        except MySQLdb.Error:
            if connection is not None:
                connection.close()
            connection = None
        time.sleep(0.1)
    return None


def wait_all_synced(urls: list[str], timeout: float = 90) -> bool:
    return all(
        wait_for(url, synced=True, size=len(urls), timeout=timeout) is not None for url in urls
    )


def query(url: str, sql: str, params=()) -> list[tuple]:
    """Rows of one query on one node, read causally (wsrep_sync_wait: after every write the
    node has received)."""
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            if is_galera_connection(connection):
                cursor.execute("SET SESSION wsrep_sync_wait = 1")
            cursor.execute(sql, params)
            return list(cursor.fetchall())
    finally:
        connection.close()


def is_galera_connection(connection) -> bool:
    # A server without the Galera provider still reports wsrep_cluster_size: 0.
    return node_status(connection, "wsrep_cluster_size") not in (None, "0")


def table_of(name: str) -> str:
    from appointments.models import Appointment
    from billing.models import Bill
    from visits.models import Visit

    return {"appointment": Appointment, "visit": Visit, "bill": Bill}[name]._meta.db_table


# --- The cluster's commands -------------------------------------------------------------------


async def cluster(args: argparse.Namespace, *command: str) -> tuple[int, str]:
    """scripts/cluster.py <command> in the cluster's checkout; (exit status, its output)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(args.cluster_root / "scripts" / "cluster.py"),
        *command,
        cwd=args.cluster_root,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode(errors="replace").strip()
    log(f"cluster.py {' '.join(command)}: exit {process.returncode} {text[-300:]}")
    return process.returncode or 0, text


def set_mode(args: argparse.Namespace, mode: str) -> None:
    if "modes" in args.skip:
        return
    status, output = asyncio.run(cluster(args, "mode", mode))
    if status != 0:
        raise CannotRun(f"cluster.py mode {mode} failed: {output[-500:]}")


def log_offsets(paths: list[Path]) -> dict[Path, int]:
    return {path: path.stat().st_size if path.exists() else 0 for path in paths}


def new_text(path: Path, offset: int) -> bytes:
    """What a log gained since `offset` (all of it when it was started afresh)."""
    if not path.exists():
        return b""
    with path.open("rb") as file:
        if path.stat().st_size >= offset:
            file.seek(offset)
        return file.read()


def app_logs(args: argparse.Namespace) -> list[Path]:
    return [args.cluster_dir / "log" / f"app-{name}.log" for name in ("a", "b")]


def retries_since(offsets: dict[Path, int]) -> int:
    return sum(new_text(path, offset).count(RETRY_MARK) for path, offset in offsets.items())


# --- The parts of the drill -------------------------------------------------------------------


@dataclass
class Check:
    name: str
    passed: bool
    detail: str = ""


async def storm(args: argparse.Namespace, plan: Plan, record: Record) -> None:
    """200 bookings for one schedule of 10 places, sent at one moment, half to each app
    server (in multi-writer mode: two Galera nodes write)."""
    clients = [
        client_for(args.app_urls[n % len(args.app_urls)]) for n in range(len(plan.storm_tokens))
    ]
    await asyncio.gather(*(client.connect() for client in clients))
    body = {"dept_id": plan.storm_department, "expected_time": plan.storm_time}
    await asyncio.gather(
        *(
            record.call(
                "storm book",
                client,
                "POST",
                "/api/patient/appointments",
                token=token,
                body=body,
                ack=[("appointment", "id")],
            )
            for client, token in zip(clients, plan.storm_tokens, strict=True)
        )
    )
    await asyncio.gather(*(client.close() for client in clients))


def storm_checks(args: argparse.Namespace, plan: Plan, record: Record, retries: int) -> list:
    from appointments.models import LIVE_STATUSES, Appointment
    from scheduling.models import Schedule, ScheduleWindow

    booked = record.ok("storm book")
    full = record.kinds[("storm book", "409 no_capacity")]
    checks = [
        Check(
            f"storm: {STORM_REQUESTS} bookings for {STORM_PLACES} places across both app "
            "servers book exactly the places",
            booked == STORM_PLACES and full == STORM_REQUESTS - STORM_PLACES,
            f"{booked} booked, {full} no_capacity, {retries} db retries",
        )
    ]
    live = ",".join(f"'{status}'" for status in LIVE_STATUSES)
    for n, url in enumerate(args.node_urls, 1):
        ((appointments, counter, windows),) = query(
            url,
            # Table names from the models, never from input.
            f"SELECT (SELECT COUNT(*) FROM {Appointment._meta.db_table} "  # noqa: S608
            f"WHERE schedule_id = %s AND status IN ({live})), "
            f"(SELECT current_patients FROM {Schedule._meta.db_table} WHERE id = %s), "
            f"(SELECT SUM(used) FROM {ScheduleWindow._meta.db_table} WHERE schedule_id = %s)",
            (plan.storm_schedule,) * 3,
        )
        checks.append(
            Check(
                f"storm: node {n} holds {STORM_PLACES} bookings, its counters {STORM_PLACES}",
                appointments == counter == windows == STORM_PLACES,
                f"{appointments} live bookings, schedule counter {counter}, windows {windows}",
            )
        )
    return checks


async def causal_reads(args: argparse.Namespace, plan: Plan, record: Record) -> int:
    """A booking POSTed to app-a, read back at once through app-b; how many were seen."""
    writer, reader = client_for(args.app_urls[0]), client_for(args.app_urls[-1])
    seen = 0
    try:
        for token in plan.causal_tokens:
            response = await record.call(
                "causal book",
                writer,
                "POST",
                "/api/patient/appointments",
                token=token,
                body={"dept_id": plan.causal_department, "expected_time": plan.causal_time},
                ack=[("appointment", "id")],
            )
            if response is None or response.status != 201:
                continue
            appointment = response.json()["id"]
            read = await record.call(
                "causal read",
                reader,
                "GET",
                "/api/patient/appointments",
                token=token,
            )
            if read is not None and read.status == 200:
                seen += appointment in {row["id"] for row in read.json()["results"]}
    finally:
        await writer.close()
        await reader.close()
    return seen


async def in_turn(urls: list[str], address: str | None, requests: list[tuple[str, dict]]):
    """POST each request to the next app server in turn, from one client address (sent as
    X-Forwarded-For when the app servers read it); stops after the first 429. The answers."""
    servers = [client_for(url, {"X-Forwarded-For": address} if address else None) for url in urls]
    answers = []
    try:
        for n, (path, body) in enumerate(requests):
            answers.append(await servers[n % len(servers)].request("POST", path, json_body=body))
            if answers[-1].status == 429:
                break
    finally:
        for server in servers:
            await server.close()
    return answers


async def limits(args: argparse.Namespace, plan: Plan) -> list[Check]:
    """The sign-in lockout and the sign-in throttle, each counted across both servers."""
    from django.conf import settings
    from django.core.cache import cache

    from clinic.client_address import AuthRateThrottle

    rng = random.Random()

    def address() -> str | None:
        """Behind a proxy the client's address is the forwarded one: a fresh one for each
        limit, so that neither an earlier run nor the other limit has used any of it."""
        if settings.CLINIC_NUM_PROXIES == 0:
            return None
        return f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"

    limit = settings.AXES_FAILURE_LIMIT
    lockout_address = address()
    wrong = {"username": plan.login_user, "password": "wrong-password-0"}
    answers = await in_turn(
        args.app_urls, lockout_address, [("/api/auth/login", wrong)] * 2 * limit
    )
    statuses = [answer.status for answer in answers]
    # Locked: the right password is refused too, on the other server.
    right = {"username": plan.login_user, "password": plan.login_password}
    (then,) = await in_turn(
        args.app_urls[len(answers) % 2 :] + args.app_urls,
        lockout_address,
        [("/api/auth/login", right)],
    )
    first_lock = statuses.index(429) + 1 if 429 in statuses else None
    checks = [
        Check(
            f"sign-in lockout after {limit} failures in total across both app servers",
            first_lock in (limit, limit + 1)
            and set(statuses[: limit - 1]) == {401}
            and then.status == 429
            and then.error_code == "login_locked",
            f"answers {statuses}, then the right password: {then.status} {then.error_code}",
        )
    ]

    rate = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]["auth"]
    allowed = int(rate.split("/")[0])
    throttle_address = address()
    # What an earlier run (or the lockout above) left in the shared cache for this address.
    ident = throttle_address or "127.0.0.1"
    cache.delete(AuthRateThrottle.cache_format % {"scope": "auth", "ident": ident})
    refresh = ("/api/auth/refresh", {"refresh": "not-a-token"})
    answers = await in_turn(args.app_urls, throttle_address, [refresh] * (2 * allowed + 2))
    statuses = [answer.status for answer in answers]
    first = statuses.index(429) + 1 if 429 in statuses else None
    code = answers[-1].error_code if first else ""
    checks.append(
        Check(
            f"sign-in throttle ({rate}): 429 after {allowed} requests in total across both app "
            "servers",
            first == allowed + 1 and code == "throttled",
            f"first 429 at request {first} ({code or 'none'}), "
            f"answers before it: {dict(collections.Counter(statuses[: (first or 0) - 1 or None]))}",
        )
    )
    return checks


async def mixed_load(args, plan: Plan, record: Record, deadline: float) -> None:
    """Patients book (and now and then cancel), desks check in, register walk-ins, settle
    and search, all through HAProxy; a short pause between requests."""
    rng = random.Random(args.seed)
    from bench.load import Work

    work = Work(plan)
    awaiting = iter(plan.awaiting_payment)

    async def patient(client, index: int) -> None:
        while time.monotonic() < deadline:
            item = work.booking()
            if item is None:
                return
            token, body = item
            if rng.random() < 0.3:
                await record.call(
                    "availability",
                    client,
                    "GET",
                    f"/api/patient/availability?dept_id={body['dept_id']}"
                    f"&date={body['expected_time'][:10]}",
                    token=token,
                )
            response = await record.call(
                "book",
                client,
                "POST",
                "/api/patient/appointments",
                token=token,
                body=body,
                ack=[("appointment", "id")],
            )
            if response is not None and response.status == 201 and rng.random() < 0.1:
                await record.call(
                    "cancel",
                    client,
                    "DELETE",
                    f"/api/patient/appointments/{response.json()['id']}?reason=plans",
                    token=token,
                )
            await asyncio.sleep(rng.uniform(0.02, 0.1))

    async def desk(client, index: int) -> None:
        token = plan.desk_tokens[index % len(plan.desk_tokens)]
        while time.monotonic() < deadline:
            roll = rng.random()
            item = None
            if roll < 0.4 and plan.check_in_open:
                item = work.next_item("check_in", index)
                if item is not None:
                    appointment, phone, id_card = item
                    await record.call(
                        "check-in",
                        client,
                        "POST",
                        f"/api/receptionist/checkin/{appointment}",
                        token=token,
                        body={"phone": phone, "id_card": id_card},
                        ack=[("visit", "id")],
                    )
            elif roll < 0.75:
                item = next(awaiting, None)
                if item is not None:
                    await record.call(
                        "payment",
                        client,
                        "POST",
                        f"/api/receptionist/payment/{item}",
                        token=token,
                        body={"total_amount": "128.50", "insurance_amount": "60.00"},
                        ack=[("bill", "id")],
                    )
            elif roll < 0.85 and plan.check_in_open:
                item = work.next_item("walk_in", index)
                if item is not None:
                    await record.call(
                        "walk-in",
                        client,
                        "POST",
                        "/api/receptionist/register",
                        token=token,
                        body=item,
                        ack=[("visit", "id")],
                    )
            if item is None:
                await record.call(
                    "search",
                    client,
                    "GET",
                    f"/api/receptionist/patients?phone={plan.phone_prefix}{rng.randrange(10)}"
                    "&limit=10",
                    token=token,
                )
            await asyncio.sleep(rng.uniform(0.02, 0.1))

    roles = [patient if n % 2 == 0 else desk for n in range(args.clients)]

    async def run(role, index: int) -> None:
        client = client_for(args.url)
        try:
            await role(client, index)
        finally:
            await client.close()

    await asyncio.gather(*(run(role, index) for index, role in enumerate(roles)))


@dataclass
class Faults:
    """What the faults' timeline measured."""

    detect_seconds: float | None = None
    rejoin_seconds: float | None = None
    start_node_output: str = ""
    node_log: str = ""
    done: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


async def faults(args: argparse.Namespace, started: float, result: Faults) -> None:
    """Node1 (the writer) killed at 1/3 of the load, app-a at 1/2, both started at 3/4."""
    survivor, node1 = args.node_urls[1], args.node_urls[0]
    node_log = args.cluster_dir / "log" / "node1.err"

    async def at(fraction: float) -> None:
        await asyncio.sleep(max(0.0, started + fraction * args.duration - time.monotonic()))

    async def run(*command: str) -> str:
        status, output = await cluster(args, *command)
        (result.done if status == 0 else result.failed).append(" ".join(command))
        return output

    await at(20 / 60)
    await run("kill-node", "1")
    result.detect_seconds = await asyncio.to_thread(
        wait_for, survivor, synced=False, size=len(args.node_urls) - 1, timeout=30
    )
    await at(30 / 60)
    await run("kill-app", "a")
    await at(45 / 60)
    offset = log_offsets([node_log])[node_log]
    rejoined = asyncio.create_task(
        asyncio.to_thread(wait_for, node1, synced=True, size=len(args.node_urls), timeout=180)
    )
    outputs = await asyncio.gather(run("start-node", "1"), run("start-app", "a"))
    result.start_node_output = outputs[0]
    result.rejoin_seconds = await rejoined
    result.node_log = new_text(node_log, offset).decode(errors="replace")


# --- The checks after the load ----------------------------------------------------------------


def acknowledged_checks(args: argparse.Namespace, record: Record) -> list[Check]:
    checks = []
    for n, url in enumerate(args.node_urls, 1):
        missing = {}
        for name, ids in sorted(record.acknowledged.items()):
            wanted = sorted(ids)
            found: set[int] = set()
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join(["%s"] * len(chunk))
                found |= {
                    row[0]
                    for row in query(
                        url,
                        f"SELECT id FROM {table_of(name)} WHERE id IN ({marks})",  # noqa: S608
                        chunk,
                    )
                }
            if set(wanted) - found:
                missing[name] = sorted(set(wanted) - found)
        total = sum(len(ids) for ids in record.acknowledged.values())
        checks.append(
            Check(
                f"node {n} holds every acknowledged write ({total} ids)",
                not missing and total > 0,
                "; ".join(
                    f"{name} missing {ids[:10]} ({len(ids)})" for name, ids in missing.items()
                )
                or ", ".join(f"{len(ids)} {name}" for name, ids in record.acknowledged.items()),
            )
        )
    return checks


def invariant_checks(args: argparse.Namespace) -> list[Check]:
    """manage.py check_invariants against each node (counters = what holds places, summaries
    = their detail rows, bills, tenders…), the three at once."""
    processes = [
        subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "check_invariants"],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": url},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for url in args.node_urls
    ]
    checks = []
    for n, process in enumerate(processes, 1):
        output, _ = process.communicate(timeout=300)
        lines = output.strip().splitlines()
        checks.append(
            Check(
                f"node {n}: check_invariants (capacity counters, summaries = detail rows)",
                process.returncode == 0,
                " | ".join(lines[:6]) if process.returncode else (lines[-1] if lines else ""),
            )
        )
    return checks


def row_counts(url: str) -> dict[str, int]:
    connection = connect(url)
    try:
        with connection.cursor() as cursor:
            if is_galera_connection(connection):
                cursor.execute("SET SESSION wsrep_sync_wait = 1")
            cursor.execute(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"
            )
            tables = [row[0] for row in cursor.fetchall()]
            counts = {}
            for table in tables:
                cursor.execute(f"SELECT COUNT(*) FROM `{table}`")  # noqa: S608
                counts[table] = cursor.fetchone()[0]
            return counts
    finally:
        connection.close()


def row_count_check(args: argparse.Namespace) -> Check:
    """COUNT(*) of every table on every node (information_schema's row counts are estimates);
    read again a few times when they differ, in case a write was still on its way."""
    for _attempt in range(3):
        counts = [row_counts(url) for url in args.node_urls]
        tables = sorted(set().union(*counts))
        differ = [
            f"{table}: " + "/".join(str(node.get(table, "-")) for node in counts)
            for table in tables
            if len({node.get(table) for node in counts}) > 1
        ]
        if not differ:
            break
        time.sleep(2)
    return Check(
        f"the {len(args.node_urls)} nodes hold identical row counts per table",
        not differ and bool(tables),
        "; ".join(differ[:8]) or f"{len(tables)} tables, {sum(counts[0].values())} rows",
    )


def primary_key_checks(args: argparse.Namespace) -> list[Check]:
    checks = []
    for n, url in enumerate(args.node_urls, 1):
        tables = query(
            url,
            "SELECT t.table_name FROM information_schema.tables t "
            "LEFT JOIN information_schema.table_constraints c "
            "ON c.table_schema = t.table_schema AND c.table_name = t.table_name "
            "AND c.constraint_type = 'PRIMARY KEY' "
            "WHERE t.table_schema = DATABASE() AND t.table_type = 'BASE TABLE' "
            "AND c.constraint_name IS NULL",
        )
        checks.append(
            Check(
                f"node {n}: every table has a primary key",
                not tables,
                ", ".join(row[0] for row in tables),
            )
        )
    return checks


def state_transfer(log_text: str) -> tuple[bool, str]:
    """(whether the node rejoined by IST alone, what its log shows) from what node1.err
    gained since the restart."""
    local = LOCAL_STATE.findall(log_text)
    installed = INSTALLED.findall(log_text)
    received = IST_RECEIVED.findall(log_text)
    if not local:
        return False, "no state transfer logged"
    uuid, seqno = local[-1]
    snapshot = (
        uuid == NO_STATE
        or int(seqno) < 0
        or any(position != (uuid, seqno) for position in installed)
        or bool(SNAPSHOT_DONE.search(log_text))
    )
    detail = (
        f"local state {seqno}, snapshot installed at "
        f"{', '.join(s for _u, s in installed) or 'none'}, IST received up to "
        f"{received[-1][1] if received else 'none'}"
    )
    return bool(received) and not snapshot, detail


def fault_checks(args: argparse.Namespace, result: Faults) -> list[Check]:
    by_ist, transfer = state_transfer(result.node_log)
    return [
        Check(
            "the cluster's commands ran (kill-node 1, kill-app a, start-node 1, start-app a)",
            not result.failed and len(result.done) == 4,
            f"failed: {result.failed}" if result.failed else "",
        ),
        Check(
            "a survivor saw node1 gone",
            result.detect_seconds is not None,
            "" if result.detect_seconds is None else f"after {result.detect_seconds:.1f} s",
        ),
        Check(
            "node1 rejoined (Synced, cluster size 3)",
            result.rejoin_seconds is not None,
            "" if result.rejoin_seconds is None else f"after {result.rejoin_seconds:.1f} s",
        ),
        Check("node1 rejoined by IST, not SST (node1.err since the restart)", by_ist, transfer),
    ]


def load_checks(plan: Plan, record: Record) -> list[Check]:
    five_hundreds = record.count(lambda operation, kind: kind.startswith("500"))
    strange = {kind: samples for kind, samples in record.strange.items()}
    writes = ["book", "payment"] + (["check-in", "walk-in"] if plan.check_in_open else [])
    # A 503 is a fair answer from a node or server that died with the request, not a way to
    # pass: the faults take a few seconds of the minute, so most requests must succeed.
    unavailable, total = (
        record.count(lambda operation, kind: kind.startswith("503")),
        record.count(),
    )
    return [
        Check("no answer with status 500", five_hundreds == 0, f"{five_hundreds} × 500"),
        Check(
            f"at most {MAX_UNAVAILABLE:.0%} of the answers a 503",
            total > 0 and unavailable <= MAX_UNAVAILABLE * total,
            f"{unavailable} of {total}",
        ),
        Check(
            "every answer a 2xx, or a 409/503 JSON error with the unified body",
            not strange,
            "; ".join(
                f"{kind} × {record.count(lambda operation, k, kind=kind: k == kind)}"
                for kind in strange
            ),
        ),
        Check(
            "the load wrote: each write operation acknowledged",
            all(record.ok(operation) for operation in writes),
            ", ".join(f"{operation} {record.ok(operation)}" for operation in writes),
        ),
    ]


# --- Output -----------------------------------------------------------------------------------


def print_record(record: Record, elapsed: float) -> None:
    from bench._http import percentile

    total = record.count()
    print(f"requests: {total} in {elapsed:.0f} s ({total / elapsed:.0f}/s)")
    operations = sorted({operation for operation, _kind in record.kinds})
    width = max(len(operation) for operation in operations)
    for operation in operations:
        kinds = sorted((kind, n) for (op, kind), n in record.kinds.items() if op == operation)
        latencies = sorted(record.latencies[operation])
        p95 = percentile(latencies, 0.95) * 1000 if latencies else float("nan")
        print(
            f"  {operation.ljust(width)}  "
            + ", ".join(f"{kind}: {n}" for kind, n in kinds)
            + f"  (p95 {p95:.0f} ms)"
        )
    errors = collections.Counter()
    for (_operation, kind), n in record.kinds.items():
        if not kind.startswith("2"):
            errors[kind] += n
    print(
        "errors by kind: "
        + (", ".join(f"{kind} × {n}" for kind, n in errors.most_common()) or "none")
    )
    for kind, samples in record.strange.items():
        for sample in samples:
            print(f"  {kind}: {sample[:200]}")


def print_checks(checks: list[Check]) -> bool:
    print()
    for check in checks:
        detail = f"  ({check.detail})" if check.detail else ""
        print(f"{'PASS' if check.passed else 'FAIL'}  {check.name}{detail}")
    passed = all(check.passed for check in checks)
    print("\ndrill:", "PASS" if passed else "FAIL")
    return passed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    drill_started = time.monotonic()
    try:
        setup_django(args)
        galera = is_galera(args.node_urls[0])
        if not galera:
            args.skip.append("faults")
            log("the nodes are no Galera cluster: no faults, no sync waits")
        elif not wait_all_synced(args.node_urls, timeout=60):
            raise CannotRun("the Galera nodes are not all synced")
    except CannotRun as error:
        print(f"cannot run: {error}", file=sys.stderr)
        return 2
    plan = seed(random.Random(args.seed))
    checks: list[Check] = []
    # Every answer of every part: the storm's and the causal reads' writes are checked on
    # every node too.
    everything = Record()
    if "limits" not in args.skip:
        log("the sign-in lockout and throttle across both app servers …")
        checks += asyncio.run(limits(args, plan))
    if not {"storm", "causal"} <= set(args.skip):
        set_mode(args, "multi")
    if "storm" not in args.skip:
        log(f"multi-writer storm: {STORM_REQUESTS} bookings for {STORM_PLACES} places …")
        storm_record = Record()
        offsets = log_offsets(app_logs(args))
        asyncio.run(storm(args, plan, storm_record))
        storm_retries = retries_since(offsets)
        everything.merge(storm_record)
        if galera:
            wait_all_synced(args.node_urls)
        checks += storm_checks(args, plan, storm_record, storm_retries)
        checks.append(
            Check(
                "storm: no 500, every answer a 201 or 409 no_capacity",
                set(storm_record.kinds)
                <= {("storm book", "201"), ("storm book", "409 no_capacity")},
                ", ".join(f"{kind} × {n}" for (_op, kind), n in storm_record.kinds.items()),
            )
        )
    if "causal" not in args.skip:
        log(f"causal reads: {CAUSAL_READS} bookings on app-a read back through app-b …")
        causal_record = Record()
        seen = asyncio.run(causal_reads(args, plan, causal_record))
        everything.merge(causal_record)
        checks.append(
            Check(
                "causal read: each booking POSTed to app-a seen at once through app-b",
                seen == CAUSAL_READS,
                f"{seen} of {CAUSAL_READS} seen; "
                + ", ".join(f"{op} {kind} × {n}" for (op, kind), n in causal_record.kinds.items()),
            )
        )
    set_mode(args, "single")

    log(f"mixed load through {args.url}: {args.clients} clients for {args.duration:.0f} s …")
    record, fault_result = Record(), Faults()
    offsets = log_offsets(app_logs(args))

    async def load_phase() -> float:
        started = time.monotonic()
        parts = [mixed_load(args, plan, record, started + args.duration)]
        if "faults" not in args.skip:
            parts.append(faults(args, started, fault_result))
        await asyncio.gather(*parts)
        return time.monotonic() - started

    elapsed = asyncio.run(load_phase())
    everything.merge(record)
    retries = retries_since(offsets)
    log("waiting for every node to be synced, then checking …")
    if galera and not wait_all_synced(args.node_urls):
        checks.append(Check("every node synced after the load", False, "not within 90 s"))
    checks += load_checks(plan, everything)
    checks += acknowledged_checks(args, everything)
    checks += invariant_checks(args)
    checks.append(row_count_check(args))
    checks += primary_key_checks(args)
    if "faults" not in args.skip:
        checks += fault_checks(args, fault_result)

    print()
    print(
        f"Clinic Flow cluster drill · clinic {plan.tag} · {args.clients} clients, "
        f"{args.duration:.0f} s through {args.url}"
    )
    print_record(record, elapsed)
    if not plan.check_in_open:
        print(
            "no slot of the clinic's hours open now (TIME_ZONE, CLINIC_*_HOURS of the app "
            "servers): no check-ins or walk-ins in this run"
        )
    print(f"retries (db retry: lines in the app servers' logs during the load): {retries}")
    if "storm" not in args.skip:
        print(f"retries during the multi-writer storm: {storm_retries}")
    if "faults" not in args.skip:
        detect, rejoin = fault_result.detect_seconds, fault_result.rejoin_seconds
        print(
            "time to detect the dead node (kill until a survivor's cluster size is 2): "
            + (f"{detect:.1f} s" if detect is not None else "never")
        )
        print(
            "time for the node to rejoin (start until Synced and cluster size 3): "
            + (f"{rejoin:.1f} s" if rejoin is not None else "never")
        )
    passed = print_checks(checks)
    print(f"the whole drill took {time.monotonic() - drill_started:.0f} s")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
