"""Appointments: a booked place on a schedule, from booking to check-in, cancellation or no-show."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from appointments.exceptions import NoShowTooEarly
from clinic.audit import audit_event, record_event
from clinic.codes import random_code
from clinic.db import atomic_with_retry
from clinic.exceptions import PermissionDenied
from clinic.models import AuditEvent, Department, Employee, Patient, Role, User
from clinic.roles import DESK_ROLES, ensure_role
from clinic.state import StateMachineMixin
from notifications.services import cancel_pending
from scheduling.models import Schedule, ScheduleWindow, TimeSlot, window_at


class AppointmentStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    CONFIRMED = "confirmed", _("Confirmed")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    NO_SHOW = "no_show", _("No-show")


# The statuses that hold a place on their schedule.
LIVE_STATUSES = (AppointmentStatus.PENDING, AppointmentStatus.CONFIRMED)

# What the patient is shown (pages and API `display_status`), beside the stored status: a
# booking checked in is stored as completed at once (check-in completes it), but to the
# patient, still at the clinic, it is "checked in" until their visit is over.
CHECKED_IN = "checked_in"
DISPLAY_STATUS_CHOICES = (
    *AppointmentStatus.choices[:2],
    (CHECKED_IN, _("Checked in")),
    *AppointmentStatus.choices[2:],
)
# The visit statuses of a patient still at the clinic (in the queue, with the doctor, yet to
# pay): visits.models.UNFINISHED_STATUSES, spelled out here because appointments sit below
# visits (a test in visits checks that the two agree).
VISIT_UNFINISHED_STATUSES = ("waiting", "in_consultation", "awaiting_payment")
# The name of the annotation (appointments.selectors.with_visit_status) that reads the
# booking's visit status in the list's own query.
VISIT_STATUS_ANNOTATION = "visit_status"
_FINAL: frozenset[str] = frozenset()


def reminder_key(appointment_id: int) -> str:
    """The key of an appointment's reminder (notifications.Notification.key): one each."""
    return f"reminder:{appointment_id}"


def new_reference() -> str:
    return random_code(8)


class Appointment(StateMachineMixin, models.Model):
    """A place held on a schedule for a person, from booking until check-in, cancellation or
    no-show. Only the methods below change `status`."""

    Status = AppointmentStatus
    # completed only through check-in (visits.services.check_in); no_show only after the slot.
    ALLOWED = {
        AppointmentStatus.PENDING: frozenset(
            {
                AppointmentStatus.CONFIRMED,
                AppointmentStatus.CANCELLED,
                AppointmentStatus.COMPLETED,
                AppointmentStatus.NO_SHOW,
            }
        ),
        AppointmentStatus.CONFIRMED: frozenset(
            {AppointmentStatus.CANCELLED, AppointmentStatus.COMPLETED, AppointmentStatus.NO_SHOW}
        ),
        AppointmentStatus.COMPLETED: _FINAL,
        AppointmentStatus.CANCELLED: _FINAL,
        AppointmentStatus.NO_SHOW: _FINAL,
    }

    reference = models.CharField(
        _("booking reference"), max_length=12, unique=True, default=new_reference, editable=False
    )
    # A snapshot of who booked: phone bookings by the desk have no patient record yet.
    # Indexed together with expected_time (Meta.indexes): the desk's search.
    patient_name = models.CharField(_("patient name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20)
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
    # The window of the schedule the place is held in (time-sliced booking).
    window = models.ForeignKey(
        ScheduleWindow,
        verbose_name=_("window"),
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
        # The search rule for bookings (appointments.search): a phone or name prefix, or an ID
        # number, among bookings from today on (the desk's box). The second column lets the
        # server drop past bookings inside the index, without reading their rows; the first
        # alone serves every other lookup.
        indexes = [
            models.Index(fields=["phone", "expected_time"], name="appointment_phone_time_idx"),
            models.Index(
                fields=["patient_name", "expected_time"], name="appointment_name_time_idx"
            ),
            models.Index(fields=["id_card", "expected_time"], name="appointment_id_card_time_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=AppointmentStatus.values), name="appointment_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} · {self.patient_name}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Made outside the booking service (the admin, fixtures): the window of its time.
        if self.window_id is None and self.schedule_id is not None:
            self.window = window_at(self.schedule_id, self.expected_time)
        super().save(*args, **kwargs)

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_STATUSES

    @property
    def display_status(self) -> str:
        """The status the patient is shown: CHECKED_IN while the visit this booking became
        is not over, else the stored status (which stays `completed` from check-in on)."""
        if self.status != AppointmentStatus.COMPLETED:
            return self.status
        if VISIT_STATUS_ANNOTATION in vars(self):
            visit_status = vars(self)[VISIT_STATUS_ANNOTATION]
        else:
            # Not read with the list (selectors.with_visit_status): one query, through the
            # visit's own relation (appointments import nothing of visits).
            visit = getattr(self, "visit", None)
            visit_status = visit.status if visit is not None else None
        return CHECKED_IN if visit_status in VISIT_UNFINISHED_STATUSES else self.status

    def get_display_status_display(self) -> str:
        return str(dict(DISPLAY_STATUS_CHOICES)[self.display_status])

    def check_in_window(self) -> tuple[dt.datetime, dt.datetime]:
        """Arrivals check in from the configured time before their window starts until the
        schedule ends (a patient late for their window is still seen, after the others)."""
        early = dt.timedelta(minutes=settings.CLINIC_CHECK_IN_EARLY_MINUTES)
        return self.window.starts_at(self.schedule.work_date) - early, self.schedule.ends_at

    def check_in_open(self, now: dt.datetime | None = None) -> bool:
        opens_at, closes_at = self.check_in_window()
        return self.is_live and opens_at <= (now or timezone.now()) < closes_at

    def is_late(self, now: dt.datetime | None = None) -> bool:
        """Whether the patient's window is over (they may still check in until the schedule
        ends, and queue after the window running then)."""
        return (now or timezone.now()) >= self.window.ends_at(self.schedule.work_date)

    def desk_actions(self, now: dt.datetime | None = None) -> set[str]:
        """The moves the desk may make now: what its row shows buttons for."""
        if not self.is_live:
            return set()
        now = now or timezone.now()
        actions = {"cancel"}
        if self.status == AppointmentStatus.PENDING:
            actions.add("confirm")
        if now >= self.no_show_allowed_from():
            actions.add("no_show")
        if self.check_in_open(now):
            actions.add("check_in")
        return actions

    def no_show_allowed_from(self) -> dt.datetime:
        """The schedule's end plus the grace period: until then the patient may still check
        in (a full-day schedule takes a morning booking in the afternoon too)."""
        return self.schedule.ends_at + dt.timedelta(minutes=settings.CLINIC_NO_SHOW_GRACE_MINUTES)

    def _audit(self, by: User | None, action: str, old: dict, new: dict) -> None:
        record_event(
            actor=by,
            action=f"appointment.{action}",
            obj=self,
            patient=self.patient,
            old=old,
            new=new,
        )

    @atomic_with_retry
    def confirm(self, *, by: User) -> None:
        ensure_role(by, *DESK_ROLES)
        self.lock_for_update()
        self.ensure_move_allowed(AppointmentStatus.CONFIRMED)
        self._audit(by, "confirmed", *self._status_change(AppointmentStatus.CONFIRMED))

    confirm.alters_data = True

    @atomic_with_retry
    def cancel(self, *, by: User, reason: str = "") -> None:
        """Cancel and give the place back. Patients may cancel only their own bookings."""
        if by is not None and by.is_authenticated and by.role == Role.PATIENT:
            owner_id = Patient.objects.filter(pk=self.patient_id).values_list("user_id", flat=True)
            if not self.patient_id or owner_id.first() != by.pk:
                raise PermissionDenied()
        else:
            ensure_role(by, *DESK_ROLES)
        # Lock order: Appointment, then its Schedule.
        self.lock_for_update()
        self.ensure_move_allowed(AppointmentStatus.CANCELLED)
        changes = self._status_change(
            AppointmentStatus.CANCELLED,
            cancelled_at=timezone.now(),
            cancel_reason=(reason or "").strip()[:200],
        )
        self.schedule.release_place(self.window_id)
        self._audit(by, "cancelled", *changes)
        self._place_given_back()

    cancel.alters_data = True

    @atomic_with_retry
    def mark_no_show(self, *, by: User | None, now: dt.datetime | None = None) -> None:
        """The patient never came: allowed once the slot has ended plus the grace period."""
        ensure_role(by, *DESK_ROLES, allow_system=True)
        self.lock_for_update()
        self.ensure_move_allowed(AppointmentStatus.NO_SHOW)
        if (now or timezone.now()) < self.no_show_allowed_from():
            raise NoShowTooEarly(details={"allowed_from": self.no_show_allowed_from().isoformat()})
        changes = self._status_change(AppointmentStatus.NO_SHOW)
        self.schedule.release_place(self.window_id)
        self._audit(by, "no_show", *changes)
        self._place_given_back()

    mark_no_show.alters_data = True

    def _place_given_back(self) -> None:
        """After a cancellation or a no-show, in its transaction and under its locks: the
        reminder not yet sent is not sent, and the freed place goes to the waitlist."""
        from appointments.waitlist import offer_freed_place

        cancel_pending(reminder_key(self.pk))
        offer_freed_place(schedule=self.schedule, window_id=self.window_id)

    def complete_by_check_in(self, *, by: User) -> AuditEvent:
        """Part of check-in (visits.services.check_in), inside its transaction and locks.

        The place stays held: it now belongs to the visit. Returns the audit event, unwritten:
        the check-in writes it together with its own.
        """
        self.ensure_move_allowed(AppointmentStatus.COMPLETED)
        old, new = self._status_change(AppointmentStatus.COMPLETED)
        return audit_event(
            actor=by,
            action="appointment.completed",
            obj=self,
            patient=self.patient,
            old=old,
            new=new,
        )

    complete_by_check_in.alters_data = True


class WaitlistStatus(models.TextChoices):
    WAITING = "waiting", pgettext_lazy("waitlist status", "Waiting")
    OFFERED = "offered", _("Place offered")
    ACCEPTED = "accepted", _("Accepted")
    DECLINED = "declined", _("Declined")
    EXPIRED = "expired", _("Offer expired")
    CANCELLED = "cancelled", _("Left the waitlist")


# The statuses of a person still on the waitlist (one such entry per department, date and
# half-day slot); an offered entry holds a place on the offered schedule.
LIVE_WAITLIST_STATUSES = (WaitlistStatus.WAITING, WaitlistStatus.OFFERED)


class WaitlistEntry(StateMachineMixin, models.Model):
    """A person waiting for a place in a full window (or anywhere in a full half-day slot) of
    a department on a date, optionally with one doctor.

    A freed place that matches goes to the first entry waiting (FIFO: created_at, id) and is
    held for it (it counts in the window's and the schedule's counters) until the offer is
    accepted (it becomes `appointment`), declined or expires (the place goes to the next).
    Moves are appointments.waitlist's services; only they assign `status`.
    """

    Status = WaitlistStatus
    ALLOWED = {
        WaitlistStatus.WAITING: frozenset({WaitlistStatus.OFFERED, WaitlistStatus.CANCELLED}),
        WaitlistStatus.OFFERED: frozenset(
            {
                WaitlistStatus.ACCEPTED,
                WaitlistStatus.DECLINED,
                WaitlistStatus.EXPIRED,
                WaitlistStatus.CANCELLED,
            }
        ),
        WaitlistStatus.ACCEPTED: _FINAL,
        WaitlistStatus.DECLINED: _FINAL,
        WaitlistStatus.EXPIRED: _FINAL,
        WaitlistStatus.CANCELLED: _FINAL,
    }

    # A patient record, or (patient NULL) a caller the desk put on the list by name and phone.
    patient = models.ForeignKey(
        Patient,
        verbose_name=_("patient"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="waitlist_entries",
    )
    patient_name = models.CharField(_("patient name"), max_length=50)
    phone = models.CharField(_("phone"), max_length=20)
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        on_delete=models.PROTECT,
        related_name="waitlist_entries",
    )
    work_date = models.DateField(_("date"))
    time_slot = models.CharField(_("time slot"), max_length=16, choices=TimeSlot.choices)
    # The wished-for time (clinic-local): a freed place in a window containing it matches.
    # NULL: any time in the half-day slot. window_end is what the pages show.
    window_start = models.TimeField(_("from"), null=True, blank=True)
    window_end = models.TimeField(_("until"), null=True, blank=True)
    # NULL: any doctor of the department.
    doctor = models.ForeignKey(
        Employee,
        verbose_name=_("doctor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # Put on the list by the desk: a window kept for the desk may be offered too.
    via_desk = models.BooleanField(_("added by the desk"), default=False)
    status = models.CharField(
        _("status"),
        max_length=16,
        choices=WaitlistStatus.choices,
        default=WaitlistStatus.WAITING,
    )
    # The place held while offered (all three set exactly then).
    offered_schedule = models.ForeignKey(
        Schedule,
        verbose_name=_("offered schedule"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="waitlist_offers",
    )
    offered_window = models.ForeignKey(
        ScheduleWindow,
        verbose_name=_("offered window"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="waitlist_offers",
    )
    offer_expires_at = models.DateTimeField(_("offer expires at"), null=True, blank=True)
    # How many offers were made to this entry: numbers the offer's message key.
    offer_count = models.PositiveSmallIntegerField(_("offers made"), default=0, editable=False)
    # What an accepted offer became.
    appointment = models.OneToOneField(
        Appointment,
        verbose_name=_("appointment"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="waitlist_entry",
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

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name = _("waitlist entry")
        verbose_name_plural = _("waitlist entries")
        indexes = [
            # The first waiting for a department's date and slot (FIFO), and the desk's list.
            models.Index(
                fields=["department", "work_date", "time_slot", "status", "created_at", "id"],
                name="waitlist_fifo_idx",
            ),
            # The expiry sweep: offers past their time.
            models.Index(fields=["status", "offer_expires_at"], name="waitlist_offer_expiry_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=WaitlistStatus.values), name="waitlist_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(time_slot__in=[TimeSlot.MORNING, TimeSlot.AFTERNOON]),
                name="waitlist_half_day_slot",
            ),
            models.CheckConstraint(
                condition=Q(window_start__isnull=True, window_end__isnull=True)
                | Q(
                    window_start__isnull=False,
                    window_end__isnull=False,
                    window_start__lt=F("window_end"),
                ),
                name="waitlist_window_times",
            ),
            models.CheckConstraint(
                condition=Q(
                    status=WaitlistStatus.OFFERED,
                    offered_schedule__isnull=False,
                    offered_window__isnull=False,
                    offer_expires_at__isnull=False,
                )
                | (
                    ~Q(status=WaitlistStatus.OFFERED)
                    & Q(
                        offered_schedule__isnull=True,
                        offered_window__isnull=True,
                        offer_expires_at__isnull=True,
                    )
                ),
                name="waitlist_offered_holds_place",
            ),
            models.CheckConstraint(
                condition=Q(status=WaitlistStatus.ACCEPTED, appointment__isnull=False)
                | (~Q(status=WaitlistStatus.ACCEPTED) & Q(appointment__isnull=True)),
                name="waitlist_accepted_has_appointment",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.patient_name} · {self.work_date} {self.get_time_slot_display()}"

    @property
    def is_live(self) -> bool:
        return self.status in LIVE_WAITLIST_STATUSES

    @property
    def window_label(self) -> str:
        """The wished-for window ("09:30–10:00"), or the half-day slot when any time will do."""
        if self.window_start is None:
            return str(self.get_time_slot_display())
        return f"{self.window_start:%H:%M}–{self.window_end:%H:%M}"

    def offer_is_open(self, now: dt.datetime | None = None) -> bool:
        return (
            self.status == WaitlistStatus.OFFERED
            and self.offer_expires_at is not None
            and (now or timezone.now()) < self.offer_expires_at
        )
