"""Arrivals: checking in a booked patient and registering a walk-in, each as one transaction."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import Appointment, AppointmentStatus
from clinic.audit import record_event
from clinic.db import atomic_with_retry
from clinic.models import Department, Employee, IdType, Patient, User
from clinic.roles import DESK_ROLES, ensure_role
from clinic.services import match_or_create_patient
from clinic.validators import normalize_phone, normalize_resident_id
from scheduling.exceptions import NoCapacity, NoSchedule, OutsideClinicHours
from scheduling.models import HALF_DAY_SLOTS, Schedule, slot_bounds
from scheduling.selectors import next_available_slots
from scheduling.services import lock_slot_schedules, pick_schedule
from visits.exceptions import CheckInClosed, VerificationFailed
from visits.models import Visit


def check_in_window(schedule: Schedule) -> tuple[dt.datetime, dt.datetime]:
    """From the configured time before the schedule starts until it ends, on its day."""
    starts_at, ends_at = slot_bounds(schedule.work_date, schedule.time_slot)
    return starts_at - dt.timedelta(minutes=settings.CLINIC_CHECK_IN_EARLY_MINUTES), ends_at


def _create_visit(
    *, schedule: Schedule, patient: Patient, appointment: Appointment | None, now: dt.datetime
) -> Visit:
    """Insert the visit with the schedule's next queue number (schedule row already locked)."""
    return Visit.objects.create(
        appointment=appointment,
        patient=patient,
        department_id=schedule.department_id,
        schedule=schedule,
        queue_number=Visit.next_queue_number(schedule),
        visit_date=schedule.work_date,
        check_in_time=now,
    )


@atomic_with_retry
def check_in(
    *,
    appointment: Appointment,
    phone: str,
    id_card: str = "",
    by: User,
    now: dt.datetime | None = None,
) -> Visit:
    """The booked patient has arrived: verify them, and turn the booking into a waiting visit.

    The phone typed at the desk must match the booking, and so must the ID number when the
    booking has one. The place the booking held now belongs to the visit.
    """
    ensure_role(by, *DESK_ROLES)
    now = now or timezone.now()
    # Lock order: Appointment, Patient, Schedule, then the Visit insert.
    appointment._lock()
    appointment._check_move(AppointmentStatus.COMPLETED)
    schedule = appointment.schedule
    opens_at, closes_at = check_in_window(schedule)
    if not opens_at <= now < closes_at:
        raise CheckInClosed(
            details={"opens_at": opens_at.isoformat(), "closes_at": closes_at.isoformat()}
        )
    errors = {}
    if normalize_phone(phone) != appointment.phone:
        errors["phone"] = [_("This phone number does not match the booking.")]
    given_id = normalize_resident_id(id_card)
    if appointment.id_card and given_id != appointment.id_card:
        errors["id_card"] = [_("This ID number does not match the booking.")]
    if errors:
        raise VerificationFailed(details=errors)

    if appointment.patient_id is not None:
        patient = Patient.objects.select_for_update().get(pk=appointment.patient_id)
    else:
        patient = match_or_create_patient(
            name=appointment.patient_name,
            phone=appointment.phone,
            id_card=appointment.id_card or given_id,
        )
        appointment.patient = patient
        appointment.save(update_fields=["patient"])
    schedule = Schedule.objects.select_for_update().get(pk=schedule.pk)
    visit = _create_visit(schedule=schedule, patient=patient, appointment=appointment, now=now)
    appointment.complete_by_check_in(by=by)
    record_event(
        actor=by,
        action="visit.checked_in",
        obj=visit,
        patient=patient,
        new={"status": visit.status, "queue_number": visit.queue_number, "schedule": schedule.pk},
    )
    return visit


def walk_in_slot(now: dt.datetime) -> str:
    """The half-day slot a walk-in arriving now joins (its check-in window contains now)."""
    early = dt.timedelta(minutes=settings.CLINIC_CHECK_IN_EARLY_MINUTES)
    today = timezone.localdate(now)
    for half in HALF_DAY_SLOTS:
        starts_at, ends_at = slot_bounds(today, half)
        if starts_at - early <= now < ends_at:
            return half
    raise OutsideClinicHours(_("The clinic is not seeing patients now."))


@atomic_with_retry
def register_walk_in(
    *,
    by: User,
    department: Department,
    patient: Patient | None = None,
    name: str = "",
    phone: str = "",
    id_card: str = "",
    id_type: str = IdType.RESIDENT_ID,
    gender: str = "",
    doctor: Employee | None = None,
    now: dt.datetime | None = None,
) -> Visit:
    """A patient without a booking: find or create their record, take a place on a schedule
    of the department running now (the chosen doctor's, or the one with most places left),
    and queue them."""
    ensure_role(by, *DESK_ROLES)
    now = now or timezone.now()
    half = walk_in_slot(now)
    # Lock order: Patient, then Schedules by ascending id, then the Visit insert.
    if patient is not None:
        patient = Patient.objects.select_for_update().get(pk=patient.pk)
    else:
        patient = match_or_create_patient(
            name=name, phone=phone, id_card=id_card or None, id_type=id_type, gender=gender
        )
    schedules = lock_slot_schedules(
        department=department, work_date=timezone.localdate(now), half_day_slot=half
    )
    chosen = pick_schedule(schedules, doctor=doctor)
    if chosen is None:
        raise NoSchedule()
    if chosen.remaining_places <= 0:
        raise NoCapacity(
            _("%(department)s has no place left now.") % {"department": department.name},
            details={
                "department": department.pk,
                "alternatives": [
                    slot.as_dict()
                    for slot in next_available_slots(
                        department=department, after=(timezone.localdate(now), half), now=now
                    )
                ],
            },
        )
    chosen.reserve_place()
    visit = _create_visit(schedule=chosen, patient=patient, appointment=None, now=now)
    record_event(
        actor=by,
        action="visit.walked_in",
        obj=visit,
        patient=patient,
        new={"status": visit.status, "queue_number": visit.queue_number, "schedule": chosen.pk},
    )
    return visit
