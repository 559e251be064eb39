"""Reminders: the day before an appointment, from CLINIC_REMINDER_HOUR (clinic time), one
message to the patient (their channel and language) or, for a phone booking without a patient
record, a text message to the booking's phone.

Two doors write them, both through `write_reminder` (one key per appointment, so never two):
the periodic task `queue_reminders` for tomorrow's bookings, and the booking service for a
booking for tomorrow made after the hour (reminded at once). A same-day booking gets none: the
patient booked it minutes or hours before. A cancellation or no-show cancels the reminder not
yet sent (Appointment._place_given_back).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy

from appointments.models import LIVE_STATUSES, Appointment, reminder_key
from notifications.background import enqueue_on_commit
from notifications.models import Notification, NotificationKind
from notifications.services import notify
from notifications.tasks import send_due_notifications

REMINDER_TEMPLATE = "appointments/messages/reminder.txt"
REMINDER_SUBJECT = gettext_lazy("Reminder: your appointment tomorrow")
# The relations a reminder's text reads (one query for a whole day's bookings).
REMINDER_RELATIONS = ("patient", "department", "schedule__doctor", "schedule__room", "window")
# Appointments written per transaction by queue_reminders: few commits, short locks.
BATCH_SIZE = 200


def reminders_open(now: dt.datetime) -> bool:
    """Whether today's reminders (for tomorrow) are due: from the reminder hour, clinic time."""
    return timezone.localtime(now).hour >= settings.CLINIC_REMINDER_HOUR


def reminder_context(appointment: Appointment) -> dict[str, Any]:
    schedule = appointment.schedule
    return {
        "clinic_name": settings.CLINIC_NAME or gettext_lazy("Community Clinic"),
        "name": appointment.patient_name,
        "reference": appointment.reference,
        "date": schedule.work_date,
        "window": appointment.window.label,
        "department": appointment.department.name,
        "doctor": schedule.doctor.name,
        "room": schedule.room.room_number,
        "my_appointments_path": reverse("appointments:my-appointments"),
        "online": appointment.patient is not None and appointment.patient.user_id is not None,
    }


def write_reminder(appointment: Appointment, *, enqueue: bool = True) -> Notification | None:
    """The appointment's reminder, written now and sent at once (inside the caller's
    transaction, with the appointment locked or just created). Nothing for a patient who
    turned reminders off; the existing one if it was written before."""
    patient = appointment.patient
    if patient is not None and not patient.reminders_enabled:
        return None
    return notify(
        key=reminder_key(appointment.pk),
        kind=NotificationKind.REMINDER,
        subject=REMINDER_SUBJECT,
        template=REMINDER_TEMPLATE,
        context=reminder_context(appointment),
        patient=patient,
        phone=appointment.phone,
        enqueue=enqueue,
    )


def remind_if_late_booking(appointment: Appointment, *, now: dt.datetime) -> None:
    """A booking for tomorrow made after the reminder hour (the periodic task may have run
    already): its reminder goes at once. Called by the booking service in its transaction."""
    tomorrow = timezone.localdate(now) + dt.timedelta(days=1)
    if appointment.schedule.work_date == tomorrow and reminders_open(now):
        write_reminder(appointment)


def queue_reminders(now: dt.datetime | None = None) -> int:
    """Write the reminders of tomorrow's live appointments that have none yet (from the
    reminder hour on; nothing before); returns how many were written. One
    send_due_notifications task, enqueued after the last batch, sends them all (and the
    periodic sweep anything left behind).

    Safe to run twice, or twice at once: the keys already written are skipped, each batch
    locks its appointments (Appointment is first in the lock order; a booking cancelled
    meanwhile is skipped, one cancelled later cancels its reminder), and the key's unique
    index is the last line of defence (_write_batch).
    """
    now = now or timezone.now()
    if not reminders_open(now):
        return 0
    tomorrow = timezone.localdate(now) + dt.timedelta(days=1)
    appointments = list(
        Appointment.objects.filter(schedule__work_date=tomorrow, status__in=LIVE_STATUSES)
        .filter(Q(patient__isnull=True) | Q(patient__reminders_enabled=True))
        .select_related(*REMINDER_RELATIONS)
        .order_by("id")
    )
    written = set(
        Notification.objects.filter(key__in=[reminder_key(a.pk) for a in appointments]).values_list(
            "key", flat=True
        )
    )
    todo = [a for a in appointments if reminder_key(a.pk) not in written]
    count = 0
    for start in range(0, len(todo), BATCH_SIZE):
        count += _write_batch(todo[start : start + BATCH_SIZE])
    if count:
        # One task sends the day's reminders (one message each, in their order), rather than
        # a task per message: a worker claims one task instead of thousands.
        enqueue_on_commit(send_due_notifications)
    return count


def _write_batch(batch: list[Appointment], *, attempts: int = 3) -> int:
    """One transaction: lock the batch's appointments, write the reminders of those still
    live. The locks serialise concurrent runs (the second waits, then finds the keys
    written); should a key still collide (unique index), the batch is re-run without the
    keys written meanwhile, rather than a savepoint per reminder (two statements each)."""
    for attempt in range(attempts):
        try:
            with transaction.atomic():
                live = set(
                    Appointment.objects.select_for_update()
                    .filter(pk__in=[a.pk for a in batch], status__in=LIVE_STATUSES)
                    .values_list("pk", flat=True)
                )
                return sum(
                    write_reminder(appointment, enqueue=False) is not None
                    for appointment in batch
                    if appointment.pk in live
                )
        except IntegrityError:
            if attempt == attempts - 1:
                raise
            written = set(
                Notification.objects.filter(
                    key__in=[reminder_key(a.pk) for a in batch]
                ).values_list("key", flat=True)
            )
            batch = [a for a in batch if reminder_key(a.pk) not in written]
    return 0
