"""Shared pieces for the apps' ModelAdmins."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect

from clinic.db import atomic_with_retry
from clinic.exceptions import ClinicError


class ReadOnlyAdminMixin:
    """Visible to administrators, never written through the admin.

    Workflow records (appointments, visits, bills, income, audit) change only through their
    model methods and services, which lock, check the state machine and audit the move.
    """

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyModelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_per_page = 50


class ServiceAdminMixin:
    """For the ModelAdmins of clinic data that Django Admin may change: every write goes
    through the app's service, which validates under lock and records the audit event.

    Subclasses call their services from save_model() and delete_model(); the bulk "delete
    selected" action deletes each record through delete_model(), all or none. The admin's
    form has checked the input already, but a service can still refuse what changed since
    (a race lost): that becomes an error message on the same page, never a 500, and its
    transaction has changed nothing.
    """

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        @atomic_with_retry
        def delete_each() -> None:
            for obj in queryset:
                self.delete_model(request, obj)

        delete_each()

    def changeform_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().changeform_view(request, *args, **kwargs)
        except (ClinicError, ValidationError) as error:
            return self.refused(request, error)

    def delete_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().delete_view(request, *args, **kwargs)
        except (ClinicError, ValidationError) as error:
            return self.refused(request, error)

    def changelist_view(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        # The actions, the bulk delete among them, run from the list.
        try:
            return super().changelist_view(request, *args, **kwargs)
        except (ClinicError, ValidationError) as error:
            return self.refused(request, error)

    def refused(self, request: HttpRequest, error: ClinicError | ValidationError) -> HttpResponse:
        """The refusal as an error message, back on the page that asked."""
        message = error.message if isinstance(error, ClinicError) else " ".join(error.messages)
        self.message_user(request, message, level=messages.ERROR)
        return HttpResponseRedirect(request.get_full_path())
