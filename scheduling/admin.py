from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from clinic.admin_utils import ServiceAdminMixin
from scheduling.forms import ScheduleForm
from scheduling.models import Schedule
from scheduling.services import delete_schedule, save_schedule


@admin.register(Schedule)
class ScheduleAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = ScheduleForm
    list_display = (
        "work_date",
        "time_slot",
        "department",
        "doctor",
        "room",
        "max_patients",
        "current_patients",
        "remaining",
    )
    list_filter = ("time_slot", "department", "work_date")
    list_select_related = ("department", "doctor", "room")
    search_fields = ("doctor__name", "doctor__emp_id", "room__room_number", "department__name")
    date_hierarchy = "work_date"
    autocomplete_fields = ("doctor", "room")
    readonly_fields = ("current_patients",)
    fields = ("department", "room", "doctor", "work_date", "time_slot", "max_patients")

    @admin.display(description=_("places left"))
    def remaining(self, obj: Schedule) -> int:
        return obj.remaining_places

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A schedule that holds places has patients counting on it.
        if obj is not None and obj.current_patients > 0:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Schedule, form: Any, change: bool) -> None:
        save_schedule(schedule=obj, by=request.user)

    def delete_model(self, request: HttpRequest, obj: Schedule) -> None:
        delete_schedule(schedule=obj, by=request.user)
