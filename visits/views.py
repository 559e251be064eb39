"""Visit pages: the patient's own visits and bills."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.vary import vary_on_headers

from clinic.models import Role
from clinic.roles import role_required
from visits.models import VisitStatus
from visits.selectors import visits_of_patient_account
from visits.waits import attach_expected_waits

# While the patient waits, the list refreshes itself this often (seconds).
WAIT_REFRESH_SECONDS = 30


@role_required(Role.PATIENT)
@vary_on_headers("HX-Request")
def my_visits(request: HttpRequest) -> HttpResponse:
    """The patient's visits and bills; while one of today's waits or is with the doctor, its
    expected wait (visits.waits), and the list polls itself (htmx) to keep it fresh."""
    now = timezone.now()
    visits = list(visits_of_patient_account(request.user))
    attach_expected_waits(visits, now=now)
    today = timezone.localdate(now)
    live = any(
        visit.visit_date == today
        and visit.status in (VisitStatus.WAITING, VisitStatus.IN_CONSULTATION)
        for visit in visits
    )
    template = "visits/my_visits.html"
    if request.htmx:
        template += "#visit-list"
    return render(
        request,
        template,
        {
            "visits": visits,
            "show_records": settings.CLINIC_PATIENTS_SEE_RECORDS,
            "live": live,
            "refresh_seconds": WAIT_REFRESH_SECONDS,
            "now": now,
        },
    )
