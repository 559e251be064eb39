from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from appointments.models import Appointment
from clinic.admin_utils import ReadOnlyModelAdmin


@admin.register(Appointment)
class AppointmentAdmin(ReadOnlyModelAdmin):
    list_display = (
        "reference",
        "patient_name",
        "phone",
        "department",
        "doctor",
        "expected_time",
        "status",
    )
    list_filter = ("status", "department", "schedule__time_slot")
    list_select_related = ("department", "schedule__doctor")
    search_fields = ("=reference", "patient_name", "=phone")
    date_hierarchy = "schedule__work_date"

    @admin.display(description=_("doctor"))
    def doctor(self, obj: Appointment) -> str:
        return obj.schedule.doctor.name
