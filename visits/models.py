"""Visits (a patient's day at the clinic, from check-in to leaving) and their medical records."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from appointments.models import Appointment
from clinic.audit import record_event
from clinic.db import atomic_with_retry
from clinic.exceptions import PermissionDenied
from clinic.models import Department, Patient, Role, User
from clinic.roles import DESK_ROLES, ensure_role
from clinic.state import StateMachineMixin
from scheduling.models import Schedule
from visits.exceptions import SettlementRequired


class VisitStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    IN_CONSULTATION = "in_consultation", _("In consultation")
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    LEFT = "left", pgettext_lazy("visit status", "Left")
    CANCELLED = "cancelled", _("Left unseen")


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
    queue_number = models.IntegerField(_("queue number"))
    status = models.CharField(
        _("status"), max_length=20, choices=VisitStatus.choices, default=VisitStatus.WAITING
    )
    visit_date = models.DateField(_("visit date"))
    check_in_time = models.DateTimeField(_("check-in time"), db_index=True)
    called_at = models.DateTimeField(_("called at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["visit_date", "schedule_id", "queue_number"]
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        indexes = [
            models.Index(fields=["visit_date", "status"], name="visit_date_status_idx"),
            # The statistics (billing.selectors) count visits, statuses and distinct patients
            # over a date range by day, department or doctor (through the schedule). Each
            # grouping reads one of these covering indexes alone, in its group's order,
            # never the table's rows (bench/statistics.py: EXPLAIN says "Using index").
            # On MariaDB the department one also serves as its foreign key's index.
            models.Index(fields=["visit_date", "patient", "status"], name="visit_stats_day_idx"),
            models.Index(
                fields=["department", "visit_date", "status", "patient"],
                name="visit_stats_department_idx",
            ),
            models.Index(
                fields=["schedule", "visit_date", "status", "patient"],
                name="visit_stats_schedule_idx",
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

    @staticmethod
    def next_queue_number(schedule: Schedule) -> int:
        """The next number on a schedule. The caller holds the schedule's row lock, which
        serialises every visit created on it."""
        current = Visit.objects.filter(schedule=schedule).aggregate(top=Max("queue_number"))
        return (current["top"] or 0) + 1

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
        self._lock()
        self._check_move(VisitStatus.IN_CONSULTATION)
        changes = self._status_change(VisitStatus.IN_CONSULTATION, called_at=now or timezone.now())
        self._audit(by, "consultation_started", *changes)

    start_consultation.alters_data = True

    @atomic_with_retry
    def finish_consultation(self, *, by: User, now: dt.datetime | None = None) -> None:
        """Send the patient to pay. A medical record is not required."""
        self._ensure_may_move(by)
        self._lock()
        self._check_move(VisitStatus.AWAITING_PAYMENT)
        changes = self._status_change(
            VisitStatus.AWAITING_PAYMENT, finished_at=now or timezone.now()
        )
        self._audit(by, "consultation_finished", *changes)

    finish_consultation.alters_data = True

    @atomic_with_retry
    def advance(self, *, by: User, now: dt.datetime | None = None) -> None:
        """The next forward step; from awaiting payment only settlement goes on."""
        self._ensure_may_move(by)
        self._lock()
        if self.status == VisitStatus.AWAITING_PAYMENT:
            raise SettlementRequired(details={"from": self.status, "to": VisitStatus.LEFT})
        step = self.NEXT_STEP.get(self.status)
        if step == VisitStatus.IN_CONSULTATION:
            self.start_consultation(by=by, now=now)
        elif step == VisitStatus.AWAITING_PAYMENT:
            self.finish_consultation(by=by, now=now)
        else:
            self._ensure_may_move(by)
            self._check_move(VisitStatus.LEFT)

    advance.alters_data = True

    @atomic_with_retry
    def leave_unseen(self, *, by: User) -> None:
        """The patient left before being seen: the place goes back to the schedule."""
        self._ensure_may_move(by)
        # Lock order: Visit, then its Schedule.
        self._lock()
        self._check_move(VisitStatus.CANCELLED)
        changes = self._status_change(VisitStatus.CANCELLED, finished_at=timezone.now())
        self.schedule.release_place()
        self._audit(by, "left_unseen", *changes)

    leave_unseen.alters_data = True

    def leave_after_settlement(self, *, by: User) -> None:
        """Part of settlement (billing.services.settle_visit), inside its transaction, with
        this row already locked and the move already checked."""
        self._check_move(VisitStatus.LEFT)
        self._audit(by, "left", *self._status_change(VisitStatus.LEFT))

    leave_after_settlement.alters_data = True


class MedicalRecord(models.Model):
    visit = models.OneToOneField(
        Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="medical_record"
    )
    diagnosis = models.TextField(_("diagnosis"), blank=True)
    treatment = models.TextField(_("treatment"), blank=True)
    prescription = models.TextField(_("prescription"), blank=True)
    note = models.TextField(_("note"), blank=True)
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
