"""Appointment pages: patients book, see and cancel their own; the desk's day list."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from appointments.forms import ENGINE_FIELDS, BookingForm, CancelForm
from appointments.models import Appointment
from appointments.selectors import LIST_RELATIONS, appointments_visible_to, get_appointment_for
from appointments.services import book_appointment
from clinic.exceptions import ClinicError
from clinic.forms import apply_clinic_error
from clinic.models import Patient, Role
from clinic.roles import DESK_ROLES, role_required
from scheduling.exceptions import NoCapacity
from scheduling.selectors import SlotAvailability, slot_availability


def _availability_for(data: dict, *, now: dt.datetime) -> list[SlotAvailability]:
    """Availability of the department and date the form currently names (may be partial)."""
    form = BookingForm(data, now=now)
    form.is_valid()
    department, date = form.cleaned_data.get("department"), form.cleaned_data.get("date")
    if department is None or date is None:
        return []
    return slot_availability(department=department, start_date=date, end_date=date, now=now)


def _doctors_of(slots: list[SlotAvailability]) -> list[dict]:
    """Each doctor working that day, with their places per half-day slot."""
    doctors: dict[int, dict] = {}
    for slot in slots:
        for place in slot.doctors:
            entry = doctors.setdefault(place.doctor_id, {"doctor": place, "slots": []})
            entry["slots"].append((slot.time_slot_label, place.remaining))
    return list(doctors.values())


@role_required(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def book(request: HttpRequest) -> HttpResponse:
    """The booking page. Its availability panel re-renders alone for htmx as choices change."""
    now = timezone.now()
    patient = Patient.objects.filter(user=request.user).first()
    status = 200
    alternatives: list[dict] = []
    if request.method == "POST":
        form = BookingForm(request.POST, now=now)
        if form.is_valid():
            try:
                appointment = book_appointment(
                    by=request.user,
                    department=form.cleaned_data["department"],
                    expected_time=form.expected_time,
                    doctor=form.cleaned_data["doctor"],
                    now=now,
                )
            except ClinicError as error:
                apply_clinic_error(form, error, ENGINE_FIELDS)
                if isinstance(error, NoCapacity):
                    alternatives = error.details.get("alternatives", [])
                status = error.status
            else:
                messages.success(request, _("Your appointment is booked."))
                return redirect("appointments:detail", pk=appointment.pk)
        else:
            status = 400
        data = request.POST
    else:
        data = request.GET.copy()
        data.setdefault("date", timezone.localdate(now).isoformat())
        form = BookingForm(initial=data.dict(), now=now)
    slots = _availability_for(data, now=now)
    context = {
        "form": form,
        "patient": patient,
        "slots": slots,
        "doctors": _doctors_of(slots),
        "selected_slot": data.get("time_slot", ""),
        "selected_doctor": data.get("doctor", ""),
        "alternatives": alternatives,
        "alternative_department": data.get("department", ""),
    }
    template = "appointments/book.html"
    if request.htmx and request.method == "GET":
        template += "#availability"
    return render(request, template, context, status=status)


@role_required(Role.PATIENT)
def my_appointments(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    upcoming, past = [], []
    for appointment in appointments_visible_to(request.user).order_by("-expected_time", "-id"):
        is_upcoming = appointment.is_live and appointment.schedule.work_date >= today
        (upcoming if is_upcoming else past).append(appointment)
    upcoming.reverse()  # soonest first
    return render(
        request,
        "appointments/my_appointments.html",
        {
            "patient": Patient.objects.filter(user=request.user).first(),
            "upcoming": upcoming,
            "past": past,
        },
    )


@role_required(Role.PATIENT, *DESK_ROLES)
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    appointment = get_appointment_for(request.user, pk)
    return render(
        request,
        "appointments/detail.html",
        {
            "appointment": appointment,
            "check_in_early_minutes": settings.CLINIC_CHECK_IN_EARLY_MINUTES,
        },
    )


@role_required(Role.PATIENT)
@require_http_methods(["GET", "POST"])
def cancel(request: HttpRequest, pk: int) -> HttpResponse:
    """A confirmation step (GET), then the cancellation (POST), which frees the place."""
    appointment = get_appointment_for(request.user, pk)
    form = CancelForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            appointment.cancel(by=request.user, reason=form.cleaned_data["reason"])
        except ClinicError as error:
            apply_clinic_error(form, error)
            status = error.status
        else:
            messages.success(request, _("Your appointment is cancelled."))
            return redirect("appointments:my-appointments")
    return render(
        request,
        "appointments/cancel.html",
        {"appointment": appointment, "form": form},
        status=status,
    )


@role_required(*DESK_ROLES)
def desk(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    appointments = (
        Appointment.objects.filter(schedule__work_date=today)
        .select_related(*LIST_RELATIONS)
        .order_by("expected_time", "id")
    )
    return render(request, "appointments/desk.html", {"today": today, "appointments": appointments})
