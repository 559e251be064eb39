"""Messages in Django Admin: read only (a message changes only by being sent, cancelled or
sent again), with the desk's "send again" as an action through the same audited service."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from clinic.admin_utils import ReadOnlyModelAdmin
from clinic.exceptions import ClinicError
from clinic.search import PATIENT_SEARCH_HELP, parse_term, patient_filter, prefix_lookup
from notifications.models import Notification, PeriodicRun
from notifications.services import resend


@admin.register(Notification)
class NotificationAdmin(ReadOnlyModelAdmin):
    list_display = (
        "created_at",
        "kind",
        "patient",
        "channel",
        "recipient",
        "status",
        "attempts",
        "send_after",
        "sent_at",
    )
    list_filter = ("kind", "status", "channel")
    list_select_related = ("patient",)
    # The box shows because search_fields is set; what it finds: the recipient's beginning,
    # or the patient by clinic.search's rule.
    search_fields = ("recipient",)
    search_help_text = format_lazy(
        "{} {}",
        _("The beginning of the recipient (phone or e-mail), or a patient:"),
        PATIENT_SEARCH_HELP,
    )
    # No date_hierarchy: on MySQL/MariaDB it needs the time-zone tables (ARCHITECTURE.md).
    actions = ("send_again",)

    def get_search_results(self, request, queryset, search_term):
        text = search_term.strip()
        if not text:
            return queryset, False
        by_patient = patient_filter(parse_term(text), prefix="patient__")
        return queryset.filter(prefix_lookup("recipient", text) | by_patient), False

    @admin.action(description=_("Send the selected messages again"))
    def send_again(self, request: HttpRequest, queryset: QuerySet[Notification]) -> None:
        done = 0
        for notification in queryset.order_by("id"):
            try:
                resend(notification=notification, by=request.user)
            except ClinicError as error:
                self.message_user(request, f"{notification}: {error.message}", messages.WARNING)
            else:
                done += 1
        if done:
            self.message_user(
                request,
                ngettext(
                    "%(count)d message is sent again.",
                    "%(count)d messages are sent again.",
                    done,
                )
                % {"count": done},
                messages.SUCCESS,
            )


@admin.register(PeriodicRun)
class PeriodicRunAdmin(ReadOnlyModelAdmin):
    list_display = ("task_path", "last_enqueued_at")
    ordering = ("task_path",)
