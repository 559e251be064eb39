"""Visit pages: the patient's own visits and bills, and the doctor's queue for today."""

from __future__ import annotations

from django.conf import settings
from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from clinic.models import Role
from clinic.roles import role_required
from scheduling.models import Schedule
from visits.models import Visit
from visits.selectors import visits_of_patient_account


@role_required(Role.PATIENT)
def my_visits(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "visits/my_visits.html",
        {
            "visits": visits_of_patient_account(request.user),
            "show_records": settings.CLINIC_PATIENTS_SEE_RECORDS,
        },
    )


@role_required(Role.DOCTOR)
def doctor_queue(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    schedules = (
        Schedule.objects.filter(doctor_id=request.user.employee_id, work_date=today)
        .select_related("department", "room")
        .prefetch_related(
            Prefetch(
                "visits",
                queryset=Visit.objects.select_related("patient").order_by("queue_number"),
            )
        )
        .order_by("time_slot")
    )
    return render(request, "visits/doctor_queue.html", {"today": today, "schedules": schedules})
