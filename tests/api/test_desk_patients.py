"""The desk's patient routes (issue 19): a walk-in of someone already in today's queue is a
409 with the unified error body, and nothing is written."""

from __future__ import annotations

import pytest

from clinic.models import AuditEvent, Patient
from clinic.tests.factories import make_resident_id
from tests.api.conftest import ClinicDay, bearer_client
from visits.models import Visit

pytestmark = pytest.mark.django_db


def test_a_second_walk_in_in_the_same_department_is_a_409(clinic_day: ClinicDay) -> None:
    desk = bearer_client(clinic_day.users["receptionist"])
    waiting = clinic_day.waiting
    counts = (Visit.objects.count(), Patient.objects.count(), AuditEvent.objects.count())
    schedule = clinic_day.schedule
    schedule.refresh_from_db()
    places_used = schedule.current_patients
    response = desk.post(
        "/api/receptionist/register",
        {
            "name": waiting.patient.name,
            "phone": waiting.patient.phone,
            "id_card": make_resident_id(seed=900_803),
            "dept_id": clinic_day.department.pk,
        },
        format="json",
    )
    assert response.status_code == 409, response.json()
    error = response.json()["error"]
    assert error["code"] == "already_in_queue"
    assert error["details"]["visit"] == waiting.pk
    assert error["details"]["queue_number"] == waiting.queue_number
    assert error["details"]["department"]
    assert (Visit.objects.count(), Patient.objects.count(), AuditEvent.objects.count()) == counts
    schedule.refresh_from_db()
    assert schedule.current_patients == places_used


def test_the_patient_api_shows_a_checked_in_booking_as_checked_in(clinic_day: ClinicDay) -> None:
    from visits.services import check_in

    booking = clinic_day.booking
    visit = check_in(
        appointment_id=booking.pk,
        phone=booking.phone,
        id_card=booking.id_card,
        by=clinic_day.users["receptionist"],
    )
    patient = bearer_client(clinic_day.users["patient"])

    def row() -> dict:
        rows = patient.get("/api/patient/appointments", HTTP_ACCEPT_LANGUAGE="en").json()
        return next(r for r in rows["results"] if r["id"] == booking.pk)

    assert (row()["status"], row()["display_status"], row()["display_status_label"]) == (
        "completed",
        "checked_in",
        "Checked in",
    )
    Visit.objects.filter(pk=visit.pk).update(status="left")
    assert (row()["status"], row()["display_status"]) == ("completed", "completed")
    # The desk's routes answer the stored status only.
    desk = bearer_client(clinic_day.users["receptionist"])
    desk_row = desk.get("/api/receptionist/appointments").json()["results"][0]
    assert "display_status" not in desk_row
