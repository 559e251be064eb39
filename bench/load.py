"""The clinic's busiest hour through the real stack: gunicorn, MariaDB, HTTP on loopback.

    DATABASE_URL=mysql://clinic:clinic@127.0.0.1:3306/clinic python bench/load.py

What it does, in order:

1. Creates its own database (`clinic_load_bench`; the one in DATABASE_URL is never written),
   migrates it and seeds a realistic clinic: 9 departments with 2 doctors and 2 rooms each,
   8 receptionists (each with today's cashier shift open: payments are tenders in it), an
   administrator, 100,000 patients, a year of history (`generate_demo_history`: shifts,
   tenders and a few refunds too), today's schedules with appointments waiting for check-in, and
   the coming days' schedules for booking. Schedules are cut into windows of
   CLINIC_WINDOW_MINUTES (as new schedules are), except the schedule-level storm's (one
   window); the seeded bookings and visits hold their places in windows, and every window's
   counter and its schedule's are set from what holds places.
2. Starts gunicorn (gunicorn.conf.py: gthread workers, see the README) on 127.0.0.1 with
   production settings against that database.
3. Drives it over HTTP from this process (an asyncio client, one keep-alive connection per
   simulated user, nothing else on the wire):
   - a mixed busiest hour first, on a realistic day: 50 users at once (patients checking
     availability and booking, the front desk searching, checking in, registering walk-ins
     and settling payments, doctors calling the next patient, writing the record and
     finishing, visit boards and waiting-room displays polling every 5 s, an administrator
     opening statistics);
   - booking, check-in and walk-in registration, each alone with 32 clients (thousands of
     visits: the day is no longer realistic after these);
   - a capacity storm: 200 simultaneous bookings for the last 10 places of one schedule
     (one window for the whole schedule), then a storm per window: 200 simultaneous bookings
     for one 30-minute window with a quota of 10 of a windowed schedule (time-sliced
     booking); each books exactly its places, and both the window's and the schedule's
     counters stay exact;
   - a sign-in burst: 300 patients (`--sign-ins`) register their own account, then each
     signs in, 32 clients at once; every request hashes or verifies a password (Argon2id,
     19 MiB each), the heaviest memory a worker sees;
   - with the alone phase, the machine's reference: a second gunicorn (next port) serving
     bench/reference.py, the least a Django view can do for a booking (an authentication
     query, the schedule locked and counted, the appointment and an audit event inserted; no
     middleware, no REST framework), driven like the booking alone. The three operations and
     the reference take turns in 5 rounds (`--rounds`), so that a drift of the machine's
     speed touches them alike. This machine's speed varies from one run to the next (seen:
     the reference at 385 to 585 per second); the clinic's operations as a share of the
     reference compare across runs and machines where requests per second do not.
4. Prints one table: operation, requests, throughput, p50/p95/p99, errors and, for the
   capacity operations, oversold schedules (must be 0), then every worker's resident memory
   (from /proc) after boot, after each phase and at its peak, and each operation alone as a
   share of the reference. Stops gunicorn and drops its database.

The clinic's clock: the server and the seed run in a fixed-offset time zone (Etc/GMT±N)
chosen so that it is mid-morning there now, with the morning slot 06:00-12:00: check-in
and walk-ins need an open slot, whatever the hour the bench runs at.

Exit status: 0 when there was no error and no oversell, 1 otherwise, 2 when it cannot run.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import itertools
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-never-used-for-real-data")

import django  # noqa: E402

from bench._db import CannotRun, throwaway_database  # noqa: E402
from bench._http import Client, Tally, percentile  # noqa: E402

DEPARTMENTS = [
    ("im", "内科"),
    ("surg", "外科"),
    ("ped", "儿科"),
    ("gyn", "妇科"),
    ("ent", "耳鼻喉科"),
    ("dent", "口腔科"),
    ("oph", "眼科"),
    ("derm", "皮肤科"),
    ("tcm", "中医科"),
]
DOCTORS_PER_DEPARTMENT = 2
RECEPTIONISTS = 8
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾萧田董袁潘"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国玉兰志红"
STORM_PLACES, STORM_TAKEN, STORM_REQUESTS = 40, 30, 200
# The storm per window: a 30-minute window of a windowed morning with this quota, stormed
# from STORM_REQUESTS other patients' accounts.
WINDOW_STORM_PLACES, WINDOW_STORM_QUOTA, WINDOW_STORM_MINUTES = 40, 10, 30
WINDOW_STORM_START = dt.time(9, 0)
BOOKING_DAYS = 3  # bookings go to the next 3 days, morning and afternoon
POLL_SECONDS = 5.0


# The cash float each bench cashier opens their shift with.
DESK_FLOAT = "500.00"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Full-stack load benchmark (MariaDB/MySQL).")
    parser.add_argument("--patients", type=int, default=100_000, help="patients (100,000)")
    parser.add_argument("--history-days", type=int, default=365, help="days of history (365)")
    parser.add_argument(
        "--visits-per-day", type=int, default=300, help="visits per day of history (300)"
    )
    parser.add_argument(
        "--alone", type=int, default=3000, help="requests per operation run alone (3,000)"
    )
    parser.add_argument("--clients", type=int, default=32, help="clients when alone (32)")
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="the alone phase in this many rounds, each operation and the reference in turn (5)",
    )
    parser.add_argument(
        "--sign-ins",
        type=int,
        default=300,
        help="accounts registered, then signed in, in the sign-in burst (300)",
    )
    parser.add_argument("--users", type=int, default=50, help="users in the mixed load (50)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of mixed load (60)")
    parser.add_argument("--workers", type=int, default=None, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=None, help="threads per worker")
    parser.add_argument("--port", type=int, default=8765, help="port on 127.0.0.1 (8765)")
    parser.add_argument(
        "--only",
        choices=["alone", "storm", "mixed", "sign-in"],
        action="append",
        help="run only these phases (repeatable; default all)",
    )
    parser.add_argument("--db-name", default="clinic_load_bench", help="throw-away database")
    parser.add_argument(
        "--replace", action="store_true", help="drop an existing database of that name first"
    )
    parser.add_argument("--seed", type=int, default=7, help="random seed (7)")
    parser.add_argument(
        "--itemised",
        type=int,
        default=600,
        help="visits awaiting payment with 10 charges each, settled in the mixed hour (600)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        default=None,
        help="folder for py-spy profiles (collapsed stacks) of every worker in each phase",
    )
    args = parser.parse_args(argv)
    args.phases = set(args.only or ["alone", "storm", "mixed", "sign-in"])
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.sign_ins < 1:
        parser.error("--sign-ins must be at least 1")
    needed = 2 * (args.alone + 2000) + 3 * STORM_REQUESTS + 3000
    if args.patients < needed:
        parser.error(f"--patients must be at least {needed:,} for --alone {args.alone:,}")
    return args


def clinic_clock() -> dict[str, str]:
    """Settings that put the clinic in mid-morning now: a whole-hour UTC offset where the
    local hour is 9 (10 when that offset does not exist), morning hours 06:00-12:00."""
    utc_hour = dt.datetime.now(dt.UTC).hour
    offset = (9 - utc_hour + 12) % 24 - 12  # -12 … +11
    # POSIX sign convention: Etc/GMT-8 is eight hours ahead of UTC.
    zone = "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"
    return {
        "TIME_ZONE": zone,
        "CLINIC_MORNING_HOURS": "06:00-12:00",
        "CLINIC_AFTERNOON_HOURS": "13:00-18:00",
    }


# --- The clinic --------------------------------------------------------------------------


@dataclass
class Person:
    name: str
    phone: str
    id_card: str


@dataclass
class Plan:
    """What the simulated users need: ids, credentials and the people they act for."""

    today: dt.date
    departments: list[tuple[int, str]]  # (id, code)
    doctor_tokens: list[str]
    desk_tokens: list[str]
    desk_session: str
    admin_session: str
    session_cookie: str
    patient_tokens: list[str]  # one per booking, never reused (a person books once)
    storm_tokens: list[str]
    storm_department: int
    storm_schedule: int
    storm_time: str
    window_storm_tokens: list[str]
    window_storm_department: int
    window_storm_schedule: int
    window_storm_window: int
    window_storm_time: str
    check_ins: list[tuple[int, str, str]]  # (appointment id, phone, id card)
    walk_ins: list[Person]
    search_terms: list[str]
    registrations: list[Person]  # people who register their own account in the sign-in burst
    booking_times: list[str] = field(default_factory=list)
    reference_schedules: list[int] = field(default_factory=list)  # bench/reference.py's
    reference_users: list[int] = field(default_factory=list)
    # Visits awaiting payment with 10 charges each: the mixed hour settles them.
    itemised_visits: list[int] = field(default_factory=list)


def screen_key(code: str) -> str:
    """The bench's key of a department's waiting-room screen (visits.displays)."""
    return f"bench-screen-{code}"


def screen_headers(code: str) -> dict[str, str]:
    """What a set-up screen sends with each poll: htmx's header and its key's cookie."""
    return {"HX-Request": "true", "Cookie": f"clinic_display_key={screen_key(code)}"}


def resident_id(region: str, index: int, birth: dt.date) -> str:
    from clinic.validators import resident_id_check_char

    first17 = f"{region}{birth:%Y%m%d}{index % 1000:03d}"
    return first17 + resident_id_check_char(first17)


def people(
    rng: random.Random, count: int, *, phone_prefix: str, region: str = "110105", start: int = 0
) -> list[Person]:
    result = []
    for index in range(start, start + count):
        birth = dt.date(1940, 1, 1) + dt.timedelta(days=rng.randrange(80 * 365))
        result.append(
            Person(
                name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                phone=f"{phone_prefix}{index:08d}",
                # Each ID differs in its sequence digits and birth date; a clash is skipped.
                id_card=resident_id(region, index, birth),
            )
        )
    return result


def unique_ids(persons: list[Person]) -> list[Person]:
    """Those whose ID number no earlier one has: two registrations with one number would
    race for it, which is not what the burst measures."""
    seen: set[str] = set()
    result = []
    for person in persons:
        if person.id_card not in seen:
            seen.add(person.id_card)
            result.append(person)
    return result


def create_schedules(schedules: list) -> list:
    """Bulk-insert schedules with their windows: what Schedule.save() does for one (the
    preset's hours, then the windows sharing the places evenly), which bulk_create skips."""
    from scheduling.models import Schedule, ScheduleWindow

    for schedule in schedules:
        schedule.apply_times()
    created = Schedule.objects.bulk_create(schedules, batch_size=2000)
    if any(schedule.pk is None for schedule in created):  # MySQL cannot return new ids
        ids = {
            (doctor_id, work_date, start_time): pk
            for doctor_id, work_date, start_time, pk in Schedule.objects.filter(
                work_date__in={schedule.work_date for schedule in created}
            ).values_list("doctor_id", "work_date", "start_time", "pk")
        }
        for schedule in created:
            schedule.pk = ids[(schedule.doctor_id, schedule.work_date, schedule.start_time)]
    ScheduleWindow.objects.bulk_create(
        (window for schedule in created for window in schedule.new_windows()), batch_size=5000
    )
    return created


def windows_of(schedules: list) -> dict[int, list]:
    """Each schedule's windows (by schedule id), in time order."""
    from scheduling.models import ScheduleWindow

    result: dict[int, list] = {schedule.pk: [] for schedule in schedules}
    for window in ScheduleWindow.objects.filter(schedule_id__in=result).order_by("start_time"):
        result[window.schedule_id].append(window)
    return result


def window_containing(windows: list, moment: dt.datetime):
    """The window whose times contain a moment (clinic-local), else the first."""
    from django.utils import timezone

    local = timezone.localtime(moment).time()
    return next((window for window in windows if window.contains(local)), windows[0])


def count_places(schedule_ids: list[int]) -> None:
    """The counters of bulk-inserted bookings and visits: each window's from the live
    bookings and the visits not cancelled that it holds, each schedule's as the sum of its
    windows' (the invariant of billing.invariants)."""
    from django.db.models import Count, Q

    from appointments.models import LIVE_STATUSES
    from scheduling.models import Schedule, ScheduleWindow
    from visits.models import VisitStatus

    windows = list(
        ScheduleWindow.objects.filter(schedule_id__in=schedule_ids).annotate(
            live=Count(
                "appointments", filter=Q(appointments__status__in=LIVE_STATUSES), distinct=True
            ),
            seen=Count("visits", filter=~Q(visits__status=VisitStatus.CANCELLED), distinct=True),
        )
    )
    totals: dict[int, int] = dict.fromkeys(schedule_ids, 0)
    for window in windows:
        window.used = window.live + window.seen
        totals[window.schedule_id] += window.used
    ScheduleWindow.objects.bulk_update(windows, ["used"], batch_size=2000)
    for schedule_id, used in totals.items():
        Schedule.objects.filter(pk=schedule_id).update(current_patients=used)


def awaiting_payment(patients: list, schedules: list, today: dt.date, at) -> list:
    """Unsaved visits of today awaiting payment, one per patient: the schedules take turns,
    and each schedule's visits take turns in its windows. `at(day, hour)`: an aware time."""
    from visits.models import Visit, VisitStatus

    windows = windows_of(schedules)
    visits = []
    for n, patient in enumerate(patients):
        schedule = schedules[n % len(schedules)]
        turn = n // len(schedules)
        window = windows[schedule.pk][turn % len(windows[schedule.pk])]
        visits.append(
            Visit(
                patient=patient,
                department_id=schedule.department_id,
                schedule=schedule,
                window=window,
                queued_from=window.start_time,
                queue_number=turn + 1,
                status=VisitStatus.AWAITING_PAYMENT,
                visit_date=today,
                check_in_time=at(today, 5),
                called_at=at(today, 5),
                finished_at=at(today, 6),
            )
        )
    return visits


def bookings_to_check_in(
    patients: list, schedules: list, open_windows: dict[int, list], today: dt.date, desks: list
) -> list:
    """Unsaved bookings of today, one per patient, 5 minutes into the windows whose check-in
    is open (`open_windows`, by schedule id): the schedules take turns, and so do their open
    windows; made by the desks in turn, every other one confirmed."""
    from appointments.models import Appointment, AppointmentStatus

    booked = []
    for i, patient in enumerate(patients):
        schedule = schedules[i % len(schedules)]
        windows = open_windows[schedule.pk]
        window = windows[(i // len(schedules)) % len(windows)]
        booked.append(
            Appointment(
                patient_name=patient.name,
                phone=patient.phone,
                id_card=patient.id_card or "",
                department_id=schedule.department_id,
                schedule=schedule,
                window=window,
                expected_time=window.starts_at(today) + dt.timedelta(minutes=5),
                patient=patient,
                created_by=desks[i % len(desks)],
                status=AppointmentStatus.CONFIRMED if i % 2 else AppointmentStatus.PENDING,
            )
        )
    return booked


ITEMISED_LINES = 10


def seed_itemised_visits(args, today, posts, patients, at) -> list[int]:
    """Visits of today's afternoon, awaiting payment, each with 10 charges (a registration
    fee and nine orders of every category and class) for patients with and without a plan:
    what the mixed hour's "payment_10_lines" settles."""
    from decimal import Decimal

    from clinic.models import FeeCategory, FeeItem, InsuranceClass, InsurancePlan, Patient
    from scheduling.models import Schedule, TimeSlot
    from visits.models import Charge, ChargeKind, Visit, VisitDailySummary

    if not patients:
        return []
    categories = [FeeCategory.REGISTRATION, *(c for c in FeeCategory if c != "registration")]
    items = FeeItem.objects.bulk_create(
        FeeItem(
            code=f"BENCH{n:02d}",
            name=f"Bench item {n}",
            category=categories[n % len(categories)],
            unit="u",
            unit_price=Decimal(f"{3 + 7 * n}.{(13 * n) % 100:02d}"),
            insurance_class=InsuranceClass.values[n % 3],
        )
        for n in range(ITEMISED_LINES)
    )
    plan = InsurancePlan.objects.create(
        name="Bench plan", coverage_a=Decimal(90), coverage_b=Decimal(70)
    )
    Patient.objects.filter(pk__in=[p.pk for p in patients[::2]]).update(insurance_plan=plan)
    from django.conf import settings

    schedules = create_schedules(
        [
            Schedule(
                department=department,
                doctor=doctor,
                room=room,
                work_date=today,
                time_slot=TimeSlot.AFTERNOON,
                window_minutes=settings.CLINIC_WINDOW_MINUTES,
                max_patients=len(patients),
            )
            for department, doctor, room in posts
        ]
    )
    # The schedule's visits take turns in its windows (each holds a tenth of them).
    visits = awaiting_payment(patients, schedules, today, at)
    Visit.objects.bulk_create(visits, batch_size=2000)
    Charge.objects.bulk_create(
        (
            Charge(
                visit=visit,
                kind=ChargeKind.REGISTRATION
                if item.category == "registration"
                else ChargeKind.ORDER,
                **Charge.copied_from(item),
                quantity=Decimal(1 + k % 3),
            )
            for visit in visits
            for k, item in enumerate(items)
        ),
        batch_size=5000,
    )
    count_places([schedule.pk for schedule in schedules])
    VisitDailySummary.rebuild(start_date=today, end_date=today)
    print(f"  {len(visits):,} visits with {ITEMISED_LINES} charges each", file=sys.stderr)
    return [visit.pk for visit in visits]


def seed(args: argparse.Namespace) -> Plan:
    """Bulk-insert the clinic (the clinic's rules hold: counters equal what holds places)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone
    from rest_framework_simplejwt.tokens import AccessToken

    from appointments.models import Appointment
    from clinic.models import Department, Employee, Gender, Patient, Position, Role, Room, User
    from clinic.sessions import LAST_ACTIVITY_KEY, SIGNED_IN_AT_KEY
    from scheduling.models import Schedule, TimeSlot
    from visits.displays import key_digest
    from visits.models import DisplayToken

    rng = random.Random(args.seed)
    started = time.perf_counter()
    today = timezone.localdate()
    tz = timezone.get_default_timezone()

    def at(day: dt.date, hour: int) -> dt.datetime:
        return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, 0)), tz)

    with transaction.atomic():
        departments = [
            Department.objects.create(code=code, name=name) for code, name in DEPARTMENTS
        ]
        # A waiting-room screen per department, opened with its key (screen_headers()).
        for department in departments:
            DisplayToken.objects.create(
                name=f"{department.code} hall",
                department=department,
                token_hash=key_digest(screen_key(department.code)),
            )
        posts = []  # (department, doctor, room)
        for d_index, department in enumerate(departments):
            for k in range(DOCTORS_PER_DEPARTMENT):
                doctor = Employee.objects.create(
                    emp_id=f"D{d_index + 1}{k + 1:02d}",
                    name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                    gender=rng.choice(Gender.values),
                    position=Position.DOCTOR,
                    department=department,
                )
                room = Room.objects.create(
                    room_number=f"{d_index + 1}{k + 1:02d}", department=department
                )
                posts.append((department, doctor, room))
        doctor_users = [
            User.objects.create(username=f"doctor{i}", role=Role.DOCTOR, employee=doctor)
            for i, (_d, doctor, _r) in enumerate(posts)
        ]
        desk_users = []
        for i in range(RECEPTIONISTS):
            employee = Employee.objects.create(
                emp_id=f"R{i + 1:03d}",
                name=rng.choice(SURNAMES) + rng.choice(GIVEN),
                gender=Gender.FEMALE,
                position=Position.RECEPTIONIST,
            )
            desk_users.append(
                User.objects.create(username=f"desk{i}", role=Role.RECEPTIONIST, employee=employee)
            )
        admin = User.objects.create(username="admin", role=Role.ADMIN)

    # Patients: the first ones have accounts (one booking each), the rest are on file only.
    accounts = args.alone + 2 * STORM_REQUESTS + 3000
    population = people(rng, args.patients, phone_prefix="138")
    User.objects.bulk_create(
        (User(username=f"p{i}", role=Role.PATIENT, password="!") for i in range(accounts)),  # noqa: S106
        batch_size=5000,
    )
    user_ids = dict(User.objects.filter(role=Role.PATIENT).values_list("username", "pk"))
    seen_ids: set[str] = set()
    patients = []
    for i, person in enumerate(population):
        id_card = person.id_card if person.id_card not in seen_ids and i % 10 < 7 else None
        if id_card:
            seen_ids.add(id_card)
        patients.append(
            Patient(
                name=person.name,
                phone=person.phone,
                id_card=id_card,
                gender=rng.choice(Gender.values),
                user_id=user_ids.get(f"p{i}"),
            )
        )
    Patient.objects.bulk_create(patients, batch_size=5000)
    print(f"  {len(patients):,} patients, {accounts:,} accounts", file=sys.stderr)

    # A year of history, ending yesterday.
    call_command(
        "generate_demo_history",
        days=args.history_days,
        visits_per_day=args.visits_per_day,
        patients=min(args.patients, 20_000),
        seed=args.seed,
        stdout=sys.stderr,
    )
    # The front desk's cashiers open today's shifts (with their float) before taking money:
    # every payment of the mixed hour is a tender in its cashier's open shift.
    from billing.cashier import open_shift

    for desk_user in desk_users:
        open_shift(by=desk_user, opening_float=DESK_FLOAT, now=at(today, 6))

    # Today: morning schedules with room for the day's check-ins and walk-ins; the coming
    # days: morning and afternoon schedules for bookings; one storm schedule nearly full (one
    # window for the whole schedule), and one windowed schedule for the storm per window.
    # Every schedule but the first storm's in windows of CLINIC_WINDOW_MINUTES.
    from django.conf import settings

    from scheduling.services import WindowQuota, set_window_quotas

    check_in_count = args.alone + 2000

    def mornings(day: dt.date, places: int) -> list[Schedule]:
        """A morning schedule for every doctor on `day`."""
        return create_schedules(
            [
                Schedule(
                    department=department,
                    doctor=doctor,
                    room=room,
                    work_date=day,
                    time_slot=TimeSlot.MORNING,
                    window_minutes=settings.CLINIC_WINDOW_MINUTES,
                    max_patients=places,
                )
                for department, doctor, room in posts
            ]
        )

    schedules_today = mornings(today, 2000)
    booking_schedules = create_schedules(
        [
            Schedule(
                department=department,
                doctor=doctor,
                room=room,
                work_date=today + dt.timedelta(days=day),
                time_slot=slot,
                window_minutes=settings.CLINIC_WINDOW_MINUTES,
                max_patients=300,
            )
            for day in range(1, BOOKING_DAYS + 1)
            for slot in (TimeSlot.MORNING, TimeSlot.AFTERNOON)
            for department, doctor, room in posts
        ]
    )
    storm_day = today + dt.timedelta(days=BOOKING_DAYS + 2)
    storm_department, storm_doctor, storm_room = posts[0]
    storm_schedule = Schedule.objects.create(
        department=storm_department,
        doctor=storm_doctor,
        room=storm_room,
        work_date=storm_day,
        time_slot=TimeSlot.MORNING,
        max_patients=STORM_PLACES,
    )
    storm_window = storm_schedule.windows.get()

    # The storm per window: the department's other doctor, on a day of its own; its 09:00
    # window gets a quota of its own (the administrator's service), the others share the rest.
    window_storm_day = today + dt.timedelta(days=BOOKING_DAYS + 4)
    window_storm_department, window_storm_doctor, window_storm_room = posts[1]
    window_storm_schedule = Schedule.objects.create(
        department=window_storm_department,
        doctor=window_storm_doctor,
        room=window_storm_room,
        work_date=window_storm_day,
        time_slot=TimeSlot.MORNING,
        window_minutes=WINDOW_STORM_MINUTES,
        max_patients=WINDOW_STORM_PLACES,
    )
    window_storm_window = window_storm_schedule.windows.get(start_time=WINDOW_STORM_START)
    set_window_quotas(
        schedule=window_storm_schedule,
        quotas=[WindowQuota(window_storm_window.pk, WINDOW_STORM_QUOTA)],
        by=admin,
    )

    # The reference server's bookings (bench/reference.py) go to a day of their own.
    reference_schedules = mornings(today + dt.timedelta(days=BOOKING_DAYS + 3), args.alone + 1000)

    on_file = patients[accounts:]
    itemised_visits = seed_itemised_visits(
        args, today, posts, on_file[-args.itemised :] if args.itemised else [], at
    )
    # Today's bookings wait in the windows whose check-in is open now and in the hour to
    # come (it opens CLINIC_CHECK_IN_EARLY_MINUTES before a window): from the window an hour
    # ago (its patients arrive late, and queue after the window running then) to the one
    # starting in 45 minutes.
    now = timezone.localtime()
    early = dt.timedelta(minutes=min(45, settings.CLINIC_CHECK_IN_EARLY_MINUTES))
    today_windows = {
        schedule_id: [
            window
            for window in windows
            if now - dt.timedelta(hours=1) < window.ends_at(today)
            and window.starts_at(today) <= now + early
        ]
        for schedule_id, windows in windows_of(schedules_today).items()
    }
    booked: list[Appointment] = bookings_to_check_in(
        on_file[:check_in_count], schedules_today, today_windows, today, desk_users
    )
    for i in range(STORM_TAKEN):
        patient = on_file[check_in_count + i]
        booked.append(
            Appointment(
                patient_name=patient.name,
                phone=patient.phone,
                id_card=patient.id_card or "",
                department=storm_department,
                schedule=storm_schedule,
                window=storm_window,
                expected_time=at(storm_day, 9),
                patient=patient,
                created_by=desk_users[0],
            )
        )
    Appointment.objects.bulk_create(booked, batch_size=5000)
    count_places([schedule.pk for schedule in schedules_today] + [storm_schedule.pk])
    check_ins = [
        (appointment.pk, appointment.phone, appointment.id_card)
        for appointment in Appointment.objects.filter(schedule__work_date=today).order_by("pk")
    ]
    rng.shuffle(check_ins)

    def session_for(user: User) -> str:
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session[SIGNED_IN_AT_KEY] = session[LAST_ACTIVITY_KEY] = time.time()
        session.create()
        return session.session_key

    patient_users = list(User.objects.filter(role=Role.PATIENT).order_by("pk"))
    tokens = [str(AccessToken.for_user(user)) for user in patient_users]
    # Bookings for the coming days spread over every window (5 minutes into each), morning
    # and afternoon.
    slot_windows = {
        (schedule.time_slot, window.start_time)
        for schedule in booking_schedules[: 2 * len(posts)]
        for window in windows_of([schedule])[schedule.pk]
    }
    booking_times = [
        f"{today + dt.timedelta(days=day):%Y-%m-%d}T"
        f"{dt.datetime.combine(today, start) + dt.timedelta(minutes=5):%H:%M}:00"
        for day in range(1, BOOKING_DAYS + 1)
        for _slot, start in sorted(slot_windows, key=lambda pair: pair[1])
    ]

    samples = rng.sample(population[: args.patients], 300)
    search_terms = [
        term
        for person in samples
        for term in (person.phone[:7], person.phone, person.name[:2], person.id_card)
    ]
    plan = Plan(
        today=today,
        departments=[(department.pk, department.code) for department in departments],
        doctor_tokens=[str(AccessToken.for_user(user)) for user in doctor_users],
        desk_tokens=[str(AccessToken.for_user(user)) for user in desk_users],
        desk_session=session_for(desk_users[0]),
        admin_session=session_for(admin),
        session_cookie=settings.SESSION_COOKIE_NAME,
        patient_tokens=tokens[2 * STORM_REQUESTS :],
        storm_tokens=tokens[:STORM_REQUESTS],
        storm_department=storm_department.pk,
        storm_schedule=storm_schedule.pk,
        storm_time=f"{storm_day:%Y-%m-%d}T09:00:00",
        window_storm_tokens=tokens[STORM_REQUESTS : 2 * STORM_REQUESTS],
        window_storm_department=window_storm_department.pk,
        window_storm_schedule=window_storm_schedule.pk,
        window_storm_window=window_storm_window.pk,
        window_storm_time=f"{window_storm_day:%Y-%m-%d}T{WINDOW_STORM_START:%H}:10:00",
        check_ins=check_ins,
        walk_ins=people(rng, 20_000, phone_prefix="150", region="310104"),
        search_terms=search_terms,
        registrations=unique_ids(
            people(rng, args.sign_ins + 100, phone_prefix="186", region="440305")
        )[: args.sign_ins],
        booking_times=booking_times,
        reference_schedules=[schedule.pk for schedule in reference_schedules],
        reference_users=[user.pk for user in desk_users],
        itemised_visits=itemised_visits,
    )
    print(f"  seeded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return plan


# --- The server --------------------------------------------------------------------------


def database_url(name: str) -> str:
    from django.db import connection

    settings = connection.settings_dict
    user = urllib.parse.quote(settings["USER"] or "", safe="")
    password = urllib.parse.quote(settings["PASSWORD"] or "", safe="")
    credentials = f"{user}:{password}@" if password else f"{user}@"
    return (
        f"mysql://{credentials}{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 3306}/{name}"
    )


@dataclass
class Server:
    process: subprocess.Popen
    log: Path

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def rss_mb(self, field: str = "VmRSS") -> list[float]:
        """Each worker's resident set now (VmRSS) or at its peak (VmHWM), in MB."""
        result = []
        for pid in self.worker_pids():
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith(f"{field}:"):
                    result.append(int(line.split()[1]) / 1024)
        return result

    def peak_rss_mb(self) -> list[float]:
        return self.rss_mb("VmHWM")


class CpuMeter:
    """CPU seconds spent by the gunicorn workers, by the database server (when it runs on
    this machine) and by this client, read from /proc between two points in time."""

    def __init__(self, server: Server):
        self.server = server
        self.tick = os.sysconf("SC_CLK_TCK")
        self.database_pids = [
            int(path.parent.name)
            for path in Path("/proc").glob("[0-9]*/comm")
            if _read(path).strip() in ("mariadbd", "mysqld")
        ]

    def _cpu(self, pids: list[int]) -> float:
        total = 0
        for pid in pids:
            fields = _read(Path(f"/proc/{pid}/stat")).rpartition(")")[2].split()
            if fields:
                total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / self.tick

    def snapshot(self) -> dict[str, float]:
        times = os.times()
        return {
            "app": self._cpu(self.server.worker_pids()),
            "db": self._cpu(self.database_pids),
            "client": times.user + times.system,
        }


def spent(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {part: after[part] - before[part] for part in before}


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


class Profiler:
    """py-spy sampling every worker during one phase (when --profile is given)."""

    def __init__(self, server: Server | None, folder: Path | None, phase: str):
        self.processes: list[subprocess.Popen] = []
        if server is None or folder is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        spy = Path(sys.executable).with_name("py-spy")
        for pid in server.worker_pids():
            output = folder / f"{phase}-{pid}.txt"
            self.processes.append(
                subprocess.Popen(
                    [
                        str(spy),
                        "record",
                        "--nonblocking",
                        "--gil",
                        "--format",
                        "raw",
                        "--rate",
                        "200",
                        "--pid",
                        str(pid),
                        "--output",
                        str(output),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
        time.sleep(1.0)

    def __enter__(self) -> Profiler:
        return self

    def __exit__(self, *exc_info: object) -> None:
        for process in self.processes:
            process.send_signal(signal.SIGINT)
        for process in self.processes:
            process.wait(timeout=30)


def start_server(
    args: argparse.Namespace,
    env: dict[str, str],
    log_dir: Path,
    *,
    probe: str = "/accounts/login/",
    port: int | None = None,
) -> Server:
    port = args.port if port is None else port
    log = log_dir / f"gunicorn-{env.get('DJANGO_SETTINGS_MODULE', 'clinic.settings')}.log"
    command = [
        str(Path(sys.executable)),
        "-m",
        "gunicorn",
        "--config",
        str(PROJECT_ROOT / "gunicorn.conf.py"),
        "--bind",
        f"127.0.0.1:{port}",
        "--error-logfile",
        str(log),
        # No recycling: the CPU and peak-memory figures cover every request of the run.
        "--max-requests",
        "0",
        "clinic.wsgi",
    ]
    if args.workers:
        command[-1:-1] = ["--workers", str(args.workers)]
    if args.threads:
        command[-1:-1] = ["--threads", str(args.threads)]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env)
    server = Server(process, log)
    deadline = time.monotonic() + 30
    workers: list[int] = []
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log.read_text()[-3000:]}")
        try:
            response = asyncio.run(_probe(port, probe))
        except OSError:
            response = None
        # Up once it answers and no worker was added since the last look (the first worker
        # answers while the master still forks the others).
        booted, workers = workers, server.worker_pids()
        if response is not None and response.status == 200 and workers and workers == booted:
            return server
        time.sleep(0.5)
    stop_server(server)
    raise RuntimeError(f"gunicorn did not answer in 30 s:\n{log.read_text()[-3000:]}")


async def _probe(port: int, path: str):
    client = Client("127.0.0.1", port)
    try:
        return await client.request("GET", path)
    finally:
        await client.close()


def stop_server(server: Server) -> None:
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
        try:
            server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait()


# --- The load ----------------------------------------------------------------------------


def api(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def page(plan: Plan, session: str, *, poll: bool = False) -> dict[str, str]:
    headers = {"Cookie": f"{plan.session_cookie}={session}", "HX-Request": "true"}
    if poll:
        headers["X-Clinic-Poll"] = "1"
    return headers


class Work:
    """Shared, thread-free queues of what the simulated users act on."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.patient_tokens = iter(plan.patient_tokens)
        self.check_ins = iter(plan.check_ins)
        self.walk_ins = iter(plan.walk_ins)
        self.bookings = itertools.count()
        self.references = itertools.count()
        self.itemised = iter(plan.itemised_visits)
        self.itemised_ids = set(plan.itemised_visits)  # not the ordinary payments' to take

    def booking(self) -> tuple[str, dict] | None:
        token = next(self.patient_tokens, None)
        if token is None:
            return None
        n = next(self.bookings)
        department_id = self.plan.departments[n % len(self.plan.departments)][0]
        times = self.plan.booking_times
        when = times[(n // len(self.plan.departments)) % len(times)]
        return token, {"dept_id": department_id, "expected_time": when}

    def next_item(self, operation: str, n: int):
        """What the next request of an operation acts on; None when the supply ran out."""
        if operation == "book":
            return self.booking()
        if operation == "check_in":
            return next(self.check_ins, None)
        if operation == "reference":
            schedules = self.plan.reference_schedules
            return schedules[next(self.references) % len(schedules)]
        return self.walk_in(n)

    def walk_in(self, n: int) -> dict | None:
        person = next(self.walk_ins, None)
        if person is None:
            return None
        department_id = self.plan.departments[n % len(self.plan.departments)][0]
        return {
            "name": person.name,
            "phone": person.phone,
            "id_card": person.id_card,
            "dept_id": department_id,
        }


async def book(tally: Tally, client: Client, desk: str | None, item: tuple[str, dict]):
    """A patient books (with their own token: `desk` is not used)."""
    token, body = item
    return await tally.call(
        "book",
        client,
        "POST",
        "/api/patient/appointments",
        json_body=body,
        headers=api(token),
        expect=(201,),
    )


async def check_in(tally: Tally, client: Client, desk: str, item: tuple[int, str, str]):
    appointment_id, phone, id_card = item
    return await tally.call(
        "check_in",
        client,
        "POST",
        f"/api/receptionist/checkin/{appointment_id}",
        json_body={"phone": phone, "id_card": id_card},
        headers=api(desk),
        expect=(201,),
    )


async def walk_in(tally: Tally, client: Client, desk: str, body: dict):
    return await tally.call(
        "walk_in",
        client,
        "POST",
        "/api/receptionist/register",
        json_body=body,
        headers=api(desk),
        expect=(201,),
    )


async def reference_book(tally: Tally, client: Client, user_id: int, schedule_id: int):
    """The minimal booking of bench/reference.py, on its own server, for a desk account."""
    return await tally.call(
        "reference",
        client,
        "POST",
        "/book",
        json_body={"schedule": schedule_id, "name": "参照", "phone": "13800000000"},
        headers={"X-User": str(user_id)},
        expect=(201,),
    )


OPERATIONS = {"book": book, "check_in": check_in, "walk_in": walk_in, "reference": reference_book}


async def run_alone(
    args,
    plan: Plan,
    work: Work,
    operation: str,
    tally: Tally,
    requests: int | None = None,
    clients: int | None = None,
) -> None:
    """One operation, `clients` (`args.clients`) at once, `requests` (`args.alone`) in all.
    Each client acts for a desk: with its token, or its account id for the reference server
    (on the next port)."""
    remaining = itertools.count()
    requests = args.alone if requests is None else requests
    clients = args.clients if clients is None else clients
    reference = operation == "reference"
    port = reference_port(args) if reference else args.port
    desks = plan.reference_users if reference else plan.desk_tokens

    async def client_loop(index: int) -> None:
        desk = desks[index % len(desks)]
        client = Client("127.0.0.1", port)
        try:
            while next(remaining) < requests:
                item = work.next_item(operation, index)
                if item is None:
                    return
                await OPERATIONS[operation](tally, client, desk, item)
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(client_loop(i) for i in range(clients)))
    tally.elapsed += time.perf_counter() - started


async def warm_up(args, plan: Plan, work: Work) -> None:
    """Every operation a few times, unmeasured: each worker compiles its templates and fills
    its caches before the figures start."""
    warm = argparse.Namespace(**{**vars(args), "alone": 60, "clients": 6})
    for operation in ("book", "check_in", "walk_in"):
        await run_alone(warm, plan, work, operation, Tally())
    client = Client("127.0.0.1", args.port)
    token = plan.desk_tokens[0]
    department_id, code = plan.departments[0]
    for _ in range(12):
        await client.request("GET", "/visits/board/", headers=page(plan, plan.desk_session))
        await client.request("GET", f"/display/{code}/", headers=screen_headers(code))
        await client.request("GET", "/visits/search/?q=138", headers=page(plan, plan.desk_session))
        await client.request(
            "GET",
            f"/api/patient/availability?dept_id={department_id}&date={plan.today}",
            headers=api(token),
        )
    await client.close()


async def run_storm(
    args, tokens: list[str], body: dict, tally: Tally, operation: str = "storm_book"
) -> None:
    """200 connections opened first, then every booking sent at the same moment (one per
    token: each a patient booking for themselves)."""
    clients = [Client("127.0.0.1", args.port) for _ in tokens]
    await asyncio.gather(*(client.connect() for client in clients))
    started = time.perf_counter()
    await asyncio.gather(
        *(
            tally.call(
                operation,
                client,
                "POST",
                "/api/patient/appointments",
                json_body=body,
                headers=api(token),
                expect=(201,),
                accept={409: "no_capacity"},
            )
            for client, token in zip(clients, tokens, strict=True)
        )
    )
    tally.elapsed = time.perf_counter() - started
    await asyncio.gather(*(client.close() for client in clients))


def burst_accounts(args: argparse.Namespace, plan: Plan) -> list[tuple[str, str, Person]]:
    """(username, password, person) of each account the sign-in burst registers."""
    rng = random.Random(args.seed)
    letters = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return [
        (f"burst{index}", "".join(rng.choices(letters, k=14)), person)
        for index, person in enumerate(plan.registrations)
    ]


async def register(tally: Tally, client: Client, account: tuple[str, str, Person]):
    """A patient registers their own account (the password hashed)."""
    username, password, person = account
    return await tally.call(
        "register",
        client,
        "POST",
        "/api/auth/register",
        json_body={
            "username": username,
            "password": password,
            "name": person.name,
            "phone": person.phone,
            # The ID number's 17th digit: odd for a man, even for a woman.
            "gender": "male" if int(person.id_card[16]) % 2 else "female",
            "id_card": person.id_card,
        },
        expect=(201,),
    )


async def sign_in(tally: Tally, client: Client, account: tuple[str, str, Person]):
    """A patient signs in for a token pair (the password verified)."""
    username, password, _person = account
    return await tally.call(
        "sign_in",
        client,
        "POST",
        "/api/auth/login",
        json_body={"username": username, "password": password},
    )


async def run_sign_ins(
    args, accounts: list[tuple[str, str, Person]], operation: str, tally: Tally
) -> None:
    """Every account registers (`operation` "register") or signs in ("sign_in") once,
    `args.clients` at once."""
    call = register if operation == "register" else sign_in
    queue = iter(accounts)

    async def client_loop() -> None:
        client = Client("127.0.0.1", args.port)
        try:
            for account in queue:
                await call(tally, client, account)
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(args.clients)))
    tally.elapsed = time.perf_counter() - started


async def run_mixed(args, plan: Plan, work: Work, tally: Tally) -> None:
    """`args.users` people for `args.duration` seconds, each with their own think times."""
    rng = random.Random(args.seed)
    deadline = time.perf_counter() + args.duration

    async def pause(seconds: float) -> bool:
        """Think for about `seconds`; False once the hour is over."""
        await asyncio.sleep(seconds * rng.uniform(0.5, 1.5))
        return time.perf_counter() < deadline

    async def patient(index: int, client: Client) -> None:
        while await pause(1.0):
            item = work.booking()
            if item is None:
                return
            token, body = item
            department_id = body["dept_id"]
            await tally.call(
                "availability",
                client,
                "GET",
                f"/api/patient/availability?dept_id={department_id}"
                f"&date={body['expected_time'][:10]}",
                headers=api(token),
            )
            if not await pause(2.0):
                return
            response = await book(tally, client, None, item)
            if not await pause(1.0):
                return
            await tally.call(
                "my_appointments", client, "GET", "/api/patient/appointments", headers=api(token)
            )
            if response is not None and response.status == 201 and rng.random() < 0.1:
                await tally.call(
                    "cancel",
                    client,
                    "DELETE",
                    f"/api/patient/appointments/{response.json()['id']}?reason=plans",
                    headers=api(token),
                )

    async def desk(index: int, client: Client) -> None:
        token = plan.desk_tokens[index % len(plan.desk_tokens)]
        headers = page(plan, plan.desk_session)
        while await pause(1.0):
            roll = rng.random()
            if roll < 0.4:
                term = rng.choice(plan.search_terms)
                await tally.call(
                    "search",
                    client,
                    "GET",
                    f"/visits/search/?q={urllib.parse.quote(term)}",
                    headers=headers,
                )
            elif roll < 0.8:
                operation = "check_in" if roll < 0.65 else "walk_in"
                item = work.next_item(operation, rng.randrange(100))
                if item is not None:
                    await OPERATIONS[operation](tally, client, token, item)
            elif roll < 0.88:
                # A visit with 10 charges: the cashier opens its lines, then settles them.
                visit_id = next(work.itemised, None)
                if visit_id is not None:
                    await tally.call(
                        "bill_preview",
                        client,
                        "GET",
                        f"/api/receptionist/visits/{visit_id}/bill-preview",
                        headers=api(token),
                    )
                    await pause(0.5)
                    await tally.call(
                        "payment_10_lines",
                        client,
                        "POST",
                        f"/api/receptionist/payment/{visit_id}",
                        json_body={},
                        headers=api(token),
                        expect=(201,),
                    )
            else:
                response = await tally.call(
                    "payment_list",
                    client,
                    "GET",
                    f"/api/receptionist/visits?status=awaiting_payment&date={plan.today}&limit=10",
                    headers=api(token),
                )
                results = response.json()["results"] if response and response.status == 200 else []
                mine = [
                    v
                    for v in results
                    if v["id"] % RECEPTIONISTS == index % RECEPTIONISTS
                    and v["id"] not in work.itemised_ids
                ]
                if mine:
                    preview = await tally.call(
                        "bill_preview",
                        client,
                        "GET",
                        f"/api/receptionist/visits/{mine[0]['id']}/bill-preview",
                        headers=api(token),
                    )
                    manual = (
                        preview is None or preview.status != 200 or preview.json()["manual_entry"]
                    )
                    await pause(0.5)
                    await tally.call(
                        "payment",
                        client,
                        "POST",
                        f"/api/receptionist/payment/{mine[0]['id']}",
                        # A visit without charges: the amounts typed (the seed's body).
                        json_body={"total_amount": "128.50", "insurance_amount": "60.00"}
                        if manual
                        else {},
                        headers=api(token),
                        expect=(201,),
                        accept={409: ""},
                    )

    async def doctor(index: int, client: Client) -> None:
        token = plan.doctor_tokens[index % len(plan.doctor_tokens)]
        while await pause(1.0):
            response = await tally.call(
                "call_next",
                client,
                "POST",
                "/api/doctor/call-next",
                json_body={},
                headers=api(token),
                accept={404: "", 409: ""},
            )
            if response is None or response.status != 200:
                continue
            visit_id = response.json()["id"]
            await pause(1.5)
            await tally.call(
                "record",
                client,
                "PUT",
                f"/api/doctor/visits/{visit_id}/medical-record",
                json_body={
                    "chief_complaint": "咳嗽、咽痛 2 天",
                    "diagnosis": "上呼吸道感染",
                    "plan": "对症治疗，多饮水\n布洛芬 0.2g tid",
                },
                headers=api(token),
            )
            await pause(0.5)
            await tally.call(
                "finish",
                client,
                "POST",
                f"/api/doctor/visits/{visit_id}/finish",
                json_body={},
                headers=api(token),
            )

    async def board(index: int, client: Client) -> None:
        headers = page(plan, plan.desk_session, poll=True)
        await asyncio.sleep(rng.uniform(0, POLL_SECONDS))
        while time.perf_counter() < deadline:
            await tally.call("board", client, "GET", "/visits/board/", headers=headers)
            await asyncio.sleep(POLL_SECONDS)

    async def display(index: int, client: Client) -> None:
        code = plan.departments[index % len(plan.departments)][1]
        await asyncio.sleep(rng.uniform(0, POLL_SECONDS))
        while time.perf_counter() < deadline:
            await tally.call(
                "display", client, "GET", f"/display/{code}/", headers=screen_headers(code)
            )
            await asyncio.sleep(POLL_SECONDS)

    async def admin(index: int, client: Client) -> None:
        headers = page(plan, plan.admin_session)
        year_ago = plan.today - dt.timedelta(days=365)
        for n in itertools.count():
            if not await pause(5.0):
                return
            group = ("day", "department", "doctor")[n % 3]
            start = year_ago if n % 2 else plan.today - dt.timedelta(days=29)
            await tally.call(
                "statistics",
                client,
                "GET",
                f"/billing/statistics/?start_date={start}&end_date={plan.today}&group_by={group}",
                headers=headers,
            )

    # 50 users: 20 patients, 8 desks, 9 doctors, 6 boards, 6 displays, 1 administrator.
    mix = [(patient, 20), (desk, 8), (doctor, 9), (board, 6), (display, 6), (admin, 1)]
    scale = args.users / sum(n for _, n in mix)
    roles = [(role, max(1, round(n * scale))) for role, n in mix]

    async def user(role, index: int) -> None:
        client = Client("127.0.0.1", args.port)
        try:
            await role(index, client)
        finally:
            await client.close()

    started = time.perf_counter()
    await asyncio.gather(*(user(role, i) for role, n in roles for i in range(n)))
    tally.elapsed = time.perf_counter() - started


# --- Checks and the report ---------------------------------------------------------------


def oversold_schedules() -> int:
    """Schedules and windows holding more than their places, or whose counter differs from
    what holds places (live bookings plus visits not left unseen), read from the database
    as billing.invariants does; a schedule's counter must also be the sum of its windows'."""
    from django.db import connection
    from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
    from django.db.models.functions import Coalesce

    from appointments.models import LIVE_STATUSES
    from scheduling.models import Schedule, ScheduleWindow
    from visits.models import VisitStatus

    connection.close()  # a fresh connection: see every commit of the server
    in_windows = ScheduleWindow.objects.filter(schedule=OuterRef("pk")).values("schedule")
    windows = (
        ScheduleWindow.objects.annotate(
            live=Count(
                "appointments", filter=Q(appointments__status__in=LIVE_STATUSES), distinct=True
            ),
            seen=Count("visits", filter=~Q(visits__status=VisitStatus.CANCELLED), distinct=True),
        )
        .filter(~Q(used=F("live") + F("seen")) | Q(used__gt=F("quota")))
        .count()
    )
    return windows + (
        Schedule.objects.annotate(
            in_windows=Coalesce(Subquery(in_windows.annotate(s=Sum("used")).values("s")), 0),
        )
        .annotate(
            live=Count(
                "appointments", filter=Q(appointments__status__in=LIVE_STATUSES), distinct=True
            ),
            seen=Count("visits", filter=~Q(visits__status=VisitStatus.CANCELLED), distinct=True),
        )
        .filter(
            ~Q(current_patients=F("live") + F("seen"))
            | Q(current_patients__gt=F("max_patients"))
            | Q(live__gt=F("max_patients") - F("seen"))
            | ~Q(current_patients=F("in_windows"))
        )
        .count()
    )


def window_storm_figures(plan: Plan) -> tuple[int, int, int, int]:
    """The stormed window's quota and places taken, the bookings it holds, and its
    schedule's counter, read afresh."""
    from django.db import connection

    from appointments.models import Appointment
    from scheduling.models import Schedule, ScheduleWindow

    connection.close()
    window = ScheduleWindow.objects.get(pk=plan.window_storm_window)
    held = Appointment.objects.filter(window=window).count()
    schedule = Schedule.objects.get(pk=plan.window_storm_schedule)
    return window.quota, window.used, held, schedule.current_patients


def row(
    name: str,
    tally: Tally,
    operation: str,
    oversold: int | None = None,
    cpu: dict[str, float] | None = None,
) -> list[str]:
    latencies = sorted(tally.latencies.get(operation, []))
    count = len(latencies)
    per_request = (
        "/".join(f"{cpu[part] / count * 1000:.1f}" for part in ("app", "db", "client"))
        if cpu and count
        else "-"
    )
    outcomes = {k: v for k, v in tally.outcomes.get(operation, {}).items() if k not in ("ok",)}
    other = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()) if k != "error")
    return [
        name,
        f"{count}",
        f"{count / tally.elapsed:.1f}" if tally.elapsed else "-",
        *(f"{percentile(latencies, q) * 1000:.1f}" for q in (0.50, 0.95, 0.99)),
        f"{tally.error_count(operation)}",
        "-" if oversold is None else f"{oversold}",
        per_request,
        other,
    ]


def print_table(rows: list[list[str]]) -> None:
    header = [
        "operation",
        "requests",
        "per s",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "errors",
        "oversold",
        "cpu ms/req app/db/client",
        "other answers",
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for r in [header, ["-" * w for w in widths], *rows]:
        cells = [r[0].ljust(widths[0])]
        cells += [c.rjust(w) for c, w in zip(r[1:-1], widths[1:-1], strict=True)]
        cells.append(r[-1])
        print("  ".join(cells).rstrip())


def reference_port(args: argparse.Namespace) -> int:
    """The reference server (bench/reference.py) listens next to the clinic's."""
    return args.port + 1


def run_alone_phase(
    args: argparse.Namespace,
    env: dict[str, str],
    log_dir: Path,
    plan: Plan,
    work: Work,
    server: Server,
    table: list[list[str]],
) -> tuple[dict[str, tuple[Tally, float]], int]:
    """Booking, check-in and walk-in alone, and the reference booking on its own server
    (bench/reference.py, next port), in `args.rounds` rounds taking turns: a drift of the
    machine's speed during the phase touches each of them alike. Appends their rows to the
    table; returns each one's (tally, requests per second), and the oversold schedules."""
    reference = start_server(
        args,
        {
            **env,
            "DJANGO_SETTINGS_MODULE": "bench.reference_settings",
            "CLINIC_BENCH_REFERENCE": "1",
        },
        log_dir,
        probe="/ping",
        port=reference_port(args),
    )
    try:
        asyncio.run(run_alone(args, plan, work, "reference", Tally(), 200, 6))  # warm-up
        meters = {"clinic": CpuMeter(server), "reference": CpuMeter(reference)}
        operations = ("book", "check_in", "walk_in", "reference")
        tallies = {operation: Tally() for operation in operations}
        cpu = {operation: dict.fromkeys(("app", "db", "client"), 0.0) for operation in operations}
        per_round = -(-args.alone // args.rounds)
        for round_number in range(1, args.rounds + 1):
            print(f"alone: round {round_number} of {args.rounds} …", file=sys.stderr)
            for operation in operations:
                tally = tallies[operation]
                is_reference = operation == "reference"
                meter = meters["reference" if is_reference else "clinic"]
                profiled = reference if is_reference else server
                with Profiler(profiled, args.profile, f"{operation}-{round_number}"):
                    before = meter.snapshot()
                    asyncio.run(run_alone(args, plan, work, operation, tally, per_round))
                    for part, value in spent(before, meter.snapshot()).items():
                        cpu[operation][part] += value
    finally:
        stop_server(reference)
    oversold = oversold_schedules()
    result = {}
    for operation in operations:
        tally = tallies[operation]
        name = "reference booking" if operation == "reference" else operation
        table.append(
            row(
                f"{name} (alone, {args.clients} clients)",
                tally,
                operation,
                oversold,
                cpu[operation],
            )
        )
        result[operation] = (tally, len(tally.latencies[operation]) / tally.elapsed)
    return result, oversold


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    clock = clinic_clock()
    os.environ.update(clock)
    django.setup()
    try:
        with throwaway_database(
            args.db_name, replace=args.replace, script="bench/load.py"
        ) as database_server:
            return run(args, clock, database_server)
    except CannotRun as error:
        print(error, file=sys.stderr)
        return 2


def run(args: argparse.Namespace, clock: dict[str, str], database_server: str) -> int:
    """Seed, serve, load, report; 0 when there was no error and no oversell."""
    from django.db import connection

    server = None
    ok = False
    try:
        print("seeding …", file=sys.stderr)
        plan = seed(args)
        connection.close()
        env = {
            **os.environ,
            **clock,
            "DATABASE_URL": database_url(args.db_name),
            "DEBUG": "0",
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "0",
            "CONN_MAX_AGE": "600",
            "JWT_ACCESS_MINUTES": "240",
            # Refusals under load (409: a full slot, an empty queue) are answers, not news.
            "LOG_LEVEL": "ERROR",
            # The sign-in burst comes from one address; the per-address limit would refuse it.
            "API_AUTH_THROTTLE_RATE": "1000000/minute",
        }
        subprocess.run(
            [sys.executable, "manage.py", "collectstatic", "--no-input", "-v0"],
            cwd=PROJECT_ROOT,
            env=env,
            check=True,
        )
        with tempfile.TemporaryDirectory(prefix="clinic-load-") as log_dir:
            server = start_server(args, env, Path(log_dir))
            workers = len(server.worker_pids())
            print(f"gunicorn up: {workers} workers", file=sys.stderr)
            # Each worker's resident memory after each phase: what it keeps, not its peak.
            memory = [("after boot", server.rss_mb())]
            work = Work(plan)
            meter = CpuMeter(server)
            print("warming up …", file=sys.stderr)
            asyncio.run(warm_up(args, plan, work))
            memory.append(("after warm-up", server.rss_mb()))
            table: list[list[str]] = []
            notes: list[str] = []
            errors = 0
            oversold_total = 0
            tallies: list[tuple[str, Tally]] = []
            alone_rates: dict[str, float] = {}
            reference_rate = None
            if "mixed" in args.phases:
                tally = Tally()
                print(f"mixed: {args.users} users for {args.duration:.0f} s …", file=sys.stderr)
                with Profiler(server, args.profile, "mixed"):
                    before = meter.snapshot()
                    asyncio.run(run_mixed(args, plan, work, tally))
                    cpu = spent(before, meter.snapshot())
                oversold = oversold_schedules()
                oversold_total += oversold
                operations = sorted(tally.latencies)
                for operation in operations:
                    capacity = operation in ("book", "check_in", "walk_in", "cancel")
                    table.append(
                        row(f"mixed: {operation}", tally, operation, oversold if capacity else None)
                    )
                everything = Tally(elapsed=tally.elapsed)
                for operation in operations:
                    everything.latencies["all"].extend(tally.latencies[operation])
                    everything.outcomes["all"]["error"] += tally.error_count(operation)
                table.append(
                    row(f"mixed: all ({args.users} users)", everything, "all", oversold, cpu)
                )
                tallies.append(("mixed", tally))
                memory.append(("after mixed", server.rss_mb()))
            if "alone" in args.phases:
                rates, oversold = run_alone_phase(
                    args, env, Path(log_dir), plan, work, server, table
                )
                oversold_total += oversold
                for operation, (tally, rate) in rates.items():
                    tallies.append((operation, tally))
                    if operation == "reference":
                        reference_rate = rate
                    else:
                        alone_rates[operation] = rate
                memory.append(("after alone", server.rss_mb()))
            if "storm" in args.phases:
                tally = Tally()
                print("capacity storm …", file=sys.stderr)
                body = {"dept_id": plan.storm_department, "expected_time": plan.storm_time}
                asyncio.run(run_storm(args, plan.storm_tokens, body, tally))
                oversold = oversold_schedules()
                oversold_total += oversold
                table.append(
                    row(
                        f"storm: {STORM_REQUESTS} bookings, 10 places",
                        tally,
                        "storm_book",
                        oversold,
                    )
                )
                tallies.append(("storm_book", tally))
                memory.append(("after storm", server.rss_mb()))
                storm_ok = tally.outcomes["storm_book"].get("ok", 0)
                storm_full = tally.outcomes["storm_book"].get("no_capacity", 0)
                table[-1][-1] = (
                    f"booked {storm_ok} of {STORM_PLACES - STORM_TAKEN}, " + table[-1][-1]
                )
                if (storm_ok, storm_full) != (
                    STORM_PLACES - STORM_TAKEN,
                    STORM_REQUESTS - STORM_PLACES + STORM_TAKEN,
                ):
                    print(
                        f"storm: {storm_ok} booked, {storm_full} no_capacity: WRONG",
                        file=sys.stderr,
                    )
                    errors += 1
                # The storm per window: one window of a windowed schedule, its quota alone.
                tally = Tally()
                print("capacity storm per window …", file=sys.stderr)
                body = {
                    "dept_id": plan.window_storm_department,
                    "expected_time": plan.window_storm_time,
                }
                asyncio.run(
                    run_storm(args, plan.window_storm_tokens, body, tally, "window_storm_book")
                )
                oversold = oversold_schedules()
                oversold_total += oversold
                table.append(
                    row(
                        f"storm per window: {STORM_REQUESTS} bookings, "
                        f"window quota {WINDOW_STORM_QUOTA}",
                        tally,
                        "window_storm_book",
                        oversold,
                    )
                )
                tallies.append(("window_storm_book", tally))
                memory.append(("after window storm", server.rss_mb()))
                window_ok = tally.outcomes["window_storm_book"].get("ok", 0)
                window_full = tally.outcomes["window_storm_book"].get("no_capacity", 0)
                table[-1][-1] = f"booked {window_ok} of {WINDOW_STORM_QUOTA}, " + table[-1][-1]
                quota, used, held, counter = window_storm_figures(plan)
                window_storm = (
                    f"storm per window: {window_ok} booked, {window_full} no_capacity; the "
                    f"window {used} of {quota} places taken by {held} bookings, its "
                    f"schedule {counter}"
                )
                notes.append(window_storm)
                if (window_ok, window_full, used, held, counter) != (
                    WINDOW_STORM_QUOTA,
                    STORM_REQUESTS - WINDOW_STORM_QUOTA,
                    quota,
                    quota,
                    quota,
                ):
                    print(f"{window_storm}: WRONG", file=sys.stderr)
                    errors += 1
            if "sign-in" in args.phases:
                accounts = burst_accounts(args, plan)
                for operation, name in (("register", "register"), ("sign_in", "sign in")):
                    tally = Tally()
                    print(f"sign-in burst: {len(accounts)} × {name} …", file=sys.stderr)
                    with Profiler(server, args.profile, operation):
                        before = meter.snapshot()
                        asyncio.run(run_sign_ins(args, accounts, operation, tally))
                        cpu = spent(before, meter.snapshot())
                    table.append(
                        row(
                            f"sign-in burst: {name} ({args.clients} clients)",
                            tally,
                            operation,
                            cpu=cpu,
                        )
                    )
                    tallies.append((operation, tally))
                memory.append(("after sign-in burst", server.rss_mb()))
            memory.append(("peak", server.peak_rss_mb()))
            stop_server(server)
            server = None
            print()
            print(
                f"Clinic Flow load bench · {workers} gunicorn workers · "
                f"{database_server} · {args.patients:,} patients, "
                f"{args.history_days} days of history"
            )
            print()
            print_table(table)
            for note in notes:
                print(note)
            print()
            print("resident memory per worker (MB, from /proc: VmRSS, and VmHWM for the peak):")
            width = max(len(moment) for moment, _ in memory)
            for moment, sizes in memory:
                print(f"  {moment.ljust(width)}  " + ", ".join(f"{mb:.0f}" for mb in sizes))
            if reference_rate:
                print(
                    "alone, as a share of the reference booking on this machine "
                    "(the issue's 450/s is 80% of a 500-600/s reference): "
                    + ", ".join(
                        f"{operation} {rate / reference_rate:.0%}"
                        for operation, rate in alone_rates.items()
                    )
                )
            for name, tally in tallies:
                for operation, messages in tally.errors.items():
                    errors += tally.error_count(operation)
                    for message in messages:
                        print(f"  {name}/{operation} error: {message}")
            from billing.invariants import find_problems

            problems = find_problems()
            for problem in problems:
                print(f"  invariant broken: {problem}")
            ok = errors == 0 and oversold_total == 0 and not problems
            print("\nresult:", "OK (no errors, no oversell)" if ok else "FAILED")
    finally:
        if server is not None:
            stop_server(server)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
