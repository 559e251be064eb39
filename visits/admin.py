from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from clinic.admin_utils import ReadOnlyModelAdmin
from visits.models import MedicalRecord, Visit


@admin.register(Visit)
class VisitAdmin(ReadOnlyModelAdmin):
    list_display = (
        "visit_date",
        "queue_number",
        "patient",
        "department",
        "doctor",
        "room",
        "status",
        "check_in_time",
    )
    list_filter = ("status", "department", "visit_date")
    list_select_related = ("patient", "department", "schedule__doctor", "schedule__room")
    search_fields = ("patient__name", "=patient__phone", "=patient__id_card")
    date_hierarchy = "visit_date"

    @admin.display(description=_("doctor"))
    def doctor(self, obj: Visit) -> str:
        return obj.schedule.doctor.name

    @admin.display(description=_("room"))
    def room(self, obj: Visit) -> str:
        return obj.schedule.room.room_number


@admin.register(MedicalRecord)
class MedicalRecordAdmin(ReadOnlyModelAdmin):
    list_display = ("visit", "diagnosis", "updated_at", "updated_by")
    list_select_related = ("visit__patient", "updated_by")
    search_fields = ("visit__patient__name", "=visit__patient__phone", "diagnosis")
    date_hierarchy = "visit__visit_date"
