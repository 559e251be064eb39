"""Bad input of every kind gets its 4xx error body and changes nothing.

Malformed JSON, wrong types, unknown ids, huge numbers, negative amounts, strings in number
fields, missing fields, dates in the past or out of range, and tokens that are expired,
tampered with, revoked or belong to a deactivated user.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from appointments.models import Appointment
from billing.models import Bill, IncomeRecord
from clinic.models import AuditEvent, Employee, Patient, Room, User
from scheduling.models import Schedule
from tests.api.conftest import ClinicDay, bearer_client
from visits.models import MedicalRecord, Visit

pytestmark = pytest.mark.django_db


def database_state() -> dict[str, Any]:
    """Everything a refused request must leave as it was."""
    return {
        "appointments": list(Appointment.objects.order_by("pk").values_list("pk", "status")),
        "visits": list(Visit.objects.order_by("pk").values_list("pk", "status")),
        "schedules": list(
            Schedule.objects.order_by("pk").values_list(
                "pk", "current_patients", "max_patients", "work_date", "time_slot"
            )
        ),
        "bills": Bill.objects.count(),
        "income": IncomeRecord.objects.count(),
        "records": list(MedicalRecord.objects.values_list("pk", "diagnosis", "plan")),
        "rooms": list(Room.objects.order_by("pk").values_list("pk", "room_number", "status")),
        "employees": list(Employee.objects.order_by("pk").values_list("emp_id", "title")),
        "patients": Patient.objects.count(),
        "users": Patient.objects.count() + User.objects.count(),
        # A failed sign-in is audited on purpose; nothing else may be.
        "audit": AuditEvent.objects.exclude(action="auth.login_failed").count(),
    }


@dataclass
class Bad:
    persona: str
    method: str
    url: Callable[[ClinicDay], str]
    body: Callable[[ClinicDay], Any] | None = None
    raw: str | None = None
    status: int = 400
    code: str = "validation_error"
    fields: tuple[str, ...] = field(default_factory=tuple)


def _dept(day: ClinicDay) -> int:
    return day.department.pk


def _booking(day: ClinicDay, **changes: Any) -> dict[str, Any]:
    return {"dept_id": _dept(day), "expected_time": "2030-03-04T14:00:00", **changes}


def _pay_url(day: ClinicDay) -> str:
    return f"/api/receptionist/payment/{day.awaiting_payment.pk}"


def _pay(**amounts: Any) -> Callable[[ClinicDay], dict[str, Any]]:
    return lambda day: amounts


def _schedule(day: ClinicDay, **changes: Any) -> dict[str, Any]:
    return {
        "room_id": day.schedule.room_id,
        "doctor_id": day.schedule.doctor.emp_id,
        "work_date": "2030-03-06",
        "time_slot": "morning",
        "max_patients": 10,
        **changes,
    }


BOOK = "/api/patient/appointments"
SCHEDULES = "/api/admin/schedules"

CASES: dict[str, Bad] = {
    # Malformed bodies.
    "malformed json": Bad(
        "patient", "post", lambda d: BOOK, raw='{"dept_id": 1,', code="parse_error"
    ),
    "json array body": Bad(
        "patient", "post", lambda d: BOOK, raw="[1, 2]", fields=("non_field_errors",)
    ),
    "empty body": Bad(
        "patient", "post", lambda d: BOOK, raw="", fields=("dept_id", "expected_time")
    ),
    "missing fields": Bad(
        "patient", "post", lambda d: BOOK, lambda d: {}, fields=("dept_id", "expected_time")
    ),
    # Wrong types and strings in number fields.
    "string id": Bad(
        "patient", "post", lambda d: BOOK, lambda d: _booking(d, dept_id="abc"), fields=("dept_id",)
    ),
    "boolean id": Bad(
        "patient", "post", lambda d: BOOK, lambda d: _booking(d, dept_id=True), fields=("dept_id",)
    ),
    "fractional id": Bad(
        "patient", "post", lambda d: BOOK, lambda d: _booking(d, dept_id=1.5), fields=("dept_id",)
    ),
    "number as time": Bad(
        "patient",
        "post",
        lambda d: BOOK,
        lambda d: _booking(d, expected_time=12),
        fields=("expected_time",),
    ),
    "object as doctor": Bad(
        "patient",
        "post",
        lambda d: BOOK,
        lambda d: _booking(d, doctor_id={"a": 1}),
        fields=("doctor_id",),
    ),
    "string amount": Bad(
        "receptionist",
        "post",
        _pay_url,
        _pay(total_amount="ten", insurance_amount=0),
        fields=("total_amount",),
    ),
    "boolean amount": Bad(
        "receptionist",
        "post",
        _pay_url,
        _pay(total_amount=True, insurance_amount=0),
        fields=("total_amount",),
    ),
    "string capacity": Bad(
        "admin",
        "post",
        lambda d: SCHEDULES,
        lambda d: _schedule(d, max_patients="ten"),
        fields=("max_patients",),
    ),
    # Unknown ids.
    "unknown department": Bad(
        "patient",
        "post",
        lambda d: BOOK,
        lambda d: _booking(d, dept_id=987654),
        fields=("dept_id",),
    ),
    "unknown doctor": Bad(
        "patient",
        "post",
        lambda d: BOOK,
        lambda d: _booking(d, doctor_id="NOBODY"),
        fields=("doctor_id",),
    ),
    "unknown appointment": Bad(
        "patient", "delete", lambda d: f"{BOOK}/987654", status=404, code="not_found"
    ),
    "unknown visit to pay": Bad(
        "receptionist",
        "post",
        lambda d: "/api/receptionist/payment/987654",
        _pay(total_amount=1, insurance_amount=0),
        status=404,
        code="not_found",
    ),
    "unknown employee": Bad(
        "admin",
        "put",
        lambda d: "/api/admin/employees/NOBODY",
        lambda d: {"title": "x"},
        status=404,
        code="not_found",
    ),
    "unknown path": Bad(
        "admin", "get", lambda d: "/api/admin/nothing-here", status=404, code="not_found"
    ),
    "text where an id goes": Bad(
        "admin", "delete", lambda d: f"{SCHEDULES}/abc", status=404, code="not_found"
    ),
    # Huge numbers.
    "huge id in path": Bad(
        "admin",
        "put",
        lambda d: f"{SCHEDULES}/{10**30}",
        lambda d: {"max_patients": 1},
        status=404,
        code="not_found",
    ),
    "huge id in body": Bad(
        "patient",
        "post",
        lambda d: BOOK,
        lambda d: _booking(d, dept_id=10**30),
        fields=("dept_id",),
    ),
    "huge amount": Bad(
        "receptionist",
        "post",
        _pay_url,
        _pay(total_amount="1e30", insurance_amount=0),
        fields=("total_amount",),
    ),
    "amount over the maximum": Bad(
        "receptionist",
        "post",
        _pay_url,
        _pay(total_amount="100000000", insurance_amount=0),
        code="invalid_amounts",
        fields=("total_amount",),
    ),
    "huge capacity": Bad(
        "admin",
        "post",
        lambda d: SCHEDULES,
        lambda d: _schedule(d, max_patients=10**12),
        fields=("max_patients",),
    ),
    "huge limit": Bad(
        "admin", "get", lambda d: "/api/admin/rooms?limit=1000000", fields=("limit",)
    ),
    "huge offset": Bad(
        "admin", "get", lambda d: f"/api/admin/rooms?offset={10**20}", fields=("offset",)
    ),
    # Negative numbers and broken bill arithmetic.
    "negative amount": Bad(
        "receptionist",
        "post",
        _pay_url,
        _pay(total_amount="-5", insurance_amount=0),
        code="invalid_amounts",
        fields=("total_amount",),
    ),
    "insurance above total": Bad(
        "receptionist",
        "post",
        _pay_url,
        _pay(total_amount=10, insurance_amount=20),
        code="invalid_amounts",
        fields=("insurance_amount",),
    ),
    "self-pay not the difference": Bad(
        "receptionist",
        "post",
        _pay_url,
        _pay(total_amount=10, insurance_amount=4, self_pay_amount=5),
        code="invalid_amounts",
        fields=("self_pay_amount",),
    ),
    "negative capacity": Bad(
        "admin",
        "post",
        lambda d: SCHEDULES,
        lambda d: _schedule(d, max_patients=-1),
        fields=("max_patients",),
    ),
    "negative limit": Bad("admin", "get", lambda d: "/api/admin/rooms?limit=-1", fields=("limit",)),
    "negative offset": Bad(
        "admin", "get", lambda d: "/api/admin/rooms?offset=-1", fields=("offset",)
    ),
    "negative id in query": Bad(
        "admin", "get", lambda d: "/api/admin/rooms?dept_id=-3", fields=("dept_id",)
    ),
    # Dates in the past or out of range.
    "booking in the past": Bad(
        "patient",
        "post",
        lambda d: BOOK,
        lambda d: _booking(d, expected_time="2030-03-01T09:00:00"),
        code="slot_ended",
        fields=("expected_time",),
    ),
    "booking beyond the horizon": Bad(
        "patient",
        "post",
        lambda d: BOOK,
        lambda d: _booking(d, expected_time="2030-06-03T09:00:00"),
        code="beyond_horizon",
        fields=("expected_time",),
    ),
    "booking at night": Bad(
        "patient",
        "post",
        lambda d: BOOK,
        lambda d: _booking(d, expected_time="2030-03-04T22:00:00"),
        code="outside_clinic_hours",
        fields=("expected_time",),
    ),
    "booking in year 9999": Bad(
        "patient",
        "post",
        lambda d: BOOK,
        lambda d: _booking(d, expected_time="9999-12-31T23:59:59+14:00"),
        fields=("expected_time",),
    ),
    "booking in year 1": Bad(
        "patient",
        "post",
        lambda d: BOOK,
        lambda d: _booking(d, expected_time="0001-01-01T00:00:00-12:00"),
        fields=("expected_time",),
    ),
    "impossible date": Bad(
        "patient",
        "post",
        lambda d: BOOK,
        lambda d: _booking(d, expected_time="2030-02-30T09:00:00"),
        fields=("expected_time",),
    ),
    "availability in the past": Bad(
        "patient",
        "get",
        lambda d: f"/api/patient/availability?dept_id={_dept(d)}&date=2030-03-01",
        fields=("date",),
    ),
    "schedule in the past": Bad(
        "admin",
        "post",
        lambda d: SCHEDULES,
        lambda d: _schedule(d, work_date="2030-03-01"),
        fields=("work_date",),
    ),
    "schedule in year 9999": Bad(
        "admin",
        "post",
        lambda d: SCHEDULES,
        lambda d: _schedule(d, work_date="9999-01-01"),
        fields=("work_date",),
    ),
    "statistics range reversed": Bad(
        "admin",
        "get",
        lambda d: "/api/admin/statistics/income?start_date=2030-03-31&end_date=2030-03-01",
        fields=("end_date",),
    ),
    "statistics from year 1": Bad(
        "admin",
        "get",
        lambda d: "/api/admin/statistics/visits?start_date=0001-01-01",
        fields=("start_date",),
    ),
    "bills up to year 9999": Bad(
        "receptionist",
        "get",
        lambda d: "/api/receptionist/bills?end_date=9999-12-31",
        fields=("end_date",),
    ),
    # Values that are no choice.
    "unknown status filter": Bad(
        "receptionist", "get", lambda d: "/api/receptionist/visits?status=gone", fields=("status",)
    ),
    "completing by status": Bad(
        "receptionist",
        "put",
        lambda d: f"/api/receptionist/appointments/{d.booking.pk}/status",
        lambda d: {"status": "completed"},
        fields=("status",),
    ),
    "unknown group": Bad(
        "admin", "get", lambda d: "/api/admin/statistics/income?group_by=week", fields=("group_by",)
    ),
    # Domain refusals: the move is not legal now.
    "leaving without paying": Bad(
        "receptionist",
        "put",
        lambda d: f"/api/receptionist/visits/{d.awaiting_payment.pk}/status",
        lambda d: {"status": "left"},
        status=409,
        code="settlement_required",
    ),
    "skipping a step": Bad(
        "receptionist",
        "put",
        lambda d: f"/api/receptionist/visits/{d.waiting.pk}/status",
        lambda d: {"status": "awaiting_payment"},
        status=409,
        code="invalid_transition",
    ),
    "paying a waiting visit": Bad(
        "receptionist",
        "post",
        lambda d: f"/api/receptionist/payment/{d.waiting.pk}",
        _pay(total_amount=1, insurance_amount=0),
        status=409,
        code="invalid_transition",
    ),
    "wrong phone at check-in": Bad(
        "receptionist",
        "post",
        lambda d: f"/api/receptionist/checkin/{d.phone_booking.pk}",
        lambda d: {"phone": "13700000000"},
        code="verification_failed",
        fields=("phone",),
    ),
    "booking twice": Bad(
        "patient",
        "post",
        lambda d: BOOK,
        lambda d: _booking(d, expected_time="2030-03-04T11:00:00"),
        status=409,
        code="duplicate_booking",
    ),
    "calling during a consultation": Bad(
        "doctor",
        "post",
        lambda d: "/api/doctor/call-next",
        status=409,
        code="consultation_in_progress",
    ),
    "record before the consultation": Bad(
        "doctor",
        "put",
        lambda d: f"/api/doctor/visits/{d.waiting.pk}/medical-record",
        lambda d: {"diagnosis": "x"},
        status=409,
        code="record_not_editable",
    ),
    "record too long": Bad(
        "doctor",
        "put",
        lambda d: f"/api/doctor/visits/{d.awaiting_payment.pk}/medical-record",
        lambda d: {"diagnosis": "x" * 10_001},
        fields=("diagnosis",),
    ),
    "removing a used schedule": Bad(
        "admin",
        "delete",
        lambda d: f"{SCHEDULES}/{d.schedule.pk}",
        status=409,
        code="schedule_in_use",
    ),
    "overlapping schedule": Bad(
        "admin",
        "post",
        lambda d: SCHEDULES,
        lambda d: _schedule(d, work_date="2030-03-04", time_slot="full_day"),
        fields=("doctor_id",),
    ),
    "duplicate room number": Bad(
        "admin",
        "post",
        lambda d: "/api/admin/rooms",
        lambda d: {"room_number": d.schedule.room.room_number, "dept_id": _dept(d)},
        fields=("room_number",),
    ),
    "doctor without department": Bad(
        "admin",
        "post",
        lambda d: "/api/admin/employees",
        lambda d: {"emp_id": "D900", "name": "Dr X", "gender": "male", "position": "doctor"},
        fields=("dept_id",),
    ),
    "bad phone for an employee": Bad(
        "admin",
        "patch",
        lambda d: f"/api/admin/employees/{d.schedule.doctor.emp_id}",
        lambda d: {"phone": "12345"},
        fields=("phone",),
    ),
    "bad resident id at registration": Bad(
        "anonymous",
        "post",
        lambda d: "/api/auth/register",
        lambda d: {
            "username": "x.y",
            "password": "a-long-enough-passphrase",
            "name": "X",
            "phone": "13600001111",
            "gender": "male",
            "id_card": "110105199001011234",
        },
        fields=("id_card",),
    ),
    "weak password at registration": Bad(
        "anonymous",
        "post",
        lambda d: "/api/auth/register",
        lambda d: {
            "username": "x.y",
            "password": "12345",
            "name": "X",
            "phone": "13600001111",
            "gender": "male",
        },
        fields=("password",),
    ),
    "taken username at registration": Bad(
        "anonymous",
        "post",
        lambda d: "/api/auth/register",
        lambda d: {
            "username": d.users["patient"].username,
            "password": "a-long-enough-passphrase",
            "name": "X",
            "phone": "13600001111",
            "gender": "male",
        },
        fields=("username",),
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input_gets_its_error_and_changes_nothing(name: str, clinic_day: ClinicDay) -> None:
    case = CASES[name]
    client = bearer_client(clinic_day.users[case.persona])
    url = case.url(clinic_day)
    before = database_state()
    send = getattr(client, case.method)
    if case.raw is not None:
        response = send(url, case.raw, content_type="application/json")
    elif case.body is not None:
        response = send(url, case.body(clinic_day), format="json")
    else:
        response = send(url)
    assert response.status_code == case.status, response.content
    error = response.json()["error"]
    assert error["code"] == case.code, error
    assert isinstance(error["message"], str) and error["message"]
    for name_ in case.fields:
        assert name_ in error["details"], error
    assert database_state() == before


def _tampered(token: str) -> str:
    header, payload, signature = token.split(".")
    return f"{header}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}"


def _expired_access(user: User) -> str:
    token = AccessToken.for_user(user)
    token.set_exp(from_time=token.current_time - dt.timedelta(hours=1), lifetime=dt.timedelta(0))
    return str(token)


TOKENS: dict[str, Callable[[User], str]] = {
    "expired": _expired_access,
    "tampered": lambda user: _tampered(str(RefreshToken.for_user(user).access_token)),
    "garbage": lambda user: "not-a-token",
    "a refresh token used as access": lambda user: str(RefreshToken.for_user(user)),
    "signed with another key": lambda user: (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJ0b2tlbl90eXBlIjoiYWNjZXNzIiwiZXhwIjo0MTAyNDQ0O"
        "DAwLCJqdGkiOiJ4IiwidXNlcl9pZCI6MX0.c2lnbmVkLXdpdGgtYW5vdGhlci1rZXk"
    ),
}


@pytest.mark.parametrize("kind", list(TOKENS))
def test_a_bad_access_token_is_refused_and_changes_nothing(
    kind: str, clinic_day: ClinicDay
) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {TOKENS[kind](clinic_day.users['patient'])}")
    before = database_state()
    response = client.post(BOOK, _booking(clinic_day), format="json")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "token_not_valid"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert database_state() == before


def test_a_deactivated_users_tokens_stop_working(clinic_day: ClinicDay) -> None:
    user = clinic_day.users["patient"]
    client = bearer_client(user)
    refresh = str(RefreshToken.for_user(user))
    user.is_active = False
    user.save(update_fields=["is_active"])
    before = database_state()
    response = client.post(BOOK, _booking(clinic_day), format="json")
    assert response.status_code == 401
    assert response.json()["error"]["details"]["reason"] == "user_inactive"
    response = APIClient().post("/api/auth/refresh", {"refresh": refresh}, format="json")
    assert response.status_code == 401
    assert response.json()["error"]["details"]["reason"] == "no_active_account"
    assert database_state() == before


def test_a_deleted_accounts_token_is_refused(clinic_day: ClinicDay) -> None:
    user = clinic_day.users["other_doctor"]
    client = bearer_client(user)
    user.delete()
    response = client.get("/api/doctor/queue")
    assert response.status_code == 401
    assert response.json()["error"]["details"]["reason"] == "user_not_found"


def test_a_password_change_revokes_issued_tokens(clinic_day: ClinicDay) -> None:
    user = clinic_day.users["receptionist"]
    client = bearer_client(user)
    refresh = str(RefreshToken.for_user(user))
    user.set_password("a-brand-new-passphrase")
    user.save(update_fields=["password"])
    assert client.get("/api/receptionist/visits").status_code == 401
    response = APIClient().post("/api/auth/refresh", {"refresh": refresh}, format="json")
    assert response.status_code == 401
