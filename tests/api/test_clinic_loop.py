"""The whole clinic loop through the API alone, each role signed in with its own tokens:
schedule → register → book → confirm → check in → call → record → finish → pay → statistics."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import Bill, IncomeRecord
from clinic.models import AuditEvent
from clinic.tests.factories import TEST_PASSWORD, make_resident_id
from scheduling.models import Schedule
from tests.support import WORK_DAY

pytestmark = pytest.mark.django_db


def signed_in(username: str, password: str = TEST_PASSWORD) -> APIClient:
    client = APIClient()
    response = client.post(
        "/api/auth/login", {"username": username, "password": password}, format="json"
    )
    assert response.status_code == 200, response.json()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {response.json()['access']}")
    return client


def ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.json()
    return response.json()


def test_the_clinic_loop_through_the_api_alone(
    clinic_clock: dt.datetime, receptionist: Any, doctor_user: Any, admin_user: Any
) -> None:
    department = doctor_user.employee.department
    admin = signed_in(admin_user.username)
    desk = signed_in(receptionist.username)
    doctor = signed_in(doctor_user.username)

    # The administrator opens a room and puts the doctor on Monday morning.
    room = ok(
        admin.post(
            "/api/admin/rooms", {"room_number": "101", "dept_id": department.pk}, format="json"
        ),
        201,
    )
    schedule = ok(
        admin.post(
            "/api/admin/schedules",
            {
                "room_id": room["id"],
                "doctor_id": doctor_user.employee.emp_id,
                "work_date": WORK_DAY.isoformat(),
                "time_slot": "morning",
                "max_patients": 5,
            },
            format="json",
        ),
        201,
    )
    assert schedule["dept_id"] == department.pk
    assert schedule["current_patients"] == 0

    # A new patient registers, signs in, looks at the availability and books.
    id_card = make_resident_id(dt.date(1990, 5, 17), seed=910_001)
    registration = ok(
        APIClient().post(
            "/api/auth/register",
            {
                "username": "li.si",
                "password": "plum-blossom-in-winter",
                "name": "李四",
                "phone": "136 1234 5678",
                "gender": "male",
                "id_card": id_card,
            },
            format="json",
        ),
        201,
    )
    assert registration["user"]["role"] == "patient"
    assert set(registration) == {"user", "patient_id", "access", "refresh"}
    patient = signed_in("li.si", "plum-blossom-in-winter")
    assert ok(patient.get("/api/auth/profile"))["patient_id"] == registration["patient_id"]

    departments = ok(patient.get("/api/patient/departments"))
    assert department.pk in [d["id"] for d in departments["results"]]
    slots = ok(
        patient.get(
            "/api/patient/availability",
            {"dept_id": department.pk, "date": WORK_DAY.isoformat()},
        )
    )["results"]
    morning = next(slot for slot in slots if slot["time_slot"] == "morning")
    assert morning["is_bookable"] is True
    assert morning["doctors"][0]["doctor_id"] == doctor_user.employee.emp_id

    booking = ok(
        patient.post(
            "/api/patient/appointments",
            {
                "dept_id": department.pk,
                "expected_time": "2030-03-04T10:00:00",
                "doctor_id": doctor_user.employee.emp_id,
            },
            format="json",
        ),
        201,
    )
    assert booking["status"] == "pending"
    assert booking["expected_time"] == "2030-03-04T10:00:00+08:00"
    assert booking["id_card"] != id_card and booking["id_card"].endswith(id_card[-4:])

    # The desk confirms, then checks the patient in with the phone and ID number.
    confirmed = ok(
        desk.put(
            f"/api/receptionist/appointments/{booking['id']}/status",
            {"status": "confirmed"},
            format="json",
        )
    )
    assert confirmed["status"] == "confirmed"
    visit = ok(
        desk.post(
            f"/api/receptionist/checkin/{booking['id']}",
            {"phone": "13612345678", "id_card": id_card},
            format="json",
        ),
        201,
    )
    assert (visit["status"], visit["queue_number"]) == ("waiting", 1)
    assert visit["id_card"] == id_card  # a single object shown to staff

    # The doctor sees the queue, calls the patient, writes the record and finishes.
    queue = ok(doctor.get("/api/doctor/queue"))
    assert [row["id"] for row in queue["results"]] == [visit["id"]]
    called = ok(doctor.post("/api/doctor/call-next"))
    assert (called["id"], called["status"]) == (visit["id"], "in_consultation")
    record_url = f"/api/doctor/visits/{visit['id']}/medical-record"
    ok(doctor.put(record_url, {"chief_complaint": "Cough for 3 days"}, format="json"))
    # No diagnosis yet: the patient cannot be sent to pay, with the field named.
    refused = doctor.post(f"/api/doctor/visits/{visit['id']}/finish")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "diagnosis_required"
    assert "diagnosis" in refused.json()["error"]["details"]
    record = ok(
        doctor.put(record_url, {"diagnosis": "Acute bronchitis", "plan": "Rest"}, format="json")
    )
    assert record["diagnosis"] == "Acute bronchitis"
    read = ok(doctor.get(record_url))
    assert (read["chief_complaint"], read["plan"]) == ("Cough for 3 days", "Rest")
    finished = ok(doctor.post(f"/api/doctor/visits/{visit['id']}/finish"))
    assert finished["status"] == "awaiting_payment"

    # The desk settles the bill.
    bill = ok(
        desk.post(
            f"/api/receptionist/payment/{visit['id']}",
            {"total_amount": "150.00", "insurance_amount": 100},
            format="json",
        ),
        201,
    )
    assert (bill["total_amount"], bill["self_pay_amount"], bill["pay_status"]) == (
        "150.00",
        "50.00",
        "paid",
    )

    # The patient sees the visit with its bill; the statistics show the income.
    mine = ok(patient.get("/api/patient/visits"))["results"]
    assert mine[0]["status"] == "left"
    assert mine[0]["bill"]["number"] == bill["number"]
    for group_by, key, value in (
        ("day", "date", WORK_DAY.isoformat()),
        ("dept", "dept_id", department.pk),
        ("doctor", "doctor_id", doctor_user.employee.emp_id),
    ):
        income = ok(
            admin.get(
                "/api/admin/statistics/income",
                {"start_date": "2030-03-01", "end_date": "2030-03-31", "group_by": group_by},
            )
        )
        assert income["total_income"] == "150.00"
        assert [(row[key], row["total_income"]) for row in income["results"]] == [(value, "150.00")]
    visits = ok(
        admin.get(
            "/api/admin/statistics/visits",
            {"start_date": "2030-03-04", "end_date": "2030-03-04", "group_by": "doctor"},
        )
    )
    assert visits["results"][0]["visit_count"] == 1
    assert visits["results"][0]["by_status"]["left"] == 1

    # And the database agrees with what the API said.
    assert Schedule.objects.get(pk=schedule["id"]).current_patients == 1
    assert Bill.objects.get().total_amount == Decimal("150.00")
    assert IncomeRecord.objects.get().amount == Decimal("150.00")
    assert AuditEvent.objects.filter(action="medical_record.viewed").count() == 1
    assert AuditEvent.objects.filter(action="auth.login").count() == 5  # 4 sign-ins + sign-up
