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


def patient_url(patient: Patient) -> str:
    return f"/api/receptionist/patients/{patient.pk}"


def test_the_desk_corrects_a_patient_through_the_api(clinic_day: ClinicDay) -> None:
    record = clinic_day.waiting.patient
    desk = bearer_client(clinic_day.users["receptionist"])
    response = desk.patch(
        patient_url(record), {"name": "Corrected", "phone": "138-0000-1111"}, format="json"
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert (body["name"], body["phone"], body["id_card"]) == (
        "Corrected",
        "13800001111",
        record.id_card,
    )
    record.refresh_from_db()
    assert (record.name, record.phone) == ("Corrected", "13800001111")
    event = AuditEvent.objects.get(action="patient.details_corrected")
    assert event.actor == clinic_day.users["receptionist"]
    assert event.new_values == {"name": "Corrected", "phone": "13800001111"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"name": ""}, "name"),
        ({"id_card": "110105199001011234"}, "id_card"),  # a wrong check digit
        ({"gender": "x"}, "gender"),
        ({"birth_date": "yesterday"}, "birth_date"),
        ({"birth_date": "1899-12-31"}, "birth_date"),
        ({"birth_date": "9999-12-31"}, "birth_date"),
        ({"name": 42}, "name"),
    ],
)
def test_bad_input_is_a_400_with_field_details(clinic_day: ClinicDay, body, field) -> None:
    record = clinic_day.waiting.patient
    desk = bearer_client(clinic_day.users["receptionist"])
    response = desk.patch(patient_url(record), body, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error" and field in error["details"]
    assert not AuditEvent.objects.filter(action="patient.details_corrected").exists()


def test_an_accounts_record_needs_the_document_seen(clinic_day: ClinicDay) -> None:
    record = clinic_day.booking.patient
    assert record.user is not None
    new_id = make_resident_id(seed=777)
    desk = bearer_client(clinic_day.users["receptionist"])
    refused = desk.patch(patient_url(record), {"id_card": new_id}, format="json")
    assert refused.status_code == 400
    assert "id_document_seen" in refused.json()["error"]["details"]
    done = desk.patch(
        patient_url(record), {"id_card": new_id, "id_document_seen": True}, format="json"
    )
    assert done.status_code == 200
    record.refresh_from_db()
    assert (record.id_card, record.id_verified) == (new_id, True)


@pytest.mark.parametrize("persona", ["patient", "doctor", "anonymous"])
def test_other_roles_cannot_correct(clinic_day: ClinicDay, persona: str) -> None:
    record = clinic_day.waiting.patient
    response = bearer_client(clinic_day.users[persona]).patch(
        patient_url(record), {"name": "X"}, format="json"
    )
    assert response.status_code == (401 if persona == "anonymous" else 403)
    record.refresh_from_db()
    assert record.name != "X"


def test_an_unknown_patient_is_a_404(clinic_day: ClinicDay) -> None:
    desk = bearer_client(clinic_day.users["receptionist"])
    assert desk.patch("/api/receptionist/patients/999999", {}, format="json").status_code == 404


def test_a_birth_date_of_the_last_century_is_corrected(clinic_day: ClinicDay) -> None:
    """A birth date is no clinic date of 2000–2099: it follows the patient's own rule."""
    record = clinic_day.waiting.patient
    record.id_card = None
    record.save(update_fields=["id_card"])
    desk = bearer_client(clinic_day.users["receptionist"])
    response = desk.patch(patient_url(record), {"birth_date": "1958-03-01"}, format="json")
    assert response.status_code == 200, response.json()
    record.refresh_from_db()
    assert record.birth_date.isoformat() == "1958-03-01"


def test_a_gender_taken_off_is_answered_blank_as_the_schema_allows(clinic_day: ClinicDay) -> None:
    """A record's gender may be blank (nobody recorded it): the desk may take it off, and the
    answer's schema allows the blank it then carries (schemathesis found it refused once)."""
    from drf_spectacular.generators import SchemaGenerator

    desk = bearer_client(clinic_day.users["receptionist"])
    record = clinic_day.waiting.patient
    response = desk.patch(f"/api/receptionist/patients/{record.pk}", {"gender": ""}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["gender"] == ""
    record.refresh_from_db()
    assert record.gender == ""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    allowed = schema["components"]["schemas"]["Patient"]["properties"]["gender"]["oneOf"]
    assert {"$ref": "#/components/schemas/BlankEnum"} in allowed
