"""Visit pages: the patient's own visits and bills."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from clinic.models import Role
from clinic.roles import role_required
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
