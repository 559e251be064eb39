"""Reminders: one per appointment, the evening before, in the patient's language."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.utils import translation

from appointments.models import Appointment, AppointmentStatus, reminder_key
from appointments.reminders import queue_reminders
from appointments.services import book_appointment
from appointments.tests.factories import AppointmentFactory
from clinic.models import NotifyChannel
from clinic.tests.factories import DoctorFactory, PatientFactory, RoomFactory
from notifications import services as notification_services
from notifications.models import Notification, NotificationKind, NotificationStatus
from scheduling.tests.factories import ScheduleFactory, set_places_taken
from tests.support import WORK_DAY, clinic_time, run_at_once

pytestmark = pytest.mark.django_db

EVE = WORK_DAY - dt.timedelta(days=1)
AT_THE_HOUR = clinic_time(18, day=EVE)  # CLINIC_REMINDER_HOUR defaults to 18
BEFORE_THE_HOUR = clinic_time(17, 59, day=EVE)


@pytest.fixture(autouse=True)
def _reminder_hour(settings):
    settings.CLINIC_REMINDER_HOUR = 18
    settings.CLINIC_NAME = "Riverside Clinic"


def tomorrow_schedule(day=WORK_DAY, **room):
    doctor = DoctorFactory(name="Dr Wang")
    return ScheduleFactory(
        doctor=doctor,
        department=doctor.department,
        room=RoomFactory(department=doctor.department, **room),
        work_date=day,
    )


def booking(schedule=None, **kwargs):
    return AppointmentFactory(schedule=schedule or tomorrow_schedule(), **kwargs)


def reminders():
    return Notification.objects.filter(kind=NotificationKind.REMINDER)


def test_tomorrows_bookings_get_one_reminder_each_with_what_the_patient_needs():
    appointment = booking(
        tomorrow_schedule(room_number="R204"), patient=PatientFactory(language="en")
    )
    assert queue_reminders(AT_THE_HOUR) == 1
    reminder = Notification.objects.get(key=reminder_key(appointment.pk))
    assert reminder.kind == NotificationKind.REMINDER
    assert reminder.patient == appointment.patient
    assert reminder.channel == NotifyChannel.SMS
    assert reminder.recipient == appointment.patient.phone
    assert reminder.language == "en"
    assert reminder.subject == "Reminder: your appointment tomorrow"
    body = reminder.body
    for expected in (
        "Riverside Clinic",
        appointment.reference,
        "2030-03-04 (Monday)",
        appointment.window.label,
        appointment.department.name,
        "Dr Wang",
        "R204",
        "ID card",
        "insurance card",
        "previous medical records",
        "front desk",
    ):
        assert expected in body, expected


def test_the_reminder_is_written_in_the_patients_language(settings):
    settings.CLINIC_NAME = ""
    chinese = booking(patient=PatientFactory(language="zh-hans"))
    english = booking(patient=PatientFactory(language="en"))
    queue_reminders(AT_THE_HOUR)
    zh = Notification.objects.get(key=reminder_key(chinese.pk))
    en = Notification.objects.get(key=reminder_key(english.pk))
    assert zh.language == "zh-hans"
    assert "社区医院" in zh.body and "星期一" in zh.body
    assert "Community Clinic" in en.body and "Monday" in en.body
    assert zh.body != en.body


def test_an_email_patient_is_reminded_by_email():
    appointment = booking(
        patient=PatientFactory(notify_channel=NotifyChannel.EMAIL, email="li@example.com")
    )
    queue_reminders(AT_THE_HOUR)
    reminder = Notification.objects.get(key=reminder_key(appointment.pk))
    assert (reminder.channel, reminder.recipient) == (NotifyChannel.EMAIL, "li@example.com")


def test_a_phone_booking_without_a_record_is_texted_to_the_bookings_phone():
    """Without a record there is no language chosen: the text is in the language active
    where it is written (the clinic's default in the worker; English here)."""
    appointment = booking(patient=None, phone="13912345678")
    with translation.override("en"):
        queue_reminders(AT_THE_HOUR)
    reminder = Notification.objects.get(key=reminder_key(appointment.pk))
    assert (reminder.channel, reminder.recipient) == (NotifyChannel.SMS, "13912345678")
    assert reminder.patient is None
    assert "call the front desk" in reminder.body


def test_nothing_before_the_reminder_hour():
    booking()
    assert queue_reminders(BEFORE_THE_HOUR) == 0
    assert not reminders().exists()


def test_only_tomorrows_live_bookings_of_patients_who_want_reminders():
    schedule = tomorrow_schedule()
    wanted = booking(schedule)
    confirmed = booking(schedule, status=AppointmentStatus.CONFIRMED)
    booking(schedule, status=AppointmentStatus.CANCELLED)
    booking(schedule, patient=PatientFactory(reminders_enabled=False))
    booking(tomorrow_schedule(day=WORK_DAY + dt.timedelta(days=1)))  # the day after
    booking(tomorrow_schedule(day=EVE))  # today
    assert queue_reminders(AT_THE_HOUR) == 2
    assert set(reminders().values_list("key", flat=True)) == {
        reminder_key(wanted.pk),
        reminder_key(confirmed.pk),
    }


def test_running_twice_writes_each_reminder_once():
    booking()
    booking()
    assert queue_reminders(AT_THE_HOUR) == 2
    assert queue_reminders(AT_THE_HOUR + dt.timedelta(minutes=5)) == 0
    assert reminders().count() == 2


def test_queue_reminders_reads_a_fixed_number_of_queries_per_reminder(
    django_assert_max_num_queries,
):
    schedule = tomorrow_schedule()
    for _ in range(10):
        booking(schedule)
    # The appointments, their keys, the batch's lock (+ its savepoint in the test's
    # transaction), then per reminder notify's key lookup and its insert in a savepoint
    # (SAVEPOINT, INSERT, RELEASE).
    with django_assert_max_num_queries(2 + 3 + 10 * 4):
        assert queue_reminders(AT_THE_HOUR) == 10


def test_a_reminder_is_sent_once_written(django_capture_on_commit_callbacks):
    appointment = booking()
    with django_capture_on_commit_callbacks(execute=True):
        queue_reminders(AT_THE_HOUR)
    reminder = Notification.objects.get(key=reminder_key(appointment.pk))
    assert reminder.status == NotificationStatus.SENT


def test_a_cancelled_booking_is_not_reminded(receptionist):
    appointment = booking()
    set_places_taken(appointment.schedule, 1)
    queue_reminders(AT_THE_HOUR)
    appointment.cancel(by=receptionist, reason="ill")
    reminder = Notification.objects.get(key=reminder_key(appointment.pk))
    assert reminder.status == NotificationStatus.CANCELLED
    assert notification_services.send(reminder.pk) == NotificationStatus.CANCELLED
    assert notification_services.due_ids(AT_THE_HOUR + dt.timedelta(hours=1)) == []


def _book_tomorrow(user, schedule, *, now):
    return book_appointment(
        by=user,
        department=schedule.department,
        expected_time=clinic_time(9, day=schedule.work_date),
        now=now,
    )


def test_a_booking_for_tomorrow_after_the_hour_is_reminded_at_once(patient_user):
    schedule = tomorrow_schedule()
    appointment = _book_tomorrow(patient_user, schedule, now=clinic_time(21, day=EVE))
    assert Notification.objects.filter(key=reminder_key(appointment.pk)).exists()
    # The periodic run later writes no second one.
    assert queue_reminders(clinic_time(21, 5, day=EVE)) == 0


def test_a_booking_before_the_hour_waits_for_the_periodic_run(patient_user):
    schedule = tomorrow_schedule()
    appointment = _book_tomorrow(patient_user, schedule, now=clinic_time(10, day=EVE))
    assert not reminders().exists()
    assert queue_reminders(AT_THE_HOUR) == 1
    assert Notification.objects.filter(key=reminder_key(appointment.pk)).exists()


def test_a_same_day_booking_gets_no_reminder(patient_user):
    schedule = tomorrow_schedule(day=WORK_DAY)
    _book_tomorrow(patient_user, schedule, now=clinic_time(7, day=WORK_DAY))
    assert not reminders().exists()


def test_a_late_booking_of_a_patient_without_reminders_gets_none(patient_user):
    patient_user.patient.reminders_enabled = False
    patient_user.patient.save()
    _book_tomorrow(patient_user, tomorrow_schedule(), now=clinic_time(21, day=EVE))
    assert not reminders().exists()


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_write_one_reminder_each():
    if connection.vendor == "sqlite":
        pytest.skip("row locks and concurrent writers need MariaDB")
    schedule = tomorrow_schedule()
    appointments = [booking(schedule) for _ in range(30)]
    results = run_at_once([lambda: queue_reminders(AT_THE_HOUR)] * 2)
    assert all(isinstance(r, int) for r in results), results
    keys = list(reminders().values_list("key", flat=True))
    assert sorted(keys) == sorted(reminder_key(a.pk) for a in appointments)
    assert Appointment.objects.count() == 30


def test_the_sweep_sends_a_reminder_whose_task_was_lost():
    """A worker killed while sending leaves its task RUNNING for good (django-tasks-db never
    runs it again): the message itself stays pending, and the periodic sweep sends it."""
    from notifications.tasks import send_due_notifications

    appointment = booking()
    queue_reminders(AT_THE_HOUR)  # its on-commit enqueue never runs in this test: lost
    reminder = Notification.objects.get(key=reminder_key(appointment.pk))
    assert reminder.status == NotificationStatus.PENDING
    assert send_due_notifications.call() == 1
    reminder.refresh_from_db()
    assert (reminder.status, reminder.attempts) == (NotificationStatus.SENT, 1)
    assert send_due_notifications.call() == 0
