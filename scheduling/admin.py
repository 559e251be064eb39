from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from clinic.admin_utils import ServiceAdminMixin, audit_trail_link
from clinic.exceptions import ClinicError
from scheduling.forms import ScheduleForm, WindowQuotasForm
from scheduling.models import Schedule
from scheduling.services import delete_schedule, save_schedule, set_window_quotas


def windows_url(schedule_id: int) -> str:
    """The admin page of a schedule's windows (their quotas, kept for the desk or not)."""
    return reverse("admin:scheduling_schedule_windows", args=[schedule_id])


@admin.register(Schedule)
class ScheduleAdmin(ServiceAdminMixin, admin.ModelAdmin):
    form = ScheduleForm
    list_display = (
        "work_date",
        "hours",
        "time_slot",
        "department",
        "doctor",
        "room",
        "window_minutes",
        "max_patients",
        "current_patients",
        "remaining",
    )
    list_filter = ("time_slot", "department", "work_date")
    list_select_related = ("department", "doctor", "room")
    search_fields = ("doctor__name", "doctor__emp_id", "room__room_number", "department__name")
    date_hierarchy = "work_date"
    autocomplete_fields = ("doctor", "room")
    readonly_fields = ("current_patients", "windows")
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
        "windows",
    )

    @admin.display(description=_("hours"), ordering="start_time")
    def hours(self, obj: Schedule) -> str:
        return obj.hours_label

    @admin.display(description=_("places left"))
    def remaining(self, obj: Schedule) -> int:
        return obj.remaining_places

    @admin.display(description=_("booking windows"))
    def windows(self, obj: Schedule | None) -> str:
        if obj is None or obj.pk is None:
            return str(_("Made when the schedule is saved."))
        count = obj.windows.count()
        return format_html(
            '<a href="{}" id="schedule-windows-link">{}</a>',
            windows_url(obj.pk),
            ngettext(
                "%(count)d window: set its quota",
                "%(count)d windows: set their quotas and keep some for the desk",
                count,
            )
            % {"count": count},
        )

    def get_urls(self) -> list[URLPattern]:
        return [
            path(
                "<path:object_id>/windows/",
                self.admin_site.admin_view(self.windows_view),
                name="scheduling_schedule_windows",
            ),
            *super().get_urls(),
        ]

    def windows_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """A schedule's windows: each one's quota and whether it is kept for the desk. Saved
        through set_window_quotas (locked, audited as `schedule.windows_changed`); the
        schedule's maximum becomes the sum of the quotas."""
        schedule = self.get_object(request, object_id)
        if schedule is None:
            raise Http404(_("No such schedule."))
        if not self.has_view_or_change_permission(request, schedule):
            raise PermissionDenied
        editable = self.has_change_permission(request, schedule)
        windows = list(schedule.windows.order_by("start_time"))
        status = 200
        if request.method == "POST":
            if not editable:
                raise PermissionDenied
            form = WindowQuotasForm(request.POST, windows=windows)
            if form.is_valid():
                try:
                    set_window_quotas(schedule=schedule, quotas=form.quotas(), by=request.user)
                except ValidationError as error:
                    form.add_service_errors(error)
                except ClinicError as error:
                    form.add_error(None, error.message)
                else:
                    self.message_user(
                        request, _("The windows' quotas were saved."), level=messages.SUCCESS
                    )
                    return HttpResponseRedirect(request.path)
            status = 400
        else:
            form = WindowQuotasForm(windows=windows)
        opts = self.model._meta
        context = {
            **self.admin_site.each_context(request),
            "opts": opts,
            "original": schedule,
            "title": _("Booking windows of %(schedule)s") % {"schedule": schedule},
            "form": form,
            "editable": editable,
            "audit_link": audit_trail_link(schedule, _("Changes to this schedule")),
        }
        return TemplateResponse(
            request, "admin/scheduling/schedule/windows.html", context, status=status
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A schedule that holds places has patients counting on it.
        if obj is not None and obj.current_patients > 0:
            return False
        return super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: Schedule, form: Any, change: bool) -> None:
        save_schedule(schedule=obj, by=request.user)

    def delete_model(self, request: HttpRequest, obj: Schedule) -> None:
        delete_schedule(schedule=obj, by=request.user)
