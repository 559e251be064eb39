from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext_lazy as _

from clinic.forms import DateField
from clinic.models import Employee, EmployeeStatus, Position, Room, RoomStatus
from scheduling.models import Schedule, TimeSlot
from scheduling.services import WeekLine, monday_of


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


def next_monday(today: dt.date | None = None) -> dt.date:
    return monday_of(today or timezone.localdate()) + dt.timedelta(days=7)


WEEKDAY_CHOICES = sorted(WEEKDAYS.items())


class WeekForm(forms.Form):
    week = DateField(
        label=_("Week"),
        help_text=_("Any day of the week: the plan covers its Monday to Sunday."),
    )

    def clean_week(self) -> dt.date:
        return monday_of(self.cleaned_data["week"])


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
