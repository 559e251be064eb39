"""Visits (a patient's day at the clinic, from check-in to leaving) and their medical records."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, router, transaction
from django.db.models import (
    Count,
    Exists,
    F,
    Max,
    OrderBy,
    OuterRef,
    Q,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from appointments.models import Appointment
from appointments.waitlist import offer_freed_place
from clinic.audit import record_event
from clinic.db import atomic_with_retry, insert_or_add
from clinic.exceptions import PermissionDenied
from clinic.models import (
    MAX_QUANTITY,
    MONEY,
    QUANTITY,
    AllergyClass,
    Department,
    Employee,
    FeeCategory,
    FeeItem,
    InsuranceClass,
    Patient,
    Role,
    User,
)
from clinic.roles import DESK_ROLES, ensure_role
from clinic.state import StateMachineMixin
from clinic.summaries import DailySummary
from scheduling.models import Schedule, ScheduleWindow, window_at
from visits.exceptions import DiagnosisRequired, SettlementRequired


class VisitStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    IN_CONSULTATION = "in_consultation", _("In consultation")
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    LEFT = "left", pgettext_lazy("visit status", "Left")
    CANCELLED = "cancelled", _("Left unseen")


# A visit still going on: the patient is in the queue, with the doctor, or has yet to pay
# (every status a visit can still move on from). Left and left unseen are final.
UNFINISHED_STATUSES = (
    VisitStatus.WAITING,
    VisitStatus.IN_CONSULTATION,
    VisitStatus.AWAITING_PAYMENT,
)


# --- The queue order ---------------------------------------------------------------------------
# One definition for everything that lists or calls a doctor's patients: call_next(), the
# doctor's page, the API's doctor queue and the waiting-room display.


def schedule_call_order(path: str = "") -> tuple[OrderBy, ...]:
    """`order_by()` arguments putting schedules in call order: start time, end time, then id
    (a morning before the full day that starts with it; two alike: the older first). `path`
    leads from the listed model to the schedule ("" on Schedule itself, "schedule__" from a
    Visit)."""
    return (F(f"{path}start_time").asc(), F(f"{path}end_time").asc(), F(f"{path}id").asc())


class VisitQuerySet(models.QuerySet):
    def in_queue_order(self) -> VisitQuerySet:
        """The queue as the doctor works through it. Patients already called come first, in
        the order they were called (the one in consultation longest heads the list); then
        those waiting (never called) in call order: the day's schedules in
        schedule_call_order(), then by window (`queued_from`: a late arrival's is the window
        after the one running when they came), then by arrival (queue number). The first
        waiting visit in this order is the one call_next() calls."""
        return self.order_by(
            F("called_at").asc(nulls_last=True),
            *schedule_call_order("schedule__"),
            F("queued_from").asc(),
            F("queue_number").asc(),
        )


class Visit(StateMachineMixin, models.Model):
    """A patient's day at the clinic. Forward only, one step at a time; `left` only by
    settlement (billing.services.settle_visit). Only the methods below change `status`."""

    Status = VisitStatus
    ALLOWED = {
        VisitStatus.WAITING: frozenset({VisitStatus.IN_CONSULTATION, VisitStatus.CANCELLED}),
        VisitStatus.IN_CONSULTATION: frozenset({VisitStatus.AWAITING_PAYMENT}),
        VisitStatus.AWAITING_PAYMENT: frozenset({VisitStatus.LEFT}),
        VisitStatus.LEFT: frozenset(),
        VisitStatus.CANCELLED: frozenset(),
    }
    # What "advance" means at each step (the desk's and the doctor's "next" button).
    NEXT_STEP = {
        VisitStatus.WAITING: VisitStatus.IN_CONSULTATION,
        VisitStatus.IN_CONSULTATION: VisitStatus.AWAITING_PAYMENT,
    }
    # What the desk does next for a visit, by its status: the slip while the patient waits
    # or is seen, payment once the doctor is done, the receipt once paid. A visit left
    # unseen has nothing left to do. The desk's search and the walk-in form both ask.
    DESK_NEXT_ACTION = {
        VisitStatus.WAITING: "slip",
        VisitStatus.IN_CONSULTATION: "slip",
        VisitStatus.AWAITING_PAYMENT: "pay",
        VisitStatus.LEFT: "receipt",
    }

    # One visit per appointment: a nullable one-to-one is a unique index that walk-ins (NULL)
    # never collide on.
    appointment = models.OneToOneField(
        Appointment,
        verbose_name=_("appointment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="visit",
    )
    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.PROTECT, related_name="visits"
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="visits"
    )
    schedule = models.ForeignKey(
        Schedule, verbose_name=_("schedule"), on_delete=models.PROTECT, related_name="visits"
    )
    # The window its place is held in (the booking's, or the walk-in's), and the start of the
    # window whose patients it queues with: its own, or for a patient late for theirs the end
    # of the window running when they arrived (CLINIC_LATE_ARRIVALS).
    window = models.ForeignKey(
        ScheduleWindow, verbose_name=_("window"), on_delete=models.PROTECT, related_name="visits"
    )
    queued_from = models.TimeField(_("queues from"))
    arrived_late = models.BooleanField(_("arrived after their window"), default=False)
    queue_number = models.IntegerField(_("queue number"))
    status = models.CharField(
        _("status"), max_length=20, choices=VisitStatus.choices, default=VisitStatus.WAITING
    )
    visit_date = models.DateField(_("visit date"))
    check_in_time = models.DateTimeField(_("check-in time"), db_index=True)
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    objects = VisitQuerySet.as_manager()

    class Meta:
        ordering = ["visit_date", "schedule_id", "queue_number"]
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        indexes = [
            models.Index(fields=["visit_date", "status"], name="visit_date_status_idx"),
            # Which visit is a patient's first of the day (VisitDailySummary counts each
            # patient once a day); on MariaDB also the patient foreign key's index.
            models.Index(fields=["patient", "visit_date"], name="visit_patient_day_idx"),
            # Distinct patients per department or doctor over a date range cannot come
            # from a daily summary (they do not add up across days): the statistics count
            # them here, one range of an index per group, never the table's rows
            # (bench/statistics.py: EXPLAIN says "Using index"). On MariaDB the department
            # one also serves as its foreign key's index; the doctor is the schedule's.
            models.Index(
                fields=["department", "visit_date", "patient"],
                name="visit_department_patients_idx",
            ),
            models.Index(
                fields=["schedule", "visit_date", "patient"], name="visit_schedule_patients_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["schedule", "queue_number"], name="visit_unique_queue_number_per_schedule"
            ),
            models.CheckConstraint(
                condition=Q(queue_number__gte=1), name="visit_queue_number_positive"
            ),
            models.CheckConstraint(
                condition=Q(status__in=VisitStatus.values), name="visit_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.queue_number} {self.patient} ({self.visit_date})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A new visit is counted in its day's summary row in the same transaction (the
        check-in's or the walk-in's, or its own when created elsewhere)."""
        if not self._state.adding:
            super().save(*args, **kwargs)
            return
        if self.window_id is None:
            self.window = (
                self.appointment.window
                if self.appointment_id
                else window_at(self.schedule_id, self.check_in_time)
            )
        if self.queued_from is None:
            self.queued_from = self.window.start_time
        # No savepoint: inside the caller's transaction this only joins it (a failure rolls
        # the whole transaction back); on its own it is the visit's own transaction.
        with transaction.atomic(
            using=kwargs.get("using") or router.db_for_write(Visit), savepoint=False
        ):
            super().save(*args, **kwargs)
            VisitDailySummary.count_new_visit(self)

    save.alters_data = True

    @property
    def desk_next_action(self) -> str:
        """The desk's next action for this visit (DESK_NEXT_ACTION), "" for none."""
        return self.DESK_NEXT_ACTION.get(self.status, "")

    def _count_move(self, from_status: str) -> None:
        """Move this visit between status counters of its summary row: the transition's
        last write (lock order: ... Visit, Schedule, Bill, summary rows)."""
        VisitDailySummary.count_move(self, from_status=from_status, to_status=self.status)

    @staticmethod
    def next_queue_number(schedule: Schedule) -> int:
        """The next number on a schedule. The caller holds the schedule's row lock, which
        serialises every visit created on it."""
        top = schedule.visits.aggregate(top=Max("queue_number"))["top"]
        return (top or 0) + 1

    def _ensure_may_move(self, by: User) -> None:
        """The desk, or the doctor this visit is scheduled with."""
        if by is not None and by.is_authenticated and by.role == Role.DOCTOR:
            doctor_id = Schedule.objects.filter(pk=self.schedule_id).values_list(
                "doctor_id", flat=True
            )
            if not by.is_active or by.employee_id is None or doctor_id.first() != by.employee_id:
                raise PermissionDenied()
            return
        ensure_role(by, *DESK_ROLES)

    def _audit(self, by: User | None, action: str, old: dict, new: dict) -> None:
        record_event(
            actor=by, action=f"visit.{action}", obj=self, patient=self.patient, old=old, new=new
        )

    @atomic_with_retry
    def start_consultation(self, *, by: User, now: dt.datetime | None = None) -> None:
        self._ensure_may_move(by)
        self.lock_for_update()
        self.ensure_move_allowed(VisitStatus.IN_CONSULTATION)
        changes = self._status_change(VisitStatus.IN_CONSULTATION, called_at=now or timezone.now())
        self._audit(by, "consultation_started", *changes)
        self._count_move(changes[0]["status"])

    start_consultation.alters_data = True

    @atomic_with_retry
    def finish_consultation(self, *, by: User, now: dt.datetime | None = None) -> None:
        """Send the patient to pay: only with a diagnosis in the visit's record
        (DiagnosisRequired otherwise, nothing changed)."""
        self._ensure_may_move(by)
        self.lock_for_update()
        self.ensure_move_allowed(VisitStatus.AWAITING_PAYMENT)
        # Under the visit's lock, which every record write takes first (save_medical_record).
        if not MedicalRecord.objects.filter(visit=self).exclude(diagnosis="").exists():
            raise DiagnosisRequired()
        changes = self._status_change(
            VisitStatus.AWAITING_PAYMENT, finished_at=now or timezone.now()
        )
        self._audit(by, "consultation_finished", *changes)
        self._count_move(changes[0]["status"])

    finish_consultation.alters_data = True

    @atomic_with_retry
    def advance(self, *, by: User, now: dt.datetime | None = None) -> None:
        """The next forward step; from awaiting payment only settlement goes on."""
        self._ensure_may_move(by)
        self.lock_for_update()
        if self.status == VisitStatus.AWAITING_PAYMENT:
            raise SettlementRequired(details={"from": self.status, "to": VisitStatus.LEFT})
        step = self.NEXT_STEP.get(self.status)
        if step == VisitStatus.IN_CONSULTATION:
            self.start_consultation(by=by, now=now)
        elif step == VisitStatus.AWAITING_PAYMENT:
            self.finish_consultation(by=by, now=now)
        else:
            self._ensure_may_move(by)
            self.ensure_move_allowed(VisitStatus.LEFT)

    advance.alters_data = True

    @atomic_with_retry
    def leave_unseen(self, *, by: User) -> None:
        """The patient left before being seen: the place goes back to the schedule."""
        self._ensure_may_move(by)
        # Lock order: Visit, then its Schedule.
        self.lock_for_update()
        self.ensure_move_allowed(VisitStatus.CANCELLED)
        changes = self._status_change(VisitStatus.CANCELLED, finished_at=timezone.now())
        self.schedule.release_place(self.window_id)
        self._audit(by, "left_unseen", *changes)
        self._count_move(changes[0]["status"])
        # The freed place goes to the waitlist (appointments sit below visits).
        offer_freed_place(schedule=self.schedule, window_id=self.window_id)

    leave_unseen.alters_data = True

    def leave_after_settlement(self, *, by: User) -> None:
        """Part of settlement (billing.services.settle_visit), inside its transaction, with
        this row already locked and the move already checked."""
        self.ensure_move_allowed(VisitStatus.LEFT)
        changes = self._status_change(VisitStatus.LEFT)
        self._audit(by, "left", *changes)
        self._count_move(changes[0]["status"])

    leave_after_settlement.alters_data = True


class SummaryOutOfStep(RuntimeError):
    """A visit moved, but its summary row does not count it (rows loaded without a rebuild):
    `manage.py rebuild_visit_summary` repairs the summary."""


# The summary's counter per visit status.
STATUS_COUNTERS = {status: f"{status}_visits" for status in VisitStatus.values}


class VisitDailySummary(DailySummary):
    """Visits per clinic-local day, department and doctor (the schedule's): what the
    statistics read.

    One row per (visit_date, department, doctor), kept in step with the visits inside the
    transactions that write them: `Visit.save()` counts a new visit (check-in, walk-in)
    and every status transition moves it between counters; `rebuild()`
    (`manage.py rebuild_visit_summary`) recomputes rows from the visits. A year of
    statistics then reads a few thousand rows instead of every visit.

    `day_patients` counts each patient once a day, in the row of their first visit that
    day (the lowest id): the sum of a day's rows is that day's distinct patients. Distinct
    patients of a department or doctor over several days do not add up from here.
    """

    visit_date = models.DateField(_("visit date"))
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+"
    )
    doctor = models.ForeignKey(
        Employee, verbose_name=_("doctor"), on_delete=models.PROTECT, related_name="+"
    )
    visits = models.IntegerField(_("visits"), default=0)
    day_patients = models.IntegerField(
        _("patients first seen that day"),
        default=0,
        help_text=_("Patients whose first visit of the day is counted in this row."),
    )
    waiting_visits = models.IntegerField(_("waiting"), default=0)
    in_consultation_visits = models.IntegerField(_("in consultation"), default=0)
    awaiting_payment_visits = models.IntegerField(_("awaiting payment"), default=0)
    left_visits = models.IntegerField(pgettext_lazy("visit status", "left"), default=0)
    cancelled_visits = models.IntegerField(_("left unseen"), default=0)

    class Meta:
        ordering = ["visit_date", "department_id", "doctor_id"]
        verbose_name = _("daily visit summary")
        verbose_name_plural = _("daily visit summaries")
        # Covering: a range of days, by day, department or doctor, is one range of this
        # index, never the table's rows (bench/statistics.py: "Using index").
        indexes = [
            models.Index(
                fields=[
                    "visit_date",
                    "department",
                    "doctor",
                    "visits",
                    "day_patients",
                    *STATUS_COUNTERS.values(),
                ],
                name="visit_summary_by_date_idx",
            ),
        ]
        constraints = [
            # One row per day, department and doctor: what the upsert relies on.
            models.UniqueConstraint(
                fields=["visit_date", "department", "doctor"],
                name="visit_summary_unique_day_department_doctor",
            ),
            models.CheckConstraint(
                condition=Q(visits__gte=0)
                & Q(day_patients__gte=0)
                & Q(**{f"{column}__gte": 0 for column in STATUS_COUNTERS.values()}),
                name="visit_summary_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(
                    visits=sum(
                        (F(column) for column in list(STATUS_COUNTERS.values())[1:]),
                        F(STATUS_COUNTERS[VisitStatus.WAITING]),
                    )
                ),
                name="visit_summary_statuses_add_up",
            ),
            models.CheckConstraint(
                condition=Q(day_patients__lte=F("visits")),
                name="visit_summary_patients_within_visits",
            ),
        ]

    KEY = ("visit_date", "department_id", "doctor_id")
    # The counters, in the order `differences()` reports them.
    FIGURES = ("visits", "day_patients", *STATUS_COUNTERS.values())

    def __str__(self) -> str:
        return f"{self.visit_date} {self.department_id}/{self.doctor_id} {self.visits}"

    @staticmethod
    def _doctor_of(visit: Visit) -> int:
        if Visit.schedule.is_cached(visit):
            return visit.schedule.doctor_id
        return Schedule.objects.values_list("doctor_id", flat=True).get(pk=visit.schedule_id)

    @classmethod
    def add(cls, *, visit_date: dt.date, department_id: int, doctor_id: int, **deltas: int) -> None:
        """Add `deltas` ({column: change}) to a row, creating it on its first visit.

        One atomic upsert (clinic.db.insert_or_add); concurrent writers of a row queue on its
        exclusive lock and then add to it, never losing a count. For additions only: both
        databases check the row to insert before they find the existing one.
        """
        unknown = set(deltas) - set(cls.FIGURES)
        if unknown:
            raise TypeError(f"unknown summary columns: {sorted(unknown)}")
        insert_or_add(
            cls,
            key={"visit_date": visit_date, "department_id": department_id, "doctor_id": doctor_id},
            # Every counter in the insert: the columns have no database default.
            values={figure: deltas.get(figure, 0) for figure in cls.FIGURES},
            add=list(deltas),
        )

    add.alters_data = True

    @classmethod
    def count_new_visit(cls, visit: Visit) -> None:
        """Count a visit just inserted, in its transaction.

        It is the patient's first of the day when no visit of theirs that day has a lower
        id. Check-in and walk-in hold the patient's row lock, so visits of one patient are
        created one after the other and the earlier one is committed (and seen) here.
        """
        first_of_day = not Visit.objects.filter(
            patient_id=visit.patient_id, visit_date=visit.visit_date, pk__lt=visit.pk
        ).exists()
        cls.add(
            visit_date=visit.visit_date,
            department_id=visit.department_id,
            doctor_id=cls._doctor_of(visit),
            visits=1,
            day_patients=int(first_of_day),
            **{STATUS_COUNTERS[visit.status]: 1},
        )

    count_new_visit.alters_data = True

    @classmethod
    def count_move(cls, visit: Visit, *, from_status: str, to_status: str) -> None:
        """Move a visit from one status counter to another, in the transition's
        transaction. Raises SummaryOutOfStep (and so undoes the transition) when the row
        does not count the visit in `from_status`."""
        # A plain UPDATE: the row exists since the visit's creation, and an upsert would
        # be refused anyway (SQLite and MariaDB check the row to insert, -1, first).
        source, target = STATUS_COUNTERS[from_status], STATUS_COUNTERS[to_status]
        row = cls.objects.filter(
            visit_date=visit.visit_date,
            department_id=visit.department_id,
            doctor_id=cls._doctor_of(visit),
        )
        try:
            moved = row.update(**{source: F(source) - 1, target: F(target) + 1})
        except IntegrityError as error:  # the counter is already 0
            moved = 0
            cause: Exception | None = error
        else:
            cause = None
        if moved != 1:
            raise SummaryOutOfStep(
                f"The visit summary of {visit.visit_date}, department {visit.department_id}, "
                f"does not count visit {visit.pk} as {from_status}; rebuild it "
                "(manage.py rebuild_visit_summary)."
            ) from cause

    count_move.alters_data = True

    @classmethod
    def detail_totals(
        cls, *, start_date: dt.date | None = None, end_date: dt.date | None = None
    ) -> models.QuerySet:
        """The summary's rows as computed from the visits, grouped in SQL by day,
        department and doctor."""
        visits = cls._in_range(Visit.objects.all(), start_date, end_date)
        earlier_that_day = Visit.objects.filter(
            patient_id=OuterRef("patient_id"),
            visit_date=OuterRef("visit_date"),
            pk__lt=OuterRef("pk"),
        )
        return (
            visits.values("visit_date", "department_id", doctor_id=F("schedule__doctor_id"))
            .annotate(
                visits=Count("pk"),
                day_patients=Count("pk", filter=~Exists(earlier_that_day)),
                **{
                    column: Count("pk", filter=Q(status=status))
                    for status, column in STATUS_COUNTERS.items()
                },
            )
            .order_by()
        )


class DiagnosisCatalogue(models.Model):
    """The clinic's list of diagnoses (a code and its name), imported by an administrator
    from CSV (Django Admin). A record's diagnosis is free text that may name one entry; an
    entry is retired (inactive), never deleted, once records point to it."""

    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=200)
    name_en = models.CharField(_("English name"), max_length=200, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("diagnosis catalogue entry")
        verbose_name_plural = _("diagnosis catalogue")
        # The consultation's suggestions are a prefix of the code (its unique index) or of
        # the name (this one): clinic.search.prefix_lookup.
        indexes = [models.Index(fields=["name"], name="diagnosis_name_idx")]
        constraints = [
            models.CheckConstraint(condition=~Q(code=""), name="diagnosis_code_not_blank"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def clean(self) -> None:
        """Codes are kept in capitals, one entry per code whatever its case."""
        self.code = (self.code or "").strip().upper()
        others = DiagnosisCatalogue.objects.filter(code__iexact=self.code).exclude(pk=self.pk)
        if self.code and others.exists():
            raise ValidationError(
                {"code": _("The catalogue already has the code %(code)s.") % {"code": self.code}}
            )


# The parts of an outpatient record, in the order a record is written and printed.
RECORD_PARTS = (
    "chief_complaint",
    "present_illness",
    "past_history",
    "physical_exam",
    "diagnosis",
    "plan",
)


class MedicalRecord(models.Model):
    """The outpatient record of one visit (门诊病历). The patient's allergies are not part of
    it: they are the patient's (PatientAllergy) and shown at the top of every record."""

    visit = models.OneToOneField(
        Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="medical_record"
    )
    chief_complaint = models.TextField(_("chief complaint"), blank=True)
    present_illness = models.TextField(_("history of present illness"), blank=True)
    past_history = models.TextField(_("past history"), blank=True)
    physical_exam = models.TextField(_("physical examination"), blank=True)
    diagnosis = models.TextField(_("diagnosis"), blank=True)
    diagnosis_code = models.ForeignKey(
        DiagnosisCatalogue,
        verbose_name=_("diagnosis code"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    plan = models.TextField(_("plan"), blank=True, help_text=_("Treatment and prescription."))
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("updated by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )

    class Meta:
        verbose_name = _("medical record")
        verbose_name_plural = _("medical records")

    def __str__(self) -> str:
        return str(_("Medical record of %(visit)s") % {"visit": self.visit})

    @property
    def has_diagnosis(self) -> bool:
        return bool(self.diagnosis.strip())


class AllergySeverity(models.TextChoices):
    MILD = "mild", _("Mild")
    MODERATE = "moderate", _("Moderate")
    SEVERE = "severe", _("Severe")


class PatientAllergyQuerySet(models.QuerySet):
    def active(self) -> PatientAllergyQuerySet:
        return self.filter(removed_at__isnull=True)


class PatientAllergy(models.Model):
    """One allergy of a patient (过敏史): recorded once, shown on every consultation, kept
    as a structured entry (substance or drug class, reaction, severity) so that drug orders
    can be checked against it. Removing one keeps the row (who removed it and when): the
    history of what the clinic knew stays. Written only through visits.allergies."""

    Severity = AllergySeverity

    patient = models.ForeignKey(
        Patient, verbose_name=_("patient"), on_delete=models.PROTECT, related_name="allergies"
    )
    substance = models.CharField(
        _("substance or drug class"), max_length=100, help_text=_("e.g. penicillin, peanuts.")
    )
    # The drug class, when the substance is one: what drug orders are checked against.
    allergy_class = models.ForeignKey(
        AllergyClass,
        verbose_name=_("drug class"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reaction = models.CharField(_("reaction"), max_length=200, blank=True)
    severity = models.CharField(
        _("severity"),
        max_length=10,
        choices=AllergySeverity.choices,
        default=AllergySeverity.MODERATE,
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"))
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("removed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    removed_at = models.DateTimeField(_("removed at"), null=True, blank=True)

    objects = PatientAllergyQuerySet.as_manager()

    class Meta:
        ordering = ["patient_id", "recorded_at", "id"]
        verbose_name = _("allergy")
        verbose_name_plural = _("allergies")
        indexes = [
            models.Index(fields=["patient", "removed_at"], name="allergy_patient_active_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(severity__in=AllergySeverity.values), name="allergy_severity_valid"
            ),
            models.CheckConstraint(condition=~Q(substance=""), name="allergy_substance_not_blank"),
        ]

    def __str__(self) -> str:
        return f"{self.substance} ({self.get_severity_display()})"

    @property
    def is_active(self) -> bool:
        return self.removed_at is None


class NoKnownAllergies(models.Model):
    """A doctor asked, and the patient knows of no allergy (NKA): told apart from "nothing
    recorded yet". Recording an allergy ends it (visits.allergies)."""

    patient = models.OneToOneField(
        Patient,
        verbose_name=_("patient"),
        on_delete=models.PROTECT,
        related_name="no_known_allergies",
    )
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("confirmed by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(_("confirmed at"))

    class Meta:
        verbose_name = _("no known allergies")
        verbose_name_plural = _("no known allergies")

    def __str__(self) -> str:
        return str(_("No known allergies: %(patient)s") % {"patient": self.patient})


class DisplayToken(models.Model):
    """The key of one waiting-room screen: an administrator makes it (Django Admin), opens
    its address once on the screen, and may revoke it. Only its SHA-256 is stored: the
    screen keeps the key itself, in a cookie, after that first opening."""

    name = models.CharField(
        _("screen"), max_length=100, help_text=_("Where it hangs, e.g. the internal medicine hall.")
    )
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="display_tokens",
    )
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        related_name="+",
        editable=False,
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True, editable=False)

    class Meta:
        ordering = ["department__name", "name"]
        verbose_name = _("waiting-room screen")
        verbose_name_plural = _("waiting-room screens")

    def __str__(self) -> str:
        return f"{self.name} ({self.department})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class ChargeKind(models.TextChoices):
    REGISTRATION = "registration", _("Registration")
    ORDER = "order", _("Doctor's order")


class Frequency(models.TextChoices):
    """How often a drug is taken (用法频次), as prescriptions write it."""

    QD = "qd", _("once a day (qd)")
    BID = "bid", _("twice a day (bid)")
    TID = "tid", _("three times a day (tid)")
    QID = "qid", _("four times a day (qid)")
    QN = "qn", _("every night (qn)")
    ST = "st", _("once, now (st)")
    PRN = "prn", _("when needed (prn)")


# Doses a day by frequency; ST is one dose in all, PRN has no count (quantity typed).
DOSES_PER_DAY = {
    Frequency.QD: 1,
    Frequency.BID: 2,
    Frequency.TID: 3,
    Frequency.QID: 4,
    Frequency.QN: 1,
}
MAX_DAYS = 90


class Charge(models.Model):
    """What was done to the patient at this visit and costs money: the registration fee
    (added by check-in or walk-in) and the doctor's orders (prescription lines and
    examinations, tests and treatments, added during the consultation and frozen when it
    ends). Code, name, unit, unit price, category and insurance class are copied from the
    fee item when the charge is made: later price changes do not touch it. At settlement
    each charge becomes one bill line (billing.BillLine). Written only through
    visits.charges."""

    Kind = ChargeKind
    Frequency = Frequency

    visit = models.ForeignKey(
        Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="charges"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=ChargeKind.choices)
    fee_item = models.ForeignKey(
        FeeItem, verbose_name=_("fee item"), on_delete=models.PROTECT, related_name="+"
    )
    code = models.CharField(_("item code"), max_length=32)
    name = models.CharField(_("name"), max_length=100)
    category = models.CharField(_("category"), max_length=16, choices=FeeCategory.choices)
    unit = models.CharField(_("unit"), max_length=16)
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    insurance_class = models.CharField(
        _("insurance class"), max_length=1, choices=InsuranceClass.choices
    )
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    # Prescription lines (drugs): dose × frequency × days gives the quantity where the
    # item says how many doses a unit holds.
    dose = models.DecimalField(_("dose"), null=True, blank=True, **QUANTITY)
    dose_unit = models.CharField(_("dose unit"), max_length=16, blank=True)
    frequency = models.CharField(
        _("frequency"), max_length=8, choices=Frequency.choices, blank=True
    )
    days = models.PositiveSmallIntegerField(_("days"), null=True, blank=True)
    usage = models.CharField(_("usage"), max_length=100, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)
    # An order that matched one of the patient's allergies: what matched, and the doctor's
    # reason to go on.
    allergy_warning = models.CharField(_("allergy warning"), max_length=200, blank=True)
    allergy_override_reason = models.CharField(
        _("reason to order despite the allergy"), max_length=200, blank=True
    )
    ordered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("ordered by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["visit_id", "id"]
        verbose_name = _("charge")
        verbose_name_plural = _("charges")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=ChargeKind.values), name="charge_kind_valid"
            ),
            models.CheckConstraint(
                condition=Q(category__in=FeeCategory.values), name="charge_category_valid"
            ),
            models.CheckConstraint(
                condition=Q(insurance_class__in=InsuranceClass.values),
                name="charge_insurance_class_valid",
            ),
            models.CheckConstraint(
                condition=Q(quantity__gt=0, quantity__lte=MAX_QUANTITY),
                name="charge_quantity_in_range",
            ),
            # Only a drug takes a dose, its unit, a frequency and days.
            models.CheckConstraint(
                condition=Q(category=FeeCategory.DRUG)
                | Q(dose__isnull=True, dose_unit="", frequency="", days__isnull=True),
                name="charge_dose_only_for_drugs",
            ),
            models.CheckConstraint(
                condition=Q(unit_price__gte=0), name="charge_price_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(dose__isnull=True) | Q(dose__gt=0), name="charge_dose_positive"
            ),
            models.CheckConstraint(
                condition=Q(days__isnull=True) | Q(days__gte=1, days__lte=MAX_DAYS),
                name="charge_days_in_range",
            ),
            models.CheckConstraint(
                condition=Q(frequency="") | Q(frequency__in=Frequency.values),
                name="charge_frequency_valid",
            ),
            models.CheckConstraint(
                condition=Q(allergy_warning="") | ~Q(allergy_override_reason=""),
                name="charge_allergy_warning_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name} × {self.quantity}"

    # What a charge copies from its fee item when it is made (later price changes do not
    # touch it).
    COPIED_FROM_ITEM = ("code", "name", "category", "unit", "unit_price", "insurance_class")

    @classmethod
    def copied_from(cls, item: FeeItem) -> dict[str, Any]:
        """The fee item and its figures as a charge's fields: the one place a charge takes
        them (visits.charges, and the demo, bench and test data made as it makes them)."""
        return {"fee_item": item, **{name: getattr(item, name) for name in cls.COPIED_FROM_ITEM}}
