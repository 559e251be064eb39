"""Reading visits, scoped to who asks."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from clinic.models import Department, Patient, Role, User
from clinic.privacy import mask_name
from scheduling.models import Schedule
from visits.models import (
    UNFINISHED_STATUSES,
    PatientAllergy,
    Visit,
    VisitStatus,
    schedule_call_order,
)
from visits.records import SEEN_STATUSES, readable_visits, visits_of_doctor
from visits.waits import WaitEstimate, expected_waits


def visits_of_patient_account(user: User) -> QuerySet[Visit]:
    """A patient's own visits, newest first, with everything the list shows (one query)."""
    return (
        Visit.objects.filter(patient__user=user)
        .select_related(
            "department", "schedule__doctor", "schedule__room", "window", "bill", "medical_record"
        )
        .order_by("-visit_date", "-check_in_time")
    )


# --- The doctor's workbench -------------------------------------------------------------------

_QUEUE_STATUSES = (VisitStatus.WAITING, *SEEN_STATUSES)


@dataclass
class ScheduleQueue:
    """One of the doctor's schedules today with its visits, split by where they stand (each
    list in queue order)."""

    schedule: Schedule
    waiting: list[Visit] = field(default_factory=list)
    in_consultation: list[Visit] = field(default_factory=list)
    awaiting_payment: list[Visit] = field(default_factory=list)
    left: list[Visit] = field(default_factory=list)


@dataclass
class DoctorDay:
    """The doctor's schedules of a day in call order, and every visit on them in queue order
    (Visit.objects.in_queue_order(), the order call_next() follows)."""

    day: dt.date
    schedules: list[ScheduleQueue]
    visits: list[Visit] = field(default_factory=list)

    @property
    def in_consultation(self) -> list[Visit]:
        return [visit for visit in self.visits if visit.status == VisitStatus.IN_CONSULTATION]

    @property
    def waiting(self) -> list[Visit]:
        return [visit for visit in self.visits if visit.status == VisitStatus.WAITING]

    @property
    def next_up(self) -> Visit | None:
        """The patient call_next() would call now."""
        return next(iter(self.waiting), None)

    @property
    def waiting_count(self) -> int:
        return len(self.waiting)


def doctor_day(user: User, *, day: dt.date) -> DoctorDay:
    """The doctor's schedules of `day` in call order, each with its visits in queue order.

    Three queries whatever the number of patients: the schedules, then their visits with the
    patient, then the patients' active allergies.
    """
    if user.role != Role.DOCTOR or user.employee_id is None:
        return DoctorDay(day=day, schedules=[])
    schedules = (
        Schedule.objects.filter(doctor_id=user.employee_id, work_date=day)
        .select_related("department", "room")
        .order_by(*schedule_call_order())
    )
    queues = {schedule.pk: ScheduleQueue(schedule=schedule) for schedule in schedules}
    if not queues:
        return DoctorDay(day=day, schedules=[])
    visits = list(
        Visit.objects.filter(schedule__in=list(queues), status__in=_QUEUE_STATUSES)
        .select_related("patient")
        # The allergy badge of each card: one more query, whatever the number of patients.
        .prefetch_related(
            Prefetch(
                "patient__allergies",
                queryset=PatientAllergy.objects.active().order_by("recorded_at", "id"),
                to_attr="active_allergies",
            )
        )
        .in_queue_order()
    )
    for visit in visits:
        getattr(queues[visit.schedule_id], visit.status).append(visit)
    return DoctorDay(day=day, schedules=list(queues.values()), visits=visits)


def get_visit_for_doctor(user: User, pk: int) -> Visit:
    """A visit on the doctor's own schedule that they are seeing or have seen (their
    consultation page); otherwise 404, so that nobody else's patients can even be shown to
    exist. Its record, if any, is readable by the rule of visits.records."""
    visits = visits_of_doctor(user).filter(status__in=SEEN_STATUSES)
    try:
        return visits.select_related(
            "patient",
            "department",
            "schedule__room",
            "schedule__doctor",
            "medical_record__diagnosis_code",
        ).get(pk=pk)
    except Visit.DoesNotExist:
        raise Http404 from None


def patient_history_for_doctor(
    user: User, patient: Patient, *, exclude: Visit | None = None
) -> QuerySet[Visit]:
    """The patient's seen visits at this clinic (with any doctor), newest first, as far as
    the record rule lets the doctor read them: all when the doctor is seeing or has seen
    that patient, none otherwise. One query."""
    visits = (
        readable_visits(user)
        .filter(patient=patient, status__in=SEEN_STATUSES)
        .select_related("department", "schedule__doctor", "medical_record")
        .order_by("-visit_date", "-check_in_time", "-pk")
    )
    if exclude is not None:
        visits = visits.exclude(pk=exclude.pk)
    return visits


# --- The waiting-room display -----------------------------------------------------------------


@dataclass(frozen=True)
class BoardEntry:
    """What the waiting room may see of a visit: its number and a masked name."""

    queue_number: int
    masked_name: str


@dataclass
class RoomBoard:
    room_number: str
    doctor_name: str
    doctor_title: str
    now_seeing: list[BoardEntry] = field(default_factory=list)
    next_up: list[BoardEntry] = field(default_factory=list)
    waiting_count: int = 0
    # When the first number waiting may expect to be called (visits.waits), or None.
    next_wait: WaitEstimate | None = None


def waiting_room_board(
    *, department: Department, now: dt.datetime, next_count: int = 5
) -> list[RoomBoard]:
    """Per room of the department today: the numbers in consultation and the next few waiting.
    Rooms in call order (schedule_call_order()), numbers in queue order
    (Visit.objects.in_queue_order()): the order in which the doctors will call them.

    A schedule shows while its check-in window is open or while it still has patients in the
    waiting room or in consultation. Only queue numbers and masked names leave this function:
    the patient's name is the one personal field read, and it is masked here. Two queries,
    and at most three more for the expected waits of the rooms' first waiting numbers.
    """
    schedules = list(
        Schedule.objects.filter(department=department, work_date=timezone.localdate(now))
        .select_related("room", "doctor")
        .order_by(*schedule_call_order())
    )
    # In queue order: those in consultation by when they were called, then the waiting
    # room in the order the doctors will call them.
    visits = (
        Visit.objects.filter(
            schedule__in=[schedule.pk for schedule in schedules],
            status__in=(VisitStatus.WAITING, VisitStatus.IN_CONSULTATION),
        )
        .in_queue_order()
        .values_list("schedule_id", "status", "queue_number", "patient__name", "pk")
    )
    by_schedule: dict[int, list[tuple]] = {}
    for row in visits:
        by_schedule.setdefault(row[0], []).append(row)
    # The first number waiting in each room: the one whose expected wait the room shows.
    firsts: dict[int, int] = {}
    for schedule_id, status, _number, _name, pk in visits:
        if status == VisitStatus.WAITING:
            firsts.setdefault(schedule_id, pk)
    waits = expected_waits(firsts.values(), now=now) if firsts else {}
    boards = []
    for schedule in schedules:
        rows = by_schedule.get(schedule.pk, [])
        opens_at, closes_at = schedule.check_in_window()
        if not rows and not opens_at <= now < closes_at:
            continue
        seeing = [row for row in rows if row[1] == VisitStatus.IN_CONSULTATION]
        waiting = [row for row in rows if row[1] == VisitStatus.WAITING]
        boards.append(
            RoomBoard(
                room_number=schedule.room.room_number,
                doctor_name=schedule.doctor.name,
                doctor_title=schedule.doctor.display_title,
                now_seeing=[BoardEntry(row[2], mask_name(row[3])) for row in seeing],
                next_up=[BoardEntry(row[2], mask_name(row[3])) for row in waiting[:next_count]],
                waiting_count=len(waiting),
                next_wait=waits.get(firsts.get(schedule.pk)),
            )
        )
    return boards


# --- The walk-in's guard against registering someone twice -----------------------------------


def unfinished_visits_by_patient(patient_ids: list[int]) -> dict[int, list[Visit]]:
    """The visits of these patients that are not over, by patient (one query): today's in
    the queue or with the doctor, and any still to be paid, whatever its day (an unpaid
    bill). What the walk-in form shows instead of registering the person again."""
    if not patient_ids:
        return {}
    visits = (
        Visit.objects.filter(patient_id__in=patient_ids)
        .filter(
            Q(visit_date=timezone.localdate(), status__in=UNFINISHED_STATUSES)
            | Q(status=VisitStatus.AWAITING_PAYMENT)
        )
        .select_related("department")
        .order_by("visit_date", "check_in_time", "id")
    )
    found: dict[int, list[Visit]] = {}
    for visit in visits:
        found.setdefault(visit.patient_id, []).append(visit)
    return found
