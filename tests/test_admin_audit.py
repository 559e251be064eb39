"""Django Admin as a door: adding, changing and deleting (one by one and with the bulk action)
departments, rooms, staff, accounts, patients' account links and schedules writes exactly
the audit events the services write elsewhere; a refused change writes neither the record
nor an event, and is never a 500."""

from __future__ import annotations

import datetime as dt
from typing import Any
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.db import models
from django.forms.models import model_to_dict
from django.urls import reverse

from clinic.admin import RoomAdmin
from clinic.exceptions import RecordInUse
from clinic.models import Department, Employee, Patient, Position, Role, Room, RoomStatus, User
from clinic.privacy import mask_id_card
from clinic.tests.factories import (
    DepartmentFactory,
    DoctorFactory,
    EmployeeFactory,
    PatientFactory,
    PatientUserFactory,
    ReceptionistFactory,
    RoomFactory,
    UserFactory,
    make_resident_id,
)
from scheduling.models import Schedule
from scheduling.tests.factories import ScheduleFactory, set_places_taken
from tests.support import audit_trail

pytestmark = pytest.mark.django_db

WORK_DATE = dt.date(2031, 5, 5)


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def admin_url(model: type[models.Model], view: str, *args: Any) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def form_data(obj: models.Model, fields: tuple[str, ...], **changes: Any) -> dict[str, Any]:
    """What the change form posts: the record's values, with `changes`."""
    data = {**model_to_dict(obj, fields=fields), **changes}
    return {name: "" if value is None else value for name, value in data.items()}


def bulk_delete(client, model: type[models.Model], *objs: models.Model):
    return client.post(
        admin_url(model, "changelist"),
        {"action": "delete_selected", "_selected_action": [o.pk for o in objs], "post": "yes"},
    )


def error_messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request) if m.level_tag == "error"]


def assert_saved(response) -> None:
    assert response.status_code == 302, response.content.decode()[:3000]


# --- Departments (and their rooms, edited inline) -----------------------------------------

ROOM_INLINE = {
    "rooms-INITIAL_FORMS": "0",
    "rooms-MIN_NUM_FORMS": "0",
    "rooms-MAX_NUM_FORMS": "1000",
}


class TestDepartments:
    def test_adding_a_department_with_a_room(self, admin_client, admin_user):
        response = admin_client.post(
            admin_url(Department, "add"),
            {
                "name": "Dermatology",
                "name_en": "Dermatology (EN)",
                "code": "DERM",
                "description": "",
                "is_active": "on",
                **ROOM_INLINE,
                "rooms-TOTAL_FORMS": "1",
                "rooms-0-room_number": "301",
                "rooms-0-status": "active",
            },
        )
        assert_saved(response)
        department = Department.objects.get(code="DERM")
        room = Room.objects.get(room_number="301", department=department)
        assert audit_trail() == [
            (
                admin_user.pk,
                "department.created",
                "clinic.department",
                str(department.pk),
                {},
                {
                    "name": "Dermatology",
                    "name_en": "Dermatology (EN)",
                    "code": "DERM",
                    "description": "",
                    "is_active": True,
                },
            ),
            (
                admin_user.pk,
                "room.created",
                "clinic.room",
                str(room.pk),
                {},
                {"room_number": "301", "department": department.pk, "status": "active"},
            ),
        ]

    def test_changing_a_department_and_removing_a_room_inline(self, admin_client, admin_user):
        department = DepartmentFactory(name="Old")
        kept, removed = RoomFactory(department=department), RoomFactory(department=department)
        data = form_data(department, ("name", "code", "description", "is_active"), name="New")
        data.update({**ROOM_INLINE, "rooms-TOTAL_FORMS": "2", "rooms-INITIAL_FORMS": "2"})
        for index, room in enumerate([kept, removed]):
            data |= {
                f"rooms-{index}-id": room.pk,
                f"rooms-{index}-department": department.pk,
                f"rooms-{index}-room_number": room.room_number,
                f"rooms-{index}-status": room.status,
            }
        data["rooms-0-status"] = "disabled"
        data["rooms-1-DELETE"] = "on"
        assert_saved(admin_client.post(admin_url(Department, "change", department.pk), data))
        assert Department.objects.get(pk=department.pk).name == "New"
        assert Room.objects.get(pk=kept.pk).status == "disabled"
        assert not Room.objects.filter(pk=removed.pk).exists()
        assert audit_trail() == [
            (
                admin_user.pk,
                "department.updated",
                "clinic.department",
                str(department.pk),
                {"name": "Old"},
                {"name": "New"},
            ),
            (
                admin_user.pk,
                "room.deleted",
                "clinic.room",
                str(removed.pk),
                {
                    "room_number": removed.room_number,
                    "department": department.pk,
                    "status": "active",
                },
                {},
            ),
            (
                admin_user.pk,
                "room.updated",
                "clinic.room",
                str(kept.pk),
                {"status": "active"},
                {"status": "disabled"},
            ),
        ]

    def test_a_duplicate_code_changes_nothing(self, admin_client):
        DepartmentFactory(code="IM")
        department = DepartmentFactory(code="ENT", name="ENT")
        data = form_data(department, ("name", "code", "description", "is_active"), code="IM")
        data.update({**ROOM_INLINE, "rooms-TOTAL_FORMS": "0"})
        response = admin_client.post(admin_url(Department, "change", department.pk), data)
        assert response.status_code == 200
        assert "code" in response.context["adminform"].form.errors
        assert Department.objects.get(pk=department.pk).code == "ENT"
        assert audit_trail() == []

    def test_deleting_a_department(self, admin_client, admin_user):
        department = DepartmentFactory(name="Closed", code="CL")
        pk = department.pk
        response = admin_client.post(admin_url(Department, "delete", pk), {"post": "yes"})
        assert_saved(response)
        assert not Department.objects.filter(pk=pk).exists()
        assert audit_trail() == [
            (
                admin_user.pk,
                "department.deleted",
                "clinic.department",
                str(pk),
                {
                    "name": "Closed",
                    "name_en": "",
                    "code": "CL",
                    "description": "",
                    "is_active": True,
                },
                {},
            )
        ]

    def test_bulk_deleting_departments(self, admin_client, admin_user):
        first, second = DepartmentFactory(), DepartmentFactory()
        assert_saved(bulk_delete(admin_client, Department, first, second))
        assert not Department.objects.filter(pk__in=[first.pk, second.pk]).exists()
        assert sorted((row[0], row[1], row[3]) for row in audit_trail()) == sorted(
            [
                (admin_user.pk, "department.deleted", str(first.pk)),
                (admin_user.pk, "department.deleted", str(second.pk)),
            ]
        )


# --- Rooms ------------------------------------------------------------------------------

ROOM_FIELDS = ("room_number", "department", "status")


class TestRooms:
    def test_adding_a_room(self, admin_client, admin_user):
        department = DepartmentFactory()
        response = admin_client.post(
            admin_url(Room, "add"),
            {"room_number": "205", "department": department.pk, "status": "active"},
        )
        assert_saved(response)
        room = Room.objects.get(room_number="205")
        assert audit_trail() == [
            (
                admin_user.pk,
                "room.created",
                "clinic.room",
                str(room.pk),
                {},
                {"room_number": "205", "department": department.pk, "status": "active"},
            )
        ]

    def test_changing_a_room(self, admin_client, admin_user):
        room = RoomFactory(room_number="205")
        data = form_data(room, ROOM_FIELDS, room_number="206")
        assert_saved(admin_client.post(admin_url(Room, "change", room.pk), data))
        assert Room.objects.get(pk=room.pk).room_number == "206"
        assert audit_trail() == [
            (
                admin_user.pk,
                "room.updated",
                "clinic.room",
                str(room.pk),
                {"room_number": "205"},
                {"room_number": "206"},
            )
        ]

    def test_disabling_a_room_with_patients_booked_changes_nothing(self, admin_client):
        room = ScheduleFactory(current_patients=2).room
        data = form_data(room, ROOM_FIELDS, status="disabled")
        response = admin_client.post(admin_url(Room, "change", room.pk), data)
        assert response.status_code == 200
        assert response.context["adminform"].form.non_field_errors()
        assert Room.objects.get(pk=room.pk).status == "active"
        assert audit_trail() == []

    def test_patients_booked_after_the_form_was_checked_refuse_the_change(self, admin_client):
        room = RoomFactory()
        checked_form = RoomAdmin.save_form

        def booking_lands_meanwhile(admin, request, form, change):
            doctor = DoctorFactory(department=room.department)
            ScheduleFactory(room=room, doctor=doctor, current_patients=1)
            return checked_form(admin, request, form, change)

        with mock.patch.object(RoomAdmin, "save_form", booking_lands_meanwhile):
            response = admin_client.post(
                admin_url(Room, "change", room.pk), form_data(room, ROOM_FIELDS, status="disabled")
            )
        assert response.status_code == 302
        assert "Patients are booked into this room" in error_messages(response)[0]
        assert Room.objects.get(pk=room.pk).status == "active"
        assert audit_trail() == []

    def test_deleting_a_room(self, admin_client, admin_user):
        room = RoomFactory()
        pk = room.pk
        assert_saved(admin_client.post(admin_url(Room, "delete", pk), {"post": "yes"}))
        assert not Room.objects.filter(pk=pk).exists()
        assert [(row[0], row[1], row[3], row[4]["room_number"]) for row in audit_trail()] == [
            (admin_user.pk, "room.deleted", str(pk), room.room_number)
        ]

    def test_bulk_deleting_rooms(self, admin_client, admin_user):
        rooms = RoomFactory.create_batch(3)
        assert_saved(bulk_delete(admin_client, Room, *rooms))
        assert not Room.objects.exists()
        assert sorted((row[0], row[1], row[3]) for row in audit_trail()) == sorted(
            (admin_user.pk, "room.deleted", str(room.pk)) for room in rooms
        )

    def test_a_bulk_delete_refused_by_the_service_deletes_none(self, admin_client):
        rooms = RoomFactory.create_batch(2)
        # A schedule made for the second room between the confirmation page and the delete.
        real_delete = Room.delete

        def delete(room, *args, **kwargs):
            if room.pk == rooms[1].pk:
                raise RecordInUse()
            return real_delete(room, *args, **kwargs)

        with mock.patch.object(Room, "delete", delete):
            response = bulk_delete(admin_client, Room, *rooms)
        assert response.status_code == 302
        assert error_messages(response)
        assert Room.objects.count() == 2
        assert audit_trail() == []

    def test_the_disable_action_audits_each_room_and_keeps_booked_ones(
        self, admin_client, admin_user
    ):
        free = RoomFactory()
        booked = ScheduleFactory(current_patients=1).room
        already = RoomFactory(status=RoomStatus.DISABLED)
        response = admin_client.post(
            admin_url(Room, "changelist"),
            {"action": "disable_rooms", "_selected_action": [free.pk, booked.pk, already.pk]},
        )
        assert response.status_code == 302
        assert [str(booked) in message for message in error_messages(response)] == [True]
        assert Room.objects.get(pk=free.pk).status == "disabled"
        assert Room.objects.get(pk=booked.pk).status == "active"
        assert audit_trail() == [
            (
                admin_user.pk,
                "room.updated",
                "clinic.room",
                str(free.pk),
                {"status": "active"},
                {"status": "disabled"},
            )
        ]

    def test_the_enable_action_audits_each_room(self, admin_client, admin_user):
        room = RoomFactory(status=RoomStatus.DISABLED)
        admin_client.post(
            admin_url(Room, "changelist"), {"action": "enable_rooms", "_selected_action": [room.pk]}
        )
        assert Room.objects.get(pk=room.pk).status == "active"
        assert [row[1:] for row in audit_trail()] == [
            (
                "room.updated",
                "clinic.room",
                str(room.pk),
                {"status": "disabled"},
                {"status": "active"},
            )
        ]


# --- Staff ------------------------------------------------------------------------------

EMPLOYEE_FIELDS = ("emp_id", "name", "gender", "phone", "position", "department", "title", "status")


class TestEmployees:
    def test_adding_an_employee(self, admin_client, admin_user):
        department = DepartmentFactory()
        response = admin_client.post(
            admin_url(Employee, "add"),
            {
                "emp_id": "D777",
                "name": "Dr Wang",
                "gender": "male",
                "phone": "13800001111",
                "position": "doctor",
                "department": department.pk,
                "title": "主治医师",
                "title_en": "Attending Physician",
                "status": "active",
            },
        )
        assert_saved(response)
        employee = Employee.objects.get(emp_id="D777")
        assert audit_trail() == [
            (
                admin_user.pk,
                "employee.created",
                "clinic.employee",
                str(employee.pk),
                {},
                {
                    "emp_id": "D777",
                    "name": "Dr Wang",
                    "gender": "male",
                    "phone": "13800001111",
                    "position": "doctor",
                    "department": department.pk,
                    "title": "主治医师",
                    "title_en": "Attending Physician",
                    "rank": "",
                    "status": "active",
                },
            )
        ]

    def test_changing_an_employee(self, admin_client, admin_user):
        doctor = DoctorFactory(title="")
        data = form_data(doctor, EMPLOYEE_FIELDS, title="Chief physician", status="on_leave")
        assert_saved(admin_client.post(admin_url(Employee, "change", doctor.pk), data))
        doctor.refresh_from_db()
        assert (doctor.title, doctor.status) == ("Chief physician", "on_leave")
        assert audit_trail() == [
            (
                admin_user.pk,
                "employee.updated",
                "clinic.employee",
                str(doctor.pk),
                {"title": "", "status": "active"},
                {"title": "Chief physician", "status": "on_leave"},
            )
        ]

    def test_a_doctor_without_a_department_changes_nothing(self, admin_client):
        doctor = DoctorFactory()
        data = form_data(doctor, EMPLOYEE_FIELDS, department="")
        response = admin_client.post(admin_url(Employee, "change", doctor.pk), data)
        assert response.status_code == 200
        assert "department" in response.context["adminform"].form.errors
        assert Employee.objects.get(pk=doctor.pk).department_id == doctor.department_id
        assert audit_trail() == []

    def test_deleting_an_employee(self, admin_client, admin_user):
        employee = EmployeeFactory()
        pk = employee.pk
        assert_saved(admin_client.post(admin_url(Employee, "delete", pk), {"post": "yes"}))
        assert not Employee.objects.filter(pk=pk).exists()
        assert [(row[0], row[1], row[3], row[4]["emp_id"]) for row in audit_trail()] == [
            (admin_user.pk, "employee.deleted", str(pk), employee.emp_id)
        ]

    def test_bulk_deleting_employees(self, admin_client, admin_user):
        staff = EmployeeFactory.create_batch(2)
        assert_saved(bulk_delete(admin_client, Employee, *staff))
        assert not Employee.objects.filter(pk__in=[e.pk for e in staff]).exists()
        assert sorted((row[0], row[1], row[3]) for row in audit_trail()) == sorted(
            (admin_user.pk, "employee.deleted", str(e.pk)) for e in staff
        )


# --- Accounts ---------------------------------------------------------------------------

ACCOUNT_FIELDS = ("username", "role", "employee", "first_name", "last_name", "email", "is_active")


class TestAccounts:
    def test_adding_a_staff_account(self, admin_client, admin_user):
        employee = EmployeeFactory(position=Position.RECEPTIONIST)
        response = admin_client.post(
            admin_url(User, "add"),
            {
                "username": "desk2",
                "role": Role.RECEPTIONIST,
                "employee": employee.pk,
                "password1": "a-long-desk-password",
                "password2": "a-long-desk-password",
            },
        )
        assert_saved(response)
        user = User.objects.get(username="desk2")
        assert user.check_password("a-long-desk-password")
        assert audit_trail() == [
            (
                admin_user.pk,
                "user.created",
                "clinic.user",
                str(user.pk),
                {},
                {
                    "username": "desk2",
                    "role": "receptionist",
                    "is_active": True,
                    "employee": employee.pk,
                    "first_name": "",
                    "last_name": "",
                    "email": "",
                    "password_usable": True,
                },
            )
        ]

    def test_changing_role_and_deactivating_are_two_events(self, admin_client, admin_user):
        user = ReceptionistFactory()
        data = form_data(user, ACCOUNT_FIELDS, role=Role.ADMIN, is_active=False)
        assert_saved(admin_client.post(admin_url(User, "change", user.pk), data))
        user.refresh_from_db()
        assert (user.role, user.is_staff, user.is_active) == (Role.ADMIN, True, False)
        assert audit_trail() == [
            (
                admin_user.pk,
                "user.role_changed",
                "clinic.user",
                str(user.pk),
                {"role": "receptionist"},
                {"role": "admin"},
            ),
            (
                admin_user.pk,
                "user.deactivated",
                "clinic.user",
                str(user.pk),
                {"is_active": True},
                {"is_active": False},
            ),
        ]

    def test_a_doctor_role_without_a_doctors_record_changes_nothing(self, admin_client):
        user = ReceptionistFactory()
        data = form_data(user, ACCOUNT_FIELDS, role=Role.DOCTOR)
        response = admin_client.post(admin_url(User, "change", user.pk), data)
        assert response.status_code == 200
        assert "employee" in response.context["adminform"].form.errors
        assert User.objects.get(pk=user.pk).role == Role.RECEPTIONIST
        assert audit_trail() == []

    def test_setting_a_password(self, admin_client, admin_user):
        user = ReceptionistFactory()
        response = admin_client.post(
            reverse("admin:auth_user_password_change", args=[user.pk]),
            {
                "password1": "another-long-passphrase",
                "password2": "another-long-passphrase",
                "usable_password": "true",
            },
        )
        assert_saved(response)
        user.refresh_from_db()
        assert user.check_password("another-long-passphrase")
        assert audit_trail() == [
            (
                admin_user.pk,
                "user.password_changed",
                "clinic.user",
                str(user.pk),
                {},
                {"password_changed": True, "password_usable": True},
            )
        ]

    def test_a_weak_password_changes_nothing(self, admin_client):
        user = ReceptionistFactory()
        before = user.password
        response = admin_client.post(
            reverse("admin:auth_user_password_change", args=[user.pk]),
            {"password1": "123", "password2": "123", "usable_password": "true"},
        )
        assert response.status_code == 200
        assert User.objects.get(pk=user.pk).password == before
        assert audit_trail() == []

    def test_deleting_an_account(self, admin_client, admin_user):
        user = ReceptionistFactory(shift=False)
        pk = user.pk
        assert_saved(admin_client.post(admin_url(User, "delete", pk), {"post": "yes"}))
        assert not User.objects.filter(pk=pk).exists()
        assert [(row[0], row[1], row[3], row[4]["username"]) for row in audit_trail()] == [
            (admin_user.pk, "user.deleted", str(pk), user.username)
        ]

    def test_bulk_deleting_accounts(self, admin_client, admin_user):
        users = UserFactory.create_batch(2, role=Role.PATIENT)
        assert_saved(bulk_delete(admin_client, User, *users))
        assert not User.objects.filter(pk__in=[u.pk for u in users]).exists()
        assert sorted((row[0], row[1], row[3]) for row in audit_trail()) == sorted(
            (admin_user.pk, "user.deleted", str(u.pk)) for u in users
        )


# --- Patients' accounts -----------------------------------------------------------------

PATIENT_FIELDS = ("name", "gender", "id_type", "id_card", "phone", "birth_date", "user")


def saved_patient(**kwargs: Any) -> Patient:
    """A patient as the clinic saves one (normalised, birth date from the ID number)."""
    patient = PatientFactory.build(**kwargs)
    patient.full_clean(exclude=["user"])
    patient.save()
    return patient


class TestPatientAccounts:
    def test_adding_a_patient_with_an_account(self, admin_client, admin_user):
        account = UserFactory(role=Role.PATIENT)
        id_card = make_resident_id(dt.date(1990, 2, 3), seed=7)
        data = {
            "name": "Wang Fang",
            "gender": "female",
            "id_type": "resident_id",
            "id_card": id_card,
            "phone": "13955556666",
            "birth_date": "",
            "user": account.pk,
        }
        assert_saved(admin_client.post(admin_url(Patient, "add"), data))
        patient = Patient.objects.get(user=account)
        assert audit_trail() == [
            (
                admin_user.pk,
                "patient.created",
                "clinic.patient",
                str(patient.pk),
                {},
                {
                    "name": "Wang Fang",
                    "gender": "female",
                    "birth_date": "1990-02-03",
                    "id_type": "resident_id",
                    "id_card": mask_id_card(id_card),
                    "phone": "13955556666",
                    "insurance_plan": None,
                },
            ),
            (
                admin_user.pk,
                "patient.account_linked",
                "clinic.patient",
                str(patient.pk),
                {"user": None},
                {"user": account.pk},
            ),
        ]

    def test_linking_a_record_to_an_account(self, admin_client, admin_user):
        patient = saved_patient()
        account = UserFactory(role=Role.PATIENT)
        data = form_data(patient, PATIENT_FIELDS, user=account.pk)
        assert_saved(admin_client.post(admin_url(Patient, "change", patient.pk), data))
        assert Patient.objects.get(pk=patient.pk).user == account
        assert audit_trail() == [
            (
                admin_user.pk,
                "patient.account_linked",
                "clinic.patient",
                str(patient.pk),
                {"user": None},
                {"user": account.pk},
            )
        ]

    def test_relinking_and_unlinking(self, admin_client, admin_user):
        first = PatientUserFactory()
        patient = first.patient
        patient.full_clean()
        patient.save()
        second = UserFactory(role=Role.PATIENT)
        url = admin_url(Patient, "change", patient.pk)
        assert_saved(admin_client.post(url, form_data(patient, PATIENT_FIELDS, user=second.pk)))
        assert_saved(admin_client.post(url, form_data(patient, PATIENT_FIELDS, user="")))
        assert Patient.objects.get(pk=patient.pk).user is None
        assert [row[1:] for row in audit_trail()] == [
            (
                "patient.account_linked",
                "clinic.patient",
                str(patient.pk),
                {"user": first.pk},
                {"user": second.pk},
            ),
            (
                "patient.account_unlinked",
                "clinic.patient",
                str(patient.pk),
                {"user": second.pk},
                {"user": None},
            ),
        ]

    def test_a_staff_account_is_not_linked(self, admin_client, receptionist):
        patient = saved_patient()
        data = form_data(patient, PATIENT_FIELDS, user=receptionist.pk)
        response = admin_client.post(admin_url(Patient, "change", patient.pk), data)
        assert response.status_code == 200
        assert "user" in response.context["adminform"].form.errors
        assert Patient.objects.get(pk=patient.pk).user is None
        assert audit_trail() == []


# --- Schedules --------------------------------------------------------------------------

SCHEDULE_FIELDS = (
    "department",
    "room",
    "doctor",
    "work_date",
    "time_slot",
    "start_time",
    "end_time",
    "window_minutes",
    "max_patients",
)


def schedule_values(schedule: Schedule) -> dict[str, Any]:
    return {
        "department": schedule.department_id,
        "room": schedule.room_id,
        "doctor": schedule.doctor_id,
        "work_date": schedule.work_date.isoformat(),
        "time_slot": str(schedule.time_slot),
        "start_time": f"{schedule.start_time:%H:%M:%S}",
        "end_time": f"{schedule.end_time:%H:%M:%S}",
        "window_minutes": schedule.window_minutes,
        "max_patients": schedule.max_patients,
    }


class TestSchedules:
    def test_adding_a_schedule(self, admin_client, admin_user):
        doctor = DoctorFactory()
        room = RoomFactory(department=doctor.department)
        data = {
            "department": doctor.department_id,
            "room": room.pk,
            "doctor": doctor.pk,
            "work_date": WORK_DATE.isoformat(),
            "time_slot": "morning",
            "start_time": "",
            "end_time": "",
            "window_minutes": "30",
            "max_patients": 12,
        }
        assert_saved(admin_client.post(admin_url(Schedule, "add"), data))
        schedule = Schedule.objects.get(doctor=doctor)
        assert (schedule.hours_label, schedule.window_minutes) == ("08:00–12:00", 30)
        assert audit_trail() == [
            (
                admin_user.pk,
                "schedule.created",
                "scheduling.schedule",
                str(schedule.pk),
                {},
                schedule_values(schedule),
            )
        ]

    def test_changing_a_schedule(self, admin_client, admin_user):
        schedule = ScheduleFactory(work_date=WORK_DATE, max_patients=10, current_patients=3)
        data = form_data(schedule, SCHEDULE_FIELDS, max_patients=15)
        assert_saved(admin_client.post(admin_url(Schedule, "change", schedule.pk), data))
        schedule.refresh_from_db()
        assert (schedule.max_patients, schedule.current_patients) == (15, 3)
        assert audit_trail() == [
            (
                admin_user.pk,
                "schedule.updated",
                "scheduling.schedule",
                str(schedule.pk),
                {"max_patients": 10},
                {"max_patients": 15},
            )
        ]

    def test_capacity_below_the_places_taken_changes_nothing(self, admin_client):
        schedule = ScheduleFactory(work_date=WORK_DATE, max_patients=10, current_patients=3)
        data = form_data(schedule, SCHEDULE_FIELDS, max_patients=2)
        response = admin_client.post(admin_url(Schedule, "change", schedule.pk), data)
        assert response.status_code == 200
        assert "max_patients" in response.context["adminform"].form.errors
        assert Schedule.objects.get(pk=schedule.pk).max_patients == 10
        assert audit_trail() == []

    def test_deleting_a_schedule(self, admin_client, admin_user):
        schedule = ScheduleFactory(work_date=WORK_DATE)
        pk, values = schedule.pk, schedule_values(schedule)
        assert_saved(admin_client.post(admin_url(Schedule, "delete", pk), {"post": "yes"}))
        assert not Schedule.objects.filter(pk=pk).exists()
        assert audit_trail() == [
            (admin_user.pk, "schedule.deleted", "scheduling.schedule", str(pk), values, {})
        ]

    def test_bulk_deleting_schedules(self, admin_client, admin_user):
        schedules = ScheduleFactory.create_batch(2, work_date=WORK_DATE)
        assert_saved(bulk_delete(admin_client, Schedule, *schedules))
        assert not Schedule.objects.exists()
        assert sorted((row[0], row[1], row[3]) for row in audit_trail()) == sorted(
            (admin_user.pk, "schedule.deleted", str(s.pk)) for s in schedules
        )

    def test_a_bulk_delete_with_a_schedule_holding_places_deletes_none(self, admin_client):
        free = ScheduleFactory(work_date=WORK_DATE)
        held = ScheduleFactory(work_date=WORK_DATE, current_patients=1)
        response = bulk_delete(admin_client, Schedule, free, held)
        assert response.status_code == 403
        assert Schedule.objects.count() == 2
        assert audit_trail() == []

    def test_places_taken_after_the_confirmation_refuse_the_delete(self, admin_client):
        schedule = ScheduleFactory(work_date=WORK_DATE)
        url = admin_url(Schedule, "delete", schedule.pk)
        # A booking lands between the admin's permission check and the delete itself.
        with mock.patch("scheduling.admin.ScheduleAdmin.has_delete_permission", return_value=True):
            set_places_taken(schedule, 1)
            response = admin_client.post(url, {"post": "yes"})
        assert response.status_code == 302
        assert error_messages(response)
        assert Schedule.objects.filter(pk=schedule.pk).exists()
        assert audit_trail() == []
