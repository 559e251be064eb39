"""The desk's message log (send a failed message again), the patient's message settings, and
the messages panel of the desk's patient page (its form posts here)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from clinic.exceptions import ClinicError
from clinic.forms import apply_clinic_error
from clinic.models import Patient, Role
from clinic.roles import DESK_ROLES, role_required
from clinic.urls_utils import id_param
from notifications.forms import MessageLogFilterForm, MessageSettingsForm
from notifications.models import Notification
from notifications.services import (
    RESENDABLE,
    change_message_settings,
    message_log,
    recent_messages,
    resend,
)

LOG_PAGE_SIZE = 50


def _log_context(query: QueryDict) -> dict[str, Any]:
    form = MessageLogFilterForm(query or None)
    filters = form.cleaned_data if form.is_valid() else {}
    found = message_log(
        patient_text=(filters.get("patient") or "").strip(),
        kind=filters.get("kind") or "",
        status=filters.get("status") or "",
    )
    page = Paginator(found, LOG_PAGE_SIZE).get_page(query.get("page"))
    return {"form": form, "page": page, "resendable": RESENDABLE}


@role_required(*DESK_ROLES)
def log(request: HttpRequest) -> HttpResponse:
    """Every message to patients, newest first; htmx asks the filtered list from this URL."""
    template = "notifications/log.html"
    if request.htmx:
        template += "#message-list"
    return render(request, template, _log_context(request.GET))


@role_required(*DESK_ROLES)
@require_POST
def resend_message(request: HttpRequest) -> HttpResponse:
    """A row's "Send again": the message is the button's value."""
    pk = id_param(request.POST.get("message"))
    if pk is None:
        raise Http404
    notification = get_object_or_404(Notification.objects.select_related("patient"), pk=pk)
    error: ClinicError | None = None
    try:
        notification = resend(notification=notification, by=request.user)
    except ClinicError as caught:
        error = caught
    if not request.htmx:
        if error is not None:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The message is being sent again."))
        back = urlsplit(request.META.get("HTTP_REFERER", "")).query
        return redirect(reverse("notifications:log") + (f"?{back}" if back else ""))
    # The list answered keeps the filters and page it was asked from (htmx's current URL).
    context = _log_context(QueryDict(urlsplit(request.htmx.current_url or "").query))
    context["error"] = error
    context["resent"] = notification.pk if error is None else None
    return render(
        request,
        "notifications/log.html#message-list",
        context,
        status=error.status if error is not None else 200,
    )


def _own_record(user: Any) -> Patient:
    record = Patient.objects.filter(user=user).first()
    if record is None:
        raise Http404
    return record


@role_required(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def my_settings(request: HttpRequest) -> HttpResponse:
    """The signed-in patient's message settings."""
    record = _own_record(request.user)
    form = MessageSettingsForm.for_patient(
        record, request.POST if request.method == "POST" else None
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                change_message_settings(patient=record, by=request.user, **form.cleaned_data)
            except ClinicError as error:
                apply_clinic_error(form, error)
                status = error.status
            else:
                messages.success(request, _("Your message settings are saved."))
                return redirect("notifications:my-settings")
        else:
            status = 400
    return render(
        request, "notifications/my_settings.html", {"form": form, "record": record}, status=status
    )


def patient_message_panel(
    record: Patient, form: MessageSettingsForm | None = None
) -> dict[str, Any]:
    """What the messages panel of the desk's patient page shows: the settings' form and the
    patient's latest messages."""
    return {
        "patient": record,
        "form": form or MessageSettingsForm.for_patient(record, prefix="messages"),
        "recent": recent_messages(record),
    }


@role_required(*DESK_ROLES)
@require_http_methods(["GET", "POST"])
def patient_settings(request: HttpRequest, pk: int) -> HttpResponse:
    """The desk changes a patient's message settings (the panel of their record's page posts
    here; alone, it is the panel on a page of its own, where errors show without htmx)."""
    record = get_object_or_404(Patient, pk=pk)
    form = MessageSettingsForm.for_patient(
        record, request.POST if request.method == "POST" else None, prefix="messages"
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                record = change_message_settings(
                    patient=record, by=request.user, **form.cleaned_data
                )
            except ClinicError as error:
                apply_clinic_error(form, error)
                status = error.status
            else:
                if not request.htmx:
                    messages.success(request, _("The message settings are saved."))
                    return redirect(reverse("visits:patient", args=[record.pk]) + "#messages")
                form = None  # the panel shows the saved settings
        else:
            status = 400
    panel = patient_message_panel(record, form)
    if request.htmx and request.method == "POST":
        panel["saved"] = status == 200
        return render(
            request,
            "notifications/partials/patient_messages.html",
            {"message_panel": panel},
            status=status,
        )
    return render(
        request, "notifications/patient_settings.html", {"message_panel": panel}, status=status
    )
