"""Doctors' schedules: who sees patients in which room, on which day and half-day, for how many."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.models import Department, Employee, EmployeeStatus, Position, Room, RoomStatus
from scheduling.exceptions import NoCapacity, ScheduleInUse


class TimeSlot(models.TextChoices):
    MORNING = "morning", _("Morning")
    AFTERNOON = "afternoon", _("Afternoon")
    FULL_DAY = "full_day", _("Full day")


# A full day overlaps both halves; each half overlaps itself and the full day.
OVERLAPPING_SLOTS: dict[str, tuple[str, ...]] = {
    TimeSlot.MORNING: (TimeSlot.MORNING, TimeSlot.FULL_DAY),
    TimeSlot.AFTERNOON: (TimeSlot.AFTERNOON, TimeSlot.FULL_DAY),
    TimeSlot.FULL_DAY: (TimeSlot.MORNING, TimeSlot.AFTERNOON, TimeSlot.FULL_DAY),
}


# The half-day slots patients book; a full-day schedule serves both.
HALF_DAY_SLOTS = (TimeSlot.MORNING, TimeSlot.AFTERNOON)


def slot_hours(time_slot: str) -> tuple[dt.time, dt.time]:
    """The configured opening hours of a slot (clinic-local wall-clock times)."""
    morning, afternoon = settings.CLINIC_MORNING_HOURS, settings.CLINIC_AFTERNOON_HOURS
    if time_slot == TimeSlot.MORNING:
        return morning
    if time_slot == TimeSlot.AFTERNOON:
        return afternoon
    return morning[0], afternoon[1]


def slot_bounds(work_date: dt.date, time_slot: str) -> tuple[dt.datetime, dt.datetime]:
    """The aware start and end of a slot on a date, in the clinic's time zone."""
    start, end = slot_hours(time_slot)
    tz = timezone.get_default_timezone()
    return (
        timezone.make_aware(dt.datetime.combine(work_date, start), tz),
        timezone.make_aware(dt.datetime.combine(work_date, end), tz),
    )


def monday_of(day: dt.date) -> dt.date:
    """The Monday of a date's week: the planner plans Monday to Sunday."""
    return day - dt.timedelta(days=day.weekday())


def half_day_slot_at(local_time: dt.time) -> TimeSlot | None:
    """The half-day slot whose hours contain a clinic-local time, or None when closed."""
    for slot in HALF_DAY_SLOTS:
        start, end = slot_hours(slot)
        if start <= local_time < end:
            return slot
    return None


class Schedule(models.Model):
    """A doctor seeing patients in a room for one slot of one day.

    `current_patients` counts the places in use: live appointments (pending, confirmed) plus
    visits on this schedule that were not cancelled. It only changes under a row lock, and the
    database refuses any value outside 0..max_patients.
    """

    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="schedules"
    )
    room = models.ForeignKey(
        Room, verbose_name=_("room"), on_delete=models.PROTECT, related_name="schedules"
    )
    doctor = models.ForeignKey(
        Employee, verbose_name=_("doctor"), on_delete=models.PROTECT, related_name="schedules"
    )
    work_date = models.DateField(_("work date"))
    time_slot = models.CharField(_("time slot"), max_length=16, choices=TimeSlot.choices)
    # Signed columns with CHECK constraints: an out-of-range write is an IntegrityError on every
    # backend (MySQL would report an UNSIGNED overflow as a DataError instead).
    max_patients = models.IntegerField(_("maximum patients"), validators=[MinValueValidator(0)])
    current_patients = models.IntegerField(_("places taken"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["work_date", "time_slot", "department_id", "id"]
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")
        indexes = [
            models.Index(fields=["department", "work_date"], name="schedule_dept_date_idx"),
            models.Index(fields=["work_date"], name="schedule_work_date_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(max_patients__gte=0), name="schedule_max_patients_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(current_patients__gte=0) & Q(current_patients__lte=F("max_patients")),
                name="schedule_current_patients_within_capacity",
            ),
            models.CheckConstraint(
                condition=Q(time_slot__in=TimeSlot.values), name="schedule_time_slot_valid"
            ),
            models.UniqueConstraint(
                fields=["doctor", "work_date", "time_slot"], name="schedule_unique_doctor_slot"
            ),
            models.UniqueConstraint(
                fields=["room", "work_date", "time_slot"], name="schedule_unique_room_slot"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.work_date} {self.get_time_slot_display()} · {self.doctor.name} · {self.room}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The counter belongs to reserve_place()/release_place(), which write it under the row
        # lock. Any other save of an existing schedule (admin, API) leaves it alone, so a
        # stale in-memory copy can never overwrite places taken meanwhile.
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in ("current_patients", "created_at")
            ]
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if Schedule.objects.filter(pk=self.pk, current_patients__gt=0).exists():
            raise ScheduleInUse()
        return super().delete(*args, **kwargs)

    @property
    def remaining_places(self) -> int:
        return self.max_patients - self.current_patients

    @property
    def starts_at(self) -> dt.datetime:
        return slot_bounds(self.work_date, self.time_slot)[0]

    @property
    def ends_at(self) -> dt.datetime:
        return slot_bounds(self.work_date, self.time_slot)[1]

    def check_in_window(self) -> tuple[dt.datetime, dt.datetime]:
        """Arrivals check in from the configured time before the slot until it ends."""
        starts_at, ends_at = slot_bounds(self.work_date, self.time_slot)
        early = dt.timedelta(minutes=settings.CLINIC_CHECK_IN_EARLY_MINUTES)
        return starts_at - early, ends_at

    def reserve_place(self) -> None:
        """Take one place. Runs inside the caller's transaction.

        One conditional UPDATE: the database adds the place only while one is left, and the
        row stays locked until the caller's transaction ends. Callers lock the schedule
        first (`lock_slot_schedules`), so the in-memory counter stays exact.
        """
        taken = Schedule.objects.filter(pk=self.pk, current_patients__lt=F("max_patients")).update(
            current_patients=F("current_patients") + 1
        )
        if not taken:
            raise NoCapacity(
                _("%(doctor)s has no place left on %(date)s %(slot)s.")
                % {
                    "doctor": self.doctor.name,
                    "date": self.work_date.isoformat(),
                    "slot": self.get_time_slot_display(),
                },
                details={"schedule_id": self.pk},
            )
        self.current_patients += 1

    reserve_place.alters_data = True

    def release_place(self) -> None:
        """Give one place back. Runs inside the caller's transaction; locks this row.

        The CHECK constraint refuses a negative counter: a release without a reservation
        fails loudly instead of silently creating a phantom place.
        """
        Schedule.objects.filter(pk=self.pk).update(current_patients=F("current_patients") - 1)
        self.refresh_from_db(fields=["current_patients"])

    release_place.alters_data = True

    def lock_doctor_and_room(self) -> None:
        """Lock the doctor's and the room's rows, so that overlap checks cannot race.

        Two admins scheduling the same doctor (or room) for a morning and a full day at once
        would otherwise both pass the overlap check: no unique constraint spans the two slots.
        """
        Employee.objects.select_for_update().filter(pk=self.doctor_id).first()
        Room.objects.select_for_update().filter(pk=self.room_id).first()
        if self.pk is not None:
            self.current_patients = (
                Schedule.objects.select_for_update()
                .values_list("current_patients", flat=True)
                .get(pk=self.pk)
            )

    def overlapping(self) -> models.QuerySet[Schedule]:
        """Other schedules of this doctor or this room that overlap this one's slot."""
        return (
            Schedule.objects.filter(
                work_date=self.work_date, time_slot__in=OVERLAPPING_SLOTS[self.time_slot]
            )
            .filter(Q(doctor_id=self.doctor_id) | Q(room_id=self.room_id))
            .exclude(pk=self.pk)
        )

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        room = self.room if self.room_id else None
        doctor = self.doctor if self.doctor_id else None
        for found in (
            self._room_errors(room),
            self._doctor_errors(doctor),
            self._held_places_errors(),
            self._overlap_errors(room, doctor),
        ):
            for field, message in found.items():
                errors.setdefault(field, message)
        if errors:
            raise ValidationError(errors)

    def _room_errors(self, room: Room | None) -> dict[str, str]:
        if room is None:
            return {}
        if room.status != RoomStatus.ACTIVE:
            return {"room": _("This room is disabled.")}
        if self.department_id and room.department_id != self.department_id:
            return {"room": _("The room belongs to another department.")}
        return {}

    def _doctor_errors(self, doctor: Employee | None) -> dict[str, str]:
        if doctor is None:
            return {}
        if doctor.position != Position.DOCTOR:
            return {"doctor": _("This staff member is not a doctor.")}
        if doctor.status != EmployeeStatus.ACTIVE:
            return {"doctor": _("This doctor is not on active duty.")}
        if self.department_id and doctor.department_id != self.department_id:
            return {"doctor": _("The doctor belongs to another department.")}
        return {}

    def _held_places_errors(self) -> dict[str, str]:
        """Places are held: the bookings and visits on it name this doctor, room and time,
        and the maximum cannot drop below them."""
        errors: dict[str, str] = {}
        if self.pk is not None and self.current_patients > 0:
            original = (
                Schedule.objects.filter(pk=self.pk)
                .values("department_id", "room_id", "doctor_id", "work_date", "time_slot")
                .first()
            )
            for field in ("department", "room", "doctor", "work_date", "time_slot"):
                attname = self._meta.get_field(field).attname
                if original is not None and original[attname] != getattr(self, attname):
                    errors[field] = _(
                        "%(held)d places are taken on this schedule: its department, room, "
                        "doctor, date and time cannot change."
                    ) % {"held": self.current_patients}
        if self.max_patients is not None and self.max_patients < self.current_patients:
            errors["max_patients"] = _(
                "%(held)d places are already taken; the maximum cannot be lower."
            ) % {"held": self.current_patients}
        return errors

    def _overlap_errors(self, room: Room | None, doctor: Employee | None) -> dict[str, str]:
        errors: dict[str, str] = {}
        if room is None or doctor is None or not (self.work_date and self.time_slot):
            return errors
        for other in self.overlapping().select_related("doctor", "room"):
            if other.doctor_id == self.doctor_id:
                errors.setdefault(
                    "doctor",
                    _("%(doctor)s already works %(slot)s on this day (room %(room)s).")
                    % {
                        "doctor": other.doctor.name,
                        "slot": other.get_time_slot_display(),
                        "room": other.room,
                    },
                )
            if other.room_id == self.room_id:
                errors.setdefault(
                    "room",
                    _("Room %(room)s is already used %(slot)s on this day by %(doctor)s.")
                    % {
                        "room": other.room,
                        "slot": other.get_time_slot_display(),
                        "doctor": other.doctor.name,
                    },
                )
        return errors
