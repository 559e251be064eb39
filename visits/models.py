"""Visits (a patient's day at the clinic, from check-in to leaving) and their medical records."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from appointments.models import Appointment
from clinic.models import Department, Patient
from scheduling.models import Schedule


class VisitStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting")
    IN_CONSULTATION = "in_consultation", _("In consultation")
    AWAITING_PAYMENT = "awaiting_payment", _("Awaiting payment")
    LEFT = "left", pgettext_lazy("visit status", "Left")
    CANCELLED = "cancelled", _("Left unseen")


class Visit(models.Model):
    Status = VisitStatus

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
