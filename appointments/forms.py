from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.models import AppointmentStatus
from clinic.forms import DateField, PhoneField, ResidentIdField
from clinic.models import Department, Employee, EmployeeStatus, Position
from scheduling.models import (
    HALF_DAY_SLOTS,
    TimeSlot,
    at_clinic_time,
    half_day_slot_at,
    slot_bounds,
)
from scheduling.selectors import booking_horizon_end

# The booking service names the time it checks `expected_time`; on these forms it is the window.
SERVICE_ERROR_FIELDS = {
    "expected_time": "window",
    "doctor_id": "doctor",
    "department": "department",
}


WINDOW_PATTERN = re.compile(r"([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)")


def parse_window(value: str) -> tuple[dt.time, dt.time] | None:
    """A window as the booking pages post it, "09:30-10:00": its start and end, or None for
    anything else (seconds, time zones, ends before starts)."""
    found = WINDOW_PATTERN.fullmatch(value.strip())
    if found is None:
        return None
    hour, minute, end_hour, end_minute = (int(part) for part in found.groups())
    times = dt.time(hour, minute), dt.time(end_hour, end_minute)
    return times if times[0] < times[1] else None


class BookingForm(forms.Form):
    """Department, date and booking window (and optionally a doctor) for a booking."""

    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.filter(is_active=True).order_by("name"),
        empty_label=_("Choose a department"),
    )
    date = DateField(label=_("Date"))
    # The window's start and end ("09:30-10:00"); the booking service takes the window of
    # each schedule that contains its start. The pages list the windows with free places.
    window = forms.CharField(label=_("Time"), max_length=16)
    doctor = forms.ModelChoiceField(
        label=_("Doctor"),
        queryset=Employee.objects.filter(
            position=Position.DOCTOR, status=EmployeeStatus.ACTIVE
        ).order_by("emp_id"),
        required=False,
        empty_label=_("Any doctor"),
        widget=forms.RadioSelect,
    )

    def __init__(self, *args: Any, now: dt.datetime | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.now = now or timezone.now()
        today = timezone.localdate(self.now)
        self.fields["date"].widget.attrs.update(
            {"min": today.isoformat(), "max": booking_horizon_end(today).isoformat()}
        )

    def clean_date(self) -> dt.date:
        date = self.cleaned_data["date"]
        today = timezone.localdate(self.now)
        if date < today:
            raise forms.ValidationError(_("Choose today or a later date."))
        horizon = booking_horizon_end(today)
        if date > horizon:
            raise forms.ValidationError(
                _("Bookings open up to %(date)s.") % {"date": horizon.isoformat()}
            )
        return date

    def clean_window(self) -> tuple[dt.time, dt.time]:
        window = parse_window(self.cleaned_data["window"])
        if window is None:
            raise forms.ValidationError(_("Choose a time window from the list."))
        return window

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        department, doctor = cleaned.get("department"), cleaned.get("doctor")
        if department and doctor and doctor.department_id != department.pk:
            self.add_error("doctor", _("This doctor does not work in the chosen department."))
        date, window = cleaned.get("date"), cleaned.get("window")
        # As the pages show it (scheduling.selectors: a window has ended once its end is past).
        if date and window and at_clinic_time(date, window[1]) <= self.now:
            self.add_error("window", _("This time window has already ended."))
        return cleaned

    @property
    def expected_time(self) -> dt.datetime:
        """The chosen window's start (the booking service takes the window containing it).
        A window that began in a half-day slot that is over while it still runs (one window
        for a whole day) is booked at now, in the half running; an ended window keeps its
        start, and the booking service says that it has ended."""
        date = self.cleaned_data["date"]
        start, end = self.cleaned_data["window"]
        starts_at, ends_at = at_clinic_time(date, start), at_clinic_time(date, end)
        now = self.now.replace(second=0, microsecond=0)
        half = half_day_slot_at(start)
        if starts_at <= now < ends_at and half is not None and slot_bounds(date, half)[1] <= now:
            return now
        return starts_at


class PhoneBookingForm(BookingForm):
    """The desk books for a caller by name and phone; no account needed."""

    patient_name = forms.CharField(label=_("Caller's name"), max_length=50)
    phone = PhoneField()
    id_card = ResidentIdField(required=False, help_text=_("Optional; checked at check-in."))

    field_order = ("patient_name", "phone", "id_card", "department", "date")


class DeskFilterForm(forms.Form):
    date = DateField(label=_("Date"), required=False)
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.order_by("name"),
        required=False,
        empty_label=_("All departments"),
    )
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[("", _("All statuses")), *AppointmentStatus.choices],
        required=False,
    )


class CancelForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (optional)"),
        max_length=200,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )


class DeskWaitlistFilterForm(forms.Form):
    """Which slot's waitlist the desk looks at: a department, a date and a half-day."""

    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.order_by("name"),
        empty_label=_("Choose a department"),
    )
    date = DateField(label=_("Date"))
    slot = forms.ChoiceField(
        label=_("Half-day"),
        choices=[(slot.value, slot.label) for slot in TimeSlot if slot in HALF_DAY_SLOTS],
    )
