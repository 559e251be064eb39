"""The API of time-sliced booking: availability per window, bookings and visits carrying
their window, late arrivals, and the schema documenting them."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import pytest
from rest_framework.test import APIClient

from api.schema import LOCAL_TIME_PATTERN
from appointments.services import book_appointment
from scheduling.tests.factories import ScheduleFactory
from tests.api.conftest import bearer_client
from tests.support import WORK_DAY, clinic_time

pytestmark = pytest.mark.django_db

AVAILABILITY = "/api/patient/availability"
BOOK = "/api/patient/appointments"


@pytest.fixture
def schedule(clinic_clock: dt.datetime) -> Any:
    """WORK_DAY 08:00–10:00 (the clock says 09:00) in 30-minute windows of 2 places; the
    last window kept for the desk."""
    schedule = ScheduleFactory(
        work_date=WORK_DAY,
        start_time=dt.time(8, 0),
        end_time=dt.time(10, 0),
        window_minutes=30,
        max_patients=8,
    )
    schedule.windows.filter(start_time=dt.time(9, 30)).update(desk_only=True)
    return schedule


def windows_seen(user: Any, schedule: Any) -> list[dict]:
    response = bearer_client(user).get(
        AVAILABILITY, {"dept_id": schedule.department_id, "date": WORK_DAY.isoformat()}
    )
    assert response.status_code == 200, response.json()
    (morning,) = response.json()["results"]
    # The existing keys stay.
    assert {"time_slot", "remaining", "is_bookable", "doctors"} <= set(morning)
    return morning["windows"]


def test_availability_answers_per_window(patient_user: Any, schedule: Any) -> None:
    windows = windows_seen(patient_user, schedule)
    assert [(w["start"], w["end"], w["has_ended"]) for w in windows] == [
        ("08:00", "08:30", True),
        ("08:30", "09:00", True),
        ("09:00", "09:30", False),
        ("09:30", "10:00", False),
    ]
    running = windows[2]
    assert (running["remaining"], running["is_bookable"], running["label"]) == (
        2,
        True,
        "09:00–09:30",
    )
    (place,) = running["doctors"]
    assert place["doctor_id"] == schedule.doctor.emp_id
    assert (place["remaining"], place["desk_only"]) == (2, False)


def test_a_desk_only_window_has_no_place_for_patients_but_has_for_the_desk(
    patient_user: Any, receptionist: Any, schedule: Any
) -> None:
    for_patient = windows_seen(patient_user, schedule)[3]
    for_desk = windows_seen(receptionist, schedule)[3]
    assert (for_patient["remaining"], for_patient["is_bookable"]) == (0, False)
    assert (for_desk["remaining"], for_desk["is_bookable"]) == (2, True)
    assert for_desk["doctors"][0]["desk_only"] is True


def test_a_booking_takes_the_window_containing_its_time_and_carries_it(
    patient_user: Any, schedule: Any
) -> None:
    client = bearer_client(patient_user)
    response = client.post(
        BOOK,
        {"dept_id": schedule.department_id, "expected_time": "2030-03-04T09:10:00"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["window"] == {"start": "09:00", "end": "09:30", "label": "09:00–09:30"}
    assert body["is_late"] is False
    listed = client.get(BOOK).json()["results"]
    assert listed[0]["window"]["label"] == "09:00–09:30"
    assert windows_seen(patient_user, schedule)[2]["remaining"] == 1


def test_a_patient_cannot_book_a_desk_only_window(patient_user: Any, schedule: Any) -> None:
    response = bearer_client(patient_user).post(
        BOOK,
        {"dept_id": schedule.department_id, "expected_time": "2030-03-04T09:40:00"},
        format="json",
    )
    assert response.status_code == 409
    assert response.json()["error"]["details"]["window"] == "09:30–10:00"
    schedule.refresh_from_db()
    assert schedule.current_patients == 0


def test_a_visit_carries_its_window_and_whether_it_came_late(
    patient_user: Any, receptionist: Any, schedule: Any
) -> None:
    booking = book_appointment(
        by=patient_user,
        department=schedule.department,
        expected_time=clinic_time(8, 0),
        now=clinic_time(7, 0),
    )
    desk = bearer_client(receptionist)
    desk_list = desk.get("/api/receptionist/appointments", {"date": WORK_DAY.isoformat()})
    assert desk_list.json()["results"][0]["is_late"] is True  # 08:30 is past: late
    response = desk.post(
        f"/api/receptionist/checkin/{booking.pk}",
        {"phone": booking.phone, "id_card": booking.id_card[-4:] if booking.id_card else ""},
        format="json",
    )
    assert response.status_code == 201, response.json()
    visit = response.json()
    assert visit["window"] == {"start": "08:00", "end": "08:30", "label": "08:00–08:30"}
    assert visit["arrived_late"] is True
    listed = desk.get("/api/receptionist/visits").json()["results"]
    assert [(v["window"]["label"], v["arrived_late"]) for v in listed] == [("08:00–08:30", True)]


def test_the_schema_documents_windows() -> None:
    schemas = APIClient().get("/api/schema/", {"format": "json"}).json()["components"]["schemas"]

    def properties(name: str) -> dict:
        schema = schemas[name]
        return schema.get("properties", {})

    assert {"window", "is_late"} <= set(properties("Appointment"))
    assert {"window", "arrived_late"} <= set(properties("Visit"))
    assert "windows" in properties("SlotAvailability")
    window = properties("WindowAvailability")
    assert {"start", "end", "remaining", "doctors"} <= set(window)
    assert {"start", "end", "label"} <= set(properties("Window"))


def test_times_in_the_schema_are_clinic_local_whole_minutes() -> None:
    """No RFC 3339 "time" format (it asks for a UTC offset, which the API never writes): a
    pattern that the API's own answers ("08:00:00", "08:00") match."""
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    text = json.dumps(schema)
    assert '"format": "time"' not in text
    start = schema["components"]["schemas"]["Schedule"]["properties"]["start_time"]
    assert start["pattern"] == LOCAL_TIME_PATTERN
    for value in ("08:00:00", "08:00", "23:59"):
        assert re.fullmatch(LOCAL_TIME_PATTERN, value)
    for value in ("08:00:30", "08:00:00Z", "24:00"):
        assert not re.fullmatch(LOCAL_TIME_PATTERN, value)
