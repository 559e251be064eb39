from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from appointments.models import Appointment
from appointments.search import APPOINTMENT_SEARCH_HELP, appointment_filter
from clinic.admin_utils import ReadOnlyModelAdmin
from clinic.search import parse_term


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
    # The box shows because search_fields is set; what it finds is appointments.search's rule.
    search_fields = ("reference", "patient_name", "phone")
    search_help_text = APPOINTMENT_SEARCH_HELP
    date_hierarchy = "schedule__work_date"

    def get_search_results(self, request, queryset, search_term):
        return queryset.filter(appointment_filter(parse_term(search_term))), False

    @admin.display(description=_("doctor"))
    def doctor(self, obj: Appointment) -> str:
        return obj.schedule.doctor.name
