from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.models import AppointmentStatus
from clinic.forms import DateField, PhoneField, ResidentIdField
from clinic.models import Department, Employee, EmployeeStatus, Position
from scheduling.models import HALF_DAY_SLOTS, TimeSlot, slot_bounds
from scheduling.selectors import booking_horizon_end

# The booking service names the time it checks `expected_time`; on these forms it is the slot.
SERVICE_ERROR_FIELDS = {
    "expected_time": "time_slot",
    "doctor_id": "doctor",
    "department": "department",
}


class BookingForm(forms.Form):
    """Department, date and half-day slot (and optionally a doctor) for a booking."""

    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.filter(is_active=True).order_by("name"),
        empty_label=_("Choose a department"),
    )
    date = DateField(label=_("Date"))
    time_slot = forms.ChoiceField(
        label=_("Time"),
        choices=[(slot.value, slot.label) for slot in HALF_DAY_SLOTS],
        widget=forms.RadioSelect,
    )
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

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        department, doctor = cleaned.get("department"), cleaned.get("doctor")
        if department and doctor and doctor.department_id != department.pk:
            self.add_error("doctor", _("This doctor does not work in the chosen department."))
        return cleaned

    @property
    def expected_time(self) -> dt.datetime:
        """The slot's start, or now when the slot is already running. A slot that has ended
        keeps its start: now would fall in another slot, and the booking service must say
        that this one has ended."""
        starts_at, ends_at = slot_bounds(
            self.cleaned_data["date"], TimeSlot(self.cleaned_data["time_slot"])
        )
        now = self.now.replace(second=0, microsecond=0)
        return now if starts_at <= now < ends_at else starts_at


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
