"""Appointment pages: the patient's own list and the front desk's day list."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from appointments.models import Appointment
from clinic.models import Role
from clinic.roles import DESK_ROLES, role_required

_LIST_RELATIONS = ("department", "schedule__doctor", "schedule__room")


@role_required(Role.PATIENT)
def my_appointments(request: HttpRequest) -> HttpResponse:
    patient = getattr(request.user, "patient", None)
    appointments = (
        Appointment.objects.filter(patient=patient)
        .select_related(*_LIST_RELATIONS)
        .order_by("-expected_time")
        if patient is not None
        else Appointment.objects.none()
    )
    return render(
        request,
        "appointments/my_appointments.html",
        {"patient": patient, "appointments": appointments},
    )


@role_required(*DESK_ROLES)
def desk(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    appointments = (
        Appointment.objects.filter(schedule__work_date=today)
        .select_related(*_LIST_RELATIONS)
        .order_by("expected_time", "id")
    )
    return render(request, "appointments/desk.html", {"today": today, "appointments": appointments})
