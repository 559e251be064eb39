"""No-shows: marking the bookings nobody came for, and the policy that pauses online booking
for a patient who keeps missing theirs (one rule, here; pages, API and booking ask it).

The policy: CLINIC_NO_SHOW_LIMIT no-shows or more, counted by their schedule's work date
within the last CLINIC_NO_SHOW_LOOKBACK_DAYS days (today and the days before it, the first
day `today - LOOKBACK_DAYS` included), stop the patient booking online until the last of
them plus CLINIC_NO_SHOW_BLOCK_DAYS (they may book online again from that date on). No-shows
whose schedule ended at or before `patient.no_show_block_lifted_at` (the desk lifted the
block) no longer count. A limit of 0 turns the policy off. The desk can always book.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from appointments.exceptions import BookingBlocked, NoBlockToLift
from appointments.models import LIVE_STATUSES, Appointment, AppointmentStatus
from clinic.audit import record_event
from clinic.db import atomic_with_retry
from clinic.exceptions import ClinicError
from clinic.models import Patient, User
from clinic.roles import DESK_ROLES, ensure_role
from clinic.services import lock_patient
from scheduling.models import at_clinic_time


@dataclass(frozen=True)
class NoShowsMarked:
    marked: int
    not_yet_due: int


def mark_due_no_shows(now: dt.datetime | None = None) -> NoShowsMarked:
    """Mark every live appointment whose schedule ended plus the grace period as a no-show
    (the timer's and the periodic task's work). Each appointment is its own transaction
    (Appointment.mark_no_show), so one failure never holds the others back, and running it
    twice, or twice at once, marks each once (the row is locked and its status re-read)."""
    now = now or timezone.now()
    grace = dt.timedelta(minutes=settings.CLINIC_NO_SHOW_GRACE_MINUTES)
    # Coarse filter in SQL (a schedule cannot end after its day); the exact end is checked
    # per appointment by mark_no_show itself.
    candidates = (
        Appointment.objects.filter(
            status__in=LIVE_STATUSES, schedule__work_date__lte=timezone.localdate(now - grace)
        )
        .select_related("schedule")
        .order_by("id")
    )
    marked = skipped = 0
    for appointment in candidates.iterator():
        if now < appointment.no_show_allowed_from():
            skipped += 1
            continue
        try:
            appointment.mark_no_show(by=None, now=now)
        except ClinicError:
            skipped += 1  # moved on meanwhile (checked in, cancelled, marked by another run)
        else:
            marked += 1
    return NoShowsMarked(marked, skipped)


def counted_no_shows(patient: Patient, today: dt.date) -> list[Appointment]:
    """The patient's no-shows that count towards the block today, latest first."""
    since = today - dt.timedelta(days=settings.CLINIC_NO_SHOW_LOOKBACK_DAYS)
    no_shows = (
        Appointment.objects.filter(
            patient=patient,
            status=AppointmentStatus.NO_SHOW,
            schedule__work_date__gte=since,
            schedule__work_date__lte=today,
        )
        .select_related("schedule")
        .order_by("-schedule__work_date", "-id")
    )
    lifted_at = patient.no_show_block_lifted_at
    return [
        a
        for a in no_shows
        if lifted_at is None
        or at_clinic_time(a.schedule.work_date, a.schedule.end_time) > lifted_at
    ]


def online_booking_blocked_until(patient: Patient | None, today: dt.date) -> dt.date | None:
    """The date from which the patient may book online again, or None when they may now."""
    limit = settings.CLINIC_NO_SHOW_LIMIT
    if patient is None or limit == 0:
        return None
    no_shows = counted_no_shows(patient, today)
    if len(no_shows) < limit:
        return None
    until = no_shows[0].schedule.work_date + dt.timedelta(days=settings.CLINIC_NO_SHOW_BLOCK_DAYS)
    return until if until > today else None


def ensure_may_book_online(patient: Patient, now: dt.datetime) -> None:
    """BookingBlocked while the policy stops this patient booking online (booking, joining a
    waitlist, taking an offer by themselves); the desk still books for them."""
    blocked_until = online_booking_blocked_until(patient, timezone.localdate(now))
    if blocked_until is not None:
        raise BookingBlocked.until(blocked_until.isoformat())


def no_show_history(patient: Patient) -> list[Appointment]:
    """Every no-show of the patient, latest first, with what the desk page shows of each."""
    return list(
        Appointment.objects.filter(patient=patient, status=AppointmentStatus.NO_SHOW)
        .select_related("department", "schedule__doctor")
        .order_by("-schedule__work_date", "-id")
    )


@atomic_with_retry
def lift_no_show_block(*, patient: Patient, by: User, now: dt.datetime | None = None) -> Patient:
    """The desk lets a blocked patient book online again: the no-shows so far stop counting.
    Receptionists and admins only; refused when the patient is not blocked."""
    ensure_role(by, *DESK_ROLES)
    now = now or timezone.now()
    patient = lock_patient(patient.pk)
    until = online_booking_blocked_until(patient, timezone.localdate(now))
    if until is None:
        raise NoBlockToLift()
    old = patient.no_show_block_lifted_at
    patient.no_show_block_lifted_at = now
    patient.save(update_fields=["no_show_block_lifted_at"])
    record_event(
        actor=by,
        action="patient.no_show_block_lifted",
        obj=patient,
        patient=patient,
        old={
            "no_show_block_lifted_at": old.isoformat() if old else None,
            "blocked_until": str(until),
        },
        new={"no_show_block_lifted_at": now.isoformat()},
    )
    return patient
