"""Doctors' schedules: who sees patients in which room, on which day from when to when, for how
many, and in which windows (time-sliced booking: a place is taken in one window of a schedule)."""

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


def clinic_hours() -> tuple[dt.time, dt.time]:
    """The clinic's opening: from the morning's start to the afternoon's end."""
    return settings.CLINIC_MORNING_HOURS[0], settings.CLINIC_AFTERNOON_HOURS[1]


def slot_of_times(start: dt.time, end: dt.time) -> TimeSlot | None:
    """The half-day slot (or the full day) that a schedule from `start` to `end` serves: the
    morning or the afternoon when it lies within one, the full day when it spans the break.
    None when it reaches outside the clinic's hours, lies in the break, or ends before it
    starts."""
    if not start < end:
        return None
    for slot in HALF_DAY_SLOTS:
        opens, closes = slot_hours(slot)
        if opens <= start and end <= closes:
            return slot
    opens, closes = clinic_hours()
    morning_ends = slot_hours(TimeSlot.MORNING)[1]
    afternoon_opens = slot_hours(TimeSlot.AFTERNOON)[0]
    if opens <= start < morning_ends and afternoon_opens < end <= closes:
        return TimeSlot.FULL_DAY
    return None


def at_clinic_time(work_date: dt.date, time: dt.time) -> dt.datetime:
    """A clinic-local wall-clock time on a date, aware."""
    moment = dt.datetime.combine(work_date, time)
    return timezone.make_aware(moment, timezone.get_default_timezone())


def minutes_between(start: dt.time, end: dt.time) -> int:
    return (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute)


def _minutes(time: dt.time) -> int:
    return time.hour * 60 + time.minute


def window_times(
    start: dt.time, end: dt.time, window_minutes: int | None
) -> list[tuple[dt.time, dt.time]]:
    """A schedule's windows: `window_minutes` long from its start, the last one before the
    midday break and the last of the day shorter when the length does not divide; none in
    the break (a schedule spanning it resumes when the afternoon opens). One window for the
    whole schedule when None."""
    if window_minutes is None:
        return [(start, end)]
    morning_ends = slot_hours(TimeSlot.MORNING)[1]
    afternoon_opens = slot_hours(TimeSlot.AFTERNOON)[0]
    stretches = [(start, end)]
    if start < morning_ends and afternoon_opens < end:
        stretches = [(start, morning_ends), (afternoon_opens, end)]
    windows = []
    for begin_at, stop_at in stretches:
        begin, stop = _minutes(begin_at), _minutes(stop_at)
        while begin < stop:
            until = min(begin + window_minutes, stop)
            windows.append((dt.time(begin // 60, begin % 60), dt.time(until // 60, until % 60)))
            begin = until
    return windows


def spread_quota(total: int, used: list[int]) -> list[int]:
    """Quotas for windows adding up to `total`, each at least what it already holds, as even
    as they can be (the earlier windows get the extra places). ValueError when `total` is
    below the places held.

    Water-filling: the highest level L with sum(max(used, L)) <= total lifts every window
    to at least L; what is left goes one place each to the earliest windows at L."""
    if total < sum(used):
        raise ValueError("total below the places held")
    if not used:
        return []
    low, high = 0, total
    while low < high:
        level = (low + high + 1) // 2
        if sum(max(held, level) for held in used) <= total:
            low = level
        else:
            high = level - 1
    quotas = [max(held, low) for held in used]
    left = total - sum(quotas)
    for index, quota in enumerate(quotas):
        if left and quota == low:
            quotas[index] += 1
            left -= 1
    return quotas


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


MIN_WINDOW_MINUTES = 5
# What bookings and visits on a schedule name: none of it changes while places are held.
PLACE_FIELDS = (
    "department",
    "room",
    "doctor",
    "work_date",
    "time_slot",
    "start_time",
    "end_time",
    "window_minutes",
)
MAX_WINDOW_MINUTES = 240


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
    # The preset the times came from, or the half-day (or full day) that custom times lie in:
    # booking, duplicates and walk-ins still group a department's schedules by it.
    time_slot = models.CharField(_("time slot"), max_length=16, choices=TimeSlot.choices)
    # Clinic-local wall-clock times; a preset's hours (settings) when not given.
    start_time = models.TimeField(_("starts at"))
    end_time = models.TimeField(_("ends at"))
    # The length of a booking window; NULL: the whole schedule is one window (how schedules
    # made before time-sliced booking were kept). New schedules take CLINIC_WINDOW_MINUTES.
    window_minutes = models.PositiveSmallIntegerField(
        _("window length (minutes)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(5)],
        help_text=_("Empty: one window for the whole schedule."),
    )
    # Signed columns with CHECK constraints: an out-of-range write is an IntegrityError on every
    # backend (MySQL would report an UNSIGNED overflow as a DataError instead).
    max_patients = models.IntegerField(_("maximum patients"), validators=[MinValueValidator(0)])
    current_patients = models.IntegerField(_("places taken"), default=0, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["work_date", "start_time", "department_id", "id"]
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
            models.CheckConstraint(
                condition=Q(start_time__lt=F("end_time")), name="schedule_starts_before_it_ends"
            ),
            models.CheckConstraint(
                condition=Q(window_minutes__isnull=True)
                | Q(window_minutes__gte=MIN_WINDOW_MINUTES, window_minutes__lte=MAX_WINDOW_MINUTES),
                name="schedule_window_minutes_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.work_date} {self.get_time_slot_display()} · {self.doctor.name} · {self.room}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        adding = self._state.adding
        self.apply_times()
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
        if adding:
            # A new schedule holds no place yet: its windows share its places evenly.
            ScheduleWindow.objects.bulk_create(self.new_windows())

    def apply_times(self) -> None:
        """Times from the preset when none are given; otherwise the slot the times lie in
        (left as it is when they lie in none: clean() reports that)."""
        if self.start_time is None or self.end_time is None:
            if self.time_slot in TimeSlot.values:
                self.start_time, self.end_time = slot_hours(self.time_slot)
            return
        slot = slot_of_times(self.start_time, self.end_time)
        if slot is not None:
            self.time_slot = slot

    def new_windows(self) -> list[ScheduleWindow]:
        """The windows of a schedule that holds no place (unsaved), its places spread evenly."""
        times = window_times(self.start_time, self.end_time, self.window_minutes)
        quotas = spread_quota(self.max_patients, [0] * len(times))
        return [
            ScheduleWindow(schedule=self, start_time=start, end_time=end, quota=quota)
            for (start, end), quota in zip(times, quotas, strict=True)
        ]

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        if Schedule.objects.filter(pk=self.pk, current_patients__gt=0).exists():
            raise ScheduleInUse()
        return super().delete(*args, **kwargs)

    @property
    def remaining_places(self) -> int:
        return self.max_patients - self.current_patients

    @property
    def starts_at(self) -> dt.datetime:
        return at_clinic_time(self.work_date, self.start_time)

    @property
    def ends_at(self) -> dt.datetime:
        return at_clinic_time(self.work_date, self.end_time)

    @property
    def hours_label(self) -> str:
        return f"{self.start_time:%H:%M}–{self.end_time:%H:%M}"

    def check_in_window(self) -> tuple[dt.datetime, dt.datetime]:
        """Arrivals check in from the configured time before the schedule until it ends."""
        early = dt.timedelta(minutes=settings.CLINIC_CHECK_IN_EARLY_MINUTES)
        return self.starts_at - early, self.ends_at

    def reserve_place(self, window: ScheduleWindow) -> None:
        """Take one place in one of this schedule's windows. Runs inside the caller's
        transaction, which has locked this schedule (`lock_slot_schedules`,
        `lock_schedule`): lock order Schedule, then its window rows by id.

        Conditional UPDATEs: the database adds the place only while the window has one left
        (NoCapacity otherwise), then to the schedule's counter; the CHECKs on both rows are
        the last line of defence.
        """
        if window.schedule_id != self.pk:
            raise ValueError("the window belongs to another schedule")
        in_window = ScheduleWindow.objects.filter(pk=window.pk, used__lt=F("quota")).update(
            used=F("used") + 1
        )
        taken = in_window and Schedule.objects.filter(
            pk=self.pk, current_patients__lt=F("max_patients")
        ).update(current_patients=F("current_patients") + 1)
        if not taken:
            raise NoCapacity(
                _("%(doctor)s has no place left on %(date)s %(slot)s.")
                % {
                    "doctor": self.doctor.name,
                    "date": self.work_date.isoformat(),
                    "slot": self.get_time_slot_display(),
                },
                details={"schedule_id": self.pk, "window": window.label},
            )
        self.current_patients += 1
        window.used += 1

    reserve_place.alters_data = True

    def release_place(self, window_id: int) -> None:
        """Give one place of a window back. Runs inside the caller's transaction; locks this
        row, then the window's (the lock order).

        The CHECK constraints refuse a negative counter: a release without a reservation
        fails loudly instead of silently creating a phantom place.
        """
        Schedule.objects.filter(pk=self.pk).update(current_patients=F("current_patients") - 1)
        released = ScheduleWindow.objects.filter(pk=window_id, schedule_id=self.pk).update(
            used=F("used") - 1
        )
        if released != 1:
            raise ValueError(f"window {window_id} is not one of schedule {self.pk}'s")
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
        """Other schedules of this doctor or this room on this day whose times overlap."""
        return (
            Schedule.objects.filter(
                work_date=self.work_date,
                start_time__lt=self.end_time,
                end_time__gt=self.start_time,
            )
            .filter(Q(doctor_id=self.doctor_id) | Q(room_id=self.room_id))
            .exclude(pk=self.pk)
        )

    def clean_fields(self, exclude: Any = None) -> None:
        self.apply_times()  # a preset's hours before the fields are checked
        super().clean_fields(exclude=exclude)

    def clean(self) -> None:
        super().clean()
        errors: dict[str, str] = {}
        room = self.room if self.room_id else None
        doctor = self.doctor if self.doctor_id else None
        self.apply_times()
        for found in (
            self.time_errors(),
            self._room_errors(room),
            self._doctor_errors(doctor),
            self._held_places_errors(),
            self._overlap_errors(room, doctor),
        ):
            for field, message in found.items():
                errors.setdefault(field, message)
        if errors:
            raise ValidationError(errors)

    def time_errors(self) -> dict[str, str]:
        if self.start_time is None or self.end_time is None:
            return {}
        for field in ("start_time", "end_time"):
            time = getattr(self, field)
            if time.second or time.microsecond or time.tzinfo is not None:
                return {field: _("Give a time in whole minutes, such as 09:30.")}
        if not self.start_time < self.end_time:
            return {"end_time": _("A schedule ends after it starts.")}
        if slot_of_times(self.start_time, self.end_time) is None:
            opens, closes = clinic_hours()
            return {
                "end_time": _(
                    "A schedule lies within the clinic's hours (%(opens)s–%(closes)s), "
                    "not in the midday break."
                )
                % {"opens": f"{opens:%H:%M}", "closes": f"{closes:%H:%M}"}
            }
        return {}

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
                .values(*(self._meta.get_field(field).attname for field in PLACE_FIELDS))
                .first()
            )
            for field in PLACE_FIELDS:
                attname = self._meta.get_field(field).attname
                if original is not None and original[attname] != getattr(self, attname):
                    errors[field] = _(
                        "%(held)d places are taken on this schedule: its department, room, "
                        "doctor, date, times and windows cannot change."
                    ) % {"held": self.current_patients}
        if self.max_patients is not None and self.max_patients < self.current_patients:
            errors["max_patients"] = _(
                "%(held)d places are already taken; the maximum cannot be lower."
            ) % {"held": self.current_patients}
        return errors

    def _overlap_errors(self, room: Room | None, doctor: Employee | None) -> dict[str, str]:
        errors: dict[str, str] = {}
        if room is None or doctor is None or not (self.work_date and self.start_time):
            return errors
        if self.end_time is None or not self.start_time < self.end_time:
            return errors
        for other in self.overlapping().select_related("doctor", "room"):
            if other.doctor_id == self.doctor_id:
                errors.setdefault(
                    "doctor",
                    _("%(doctor)s already works %(slot)s on this day (room %(room)s).")
                    % {
                        "doctor": other.doctor.name,
                        "slot": other.hours_label,
                        "room": other.room,
                    },
                )
            if other.room_id == self.room_id:
                errors.setdefault(
                    "room",
                    _("Room %(room)s is already used %(slot)s on this day by %(doctor)s.")
                    % {
                        "room": other.room,
                        "slot": other.hours_label,
                        "doctor": other.doctor.name,
                    },
                )
        return errors


class ScheduleWindow(models.Model):
    """A stretch of a schedule (30 minutes by default) with its own quota: a booking, a
    walk-in or a visit takes its place in one window.

    `used` counts the places taken in this window, as the schedule's `current_patients`
    counts them in the whole schedule (the schedule's counter is the sum of its windows',
    and its maximum the sum of their quotas: `check_invariants` checks both). Both change in
    one locked transaction: the schedule row first, then its window rows by id.
    """

    schedule = models.ForeignKey(
        Schedule, verbose_name=_("schedule"), on_delete=models.CASCADE, related_name="windows"
    )
    start_time = models.TimeField(_("starts at"))
    end_time = models.TimeField(_("ends at"))
    quota = models.IntegerField(_("quota"), validators=[MinValueValidator(0)])
    used = models.IntegerField(_("places taken"), default=0, editable=False)
    # Kept for the desk: phone bookings and walk-ins may take it, patients online may not.
    desk_only = models.BooleanField(_("desk only"), default=False)

    class Meta:
        ordering = ["schedule_id", "start_time"]
        verbose_name = _("booking window")
        verbose_name_plural = _("booking windows")
        constraints = [
            models.CheckConstraint(
                condition=Q(used__gte=0) & Q(used__lte=F("quota")),
                name="schedule_window_used_within_quota",
            ),
            models.CheckConstraint(
                condition=Q(start_time__lt=F("end_time")), name="schedule_window_starts_before_end"
            ),
            models.UniqueConstraint(
                fields=["schedule", "start_time"], name="schedule_window_unique_start"
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.start_time:%H:%M}–{self.end_time:%H:%M}"

    @property
    def remaining(self) -> int:
        return self.quota - self.used

    def contains(self, local_time: dt.time) -> bool:
        return self.start_time <= local_time < self.end_time

    def starts_at(self, work_date: dt.date) -> dt.datetime:
        return at_clinic_time(work_date, self.start_time)

    def ends_at(self, work_date: dt.date) -> dt.datetime:
        return at_clinic_time(work_date, self.end_time)


def window_at(schedule_id: int, moment: dt.datetime | None) -> ScheduleWindow:
    """The window of a schedule that contains a moment (clinic-local), else its first."""
    windows = ScheduleWindow.objects.filter(schedule_id=schedule_id).order_by("start_time")
    if moment is not None:
        local = timezone.localtime(moment).time() if timezone.is_aware(moment) else moment.time()
        found = windows.filter(start_time__lte=local, end_time__gt=local).first()
        if found is not None:
            return found
    return windows.first()
