from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.urls import reverse
from django.utils.dates import WEEKDAYS
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from clinic.forms import DateField
from clinic.models import Employee, EmployeeStatus, Position, Room, RoomStatus
from scheduling.models import (
    MAX_WINDOW_MINUTES,
    MIN_WINDOW_MINUTES,
    Schedule,
    ScheduleWindow,
    TimeSlot,
    monday_of,
)
from scheduling.services import WeekLine, WindowQuota

# A window's quota: far above a window's patients, far below any integer limit.
MAX_WINDOW_QUOTA = 1000


# Formatted when shown, in the page's language (a % at import would freeze one language).
WINDOW_MINUTES_HELP = lazy(
    lambda: (
        _(
            "The length of a booking window, %(min)d to %(max)d minutes; empty: one window for "
            "the whole schedule."
        )
        % {"min": MIN_WINDOW_MINUTES, "max": MAX_WINDOW_MINUTES}
    ),
    str,
)()


def window_minutes_field(**kwargs: Any) -> forms.IntegerField:
    """A window length: the schedule is cut into windows of this many minutes (empty: one)."""
    return forms.IntegerField(
        label=_("Window length (minutes)"),
        required=False,
        min_value=MIN_WINDOW_MINUTES,
        max_value=MAX_WINDOW_MINUTES,
        help_text=WINDOW_MINUTES_HELP,
        **kwargs,
    )


def time_field(label: Any) -> forms.TimeField:
    return forms.TimeField(
        label=label,
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )


def clean_hours(form: forms.Form, cleaned: dict[str, Any], *, slot_field: str) -> None:
    """Both times or neither; neither needs a preset (`slot_field`) to take the hours of."""
    start, end = cleaned.get("start_time"), cleaned.get("end_time")
    if "start_time" in form.errors or "end_time" in form.errors:
        return
    if (start is None) != (end is None):
        missing = "end_time" if end is None else "start_time"
        form.add_error(missing, _("Give both times, or neither for the preset's hours."))
    elif start is None and not cleaned.get(slot_field) and slot_field not in form.errors:
        form.add_error(slot_field, _("Choose a preset, or give the start and end times."))


class ScheduleForm(forms.ModelForm):
    """Used by Django Admin. The admin's change view runs in one transaction, so the locks
    taken in clean() hold until the schedule is saved.

    The hours: a preset (`time_slot`) alone gives its hours; start and end times give the
    half-day they lie in. A new schedule's windows default to CLINIC_WINDOW_MINUTES."""

    start_time = time_field(_("Starts at"))
    end_time = time_field(_("Ends at"))
    window_minutes = window_minutes_field()

    class Meta:
        model = Schedule
        fields = (
            "department",
            "room",
            "doctor",
            "work_date",
            "time_slot",
            "start_time",
            "end_time",
            "window_minutes",
            "max_patients",
        )
        help_texts = {
            "time_slot": _(
                "A preset: its hours when no times are given. With times, the half-day they "
                "lie in is taken."
            ),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_slot"].required = False
        self.fields["start_time"].help_text = _("Empty: the preset's hours.")
        if self.instance.pk is None and "window_minutes" not in self.initial:
            self.initial["window_minutes"] = settings.CLINIC_WINDOW_MINUTES

    def clean(self):
        cleaned = super().clean()
        clean_hours(self, cleaned, slot_field="time_slot")
        moved = "time_slot" in self.changed_data and cleaned.get("time_slot")
        if moved and not {"start_time", "end_time"} & set(self.changed_data):
            # A preset chosen anew, the times left as they were: the preset's hours (as
            # save_schedule does for the API), not the slot the old times lie in.
            cleaned["start_time"] = cleaned["end_time"] = None
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
    """One line of a week pattern: a doctor in a room on some weekdays, from a start to an
    end time (or in preset slots), with windows of some minutes.

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
        required=False,
    )
    # Beside the slots; the pattern's legend explains the times and windows once for all.
    window_minutes = window_minutes_field()
    start_time = time_field(_("Starts at"))
    end_time = time_field(_("Ends at"))
    max_patients = forms.IntegerField(label=_("Places"), min_value=1, max_value=999, initial=20)

    def __init__(self, *args: Any, choices: PlannerChoices | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["window_minutes"].initial = settings.CLINIC_WINDOW_MINUTES
        self.fields["window_minutes"].help_text = ""
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
        clean_hours(self, cleaned, slot_field="time_slots")
        start, end = cleaned.get("start_time"), cleaned.get("end_time")
        if start is not None and end is not None:
            # The schedules' own rule (and words), before any schedule is made.
            for field, message in Schedule(start_time=start, end_time=end).time_errors().items():
                self.add_error(field, message)
        return cleaned

    def line(self) -> WeekLine:
        data = self.cleaned_data
        return WeekLine(
            doctor=data["doctor"],
            room=data["room"],
            weekdays=data["weekdays"],
            time_slots=data["time_slots"],
            max_patients=data["max_patients"],
            start_time=data["start_time"],
            end_time=data["end_time"],
            window_minutes=data["window_minutes"],
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


# --- A schedule's windows -------------------------------------------------------------------


class WindowQuotasForm(forms.Form):
    """Each window of a schedule: its quota and whether it is kept for the desk. The fields
    are named after the windows (`window_<id>_quota`, `window_<id>_desk_only`); the service
    (scheduling.services.set_window_quotas) checks the quotas against the places held, under
    lock, and its errors land on the window's quota."""

    def __init__(self, *args: Any, windows: list[ScheduleWindow], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.windows = windows
        for window in windows:
            self.fields[self.quota_name(window.pk)] = forms.IntegerField(
                label=_("Quota of %(window)s") % {"window": window.label},
                min_value=0,
                max_value=MAX_WINDOW_QUOTA,
                initial=window.quota,
            )
            self.fields[self.desk_only_name(window.pk)] = forms.BooleanField(
                label=_("%(window)s kept for the desk") % {"window": window.label},
                required=False,
                initial=window.desk_only,
            )

    @staticmethod
    def quota_name(window_id: int) -> str:
        return f"window_{window_id}_quota"

    @staticmethod
    def desk_only_name(window_id: int) -> str:
        return f"window_{window_id}_desk_only"

    def rows(self) -> list[tuple[ScheduleWindow, forms.BoundField, forms.BoundField]]:
        return [
            (window, self[self.quota_name(window.pk)], self[self.desk_only_name(window.pk)])
            for window in self.windows
        ]

    def quotas(self) -> list[WindowQuota]:
        data = self.cleaned_data
        return [
            WindowQuota(
                window_id=window.pk,
                quota=data[self.quota_name(window.pk)],
                desk_only=data[self.desk_only_name(window.pk)],
            )
            for window in self.windows
        ]

    def add_service_errors(self, error: ValidationError) -> None:
        """The service's errors (`window_<id>`, or the whole form's) on the fields."""
        for key, messages in error.message_dict.items():
            name = f"{key}_quota"
            self.add_error(name if name in self.fields else None, messages)
