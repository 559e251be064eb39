from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from clinic.exceptions import ClinicError


class NoCapacity(ClinicError):
    """Every matching schedule is full. `details` names the slot and offers alternatives."""

    code = "no_capacity"
    status = 409
    default_message = _("No place is left in this slot.")


class NoSchedule(ClinicError):
    code = "no_schedule"
    status = 409
    default_message = _("Nobody is scheduled to see patients in this department at that time.")


class OutsideClinicHours(ClinicError):
    code = "outside_clinic_hours"
    status = 400
    default_message = _("The clinic is not open at that time.")


class SlotEnded(ClinicError):
    code = "slot_ended"
    status = 400
    default_message = _("This slot has already ended.")


class BeyondHorizon(ClinicError):
    code = "beyond_horizon"
    status = 400
    default_message = _("Bookings open a limited number of days ahead.")


class ScheduleInUse(ClinicError):
    code = "schedule_in_use"
    status = 409
    default_message = _("This schedule holds booked places and cannot be removed.")
