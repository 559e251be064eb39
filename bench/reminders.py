"""Reminders for a day of appointments: writing them, and a real worker sending them, killed
halfway and restarted.

    DATABASE_URL=mysql://root@127.0.0.1:3306/clinic python bench/reminders.py --replace

Makes a day of appointments for tomorrow (bulk inserts: 10 schedules of 200 places by
default), then times (a) `appointments.reminders.queue_reminders` (writing every reminder
and enqueueing the one task that sends them, as the periodic task does from the reminder
hour), and (b) `manage.py run_worker --batch` subprocesses sending them with the file
backend: the first is killed (SIGKILL) once about half are sent, then the periodic sweep
(send_due_notifications) is enqueued and a second worker runs it. The killed worker's task
stays RUNNING in django-tasks-db and is never run again: the sweep sends what it left,
including the message it held (delivered once: its file is created exclusively).

It runs in its own database (`clinic_bench_reminders`, dropped afterwards) and a temporary
folder for the message files. Exit status 0 when every reminder is sent exactly once (one
row per key, one file per message, none left pending), 1 otherwise, 2 when it cannot run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "clinic.settings")
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-never-used-for-real-data")
os.environ["TASKS_BACKEND"] = "database"
os.environ["CLINIC_SMS_BACKEND"] = "file"

import django  # noqa: E402

from bench._db import CannotRun, throwaway_database  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Reminder benchmark (MariaDB/MySQL only).")
    parser.add_argument("--schedules", type=int, default=10, help="schedules (default 10)")
    parser.add_argument(
        "--per-schedule", type=int, default=200, help="appointments per schedule (default 200)"
    )
    parser.add_argument("--db-name", default="clinic_bench_reminders")
    parser.add_argument("--replace", action="store_true", help="drop an existing database first")
    parser.add_argument(
        "--kill-at",
        type=float,
        default=0.5,
        help="kill the first worker once this share of the messages is sent (default 0.5)",
    )
    args = parser.parse_args(argv)
    if args.schedules < 1 or not 1 <= args.per_schedule <= 1000:
        parser.error("--schedules must be at least 1, --per-schedule between 1 and 1000")
    return args


def make_day(args: argparse.Namespace, work_date: dt.date) -> int:
    """Schedules for `work_date` full of pending appointments (every 10th a phone booking
    without a patient record; half the patients read English). Counters kept exact."""
    from appointments.models import Appointment
    from clinic.models import Department, Employee, Gender, Patient, Position, Room
    from scheduling.models import Schedule, ScheduleWindow, TimeSlot

    department = Department.objects.create(name="Bench reminders", code="benchrem")
    total = args.schedules * args.per_schedule
    patients = Patient.objects.bulk_create(
        Patient(
            name=f"Patient {i}",
            gender=Gender.FEMALE,
            phone=f"138{i:08d}",
            language="en" if i % 2 else "zh-hans",
        )
        for i in range(total)
    )
    appointments = []
    for s in range(args.schedules):
        schedule = Schedule.objects.create(
            department=department,
            room=Room.objects.create(room_number=f"BR{s:03d}", department=department),
            doctor=Employee.objects.create(
                emp_id=f"BR{s:04d}",
                name=f"Doctor {s}",
                gender=Gender.MALE,
                position=Position.DOCTOR,
                department=department,
            ),
            work_date=work_date,
            time_slot=TimeSlot.MORNING,
            max_patients=args.per_schedule,
        )
        windows = list(ScheduleWindow.objects.filter(schedule=schedule).order_by("start_time"))
        slots = [w for w in windows for _ in range(w.quota)]
        for n in range(args.per_schedule):
            i = s * args.per_schedule + n
            window = slots[n]
            patient = None if i % 10 == 0 else patients[i]
            appointments.append(
                Appointment(
                    reference=f"BR{i:06d}",
                    patient_name=f"Patient {i}",
                    phone=f"138{i:08d}",
                    department=department,
                    schedule=schedule,
                    window=window,
                    expected_time=window.starts_at(work_date),
                    patient=patient,
                )
            )
        for window in windows:
            used = sum(1 for w in slots[: args.per_schedule] if w.pk == window.pk)
            ScheduleWindow.objects.filter(pk=window.pk).update(used=used)
        Schedule.objects.filter(pk=schedule.pk).update(current_patients=args.per_schedule)
    Appointment.objects.bulk_create(appointments, batch_size=1000)
    return total


def worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    """A worker running what is queued, then exiting; its log (a line per task) to a file,
    never a pipe nobody reads (a full pipe would stop it)."""
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "manage.py", "run_worker", "--batch", "--interval", "0.1"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def run(args: argparse.Namespace, server: str) -> bool:
    from django.conf import settings
    from django.db import connection
    from django.db.models import Count, Max, Sum
    from django.utils import timezone
    from django_tasks.base import TaskResultStatus
    from django_tasks_db.models import DBTaskResult

    from appointments.reminders import queue_reminders
    from notifications.models import Notification, NotificationStatus
    from notifications.tasks import send_due_notifications

    now = timezone.now()
    today = timezone.localdate(now)
    total = make_day(args, today + dt.timedelta(days=1))
    reminder_time = timezone.make_aware(
        dt.datetime.combine(today, dt.time(settings.CLINIC_REMINDER_HOUR)),
        timezone.get_default_timezone(),
    )
    clock = max(now, reminder_time)  # the periodic task's clock: at or after the hour

    started = time.perf_counter()
    written = queue_reminders(clock)
    enqueue_seconds = time.perf_counter() - started
    second_run = queue_reminders(clock)
    queued_tasks = DBTaskResult.objects.filter(status=TaskResultStatus.READY).count()

    sms_dir = Path(tempfile.mkdtemp(prefix="clinic-bench-sms-"))
    config = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"mysql://{config['USER']}:{config['PASSWORD']}@{config['HOST'] or 'localhost'}:"
            f"{config['PORT'] or 3306}/{config['NAME']}"
        ),
        "CLINIC_SMS_FILE_DIR": str(sms_dir),
    }
    sent = Notification.objects.filter(status=NotificationStatus.SENT)
    started = time.perf_counter()
    log = sms_dir.parent / f"{sms_dir.name}.log"
    first = worker(env, log)
    while first.poll() is None and sent.count() < written * args.kill_at:
        time.sleep(0.05)
    killed = first.poll() is None
    if killed:
        os.kill(first.pid, signal.SIGKILL)
    first.wait()
    sent_when_killed = sent.count()
    stale_running = DBTaskResult.objects.filter(status=TaskResultStatus.RUNNING).count()
    # The periodic sweep (what run_worker's scheduler enqueues every minute).
    send_due_notifications.enqueue()
    second = worker(env, log)
    second.wait(timeout=600)
    send_seconds = time.perf_counter() - started

    rows = Notification.objects.aggregate(
        rows=Count("id"), keys=Count("key", distinct=True), attempts=Sum("attempts")
    )
    max_attempts = Notification.objects.aggregate(m=Max("attempts"))["m"]
    files = list(sms_dir.glob("*.txt"))
    headers = sum(path.read_text(encoding="utf-8").count("To: ") for path in files)
    pending = Notification.objects.filter(status=NotificationStatus.PENDING).count()
    sent_total = sent.count()
    # The sweep that ran after the kill (the first one, killed, stays RUNNING).
    sweep = (
        DBTaskResult.objects.filter(
            task_path__endswith="send_due_notifications", status=TaskResultStatus.SUCCESSFUL
        )
        .order_by("-enqueued_at")
        .first()
    )
    tasks_left = DBTaskResult.objects.filter(status=TaskResultStatus.READY).count()

    figures = [
        ("database", server),
        ("appointments tomorrow", total),
        ("reminders written (first run)", written),
        ("written by a second run", second_run),
        ("enqueue time (write + enqueue)", f"{enqueue_seconds:.2f} s"),
        ("  per reminder", f"{1000 * enqueue_seconds / max(written, 1):.2f} ms"),
        ("send tasks queued", queued_tasks),
        ("worker killed at (sent)", sent_when_killed if killed else "not killed (too fast)"),
        ("tasks left RUNNING by the kill", stale_running),
        ("messages sent by the sweep after the kill", sweep.return_value if sweep else "—"),
        ("send time (both workers)", f"{send_seconds:.2f} s"),
        ("messages sent", sent_total),
        ("files written", len(files)),
        ("duplicate files (messages in one file)", headers - len(files)),
        ("notification rows / distinct keys", f"{rows['rows']} / {rows['keys']}"),
        ("send attempts (sum / max per message)", f"{rows['attempts']} / {max_attempts}"),
        ("left pending", pending),
        ("tasks left READY", tasks_left),
    ]
    width = max(len(name) for name, _ in figures)
    for name, value in figures:
        print(f"{name:<{width}}  {value}")
    if second.returncode != 0:
        print(log.read_text(errors="replace")[-2000:], file=sys.stderr)
    ok = (
        written == total
        and second_run == 0
        and sent_total == written == len(files) == headers
        and rows["rows"] == rows["keys"]
        and pending == 0
        and second.returncode == 0
    )
    for path in files:
        path.unlink()
    sms_dir.rmdir()
    log.unlink()
    print("\nresult:", "OK (each reminder sent once, none left)" if ok else "FAILED")
    return ok


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    django.setup()
    try:
        with throwaway_database(
            args.db_name, replace=args.replace, script="bench/reminders.py"
        ) as server:
            ok = run(args, server)
    except CannotRun as error:
        print(error, file=sys.stderr)
        return 2
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
