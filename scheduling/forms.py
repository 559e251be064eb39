from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from clinic.forms import DateField
from clinic.models import Employee, EmployeeStatus, Position, Room, RoomStatus
from scheduling.models import Schedule, TimeSlot, monday_of
from scheduling.services import WeekLine


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
# The forms only check what the administrator typed; scheduling.services creates the week.

WEEKDAY_CHOICES = sorted(WEEKDAYS.items())
# A pattern line's doctor field, by the name the page posts ("pattern-0-doctor").
DOCTOR_FIELD_NAME = re.compile(r"^(?P<prefix>pattern-\d{1,2})-doctor$")


class WeekForm(forms.Form):
    week = DateField(
        label=_("Week"),
        help_text=_("Any day of the week: the plan covers its Monday to Sunday."),
    )

    def clean_week(self) -> dt.date:
        return monday_of(self.cleaned_data["week"])


class PlannerWeekForm(WeekForm):
    """The planner's week: choosing another one shows its schedules at once (HTMX; without
    JavaScript the grid's previous/next links do)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["week"].widget.attrs.update(
            {
                "hx-get": reverse("scheduling:planner"),
                "hx-trigger": "change",
                "hx-target": "#week-grid",
                "hx-swap": "outerHTML",
                "hx-push-url": "true",
            }
        )


class CopyWeekForm(WeekForm):
    """Copy the schedules of the week before the chosen one into it."""

    week = DateField(
        label=_("Copy into the week of"),
        help_text=_("Any day of the week: the week before it is copied into it."),
    )


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
        .order_by("department__name", "room_number")
    )


Choice = tuple[Any, Any]
BLANK: list[Choice] = [("", "---------")]


@dataclass(frozen=True)
class PlannerChoices:
    """The doctors and rooms a pattern offers, read once for the whole formset (two queries),
    and which rooms go with which doctor: a doctor works in the rooms of their department."""

    doctors: list[Choice]
    doctor_departments: dict[str, int]
    rooms: dict[int, list[Choice]]  # department id → its rooms
    department_names: dict[int, str]

    def department_of(self, doctor: object) -> int | None:
        return self.doctor_departments.get(str(doctor or ""))

    def room_choices(self, department_id: int | None) -> list[Choice]:
        """The rooms of one department; every room, grouped by department, when no doctor
        is chosen yet."""
        if department_id is not None:
            return BLANK + self.rooms.get(department_id, [])
        return BLANK + [
            (self.department_names[department], rooms) for department, rooms in self.rooms.items()
        ]


def pattern_choices() -> dict[str, PlannerChoices]:
    """The form_kwargs of PatternFormSet: the doctors and rooms, read once."""
    doctors = list(planner_doctors())
    rooms: dict[int, list[Choice]] = {}
    names: dict[int, str] = {}
    for room in planner_rooms():
        rooms.setdefault(room.department_id, []).append(
            (room.pk, f"{room.room_number} · {room.department}")
        )
        names[room.department_id] = str(room.department)
    return {
        "choices": PlannerChoices(
            doctors=BLANK
            + [
                (doctor.pk, f"{doctor.name} ({doctor.emp_id}) · {doctor.department}")
                for doctor in doctors
            ],
            doctor_departments={str(doctor.pk): doctor.department_id for doctor in doctors},
            rooms=rooms,
            department_names=names,
        )
    }


class PatternRowForm(forms.Form):
    """One line of a week pattern: a doctor in a room on some weekdays and slots.

    The room must be one of the doctor's department: the page offers only those once a
    doctor is chosen (the doctor's select asks the server for them), and clean() refuses any
    other with a field error.
    """

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

    def __init__(self, *args: Any, choices: PlannerChoices | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["doctor"].widget.attrs.update(
            {
                "hx-get": reverse("scheduling:planner-rooms"),
                "hx-trigger": "change",
                "hx-target": f"#{self['room'].auto_id}",
                "hx-swap": "outerHTML",
            }
        )
        # Choices read once for the whole formset, not once per line.
        if choices is not None:
            self.fields["doctor"].choices = choices.doctors
            self.fields["room"].choices = choices.room_choices(
                choices.department_of(self._chosen_doctor())
            )

    def _chosen_doctor(self) -> object:
        if self.is_bound:
            return self.data.get(self.add_prefix("doctor"))
        return self.initial.get("doctor")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        doctor, room = cleaned.get("doctor"), cleaned.get("room")
        if doctor and room and room.department_id != doctor.department_id:
            # The same rule (and words) as Schedule.clean, before any schedule is made.
            self.add_error("room", _("The room belongs to another department."))
        return cleaned

    def line(self) -> WeekLine:
        data = self.cleaned_data
        return WeekLine(
            doctor=data["doctor"],
            room=data["room"],
            weekdays=data["weekdays"],
            time_slots=data["time_slots"],
            max_patients=data["max_patients"],
        )


class BasePatternFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        if not any(form.has_changed() for form in self.forms):
            raise ValidationError(_("Fill in at least one line of the pattern."))

    def lines(self) -> list[WeekLine]:
        """The lines filled in."""
        return [form.line() for form in self.forms if form.has_changed()]


PatternFormSet = forms.formset_factory(
    PatternRowForm, formset=BasePatternFormSet, extra=4, max_num=40, validate_max=True
)
