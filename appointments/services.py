"""Booking: turning a wish for a department, a date and a slot into a held place."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.exceptions import DuplicateBooking
from appointments.models import LIVE_STATUSES, Appointment, WaitlistEntry, WaitlistStatus
from appointments.no_shows import ensure_may_book_online
from appointments.reminders import remind_if_late_booking
from clinic.audit import record_event
from clinic.db import atomic_with_retry
from clinic.exceptions import PermissionDenied
from clinic.models import Department, Employee, Patient, Role, User
from clinic.roles import DESK_ROLES, ensure_role
from clinic.services import lock_own_patient, lock_patient, validated_patient
from scheduling.exceptions import (
    BeyondHorizon,
    NoCapacity,
    NoSchedule,
    OutsideClinicHours,
    SlotEnded,
)
from scheduling.models import Schedule, ScheduleWindow, TimeSlot, half_day_slot_at, slot_bounds
from scheduling.selectors import next_available_slots, window_places
from scheduling.services import lock_slot_schedules


@dataclass(frozen=True)
class RequestedSlot:
    """A validated booking time: its local date, its half-day slot and that slot's bounds."""

    expected_time: dt.datetime
    work_date: dt.date
    time_slot: str
    starts_at: dt.datetime
    ends_at: dt.datetime


def _holds_live_booking(*, department: Department, slot: RequestedSlot, **person: object) -> bool:
    """Whether a person (a patient record, or a caller's phone and name) already holds a live
    booking in this department during this slot: one is the most they may hold."""
    return Appointment.objects.filter(
        department=department,
        status__in=LIVE_STATUSES,
        expected_time__gte=slot.starts_at,
        expected_time__lt=slot.ends_at,
        **person,
    ).exists()


def _holds_offer(*, department: Department, slot: RequestedSlot, **person: object) -> bool:
    """Whether a place is held for the person in this department and half-day (a waitlist
    offer): with a booking besides, they would hold two."""
    return WaitlistEntry.objects.filter(
        department=department,
        work_date=slot.work_date,
        time_slot=slot.time_slot,
        status=WaitlistStatus.OFFERED,
        **person,
    ).exists()


def as_clinic_time(value: dt.datetime) -> dt.datetime:
    """An aware datetime; naive input is read in the clinic's time zone."""
    if timezone.is_naive(value):
        return timezone.make_aware(value, timezone.get_default_timezone())
    return value


def requested_slot(expected_time: dt.datetime, *, now: dt.datetime) -> RequestedSlot:
    """Check a wished-for time against clinic hours, the clock and the booking horizon."""
    expected_time = as_clinic_time(expected_time)
    local = timezone.localtime(expected_time)
    half = half_day_slot_at(local.time())
    if half is None:
        raise OutsideClinicHours(details={"expected_time": [_("The clinic is closed then.")]})
    starts_at, ends_at = slot_bounds(local.date(), half)
    if ends_at <= now:
        raise SlotEnded(details={"expected_time": [_("This slot has already ended.")]})
    horizon = timezone.localdate(now) + dt.timedelta(days=settings.CLINIC_BOOKING_HORIZON_DAYS)
    if local.date() > horizon:
        raise BeyondHorizon(
            _("Bookings open %(days)d days ahead, up to %(date)s.")
            % {"days": settings.CLINIC_BOOKING_HORIZON_DAYS, "date": horizon.isoformat()},
            details={"expected_time": [_("Choose a date up to %s.") % horizon.isoformat()]},
        )
    return RequestedSlot(expected_time, local.date(), half, starts_at, ends_at)


def _no_capacity(
    department: Department,
    slot: RequestedSlot,
    now: dt.datetime,
    *,
    window: ScheduleWindow | None = None,
) -> NoCapacity:
    details = {
        "department": department.pk,
        "date": slot.work_date.isoformat(),
        "time_slot": slot.time_slot,
        "alternatives": _alternatives(department, slot, now),
    }
    if window is None:
        message = _("%(department)s is fully booked on %(date)s %(slot)s.") % {
            "department": department.name,
            "date": slot.work_date.isoformat(),
            "slot": TimeSlot(slot.time_slot).label,
        }
    else:
        message = _("%(department)s is fully booked on %(date)s %(window)s.") % {
            "department": department.name,
            "date": slot.work_date.isoformat(),
            "window": window.label,
        }
        details["window"] = window.label
    return NoCapacity(message, details=details)


@dataclass(frozen=True)
class Booker:
    """Who a booking is for: a patient record, or (phone bookings) a caller's name, phone
    and ID number as given."""

    patient: Patient | None
    name: str
    phone: str
    id_card: str

    def live_booking_lookup(self) -> dict[str, object]:
        if self.patient is not None:
            return {"patient": self.patient}
        return {"patient__isnull": True, "phone": self.phone, "patient_name": self.name}


def own_booking_record(by: User, patient: Patient | None) -> Patient:
    """A patient books for their own record only; it is locked (Patient comes before
    Schedule in the lock order), which serialises this person's bookings."""
    own = lock_own_patient(by)
    if own is None or (patient is not None and patient.pk != own.pk):
        raise PermissionDenied()
    return own


def booker_for(*, patient: Patient | None, patient_name: str, phone: str, id_card: str) -> Booker:
    """The desk books for a patient record (locked) or for a caller on the phone."""
    if patient is not None:
        patient = lock_patient(patient.pk)
        return Booker(patient, patient.name, patient.phone, patient.id_card or "")
    caller = validated_patient(
        name=patient_name, phone=phone, id_card=id_card or None, id_type="", gender=""
    )
    return Booker(None, caller.name, caller.phone, caller.id_card or "")


def _place_to_take(
    schedules: list[Schedule],
    *,
    doctor: Employee | None,
    department: Department,
    slot: RequestedSlot,
    now: dt.datetime,
    for_patient: bool,
) -> tuple[Schedule, ScheduleWindow]:
    """The schedule and window a booking takes its place in: the window containing the
    expected time, of the chosen doctor's schedule, or else of the schedule whose window
    has the most places left (ties to the lowest id). NoSchedule when no schedule (of the
    doctor) runs then, NoCapacity (with the next free slots) when the window is full or kept
    for the desk. The schedules are locked by the caller: their windows' counters only
    change under those locks."""
    local = timezone.localtime(slot.expected_time).time()
    running = [s for s in schedules if s.start_time <= local < s.end_time]
    if doctor is not None:
        running = [s for s in running if s.doctor_id == doctor.pk]
    if not running:
        if doctor is not None:
            raise NoSchedule(
                _("%(doctor)s does not see patients then.") % {"doctor": doctor.name},
                details={"doctor_id": [doctor.emp_id]},
            )
        raise NoSchedule(details={"alternatives": _alternatives(department, slot, now)})
    by_schedule = {s.pk: s for s in running}
    windows = list(
        ScheduleWindow.objects.filter(
            schedule_id__in=by_schedule, start_time__lte=local, end_time__gt=local
        )
    )
    if not windows:  # the time falls in a schedule's midday break
        raise NoSchedule(details={"alternatives": _alternatives(department, slot, now)})
    open_windows = [w for w in windows if w.ends_at(slot.work_date) > now]
    if not open_windows:
        raise SlotEnded(details={"expected_time": [_("This window has already ended.")]})
    # Of the doctors' windows containing the time and still open, the one with most places
    # left, ties to the lowest schedule id.
    window = max(
        open_windows, key=lambda w: (window_places(w, for_patient=for_patient), -w.schedule_id)
    )
    if window_places(window, for_patient=for_patient) <= 0:
        raise _no_capacity(department, slot, now, window=window)
    return by_schedule[window.schedule_id], window


@atomic_with_retry
def book_appointment(
    *,
    by: User,
    department: Department,
    expected_time: dt.datetime,
    patient: Patient | None = None,
    patient_name: str = "",
    phone: str = "",
    id_card: str = "",
    doctor: Employee | None = None,
    now: dt.datetime | None = None,
) -> Appointment:
    """Hold one place for a person and return the pending appointment (with its department
    and its schedule's doctor and room loaded).

    A patient books for their own record; the desk books for a patient record or, on the
    phone, by name and phone alone. Without a chosen doctor, the schedule with the most
    places left wins (ties to the lowest id). Lock order: Patient, the department's
    Schedules for the slot by id, then the Appointment insert.
    """
    now = now or timezone.now()
    if by.role == Role.PATIENT:
        own = own_booking_record(by, patient)
        ensure_may_book_online(own, now)
    else:
        ensure_role(by, *DESK_ROLES)
    if not department.is_active:
        raise NoSchedule(details={"department": [_("This department is not taking bookings.")]})
    slot = requested_slot(expected_time, now=now)
    if by.role == Role.PATIENT:
        booker = Booker(own, own.name, own.phone, own.id_card or "")
    else:
        booker = booker_for(
            patient=patient, patient_name=patient_name, phone=phone, id_card=id_card
        )

    # Lock order: the department's schedules for the slot by id, then (reserve_place) the
    # chosen window's row.
    schedules = lock_slot_schedules(
        department=department, work_date=slot.work_date, half_day_slot=slot.time_slot
    )
    if not schedules:
        raise NoSchedule(details={"alternatives": _alternatives(department, slot, now)})
    if _holds_live_booking(department=department, slot=slot, **booker.live_booking_lookup()):
        raise DuplicateBooking()
    if _holds_offer(department=department, slot=slot, **booker.live_booking_lookup()):
        raise DuplicateBooking(
            _(
                "A place is already held for this person in this half-day (a waitlist offer): "
                "take it on My appointments, or decline it first."
            )
        )
    chosen, window = _place_to_take(
        schedules,
        doctor=doctor,
        department=department,
        slot=slot,
        now=now,
        for_patient=by.role == Role.PATIENT,
    )
    chosen.reserve_place(window)

    appointment = Appointment.objects.create(
        patient_name=booker.name,
        phone=booker.phone,
        id_card=booker.id_card,
        department=department,
        schedule=chosen,
        window=window,
        expected_time=slot.expected_time,
        patient=booker.patient,
        created_by=by,
    )
    record_event(
        actor=by,
        action="appointment.booked",
        obj=appointment,
        patient=booker.patient,
        new={
            "status": appointment.status,
            "schedule": chosen.pk,
            "window": window.label,
            "expected_time": appointment.expected_time.isoformat(),
        },
    )
    # Booked for tomorrow after the reminder hour: reminded at once (a same-day one is not).
    remind_if_late_booking(appointment, now=now)
    return appointment


def _alternatives(department: Department, slot: RequestedSlot, now: dt.datetime) -> list[dict]:
    return [
        alternative.as_dict()
        for alternative in next_available_slots(
            department=department, after=(slot.work_date, slot.time_slot), now=now
        )
    ]
