from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from appointments import waitlist
from appointments.models import LIVE_WAITLIST_STATUSES, Appointment, WaitlistEntry
from appointments.search import APPOINTMENT_SEARCH_HELP, appointment_filter
from clinic.admin_utils import ReadOnlyModelAdmin
from clinic.exceptions import ClinicError
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


@admin.register(WaitlistEntry)
class WaitlistEntryAdmin(ReadOnlyModelAdmin):
    """Read-only: entries move only through appointments.waitlist (the action below too)."""

    list_display = (
        "patient_name",
        "phone",
        "department",
        "work_date",
        "time_slot",
        "window_label",
        "doctor",
        "status",
        "offer_expires_at",
        "created_at",
    )
    list_filter = ("status", "department", "time_slot")
    list_select_related = ("department", "doctor")
    search_fields = ("patient_name", "phone")
    date_hierarchy = "work_date"
    ordering = ("work_date", "time_slot", "created_at", "id")
    actions = ("take_off_the_waitlist",)

    @admin.display(description=_("time window"))
    def window_label(self, obj: WaitlistEntry) -> str:
        return obj.window_label

    @admin.action(description=_("Take off the waitlist (a place held goes to the next)"))
    def take_off_the_waitlist(self, request: HttpRequest, queryset: QuerySet) -> None:
        done = 0
        for entry in queryset.filter(status__in=LIVE_WAITLIST_STATUSES):
            try:
                waitlist.leave(by=request.user, entry=entry)
            except ClinicError as error:
                self.message_user(request, f"{entry}: {error.message}", messages.ERROR)
            else:
                done += 1
        self.message_user(request, _("%(count)d taken off the waitlist.") % {"count": done})
