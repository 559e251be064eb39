"""Arrivals (check-in of a booked patient, walk-in registration) and the consultation (the
doctor calling the next patient, the medical record), each write one transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from appointments.models import Appointment, AppointmentStatus
from clinic.audit import audit_event, record_event, record_events
from clinic.db import atomic_with_retry
from clinic.exceptions import InvalidInput, PermissionDenied
from clinic.models import Department, Employee, IdType, InsurancePlan, Patient, Role, User
from clinic.roles import DESK_ROLES, ensure_role
from clinic.services import lock_patient, match_or_create_patient
from clinic.validators import normalize_phone, normalize_resident_id
from scheduling.exceptions import NoCapacity, NoSchedule, OutsideClinicHours
from scheduling.models import HALF_DAY_SLOTS, Schedule, ScheduleWindow, slot_bounds, slot_hours
from scheduling.selectors import next_available_slots
from scheduling.services import lock_schedule, lock_slot_schedules
from visits import arrival
from visits.charges import add_registration_charge
from visits.exceptions import (
    AlreadyInQueue,
    CheckInClosed,
    ConsultationInProgress,
    QueueEmpty,
    VerificationFailed,
)
from visits.models import (
    RECORD_PARTS,
    UNFINISHED_STATUSES,
    DiagnosisCatalogue,
    MedicalRecord,
    Visit,
    VisitStatus,
)
from visits.records import AUDIT_CORRECTED, ensure_can_write_record, is_correction


def _create_visit(
    *,
    schedule: Schedule,
    window: ScheduleWindow,
    patient: Patient,
    appointment: Appointment | None,
    now: dt.datetime,
    department: Department | None = None,
    queued_from: dt.time | None = None,
    arrived_late: bool = False,
) -> Visit:
    """Insert the visit with the schedule's next queue number (schedule row already locked),
    in its window's turn (or `queued_from`'s). `department`, the schedule's, when the caller
    has it: the answer shows its name."""
    return Visit.objects.create(
        appointment=appointment,
        patient=patient,
        **({"department": department} if department else {"department_id": schedule.department_id}),
        schedule=schedule,
        window=window,
        queued_from=queued_from or window.start_time,
        arrived_late=arrived_late,
        queue_number=Visit.next_queue_number(schedule),
        visit_date=schedule.work_date,
        check_in_time=now,
    )


def late_arrival_turn(schedule: Schedule, window: ScheduleWindow, now: dt.datetime) -> dt.time:
    """Where a patient late for their window queues (CLINIC_LATE_ARRIVALS): after the
    patients of the window running now (its end), or in their own window's turn."""
    if settings.CLINIC_LATE_ARRIVALS == "own_window":
        return window.start_time
    local = timezone.localtime(now).time()
    running = schedule.windows.filter(start_time__lte=local, end_time__gt=local).first()
    return running.end_time if running is not None else schedule.end_time


# The ID check at the desk asks for the last characters of the booking's ID number (the
# whole number, typed or scanned, is accepted too).
ID_TAIL_LENGTH = 4


def id_number_matches(given: str, booked: str) -> bool:
    """The ID number the patient gives is the booking's: the whole number, or its last
    ID_TAIL_LENGTH characters (any case: a resident ID's check character may be an X)."""
    given = normalize_resident_id(given) or ""
    booked = normalize_resident_id(booked) or ""
    if not given or not booked:
        return False
    return given == booked or (len(given) == ID_TAIL_LENGTH and booked.endswith(given))


@dataclass(frozen=True)
class ArrivalCheck:
    """How an arrival was verified: what the audit event keeps (never the values)."""

    id_card: str  # the whole ID number given ("" when none, or only its last characters)
    how: dict[str, str]


def _verify_arrival(
    appointment: Appointment, *, phone: str, id_card: str, proven: frozenset[str]
) -> ArrivalCheck:
    """The phone typed at the desk must match the booking, and so must the ID number (whole,
    or its last 4 characters) when the booking has one: VerificationFailed otherwise. A check
    in `proven` (the desk's search made it, visits.arrival) is not asked again."""
    errors, how = {}, {}
    if arrival.PHONE in proven:
        how["phone"] = "search"
    elif normalize_phone(phone) == appointment.phone:
        how["phone"] = "typed"
    else:
        errors["phone"] = [_("This phone number does not match the booking.")]
    given_id = normalize_resident_id(id_card) or ""
    if appointment.id_card:
        if arrival.ID_NUMBER in proven:
            how["id_card"] = "search"
        elif id_number_matches(given_id, appointment.id_card):
            how["id_card"] = "last_4" if len(given_id) == ID_TAIL_LENGTH else "whole"
        else:
            errors["id_card"] = [_("This ID number does not match the booking.")]
    if errors:
        raise VerificationFailed(details=errors)
    # The last characters check a number; they are no number to keep.
    return ArrivalCheck(id_card="" if len(given_id) == ID_TAIL_LENGTH else given_id, how=how)


def _patient_arriving(appointment: Appointment, *, id_card: str) -> Patient:
    """The booking's patient record, locked; a phone booking gets the caller's record
    (found or made by the matcher) attached."""
    if appointment.patient_id is not None:
        appointment.patient = lock_patient(appointment.patient_id)
    else:
        appointment.patient = match_or_create_patient(
            name=appointment.patient_name,
            phone=appointment.phone,
            id_card=appointment.id_card or id_card,
        )
        appointment.save(update_fields=["patient"])
    return appointment.patient


@atomic_with_retry
def check_in(
    *,
    appointment_id: int,
    phone: str = "",
    id_card: str = "",
    proof: str = "",
    by: User,
    now: dt.datetime | None = None,
) -> Visit:
    """The booked patient has arrived: verify them, and turn the booking into a waiting visit.

    Verification (the one rule for the desk's page and the API): the phone the booking was
    made with, and when the booking has an ID number, that number or its last 4 characters.
    `proof`, from the desk's search (visits.arrival), stands for the checks that search made,
    when it is genuine, recent and this desk user's.

    The booking is read here, under its lock (Appointment.DoesNotExist when there is none:
    the caller's 404). The place the booking held now belongs to the visit. Returned with
    its patient, department, doctor and room loaded.
    """
    ensure_role(by, *DESK_ROLES)
    now = now or timezone.now()
    # Lock order: Appointment, Patient, Schedule, then the Visit insert.
    appointment = Appointment.objects.select_for_update().get(pk=appointment_id)
    appointment.ensure_move_allowed(AppointmentStatus.COMPLETED)
    # The slot's times (and its department, doctor and room for the answer), read before the
    # schedule's turn in the lock order comes.
    slot = Schedule.objects.select_related("department", "doctor", "room").get(
        pk=appointment.schedule_id
    )
    appointment.schedule = slot
    opens_at, closes_at = appointment.check_in_window()
    if not opens_at <= now < closes_at:
        raise CheckInClosed(
            details={"opens_at": opens_at.isoformat(), "closes_at": closes_at.isoformat()}
        )
    proven = arrival.proven_checks(proof, appointment_id=appointment.pk, by=by)
    verified = _verify_arrival(appointment, phone=phone, id_card=id_card, proven=proven)
    patient = _patient_arriving(appointment, id_card=verified.id_card)
    # Walked in already (the booking forgotten): not queued twice in one department.
    _ensure_not_in_queue(patient, department=appointment.department, today=timezone.localdate(now))
    schedule = lock_schedule(appointment.schedule_id)
    if (schedule.doctor_id, schedule.room_id) == (slot.doctor_id, slot.room_id):
        schedule.doctor, schedule.room = slot.doctor, slot.room  # for the answer, no second read
    window = appointment.window
    late = appointment.is_late(now)
    visit = _create_visit(
        schedule=schedule,
        window=window,
        patient=patient,
        appointment=appointment,
        now=now,
        department=slot.department,
        queued_from=late_arrival_turn(schedule, window, now) if late else None,
        arrived_late=late,
    )
    completed = appointment.complete_by_check_in(by=by)
    # The registration fee of the doctor's rank, in this transaction (lock order: … Visit,
    # then its Charges); its audit event joins this one's INSERT.
    doctor = slot.doctor if schedule.doctor_id == slot.doctor_id else schedule.doctor
    registration = add_registration_charge(visit, doctor=doctor, by=by)
    checked_in = audit_event(
        actor=by,
        action="visit.checked_in",
        obj=visit,
        patient=patient,
        new={
            "status": visit.status,
            "queue_number": visit.queue_number,
            "schedule": schedule.pk,
            "window": window.label,
            "arrived_late": late,
            "verified": verified.how,
        },
    )
    record_events([completed, checked_in, *([registration] if registration else [])])
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


def walk_in_window(
    schedules: list[Schedule], now: dt.datetime, *, half_day_slot: str
) -> ScheduleWindow | None:
    """The window a walk-in takes: the window running now if it has room, else the next one
    with room that day. "Now" is the half-day's opening for a walk-in who came early for it.
    Each schedule (locked by the caller) offers its running window with room, else its next
    one; running windows come first, then the most places left (the least busy doctor),
    then the lowest schedule id — with one window per schedule, the schedule with most
    places left, as before windows. None when all are full."""
    local = max(timezone.localtime(now).time(), slot_hours(half_day_slot)[0])
    offered: dict[int, ScheduleWindow] = {}
    for window in ScheduleWindow.objects.filter(
        schedule__in=schedules, end_time__gt=local, used__lt=F("quota")
    ).order_by("start_time"):
        offered.setdefault(window.schedule_id, window)
    return min(
        offered.values(),
        key=lambda window: (window.start_time > local, -window.remaining, window.schedule_id),
        default=None,
    )


def _ensure_not_in_queue(patient: Patient, *, department: Department, today: dt.date) -> None:
    """AlreadyInQueue when the patient (row locked by the caller) already has a visit today in
    this department that is not over: registering them again would queue them twice."""
    open_visit = (
        Visit.objects.filter(
            patient=patient,
            department=department,
            visit_date=today,
            status__in=UNFINISHED_STATUSES,
        )
        .order_by("check_in_time", "id")
        .first()
    )
    if open_visit is None:
        return
    message = _(
        "%(name)s already has an open visit in %(department)s today (queue number %(number)d)."
    ) % {
        "name": patient.name,
        "department": department.display_name,
        "number": open_visit.queue_number,
    }
    raise AlreadyInQueue(
        message,
        details={
            "department": [message],
            "visit": open_visit.pk,
            "status": open_visit.status,
            "queue_number": open_visit.queue_number,
        },
    )


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
    insurance_plan: InsurancePlan | None = None,
) -> Visit:
    """A patient without a booking: find or create their record, take a place on a schedule
    of the department running now (the chosen doctor's, or the one with most places left),
    and queue them. Returned with its patient, department, doctor and room loaded.
    `insurance_plan` is a new record's plan (an existing record keeps its own)."""
    ensure_role(by, *DESK_ROLES)
    if not department.is_active:
        raise NoSchedule(details={"department": [_("This department is not seeing patients.")]})
    now = now or timezone.now()
    half = walk_in_slot(now)
    # Lock order: Patient, then Schedules by ascending id, then the Visit insert. The
    # patient's row lock also makes the duplicate check below safe: every path that queues a
    # patient (walk-in, check-in) locks their row first, so two desks registering the same
    # person take turns and the second reads the first one's visit.
    if patient is not None:
        patient = lock_patient(patient.pk)
    else:
        patient = match_or_create_patient(
            name=name,
            phone=phone,
            id_card=id_card or None,
            id_type=id_type,
            gender=gender,
            insurance_plan=insurance_plan,
        )
    _ensure_not_in_queue(patient, department=department, today=timezone.localdate(now))
    # Lock order: the department's schedules for the slot by id, then (reserve_place) the
    # chosen window's row.
    schedules = lock_slot_schedules(
        department=department, work_date=timezone.localdate(now), half_day_slot=half
    )
    if doctor is not None:
        schedules = [schedule for schedule in schedules if schedule.doctor_id == doctor.pk]
    if not schedules:
        raise NoSchedule()
    window = walk_in_window(schedules, now, half_day_slot=half)
    if window is None:
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
    chosen = next(schedule for schedule in schedules if schedule.pk == window.schedule_id)
    chosen.reserve_place(window)
    visit = _create_visit(
        schedule=chosen,
        window=window,
        patient=patient,
        appointment=None,
        now=now,
        department=department,
    )
    registration = add_registration_charge(visit, doctor=chosen.doctor, by=by)
    walked_in = audit_event(
        actor=by,
        action="visit.walked_in",
        obj=visit,
        patient=patient,
        new={
            "status": visit.status,
            "queue_number": visit.queue_number,
            "schedule": chosen.pk,
            "window": window.label,
        },
    )
    record_events([walked_in, *([registration] if registration else [])])
    return visit


@atomic_with_retry
def call_next(*, by: User, now: dt.datetime | None = None) -> Visit:
    """The doctor calls the first waiting patient of their schedules today, in queue order
    (Visit.objects.in_queue_order(): the order the doctor's page, the API and the
    waiting-room display show).

    The doctor's schedule rows are locked first, so two tabs calling at once take turns;
    the visit is then locked and re-read, so a patient the desk has just moved on is never
    called twice.
    """
    if by is None or by.role != Role.DOCTOR or not by.employee_id or not by.is_active:
        raise PermissionDenied()
    now = now or timezone.now()
    # Lock order: Schedules by ascending id, then the Visit. With the schedules locked no
    # visit joins their queues (check-in and walk-in lock the schedule to insert one), so
    # the waiting room only shrinks while this runs.
    schedules = list(
        Schedule.objects.select_for_update()
        .filter(doctor_id=by.employee_id, work_date=timezone.localdate(now))
        .order_by("id")
    )
    queue = Visit.objects.filter(schedule__in=schedules).in_queue_order()

    def ensure_consultation_room_free() -> None:
        in_consultation = queue.filter(status=VisitStatus.IN_CONSULTATION).first()
        if in_consultation is not None:
            raise ConsultationInProgress(
                details={"visit": in_consultation.pk, "queue_number": in_consultation.queue_number}
            )

    ensure_consultation_room_free()
    waiting = queue.filter(status=VisitStatus.WAITING).values_list("pk", flat=True)
    while (first_in_line := waiting.first()) is not None:
        # Only this one row is locked (sorting the whole waiting room under FOR UPDATE would
        # lock every row of it). The desk moves a visit on without the schedule lock: when
        # it has, between the read above and this lock, the row no longer matches and the
        # next one in line is read.
        visit = (
            Visit.objects.select_for_update()
            .filter(pk=first_in_line, status=VisitStatus.WAITING)
            .first()
        )
        if visit is not None:
            # The desk may just have moved the patient first in line into consultation
            # (the lock above waited for that move): look again now that this row is ours
            # (READ COMMITTED: this read sees the desk's commit), so that the doctor does not
            # end up with two patients in consultation.
            ensure_consultation_room_free()
            visit.start_consultation(by=by, now=now)
            return visit
    raise QueueEmpty()


# What a record write may carry: the text parts, and the diagnosis catalogue's code.
MEDICAL_RECORD_FIELDS = (*RECORD_PARTS, "diagnosis_code")


def _catalogue_entry(code: str, *, kept: DiagnosisCatalogue | None) -> DiagnosisCatalogue | None:
    """The active catalogue entry of `code` (any case); None for no code; InvalidInput, on
    the field, for a code the catalogue does not have. The record's own code (`kept`) stays
    whether or not it was retired since: retiring a code stops new uses, it does not make
    every record that has it unsavable."""
    code = (code or "").strip()
    if not code:
        return None
    if kept is not None and kept.code.upper() == code.upper():
        return kept
    entry = DiagnosisCatalogue.objects.filter(code__iexact=code, active=True).first()
    if entry is None:
        raise InvalidInput(
            details={
                "diagnosis_code": [
                    _("%(code)s is not a code of the diagnosis catalogue.") % {"code": code}
                ]
            }
        )
    return entry


def _record_values(record: MedicalRecord) -> dict[str, str]:
    """The record as the audit trail keeps it: each part, and the code (not its id)."""
    values = {name: getattr(record, name) for name in RECORD_PARTS}
    values["diagnosis_code"] = record.diagnosis_code.code if record.diagnosis_code else ""
    return values


@atomic_with_retry
def save_medical_record(
    *, visit: Visit, by: User, now: dt.datetime | None = None, **fields: str
) -> MedicalRecord:
    """Write the visit's medical record, as the rule of visits.records allows at `now`: its
    own doctor on the day of the visit, or an administrator correcting it (audited as
    `medical_record.corrected`). PermissionDenied, RecordClosed or RecordNotEditable
    otherwise, with nothing written. Fields left out keep their value; `diagnosis_code` is
    a code of the diagnosis catalogue ("" for none), and a code with no diagnosis text
    writes the catalogue's name as the diagnosis.

    Every change is an audit event with the old and new value of each changed field.
    """
    unknown = set(fields) - set(MEDICAL_RECORD_FIELDS)
    if unknown:
        raise TypeError(f"unknown medical record fields: {sorted(unknown)}")
    # Lock order: the Visit, then its record. The visit's lock serialises record writes, and
    # the rule is decided on the visit as it is now.
    visit.lock_for_update()
    ensure_can_write_record(by, visit, now=now or timezone.now())
    record = MedicalRecord.objects.select_related("diagnosis_code").filter(visit=visit).first()
    created = record is None
    if created:
        record = MedicalRecord(visit=visit)
    old = _record_values(record)
    if "diagnosis_code" in fields:
        record.diagnosis_code = _catalogue_entry(
            fields.pop("diagnosis_code"), kept=record.diagnosis_code
        )
    for name, value in fields.items():
        setattr(record, name, (value or "").strip())
    if record.diagnosis_code is not None and not record.diagnosis:
        record.diagnosis = record.diagnosis_code.name
    new = _record_values(record)
    changed = [name for name in MEDICAL_RECORD_FIELDS if old[name] != new[name]]
    if not created and not changed:
        return record
    record.updated_by = by
    record.save()
    if is_correction(by):
        action = AUDIT_CORRECTED
    else:
        action = "medical_record.created" if created else "medical_record.updated"
    record_event(
        actor=by,
        action=action,
        obj=record,
        patient=visit.patient,
        old={name: old[name] for name in changed} if not created else {},
        new={name: new[name] for name in changed},
    )
    return record


@atomic_with_retry
def finish_consultation_with_record(
    *, visit: Visit, by: User, now: dt.datetime | None = None, **fields: str
) -> MedicalRecord | None:
    """Save what the doctor wrote (if anything) and send the patient to payment, in one
    transaction: when the visit cannot go (no diagnosis, say), nothing is written either."""
    record = None
    if fields:
        record = save_medical_record(visit=visit, by=by, now=now, **fields)
    visit.finish_consultation(by=by, now=now)
    return record


def record_medical_record_view(*, record: MedicalRecord, by: User, request=None) -> None:
    """Reading a medical record is itself an audit event."""
    record_event(
        actor=by,
        action="medical_record.viewed",
        obj=record,
        patient=record.visit.patient,
        request=request,
    )
