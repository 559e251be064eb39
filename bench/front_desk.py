"""The front desk at size: server time of the search box, the API's searches, the board and
the appointment desk.

    DATABASE_URL=mysql://clinic:clinic@127.0.0.1:3306/clinic python bench/front_desk.py

Seeds its own database (`clinic_desk_bench`, dropped afterwards unless --keep) with 100,000
patients, 100,000 past appointments and 100,000 past visits with their paid bills over 60
days, and a clinic day of 500 visits and 500 appointments, then times requests through
Django's full request path in this process (middleware, view, templates, queries; no
network) and prints p50/p95 per operation. The API's searches go the same way, with a bearer
token as API clients send it. Targets on a 2-core machine with MariaDB: every search (the
desk's box and the API's lists, which follow the same rule: clinic/search.py) p95 under 10 ms
for phone, ID number, name prefix and pinyin (initials `zs`, full `zhangsan`, with a phone
fragment `zs 138`); board partial p95 under 40 ms; appointment desk p95 under 60 ms. The
pinyin searches' EXPLAIN is printed after the figures (a range of the key index).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-never-used-for-real-data")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")

import django  # noqa: E402

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"  # noqa: E501
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲芬燕彬辉鹏"


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))]


def seed(patients: int, visits: int, history: int, visit_history: int) -> dict:
    from django.db import connection

    from appointments.models import Appointment, AppointmentStatus
    from clinic.models import Department, Employee, Patient, Position, Role, Room, User
    from clinic.tests.factories import make_resident_id
    from scheduling.models import Schedule, TimeSlot
    from visits.models import Visit, VisitDailySummary, VisitStatus

    rng = random.Random(7)
    today = django.utils.timezone.localdate()
    now = django.utils.timezone.now()
    departments, schedules = [], []
    for index in range(9):
        department = Department.objects.create(name=f"科室{index}", code=f"D{index}")
        departments.append(department)
        for seat in range(2):
            doctor = Employee.objects.create(
                emp_id=f"D{index}{seat}",
                name=f"医生{index}{seat}",
                gender="male",
                position=Position.DOCTOR,
                department=department,
            )
            room = Room.objects.create(room_number=f"{index}{seat}", department=department)
            schedules.append(
                Schedule.objects.create(
                    department=department,
                    room=room,
                    doctor=doctor,
                    work_date=today,
                    time_slot=TimeSlot.FULL_DAY,
                    max_patients=200,
                )
            )
    rows = []
    for index in range(patients):
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        rows.append(
            Patient(
                name=name,
                gender="male" if index % 2 else "female",
                phone=f"1{rng.randint(3, 9)}{index:09d}",
                id_card=make_resident_id(seed=index) if index % 3 else None,
            )
        )
    Patient.objects.bulk_create(rows, batch_size=5000, ignore_conflicts=True)
    # bulk_create skips Patient.save(): the pinyin search keys are built as imports build them.
    from clinic.name_keys import rebuild_name_keys

    keys_started = time.perf_counter()
    rebuild_name_keys(Patient.objects.only("pk", "name").iterator(chunk_size=5000))
    print(f"pinyin keys built in {time.perf_counter() - keys_started:.1f} s", file=sys.stderr)
    sample = list(Patient.objects.order_by("?")[: visits * 2])
    statuses = [
        VisitStatus.WAITING,
        VisitStatus.IN_CONSULTATION,
        VisitStatus.AWAITING_PAYMENT,
        VisitStatus.LEFT,
    ]
    queue: dict[int, int] = {}
    visit_rows, appointment_rows = [], []
    first_window = first_windows(schedules)
    for index, patient in enumerate(sample[:visits]):
        schedule = schedules[index % len(schedules)]
        queue[schedule.pk] = queue.get(schedule.pk, 0) + 1
        window = first_window[schedule.pk]
        visit_rows.append(
            Visit(
                patient=patient,
                department_id=schedule.department_id,
                schedule=schedule,
                window=window,
                queued_from=window.start_time,
                queue_number=queue[schedule.pk],
                status=statuses[index % 4],
                visit_date=today,
                check_in_time=now - dt.timedelta(minutes=index % 180),
            )
        )
    Visit.objects.bulk_create(visit_rows, batch_size=1000)
    # Bulk inserts skip Visit.save(): the statistics' summary is rebuilt for them.
    VisitDailySummary.rebuild(start_date=today, end_date=today)
    for index, patient in enumerate(sample[visits:]):
        schedule = schedules[index % len(schedules)]
        appointment_rows.append(
            Appointment(
                patient=patient,
                patient_name=patient.name,
                phone=patient.phone,
                department_id=schedule.department_id,
                schedule=schedule,
                window=first_window[schedule.pk],
                expected_time=now + dt.timedelta(minutes=index % 240),
            )
        )
    Appointment.objects.bulk_create(appointment_rows, batch_size=1000)
    past = seed_history(history, schedules, rng, Appointment, AppointmentStatus, Patient, Schedule)
    seed_visit_history(visit_history, past, rng)
    # Statistics as a running clinic's server has them: InnoDB recalculates them in the
    # background after a bulk load, so plans chosen right after seeding would be a guess.
    with connection.cursor() as cursor:
        cursor.execute(
            "ANALYZE TABLE clinic_patient, clinic_patientnamekey, appointments_appointment, "
            "visits_visit, "
            "scheduling_schedule, clinic_department, billing_bill"
        )
        cursor.fetchall()
    desk = User.objects.create_user("bench-desk", password="x" * 12, role=Role.RECEPTIONIST)
    admin = User.objects.create_user("bench-admin", password="x" * 12, role=Role.ADMIN)
    return {"desk": desk, "admin": admin, "sample": sample, "appointments": appointment_rows}


def first_windows(schedules: list) -> dict:
    """Each schedule's first booking window, made for schedules bulk-inserted without them
    (bulk_create skips Schedule.save()). The bench's rows name it; its counters are not
    what this benchmark measures."""
    from scheduling.models import ScheduleWindow

    have = set(
        ScheduleWindow.objects.filter(schedule__in=schedules).values_list("schedule_id", flat=True)
    )
    ScheduleWindow.objects.bulk_create(
        [window for s in schedules if s.pk not in have for window in s.new_windows()],
        batch_size=5000,
    )
    first = {}
    for window in ScheduleWindow.objects.filter(schedule__in=schedules).order_by("-start_time"):
        first[window.schedule_id] = window
    return first


def seed_history(count, schedules, rng, Appointment, AppointmentStatus, Patient, Schedule) -> list:
    """Past bookings over the previous 60 days: the search's appointment half must find today's
    live ones along an index, not by reading the clinic's whole history. Returns the past
    schedules."""
    today = django.utils.timezone.localdate()
    past = Schedule.objects.bulk_create(
        [
            Schedule(
                department_id=schedule.department_id,
                room_id=schedule.room_id,
                doctor_id=schedule.doctor_id,
                work_date=today - dt.timedelta(days=days_ago),
                time_slot=schedule.time_slot,
                start_time=schedule.start_time,
                end_time=schedule.end_time,
                max_patients=schedule.max_patients,
            )
            for days_ago in range(1, 61)
            for schedule in schedules
        ],
        batch_size=1000,
    )
    past = list(Schedule.objects.filter(work_date__lt=today).order_by("pk"))
    first_window = first_windows(past)
    people = list(Patient.objects.values_list("id", "name", "phone"))
    finished = [
        AppointmentStatus.COMPLETED,
        AppointmentStatus.COMPLETED,
        AppointmentStatus.CANCELLED,
        AppointmentStatus.NO_SHOW,
    ]
    rows = []
    for index in range(count):
        schedule = past[index % len(past)]
        patient_id, name, phone = rng.choice(people)
        opens = dt.datetime.combine(schedule.work_date, dt.time(8))
        rows.append(
            Appointment(
                patient_id=patient_id,
                patient_name=name,
                phone=phone,
                department_id=schedule.department_id,
                schedule=schedule,
                window=first_window[schedule.pk],
                status=finished[index % len(finished)],
                expected_time=django.utils.timezone.make_aware(opens)
                + dt.timedelta(minutes=index % 480),
            )
        )
    Appointment.objects.bulk_create(rows, batch_size=5000)
    return past


def seed_visit_history(count: int, past: list, rng: random.Random) -> None:
    """Past visits, each settled with a paid bill, on the past schedules: the API's visit and
    bill searches find a patient's few among the clinic's whole history."""
    from billing.models import Bill, PayStatus
    from clinic.codes import random_code
    from clinic.models import Patient
    from visits.models import Visit, VisitStatus

    if not count or not past:
        return
    patient_ids = list(Patient.objects.values_list("id", flat=True))
    queue: dict[int, int] = {}
    visits = []
    first_window = first_windows(past)
    for index in range(count):
        schedule = past[index % len(past)]
        queue[schedule.pk] = queue.get(schedule.pk, 0) + 1
        checked_in = django.utils.timezone.make_aware(
            dt.datetime.combine(schedule.work_date, dt.time(8))
        ) + dt.timedelta(minutes=index % 480)
        visits.append(
            Visit(
                patient_id=rng.choice(patient_ids),
                department_id=schedule.department_id,
                schedule_id=schedule.pk,
                window=first_window[schedule.pk],
                queued_from=first_window[schedule.pk].start_time,
                queue_number=queue[schedule.pk],
                status=VisitStatus.LEFT,
                visit_date=schedule.work_date,
                check_in_time=checked_in,
            )
        )
    Visit.objects.bulk_create(visits, batch_size=5000)
    numbers: set[str] = set()
    bills = []
    for visit in visits:
        paid = visit.check_in_time + dt.timedelta(hours=1)
        number = ""
        while not number or number in numbers:  # unique, as the column is
            number = f"B{django.utils.timezone.localdate(paid):%Y%m%d}-{random_code(6)}"
        numbers.add(number)
        bills.append(
            Bill(
                visit_id=visit.pk,
                number=number,
                total_amount=Decimal("100.00"),
                insurance_amount=Decimal("60.00"),
                estimated_insurance_amount=Decimal("60.00"),
                self_pay_amount=Decimal("40.00"),
                pay_status=PayStatus.PAID,
                pay_time=paid,
            )
        )
    Bill.objects.bulk_create(bills, batch_size=5000)


def time_requests(client, url: str, params_list: list[dict], headers: dict) -> list[float]:
    timings = []
    for params in params_list:
        started = time.perf_counter()
        response = client.get(url, params, headers=headers)
        timings.append((time.perf_counter() - started) * 1000)
        if response.status_code != 200:
            raise RuntimeError(f"{url} {params}: {response.status_code}")
    return timings


def initials(patient, letters: int | None = None) -> str:
    from clinic.pinyin import name_keys

    return name_keys(patient.name)["initials"][0][:letters]


def full_pinyin(patient) -> str:
    from clinic.pinyin import name_keys

    return name_keys(patient.name)["full"][0]


def explain_pinyin(client, texts: list[str]) -> None:
    """The plans of the desk box's pinyin searches: the key table read as a range of its index,
    each patient by primary key."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for text in texts:
        with CaptureQueriesContext(connection) as captured:
            client.get("/visits/search/", {"q": text}, headers={"HX-Request": "true"})
        sql = next(q["sql"] for q in captured if "`clinic_patientnamekey`" in q["sql"])
        print(f"\nEXPLAIN (desk box, {text!r}):")
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN " + sql)
            columns = [column[0] for column in cursor.description]
            for row in cursor.fetchall():
                plan = dict(zip(columns, row, strict=True))
                print(
                    f"  {plan['table']:<24} {plan['type']:<7} {plan['key'] or '':<24} "
                    f"rows={plan['rows']:<6} {plan['Extra'] or ''}"
                )


def api_cases(data: dict, picks: list, limit: int | None) -> dict:
    """The API's searches, next to the desk box's: the same people, the same kinds of text,
    each request with its bearer token (the desk's or the administrator's). A page holds the
    API's default 50 rows, or `limit` (the desk box shows 8: --api-limit 8 compares like with
    like, as most of a long page's time is shaping its rows, not finding them)."""
    from rest_framework_simplejwt.tokens import AccessToken

    desk = {"Authorization": f"Bearer {AccessToken.for_user(data['desk'])}"}
    admin = {"Authorization": f"Bearer {AccessToken.for_user(data['admin'])}"}
    patients = "/api/receptionist/patients"
    with_id = [p for p in picks if p.id_card] or picks[:1]
    page = {"limit": limit} if limit else {}

    def each(people: list, field: str, read) -> list[dict]:
        return [{field: read(person), **page} for person in people]

    return {
        "api patients: phone (full)": (patients, each(picks, "phone", lambda p: p.phone), desk),
        "api patients: phone prefix (7)": (
            patients,
            each(picks, "phone", lambda p: p.phone[:7]),
            desk,
        ),
        "api patients: ID number": (patients, each(with_id, "id_card", lambda p: p.id_card), desk),
        "api patients: name prefix": (patients, each(picks, "name", lambda p: p.name[:2]), desk),
        "api patients: pinyin initials": (patients, each(picks, "name", initials), desk),
        "api admin visits: name prefix": (
            "/api/admin/visits/search",
            each(picks, "name", lambda p: p.name[:2]),
            admin,
        ),
        "api bills: name prefix": (
            "/api/receptionist/bills",
            each(picks, "name", lambda p: p.name[:2]),
            desk,
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=500)
    parser.add_argument(
        "--history", type=int, default=100_000, help="past appointments over the last 60 days"
    )
    parser.add_argument(
        "--visit-history",
        type=int,
        default=100_000,
        help="past visits, each with a paid bill, over the last 60 days",
    )
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument(
        "--api-limit",
        type=int,
        default=None,
        help="rows per page of the API's searches (default: the API's own, 50)",
    )
    parser.add_argument("--db-name", default="clinic_desk_bench")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="leave the seeded database in place afterwards (for EXPLAIN); drop it by hand",
    )
    args = parser.parse_args()
    django.setup()
    from django.conf import settings
    from django.contrib.staticfiles.storage import staticfiles_storage
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_databases, teardown_databases

    if connection.vendor != "mysql":
        print(
            "bench/front_desk.py needs DATABASE_URL=mysql://... (MariaDB/MySQL).", file=sys.stderr
        )
        return 2
    # Full pages look up {% static %} in the manifest, as in production: build it if missing.
    manifest = getattr(staticfiles_storage, "manifest_name", None)
    if manifest and not (Path(settings.STATIC_ROOT) / manifest).exists():
        print("collecting static files for the manifest …", file=sys.stderr)
        call_command("collectstatic", interactive=False, verbosity=0)
    connection.settings_dict.setdefault("TEST", {})["NAME"] = args.db_name
    print(f"creating {args.db_name} and seeding {args.patients:,} patients …", file=sys.stderr)
    old_config = setup_databases(
        verbosity=0, interactive=False, aliases={"default"}, serialized_aliases=set()
    )
    try:
        started = time.perf_counter()
        data = seed(args.patients, args.visits, args.history, args.visit_history)
        print(f"seeded in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        client = Client()
        client.force_login(data["desk"])
        sample = data["sample"]
        rng = random.Random(11)
        picks = [rng.choice(sample) for _ in range(args.requests)]
        htmx = {"HX-Request": "true"}
        search = "/visits/search/"
        cases = {
            "search: phone (full)": (search, [{"q": p.phone} for p in picks], htmx),
            "search: phone prefix (7)": (search, [{"q": p.phone[:7]} for p in picks], htmx),
            "search: ID number": (
                search,
                [{"q": p.id_card} for p in picks if p.id_card] or [{"q": "110105"}],
                htmx,
            ),
            "search: name prefix": (search, [{"q": p.name[:2]} for p in picks], htmx),
            "search: pinyin initials, 2 (zs)": (
                search,
                [{"q": initials(p, 2)} for p in picks],
                htmx,
            ),
            "search: pinyin initials (whole)": (
                search,
                [{"q": initials(p)} for p in picks],
                htmx,
            ),
            "search: full pinyin (zhangsan)": (
                search,
                [{"q": full_pinyin(p)} for p in picks],
                htmx,
            ),
            "search: initials 2 + phone 3 (zs 138)": (
                search,
                [{"q": f"{initials(p, 2)} {p.phone[:3]}"} for p in picks],
                htmx,
            ),
            "search: booking reference": (
                search,
                [{"q": a.reference} for a in data["appointments"][: args.requests]],
                htmx,
            ),
            **api_cases(data, picks, args.api_limit),
            "board partial (500 visits)": ("/visits/board/", [{}] * args.requests, htmx),
            "appointment desk (500 rows)": ("/appointments/desk/", [{}] * (args.requests // 4), {}),
        }
        for url, params_list, headers in cases.values():  # warm up caches and connections
            time_requests(client, url, params_list[:5], headers)
        print(f"\n{'operation':<38} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'mean ms':>8}")
        for label, (url, params_list, headers) in cases.items():
            timings = time_requests(client, url, params_list, headers)
            print(
                f"{label:<38} {len(timings):>8} {percentile(timings, 0.5):>8.1f} "
                f"{percentile(timings, 0.95):>8.1f} {sum(timings) / len(timings):>8.1f}"
            )
        # Texts that find someone in the seeded names (which have no given name read with s).
        explain_pinyin(
            client,
            [initials(picks[0], 2), full_pinyin(picks[1]), f"{initials(picks[2], 2)} 13"],
        )
    finally:
        connection.close()
        if args.keep:
            print(f"\nkept {args.db_name}", file=sys.stderr)
        else:
            teardown_databases(old_config, verbosity=0)
            print(f"\ndropped {args.db_name}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
