"""The API as a door: rooms, staff and schedules created, changed and deleted through it write
exactly the audit events the services write elsewhere; a refused request writes neither the
record nor an event."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from appointments.tests.factories import AppointmentFactory
from clinic.models import Employee, Room
from clinic.tests.factories import DepartmentFactory, DoctorFactory, RoomFactory
from scheduling.models import Schedule
from scheduling.tests.factories import ScheduleFactory
from tests.api.conftest import bearer_client
from tests.support import audit_trail

pytestmark = pytest.mark.django_db

WORK_DATE = dt.date(2031, 5, 5)


@pytest.fixture
def api(admin_user):
    return bearer_client(admin_user)


def refused(response, status: int, *fields: str) -> None:
    assert response.status_code == status, response.content
    if fields:
        assert set(fields) <= set(response.json()["error"]["details"])


class TestRooms:
    def test_creating_a_room(self, api, admin_user):
        department = DepartmentFactory()
        response = api.post(
            "/api/admin/rooms", {"room_number": "405", "dept_id": department.pk}, format="json"
        )
        assert response.status_code == 201
        room = Room.objects.get(room_number="405")
        assert audit_trail() == [
            (
                admin_user.pk,
                "room.created",
                "clinic.room",
                str(room.pk),
                {},
                {"room_number": "405", "department": department.pk, "status": "active"},
            )
        ]

    def test_changing_a_room(self, api, admin_user):
        room = RoomFactory(room_number="405")
        other = DepartmentFactory()
        response = api.patch(
            f"/api/admin/rooms/{room.pk}",
            {"dept_id": other.pk, "status": "disabled"},
            format="json",
        )
        assert response.status_code == 200
        assert audit_trail() == [
            (
                admin_user.pk,
                "room.updated",
                "clinic.room",
                str(room.pk),
                {"department": room.department_id, "status": "active"},
                {"department": other.pk, "status": "disabled"},
            )
        ]

    def test_a_duplicate_number_changes_nothing(self, api):
        RoomFactory(room_number="405")
        room = RoomFactory(room_number="406")
        response = api.patch(f"/api/admin/rooms/{room.pk}", {"room_number": "405"}, format="json")
        refused(response, 400, "room_number")
        assert Room.objects.get(pk=room.pk).room_number == "406"
        assert audit_trail() == []

    def test_moving_a_room_with_patients_booked_changes_nothing(self, api):
        room = ScheduleFactory(current_patients=1).room
        response = api.patch(
            f"/api/admin/rooms/{room.pk}", {"dept_id": DepartmentFactory().pk}, format="json"
        )
        refused(response, 400, "non_field_errors")
        assert Room.objects.get(pk=room.pk).department_id == room.department_id
        assert audit_trail() == []


class TestEmployees:
    def test_creating_an_employee(self, api, admin_user):
        department = DepartmentFactory()
        body = {
            "emp_id": "D321",
            "name": "Dr Zhao",
            "gender": "female",
            "phone": "13800002222",
            "position": "doctor",
            "dept_id": department.pk,
        }
        assert api.post("/api/admin/employees", body, format="json").status_code == 201
        employee = Employee.objects.get(emp_id="D321")
        assert audit_trail() == [
            (
                admin_user.pk,
                "employee.created",
                "clinic.employee",
                str(employee.pk),
                {},
                {
                    "emp_id": "D321",
                    "name": "Dr Zhao",
                    "gender": "female",
                    "phone": "13800002222",
                    "position": "doctor",
                    "department": department.pk,
                    "title": "",
                    "title_en": "",
                    "rank": "",
                    "status": "active",
                },
            )
        ]

    def test_changing_an_employee(self, api, admin_user):
        doctor = DoctorFactory(title="")
        response = api.patch(
            f"/api/admin/employees/{doctor.emp_id}",
            {"title": "Attending physician"},
            format="json",
        )
        assert response.status_code == 200
        assert audit_trail() == [
            (
                admin_user.pk,
                "employee.updated",
                "clinic.employee",
                str(doctor.pk),
                {"title": ""},
                {"title": "Attending physician"},
            )
        ]

    def test_a_doctor_without_a_department_changes_nothing(self, api):
        doctor = DoctorFactory()
        response = api.patch(
            f"/api/admin/employees/{doctor.emp_id}", {"dept_id": None}, format="json"
        )
        refused(response, 400, "dept_id")
        assert Employee.objects.get(pk=doctor.pk).department_id == doctor.department_id
        assert audit_trail() == []


def schedule_body(doctor, room, **changes: Any) -> dict[str, Any]:
    return {
        "room_id": room.pk,
        "doctor_id": doctor.emp_id,
        "work_date": WORK_DATE.isoformat(),
        "time_slot": "morning",
        "max_patients": 10,
        **changes,
    }


class TestSchedules:
    def test_creating_a_schedule(self, api, admin_user):
        doctor = DoctorFactory()
        room = RoomFactory(department=doctor.department)
        response = api.post("/api/admin/schedules", schedule_body(doctor, room), format="json")
        assert response.status_code == 201
        assert audit_trail() == [
            (
                admin_user.pk,
                "schedule.created",
                "scheduling.schedule",
                str(response.json()["id"]),
                {},
                {
                    "department": doctor.department_id,
                    "room": room.pk,
                    "doctor": doctor.pk,
                    "work_date": WORK_DATE.isoformat(),
                    "time_slot": "morning",
                    "start_time": "08:00:00",
                    "end_time": "12:00:00",
                    "window_minutes": 30,
                    "max_patients": 10,
                },
            )
        ]

    def test_an_overlap_changes_nothing(self, api):
        existing = ScheduleFactory(work_date=WORK_DATE, time_slot="full_day")
        room = RoomFactory(department=existing.department)
        response = api.post(
            "/api/admin/schedules", schedule_body(existing.doctor, room), format="json"
        )
        refused(response, 400, "doctor_id")
        assert Schedule.objects.count() == 1
        assert audit_trail() == []

    def test_changing_a_schedule(self, api, admin_user):
        schedule = ScheduleFactory(work_date=WORK_DATE)
        response = api.patch(
            f"/api/admin/schedules/{schedule.pk}",
            {"time_slot": "afternoon", "max_patients": 12},
            format="json",
        )
        assert response.status_code == 200
        assert audit_trail() == [
            (
                admin_user.pk,
                "schedule.updated",
                "scheduling.schedule",
                str(schedule.pk),
                # A new preset alone brings its hours.
                {
                    "time_slot": "morning",
                    "start_time": "08:00:00",
                    "end_time": "12:00:00",
                    "max_patients": 10,
                },
                {
                    "time_slot": "afternoon",
                    "start_time": "13:30:00",
                    "end_time": "17:30:00",
                    "max_patients": 12,
                },
            )
        ]

    def test_deleting_a_schedule(self, api, admin_user):
        schedule = ScheduleFactory(work_date=WORK_DATE)
        pk = schedule.pk
        assert api.delete(f"/api/admin/schedules/{pk}").status_code == 204
        assert not Schedule.objects.filter(pk=pk).exists()
        assert audit_trail() == [
            (
                admin_user.pk,
                "schedule.deleted",
                "scheduling.schedule",
                str(pk),
                {
                    "department": schedule.department_id,
                    "room": schedule.room_id,
                    "doctor": schedule.doctor_id,
                    "work_date": WORK_DATE.isoformat(),
                    "time_slot": "morning",
                    "start_time": "08:00:00",
                    "end_time": "12:00:00",
                    "window_minutes": None,
                    "max_patients": 10,
                },
                {},
            )
        ]

    @pytest.mark.parametrize("held", ["places held", "a past booking"])
    def test_a_schedule_in_use_is_not_deleted_nor_recorded(self, api, held):
        if held == "places held":
            schedule = ScheduleFactory(work_date=WORK_DATE, current_patients=1)
        else:
            schedule = AppointmentFactory(status="cancelled").schedule
        response = api.delete(f"/api/admin/schedules/{schedule.pk}")
        refused(response, 409)
        assert response.json()["error"]["code"] == "schedule_in_use"
        assert Schedule.objects.filter(pk=schedule.pk).exists()
        assert audit_trail() == []
