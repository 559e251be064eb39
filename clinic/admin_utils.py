"""Shared pieces for the apps' ModelAdmins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from clinic.db import atomic_with_retry
from clinic.exceptions import ClinicError


def audit_trail_link(obj: Any, text: str) -> str:
    """A link to `obj`'s events in the audit list (their old and new values)."""
    return format_html(
        '<p><a href="{}?object_type={}&amp;object_id={}">{}</a></p>',
        reverse("admin:clinic_auditevent_changelist"),
        obj._meta.label_lower,
        obj.pk,
        text,
    )


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


class CsvImportAdminMixin:
    """A catalogue's "import from CSV" admin page (the fee catalogue, the diagnosis
    catalogue): upload a file; every line is checked first, errors are listed by line and
    nothing is imported; otherwise back to the change list with what was added and changed.

    Subclasses set the upload form (one "file" field), the size refused before the file is
    read, the page title and the app's import service (`import_service`, called with the
    file's bytes and the user: a result with errors [(line, message)], added and changed;
    ClinicError when another change runs at once), and put import_url() in get_urls().
    """

    import_form: type[forms.Form]
    import_max_bytes: int
    import_title: str
    import_service: Callable[..., Any]
    import_template = "clinic/admin/csv_import.html"

    def import_url(self) -> URLPattern:
        opts = self.model._meta
        return path(
            "import/",
            self.admin_site.admin_view(self.import_view),
            name=f"{opts.app_label}_{opts.model_name}_import",
        )

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Upload a CSV; errors are listed by line and nothing is imported."""
        if not self.has_add_permission(request) or not self.has_change_permission(request):
            raise PermissionDenied
        errors: list[tuple[int, str]] = []
        status = 200
        if request.method == "POST":
            form = self.import_form(request.POST, request.FILES)
            if form.is_valid():
                upload = form.cleaned_data["file"]
                if upload.size > self.import_max_bytes:
                    form.add_error("file", _("The file is too large."))
                    status = 400
                else:
                    try:
                        result = self.import_service(data=upload.read(), by=request.user)
                        errors = result.errors
                    except ClinicError as error:  # another change at once, or lock errors
                        errors = [(0, error.message)]
                    if not errors:
                        self.message_user(
                            request,
                            _("Imported: %(added)d added, %(changed)d changed.")
                            % {"added": len(result.added), "changed": len(result.changed)},
                        )
                        opts = self.model._meta
                        return redirect(f"admin:{opts.app_label}_{opts.model_name}_changelist")
                    status = 400
            else:
                status = 400
        else:
            form = self.import_form()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": self.import_title,
            "form": form,
            "errors": errors,
        }
        return TemplateResponse(request, self.import_template, context, status=status)
