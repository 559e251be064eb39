"""What the endpoints return: list envelopes and their limits, masked ID numbers, ownership,
fixed query counts, the JSON 404/405 bodies, records and their audit, statistics, the docs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from billing.refunds import refund_bill
from billing.services import settle_visit
from billing.statistics import income_statistics
from clinic.models import AuditEvent
from clinic.privacy import mask_id_card
from clinic.tests.factories import (
    DepartmentFactory,
    DoctorFactory,
    PatientFactory,
    ReceptionistFactory,
    RoomFactory,
)
from scheduling.models import Schedule
from tests.api.conftest import ClinicDay, bearer_client
from tests.support import WORK_DAY, clinic_time
from visits.statistics import visit_statistics
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db


def test_lists_share_one_envelope_with_bounded_limits(clinic_day: ClinicDay) -> None:
    admin = bearer_client(clinic_day.users["admin"])
    for n in range(5):
        RoomFactory(department=clinic_day.department, room_number=f"X{n}")
    body = admin.get("/api/admin/rooms", {"limit": 2, "offset": 1}).json()
    assert set(body) == {"count", "limit", "offset", "results"}
    assert (body["count"], body["limit"], body["offset"], len(body["results"])) == (7, 2, 1, 2)
    assert admin.get("/api/admin/rooms").json()["limit"] == 50
    assert admin.get("/api/admin/rooms", {"limit": 200}).status_code == 200
    assert admin.get("/api/admin/rooms", {"offset": 99}).json()["results"] == []
    for bad in ({"limit": 201}, {"limit": 0}, {"limit": "x"}, {"offset": -1}):
        response = admin.get("/api/admin/rooms", bad)
        assert response.status_code == 400
        assert set(response.json()["error"]["details"]) == set(bad)


def test_id_numbers_are_masked_in_lists_and_shown_to_staff_one_at_a_time(
    clinic_day: ClinicDay,
) -> None:
    desk = bearer_client(clinic_day.users["receptionist"])
    full = clinic_day.waiting.patient.id_card
    rows = desk.get("/api/receptionist/visits").json()["results"]
    assert {row["id_card"] for row in rows if row["id"] == clinic_day.waiting.pk} == {
        mask_id_card(full)
    }
    patients = desk.get("/api/receptionist/patients", {"id_card": full}).json()["results"]
    assert [p["id_card"] for p in patients] == [mask_id_card(full)]
    moved = desk.put(
        f"/api/receptionist/visits/{clinic_day.waiting.pk}/status",
        {"status": "cancelled"},
        format="json",
    ).json()
    assert moved["id_card"] == full
    # A patient sees their own booking masked too: the full number is for the desk only.
    own = bearer_client(clinic_day.users["patient"]).get("/api/patient/appointments").json()
    number = clinic_day.users["patient"].patient.id_card
    assert own["results"][0]["id_card"] == mask_id_card(number)


def test_a_patient_without_an_id_number_is_answered_with_an_empty_string(
    clinic_day: ClinicDay,
) -> None:
    # The schema declares id_card a string: never null, in lists or single answers.
    patient = clinic_day.waiting.patient
    patient.id_card = None
    patient.save(update_fields=["id_card"])
    desk = bearer_client(clinic_day.users["receptionist"])
    rows = desk.get("/api/receptionist/visits").json()["results"]
    assert [row["id_card"] for row in rows if row["id"] == clinic_day.waiting.pk] == [""]
    found = desk.get("/api/receptionist/patients", {"phone": patient.phone}).json()["results"]
    assert "" in [row["id_card"] for row in found if row["id"] == patient.pk]
    assert None not in [row["id_card"] for row in found]


def test_patients_see_only_their_own_bookings_and_visits(clinic_day: ClinicDay) -> None:
    other = bearer_client(clinic_day.users["other_patient"])
    assert other.get("/api/patient/appointments").json()["count"] == 0
    assert other.get("/api/patient/visits").json()["count"] == 0
    mine = bearer_client(clinic_day.users["patient"]).get("/api/patient/appointments").json()
    assert [row["id"] for row in mine["results"]] == [clinic_day.booking.pk]


def test_a_patient_cancels_their_booking_and_the_place_comes_back(clinic_day: ClinicDay) -> None:
    url = f"/api/patient/appointments/{clinic_day.booking.pk}"
    before = Schedule.objects.get(pk=clinic_day.schedule.pk).current_patients
    assert bearer_client(clinic_day.users["other_patient"]).delete(url).status_code == 404
    response = bearer_client(clinic_day.users["patient"]).delete(f"{url}?reason=Feeling+better")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancel_reason"] == "Feeling better"
    assert Schedule.objects.get(pk=clinic_day.schedule.pk).current_patients == before - 1
    again = bearer_client(clinic_day.users["patient"]).delete(url)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "invalid_transition"


def test_times_without_offset_are_clinic_time_and_answers_carry_the_offset(
    clinic_day: ClinicDay,
) -> None:
    client = bearer_client(clinic_day.users["other_patient"])
    response = client.post(
        "/api/patient/appointments",
        {"dept_id": clinic_day.department.pk, "expected_time": "2030-03-04T06:00:00Z"},
        format="json",
    )
    assert response.status_code == 201
    assert response.json()["expected_time"] == "2030-03-04T14:00:00+08:00"
    assert response.json()["time_slot"] == "afternoon"


@pytest.mark.parametrize(
    ("accept", "query", "status"),
    [
        (None, "", 200),
        ("*/*", "", 200),
        ("application/json", "", 200),
        ("text/html, application/json;q=0.9", "", 200),
        ("application/json", "?format=json", 200),
        ("text/html", "", 406),
        ("application/xml", "", 406),
    ],
)
def test_answers_are_json_or_a_406(
    clinic_day: ClinicDay, accept: str | None, query: str, status: int
) -> None:
    client = bearer_client(clinic_day.users["patient"])
    headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
    response = client.get(f"/api/patient/appointments{query}", **headers)
    assert response.status_code == status
    assert response["Content-Type"] == "application/json"
    if status == 406:
        assert response.json()["error"]["code"] == "not_acceptable"
    else:
        assert response.json()["results"][0]["status"] == "pending"


def test_labels_follow_the_request_language(clinic_day: ClinicDay) -> None:
    client = bearer_client(clinic_day.users["patient"])
    english = client.get("/api/patient/appointments", HTTP_ACCEPT_LANGUAGE="en").json()
    chinese = client.get("/api/patient/appointments", HTTP_ACCEPT_LANGUAGE="zh-CN").json()
    assert english["results"][0]["status"] == chinese["results"][0]["status"] == "pending"
    assert english["results"][0]["status_label"] == "Pending"
    assert chinese["results"][0]["status_label"] == "待确认"


def _grow(day: ClinicDay, extra: int, *, first: int) -> None:
    """More rows of every kind listed: bookings, visits, bills, income, rooms, staff."""
    for n in range(first, first + extra):
        seed = 920_000 + n
        day.walk_in(f"Extra {n}", seed=seed)
        RoomFactory(department=day.department)
        DoctorFactory(department=day.department)
        PatientFactory()
        visit = VisitFactory(schedule=day.afternoon, status="awaiting_payment")
        bill = settle_visit(
            visit=visit, total_amount="10", insurance_amount="0", by=day.users["receptionist"]
        )
        # Half of each bill given back: refund rows in the income list, refunds on bills.
        refund_bill(
            bill=bill,
            lines=[{"line": bill.lines.get().pk, "quantity": "0.5"}],
            reason="Half returned",
            method="cash",
            by=day.users["receptionist"],
        )


LISTS: dict[str, tuple[str, str]] = {
    "desk appointments": ("receptionist", "/api/receptionist/appointments"),
    "desk visits": ("receptionist", "/api/receptionist/visits"),
    "desk patients": ("receptionist", "/api/receptionist/patients"),
    "desk bills": ("receptionist", "/api/receptionist/bills"),
    "desk income": ("receptionist", "/api/receptionist/income-records"),
    "desk payment methods": ("receptionist", "/api/receptionist/payment-methods"),
    "doctor queue": ("doctor", "/api/doctor/queue"),
    "admin rooms": ("admin", "/api/admin/rooms"),
    "admin schedules": ("admin", "/api/admin/schedules"),
    "admin employees": ("admin", "/api/admin/employees"),
    "admin visits": ("admin", "/api/admin/visits/search"),
    "patient visits": ("patient", "/api/patient/visits"),
}


@pytest.mark.parametrize("name", list(LISTS))
def test_a_list_costs_the_same_queries_whatever_its_length(
    name: str, clinic_day: ClinicDay
) -> None:
    persona, url = LISTS[name]
    client = bearer_client(clinic_day.users[persona])

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    _grow(clinic_day, 1, first=0)
    short = queries()
    _grow(clinic_day, 4, first=1)
    assert queries() == short


def test_unknown_paths_and_methods_answer_with_the_error_body(clinic_day: ClinicDay) -> None:
    client = bearer_client(clinic_day.users["admin"])
    missing = client.get("/api/no/such/thing")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong = client.delete("/api/admin/rooms")
    assert wrong.status_code == 405
    assert wrong.json()["error"]["code"] == "method_not_allowed"
    not_json = client.post("/api/admin/rooms", "room_number=1", content_type="text/plain")
    assert not_json.status_code == 415
    assert not_json.json()["error"]["code"] == "unsupported_media_type"


def test_each_read_of_a_medical_record_is_audited(clinic_day: ClinicDay) -> None:
    url = f"/api/doctor/visits/{clinic_day.awaiting_payment.pk}/medical-record"
    doctor = bearer_client(clinic_day.users["doctor"])
    for _ in range(2):
        assert doctor.get(url).json()["diagnosis"] == "Common cold"
    events = AuditEvent.objects.filter(
        action="medical_record.viewed", object_id=str(clinic_day.record.pk)
    )
    assert events.count() == 2
    assert {event.actor for event in events} == {clinic_day.users["doctor"]}


def test_a_visit_without_a_record_is_a_404_and_nothing_is_audited(clinic_day: ClinicDay) -> None:
    url = f"/api/doctor/visits/{clinic_day.in_consultation.pk}/medical-record"
    response = bearer_client(clinic_day.users["doctor"]).get(url)
    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="medical_record.viewed").exists()


def test_an_administrator_corrects_any_record_and_the_change_is_audited(
    clinic_day: ClinicDay,
) -> None:
    url = f"/api/admin/visits/{clinic_day.awaiting_payment.pk}/medical-record"
    response = bearer_client(clinic_day.users["admin"]).put(
        url, {"diagnosis": "Influenza"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["updated_by"] == clinic_day.users["admin"].username
    event = AuditEvent.objects.get(action="medical_record.corrected")
    assert (event.old_values, event.new_values) == (
        {"diagnosis": "Common cold"},
        {"diagnosis": "Influenza"},
    )


def test_admin_changes_are_audited_with_old_and_new_values(clinic_day: ClinicDay) -> None:
    admin = bearer_client(clinic_day.users["admin"])
    response = admin.patch(
        f"/api/admin/schedules/{clinic_day.afternoon.pk}", {"max_patients": 7}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["max_patients"] == 7
    event = AuditEvent.objects.get(action="schedule.updated")
    assert (event.old_values["max_patients"], event.new_values["max_patients"]) == (20, 7)


def test_the_desk_moves_a_visit_on_and_back_to_the_queue_only_by_the_rules(
    clinic_day: ClinicDay,
) -> None:
    desk = bearer_client(clinic_day.users["receptionist"])
    url = f"/api/receptionist/visits/{clinic_day.waiting.pk}/status"
    places = Schedule.objects.get(pk=clinic_day.schedule.pk).current_patients
    response = desk.put(url, {"status": "cancelled"}, format="json")
    assert response.json()["status"] == "cancelled"
    assert Schedule.objects.get(pk=clinic_day.schedule.pk).current_patients == places - 1
    again = desk.put(url, {"status": "in_consultation"}, format="json")
    assert again.status_code == 409
    assert again.json()["error"]["details"] == {
        "from": "cancelled",
        "to": "in_consultation",
        "allowed": [],
    }


def test_filters_narrow_the_lists(clinic_day: ClinicDay) -> None:
    desk = bearer_client(clinic_day.users["receptionist"])
    found = desk.get("/api/receptionist/appointments", {"q": "Caller"}).json()["results"]
    assert [row["id"] for row in found] == [clinic_day.phone_booking.pk]
    reference = clinic_day.booking.reference.lower()
    found = desk.get("/api/receptionist/appointments", {"q": reference}).json()["results"]
    assert [row["id"] for row in found] == [clinic_day.booking.pk]
    waiting = desk.get("/api/receptionist/visits", {"status": "waiting"}).json()["results"]
    assert [row["id"] for row in waiting] == [clinic_day.waiting.pk]
    elsewhere = desk.get("/api/receptionist/visits", {"dept_id": 987654}).json()
    assert elsewhere["count"] == 0


@pytest.fixture
def income_rows(db: Any) -> dict[str, Any]:
    """Four settled visits: two departments, three doctors, two days."""
    first, second = DepartmentFactory(), DepartmentFactory()
    doctors = [DoctorFactory(department=first), DoctorFactory(department=first)]
    doctors.append(DoctorFactory(department=second))
    cashier = ReceptionistFactory()
    patient = PatientFactory()
    amounts = [("100.00", 0, 0), ("50.50", 1, 0), ("20.00", 2, 1), ("0", 2, 1)]
    for n, (amount, doctor_index, day_offset) in enumerate(amounts):
        doctor = doctors[doctor_index]
        day = WORK_DAY + dt.timedelta(days=day_offset)
        schedule = Schedule.objects.create(
            department=doctor.department,
            room=RoomFactory(department=doctor.department),
            doctor=doctor,
            work_date=day,
            time_slot="afternoon" if n == 3 else "morning",
            max_patients=5,
        )
        visit = VisitFactory(
            schedule=schedule,
            patient=patient if n < 2 else PatientFactory(),
            status="awaiting_payment",
        )
        settle_visit(
            visit=visit,
            total_amount=amount,
            insurance_amount=0,
            by=cashier,
            now=clinic_time(11, day=day),
        )
    VisitFactory(schedule=schedule, patient=patient, status="waiting")
    return {"departments": (first, second), "doctors": doctors}


def test_income_statistics_group_in_the_database(income_rows: dict[str, Any]) -> None:
    first, second = income_rows["departments"]
    span: dict[str, Any] = {"start_date": WORK_DAY, "end_date": WORK_DAY + dt.timedelta(days=1)}
    by_day = income_statistics(**span, group_by="day")
    assert [(row["date"], row["total_income"], row["record_count"]) for row in by_day] == [
        (WORK_DAY, Decimal("150.50"), 2),
        (WORK_DAY + dt.timedelta(days=1), Decimal("20.00"), 2),
    ]
    by_dept = {
        row["dept_id"]: row["total_income"] for row in income_statistics(**span, group_by="dept")
    }
    assert by_dept == {first.pk: Decimal("150.50"), second.pk: Decimal("20.00")}
    by_doctor = {
        row["doctor_id"]: row["record_count"]
        for row in income_statistics(**span, group_by="doctor")
    }
    assert by_doctor == {
        doctor.emp_id: count
        for doctor, count in zip(income_rows["doctors"], (1, 1, 2), strict=True)
    }
    assert (
        income_statistics(start_date=WORK_DAY, end_date=WORK_DAY, group_by="dept")[0]["date"]
        is None
    )
    with pytest.raises(ValueError):
        income_statistics(**span, group_by="week")  # type: ignore[arg-type]


def test_visit_statistics_count_visits_patients_and_outcomes(income_rows: dict[str, Any]) -> None:
    span: dict[str, Any] = {"start_date": WORK_DAY, "end_date": WORK_DAY + dt.timedelta(days=1)}
    rows = visit_statistics(**span, group_by="day")
    assert [(row["visit_count"], row["patient_count"]) for row in rows] == [(2, 1), (3, 3)]
    assert rows[1]["by_status"] == {
        "waiting": 1,
        "in_consultation": 0,
        "awaiting_payment": 0,
        "left": 2,
        "cancelled": 0,
    }
    waiting = visit_statistics(**span, group_by="dept", status="waiting")
    assert [row["visit_count"] for row in waiting] == [1]


def test_the_statistics_endpoints_default_to_the_last_thirty_days(
    clinic_day: ClinicDay,
) -> None:
    admin = bearer_client(clinic_day.users["admin"])
    body = admin.get("/api/admin/statistics/visits").json()
    assert (body["start_date"], body["end_date"]) == ("2030-02-03", "2030-03-04")
    assert body["visit_count"] == 3
    assert body["results"][0]["date"] == "2030-03-04"


SCHEMA_CHECKS: dict[str, Callable[[Any], bool]] = {
    "openapi 3": lambda body: body["openapi"].startswith("3."),
    "every group tagged": lambda body: (
        {tag for item in body["paths"].values() for op in item.values() for tag in op["tags"]}
        == {"auth", "patient", "receptionist", "doctor", "admin", "catalogue"}
    ),
    "error body documented": lambda body: "Error" in body["components"]["schemas"],
    "bearer scheme": lambda body: (
        body["components"]["securitySchemes"]["jwtAuth"]["scheme"] == "bearer"
    ),
}


@pytest.mark.parametrize("check", list(SCHEMA_CHECKS))
def test_the_schema_is_published(check: str) -> None:
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    assert SCHEMA_CHECKS[check](response.json())


def test_swagger_ui_is_served_from_our_own_static_files() -> None:
    client = APIClient()
    page = client.get("/api/docs/").content.decode()
    assert "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page
    assert "cdn." not in page and "unpkg" not in page
    script = client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200
    assert b"/api/schema/" in script.content
    bundle = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert bundle.status_code == 200


def test_a_no_show_is_marked_only_after_the_slot_and_its_grace_period(
    clinic_day: ClinicDay,
) -> None:
    desk = bearer_client(clinic_day.users["receptionist"])
    url = f"/api/receptionist/appointments/{clinic_day.phone_booking.pk}/status"
    early = desk.put(url, {"status": "no_show"}, format="json")
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "no_show_too_early"
    with mock.patch("django.utils.timezone.now", return_value=clinic_time(12, 45)):
        late = desk.put(url, {"status": "no_show"}, format="json")
    assert late.status_code == 200
    assert late.json()["status"] == "no_show"


def test_a_schedule_that_ever_held_a_booking_cannot_be_deleted(clinic_day: ClinicDay) -> None:
    patient = bearer_client(clinic_day.users["other_patient"])
    booking = patient.post(
        "/api/patient/appointments",
        {"dept_id": clinic_day.department.pk, "expected_time": "2030-03-04T15:00:00"},
        format="json",
    ).json()
    assert booking["schedule_id"] == clinic_day.afternoon.pk
    patient.delete(f"/api/patient/appointments/{booking['id']}")
    admin = bearer_client(clinic_day.users["admin"])
    response = admin.delete(f"/api/admin/schedules/{clinic_day.afternoon.pk}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "schedule_in_use"
    assert Schedule.objects.filter(pk=clinic_day.afternoon.pk).exists()


@pytest.mark.parametrize(
    "url", ["/api/admin/rooms/{room}", "/api/admin/employees/{emp_id}", "/api/admin/schedules/{id}"]
)
def test_a_put_replaces_and_needs_every_field_while_a_patch_changes_some(
    clinic_day: ClinicDay, url: str
) -> None:
    admin = bearer_client(clinic_day.users["admin"])
    url = url.format(
        room=clinic_day.schedule.room_id,
        emp_id=clinic_day.schedule.doctor.emp_id,
        id=clinic_day.afternoon.pk,
    )
    refused = admin.put(url, {}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "validation_error"
    assert admin.patch(url, {}, format="json").status_code == 200
