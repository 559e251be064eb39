from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from clinic.db import atomic_with_retry
from clinic.models import Employee, EmployeeStatus, Position, Room, RoomStatus
from scheduling.models import Schedule, TimeSlot
from scheduling.services import save_schedule


class ScheduleForm(forms.ModelForm):
    """Used by Django Admin. The admin's change view runs in one transaction, so the locks
    taken in clean() hold until the schedule is saved."""

    class Meta:
        model = Schedule
        fields = ("department", "room", "doctor", "work_date", "time_slot", "max_patients")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("doctor") and cleaned.get("room"):
            self.instance.doctor = cleaned["doctor"]
            self.instance.room = cleaned["room"]
            self.instance.lock_doctor_and_room()
        return cleaned


# --- Week planner -------------------------------------------------------------------------
# The planner creates many schedules at once through the same write path as a single one
# (scheduling.services.save_schedule: the doctor's and room's locks, then Schedule.clean's
# department, duty and overlap rules), and reports the outcome per schedule.


def monday_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def next_monday(today: dt.date | None = None) -> dt.date:
    return monday_of(today or timezone.localdate()) + dt.timedelta(days=7)


class BatchMode(models.TextChoices):
    CHECK = "check", _("Check only")
    ALL_OR_NOTHING = "create", _("Create all, or nothing if any is invalid")
    VALID_ONLY = "create_valid", _("Create the valid ones")


@dataclass
class PlannedSchedule:
    """One schedule of a batch and what became of it."""

    schedule: Schedule
    errors: list[str] = field(default_factory=list)
    created: bool = False

    @property
    def valid(self) -> bool:
        return not self.errors


@dataclass
class BatchResult:
    mode: str
    rows: list[PlannedSchedule]

    @property
    def created(self) -> int:
        return sum(row.created for row in self.rows)

    @property
    def invalid(self) -> int:
        return sum(not row.valid for row in self.rows)

    @property
    def valid(self) -> int:
        return len(self.rows) - self.invalid


def _messages(error: ValidationError) -> list[str]:
    messages: list[str] = []
    if hasattr(error, "error_dict"):
        # Field rules (doctor, room: department, duty, overlaps) before table-wide ones.
        ordered = sorted(error.message_dict.items(), key=lambda item: item[0] == NON_FIELD_ERRORS)
        candidates = [message for _field, field_messages in ordered for message in field_messages]
    else:
        candidates = error.messages
    for message in candidates:
        if message not in messages:
            messages.append(message)
    return messages


@atomic_with_retry
def save_schedule_batch(*, schedules: list[Schedule], mode: str) -> BatchResult:
    """Validate and save schedules one by one in one transaction; report each.

    `check` writes nothing; `create` keeps them all only when every one is valid (otherwise
    nothing is created); `create_valid` keeps the valid ones. Schedules of the same batch
    are checked against each other too: each is saved before the next is checked.
    """
    mode = BatchMode(mode)
    # Lock order: every doctor, then every room, each by ascending id, before any check.
    # save_schedule() locks one doctor and one room per schedule; taking them all first
    # in a fixed order keeps two planners (or an admin editing one schedule) from
    # deadlocking on each other.
    list(
        Employee.objects.select_for_update()
        .filter(pk__in={schedule.doctor_id for schedule in schedules})
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    list(
        Room.objects.select_for_update()
        .filter(pk__in={schedule.room_id for schedule in schedules})
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    rows = []
    for schedule in schedules:
        row = PlannedSchedule(schedule=schedule)
        try:
            save_schedule(schedule=schedule)  # a savepoint of this transaction
        except ValidationError as error:
            row.errors = _messages(error)
        except IntegrityError:
            row.errors = [_("Another schedule for this doctor or room was saved meanwhile.")]
        else:
            row.created = True
        rows.append(row)
    keep = mode == BatchMode.VALID_ONLY or (
        mode == BatchMode.ALL_OR_NOTHING and all(row.valid for row in rows)
    )
    if not keep:
        transaction.set_rollback(True)
        for row in rows:
            if row.created:
                row.created = False
                row.schedule.pk = None
                row.schedule._state.adding = True
    return BatchResult(mode=mode, rows=rows)


WEEKDAY_CHOICES = sorted(WEEKDAYS.items())


class WeekForm(forms.Form):
    week = forms.DateField(
        label=_("Week"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Any day of the week: the plan covers its Monday to Sunday."),
    )

    def clean_week(self) -> dt.date:
        return monday_of(self.cleaned_data["week"])


class CopyWeekForm(WeekForm):
    """Copy the schedules of the week before the chosen one into it."""

    week = forms.DateField(
        label=_("Copy into the week of"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Any day of the week: the week before it is copied into it."),
    )

    def schedules(self) -> list[Schedule]:
        """Unsaved copies, one week later, of every schedule of the week before."""
        target = self.cleaned_data["week"]
        source = target - dt.timedelta(days=7)
        originals = (
            Schedule.objects.filter(work_date__gte=source, work_date__lt=target)
            .select_related("department", "doctor", "room")
            .order_by("work_date", "time_slot", "doctor__emp_id", "id")
        )
        return [
            Schedule(
                department=original.department,
                room=original.room,
                doctor=original.doctor,
                work_date=original.work_date + dt.timedelta(days=7),
                time_slot=original.time_slot,
                max_patients=original.max_patients,
            )
            for original in originals
        ]


def planner_doctors() -> models.QuerySet[Employee]:
    return (
        Employee.objects.filter(position=Position.DOCTOR, status=EmployeeStatus.ACTIVE)
        .select_related("department")
        .order_by("department__name", "emp_id")
    )


def planner_rooms() -> models.QuerySet[Room]:
    return (
        Room.objects.filter(status=RoomStatus.ACTIVE)
        .select_related("department")
        .order_by("room_number")
    )


class PatternRowForm(forms.Form):
    """One line of a week pattern: a doctor in a room on some weekdays and slots."""

    doctor = forms.ModelChoiceField(label=_("Doctor"), queryset=planner_doctors())
    room = forms.ModelChoiceField(label=_("Room"), queryset=planner_rooms())
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Weekdays"),
        choices=WEEKDAY_CHOICES,
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        initial=[0, 1, 2, 3, 4],
    )
    time_slots = forms.MultipleChoiceField(
        label=_("Slots"),
        choices=TimeSlot.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[TimeSlot.MORNING],
    )
    max_patients = forms.IntegerField(label=_("Places"), min_value=1, max_value=999, initial=20)

    def __init__(
        self,
        *args: Any,
        doctor_choices: list[tuple[Any, str]] | None = None,
        room_choices: list[tuple[Any, str]] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        # Choices read once for the whole formset, not once per row.
        if doctor_choices is not None:
            self.fields["doctor"].choices = doctor_choices
        if room_choices is not None:
            self.fields["room"].choices = room_choices

    def schedules(self, week: dt.date) -> list[Schedule]:
        data = self.cleaned_data
        doctor, room = data["doctor"], data["room"]
        return [
            Schedule(
                department=doctor.department,
                room=room,
                doctor=doctor,
                work_date=week + dt.timedelta(days=weekday),
                time_slot=time_slot,
                max_patients=data["max_patients"],
            )
            for weekday in sorted(data["weekdays"])
            for time_slot in TimeSlot.values
            if time_slot in data["time_slots"]
        ]


class BasePatternFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        if not any(form.has_changed() for form in self.forms):
            raise ValidationError(_("Fill in at least one line of the pattern."))

    def schedules(self, week: dt.date) -> list[Schedule]:
        """Every schedule of the pattern for that week, by date, slot and doctor."""
        planned = [
            schedule
            for form in self.forms
            if form.has_changed()
            for schedule in form.schedules(week)
        ]
        slot_order = {slot: index for index, slot in enumerate(TimeSlot.values)}
        return sorted(
            planned,
            key=lambda s: (s.work_date, slot_order[s.time_slot], s.doctor.emp_id, s.room_id),
        )


PatternFormSet = forms.formset_factory(
    PatternRowForm, formset=BasePatternFormSet, extra=4, max_num=40, validate_max=True
)


def pattern_choices() -> dict[str, list[tuple[Any, str]]]:
    """The doctors and rooms a pattern offers, read once (form_kwargs of PatternFormSet)."""
    blank = [("", "---------")]
    return {
        "doctor_choices": blank
        + [
            (doctor.pk, f"{doctor.name} ({doctor.emp_id}) · {doctor.department}")
            for doctor in planner_doctors()
        ],
        "room_choices": blank
        + [(room.pk, f"{room.room_number} · {room.department}") for room in planner_rooms()],
    }
