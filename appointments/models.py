"""Appointments: a booked place on a schedule, from booking to check-in, cancellation or no-show."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clinic.codes import random_code
from clinic.models import Department, Patient
from scheduling.models import Schedule


class AppointmentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    CONFIRMED = "confirmed", _("Confirmed")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("No-show")


# The statuses that hold a place on their schedule.
LIVE_STATUSES = (AppointmentStatus.PENDING, AppointmentStatus.CONFIRMED)


def new_reference() -> str:
    return random_code(8)


class Appointment(models.Model):
    Status = AppointmentStatus

    reference = models.CharField(
        _("booking reference"), max_length=12, unique=True, default=new_reference, editable=False
    )
    # A snapshot of who booked: phone bookings by the desk have no patient record yet.
    patient_name = models.CharField(_("patient name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20, db_index=True)
    id_card = models.CharField(_("ID number"), max_length=32, blank=True)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    schedule = models.ForeignKey(
        Schedule,
        verbose_name=_("schedule"),
        on_delete=models.PROTECT,
        related_name="appointments",
    )
    expected_time = models.DateTimeField(_("expected time"), db_index=True)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=AppointmentStatus.choices,
        default=AppointmentStatus.PENDING,
        db_index=True,
    )
    patient = models.ForeignKey(
        Patient,
        verbose_name=_("patient"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="appointments",
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    cancelled_at = models.DateTimeField(_("cancelled at"), null=True, blank=True)
    cancel_reason = models.CharField(_("reason for cancelling"), max_length=200, blank=True)

    class Meta:
        ordering = ["expected_time", "id"]
        verbose_name = _("appointment")
        verbose_name_plural = _("appointments")
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AppointmentStatus.values), name="appointment_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} · {self.patient_name}"
