"""The machine's ceiling for a booking: the least a Django view can do for one.

bench/load.py serves this URLconf (settings: bench/reference_settings.py, no middleware)
through the same gunicorn configuration and database as the clinic, and drives it like the
clinic's booking alone. One request does what the issue calls the minimal booking: an
authentication query (the account by id), a locked booking (the schedule row locked, its
counter checked and raised, the place taken in the window of the time, the appointment
inserted) and an audit insert, in one transaction. No validation, no serializer, no token
signature, no content negotiation: what the clinic's own booking reaches as a share of this
is the figure that compares across machines.
"""

from __future__ import annotations

import json

from django.db import transaction
from django.db.models import F
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from appointments.models import Appointment
from clinic.models import AuditEvent, User
from scheduling.models import Schedule, ScheduleWindow, window_at


@csrf_exempt
def book(request: HttpRequest) -> JsonResponse:
    try:
        user = User.objects.get(pk=int(request.headers["X-User"]), is_active=True)
    except (KeyError, ValueError, User.DoesNotExist):
        return JsonResponse({"error": "unauthenticated"}, status=401)
    body = json.loads(request.body)
    with transaction.atomic():
        schedule = Schedule.objects.select_for_update().get(pk=body["schedule"])
        if schedule.current_patients >= schedule.max_patients:
            return JsonResponse({"error": "no_capacity"}, status=409)
        Schedule.objects.filter(pk=schedule.pk).update(current_patients=F("current_patients") + 1)
        # Time-sliced booking: the place is the window's too (the counters' invariant).
        now = timezone.now()
        window = window_at(schedule.pk, now)
        taken = ScheduleWindow.objects.filter(pk=window.pk, used__lt=F("quota")).update(
            used=F("used") + 1
        )
        if not taken:
            transaction.set_rollback(True)
            return JsonResponse({"error": "no_capacity"}, status=409)
        appointment = Appointment.objects.create(
            patient_name=body["name"],
            phone=body["phone"],
            department_id=schedule.department_id,
            schedule=schedule,
            window=window,
            expected_time=now,
            created_by=user,
        )
        AuditEvent.objects.create(
            actor=user,
            actor_username=user.username,
            role=user.role,
            action="appointment.book",
            object_type="appointment",
            object_id=str(appointment.pk),
        )
    return JsonResponse({"id": appointment.pk}, status=201)


def ping(request: HttpRequest) -> JsonResponse:
    return JsonResponse({})


urlpatterns = [path("book", book), path("ping", ping)]
