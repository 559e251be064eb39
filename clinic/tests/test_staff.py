"""Departments, rooms and staff: every write validated under lock and audited with old and new
values; a refused one changes nothing and records nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from clinic.exceptions import PermissionDenied, RecordInUse
from clinic.models import Department, Employee, Room, RoomStatus
from clinic.staff import (
    delete_department,
    delete_employee,
    delete_room,
    save_department,
    save_employee,
    save_room,
)
from clinic.tests.factories import DepartmentFactory, DoctorFactory, EmployeeFactory, RoomFactory
from scheduling.tests.factories import ScheduleFactory
from tests.support import audit_trail

pytestmark = pytest.mark.django_db


def test_a_new_department_is_recorded_with_its_values(admin_user):
    department = save_department(
        department=Department(name="皮肤科", name_en="Dermatology", code="DERM"), by=admin_user
    )
    assert Department.objects.filter(pk=department.pk, code="DERM").exists()
    assert audit_trail() == [
        (
            admin_user.pk,
            "department.created",
            "clinic.department",
            str(department.pk),
            {},
            {
                "name": "皮肤科",
                "name_en": "Dermatology",
                "code": "DERM",
                "description": "",
                "is_active": True,
            },
        )
    ]


def test_a_change_records_only_what_changed(admin_user):
    department = DepartmentFactory(name="Old name")
    department.name = "New name"
    department.is_active = False
    save_department(department=department, by=admin_user)
    department.refresh_from_db()
    assert (department.name, department.is_active) == ("New name", False)
    assert audit_trail() == [
        (
            admin_user.pk,
            "department.updated",
            "clinic.department",
            str(department.pk),
            {"name": "Old name", "is_active": True},
            {"name": "New name", "is_active": False},
        )
    ]


def test_old_values_are_read_from_the_locked_row(admin_user):
    room = RoomFactory(room_number="A1")
    stale = Room.objects.get(pk=room.pk)
    Room.objects.filter(pk=room.pk).update(room_number="A2")
    stale.status = RoomStatus.DISABLED
    save_room(room=stale, by=admin_user)
    [(_, action, _, _, old, new)] = audit_trail()
    # What the stale copy still says of the number is a change too, and recorded as one.
    assert action == "room.updated"
    assert old == {"room_number": "A2", "status": "active"}
    assert new == {"room_number": "A1", "status": "disabled"}


def test_saving_without_a_change_writes_no_event(admin_user):
    room = RoomFactory()
    save_room(room=room, by=admin_user)
    assert audit_trail() == []


def test_a_refused_change_writes_nothing(admin_user):
    doctor = DoctorFactory(name="Dr Before")
    doctor.name = "Dr After"
    doctor.department = None  # a doctor must belong to a department
    with pytest.raises(ValidationError) as refused:
        save_employee(employee=doctor, by=admin_user)
    assert "department" in refused.value.message_dict
    assert Employee.objects.get(pk=doctor.pk).name == "Dr Before"
    assert audit_trail() == []


def test_a_duplicate_room_number_is_a_field_error(admin_user):
    RoomFactory(room_number="101")
    with pytest.raises(ValidationError) as refused:
        save_room(room=Room(room_number="101", department=DepartmentFactory()), by=admin_user)
    assert "room_number" in refused.value.message_dict
    assert Room.objects.filter(room_number="101").count() == 1
    assert audit_trail() == []


def test_a_room_with_patients_booked_stays_active(admin_user):
    schedule = ScheduleFactory(current_patients=1)
    room = schedule.room
    room.status = RoomStatus.DISABLED
    with pytest.raises(ValidationError):
        save_room(room=room, by=admin_user)
    assert Room.objects.get(pk=room.pk).status == RoomStatus.ACTIVE
    assert audit_trail() == []


def test_a_new_employee_is_recorded_with_its_normalised_values(admin_user):
    department = DepartmentFactory()
    employee = save_employee(
        employee=Employee(
            emp_id="N900",
            name="Nurse Li",
            gender="female",
            phone="139 1234 5678",
            position="nurse",
            department=department,
        ),
        by=admin_user,
    )
    [(actor, action, object_type, object_id, old, new)] = audit_trail()
    assert (actor, action, object_type, object_id, old) == (
        admin_user.pk,
        "employee.created",
        "clinic.employee",
        str(employee.pk),
        {},
    )
    assert new == {
        "emp_id": "N900",
        "name": "Nurse Li",
        "gender": "female",
        "phone": "13912345678",
        "position": "nurse",
        "department": department.pk,
        "title": "",
        "title_en": "",
        "rank": "",
        "status": "active",
    }


def test_deleting_records_the_old_values(admin_user):
    room = RoomFactory(room_number="B7")
    pk, department = room.pk, room.department_id
    delete_room(room=room, by=admin_user)
    assert not Room.objects.filter(pk=pk).exists()
    assert audit_trail() == [
        (
            admin_user.pk,
            "room.deleted",
            "clinic.room",
            str(pk),
            {"room_number": "B7", "department": department, "status": "active"},
            {},
        )
    ]


@pytest.mark.parametrize(
    ("delete", "make"),
    [
        (lambda obj, by: delete_room(room=obj, by=by), lambda: ScheduleFactory().room),
        (lambda obj, by: delete_employee(employee=obj, by=by), lambda: ScheduleFactory().doctor),
        (
            lambda obj, by: delete_department(department=obj, by=by),
            lambda: RoomFactory().department,
        ),
    ],
    ids=["room with schedules", "doctor with schedules", "department with rooms"],
)
def test_a_record_still_referred_to_is_not_deleted(admin_user, delete, make):
    obj = make()
    with pytest.raises(RecordInUse) as refused:
        delete(obj, admin_user)
    assert refused.value.details["used_by"]
    assert type(obj).objects.filter(pk=obj.pk).exists()
    assert audit_trail() == []


@pytest.mark.parametrize("persona", ["patient", "receptionist", "doctor"])
def test_only_administrators_write_reference_data(personas, persona):
    with pytest.raises(PermissionDenied):
        save_department(department=Department(name="X", code="X"), by=personas[persona])
    employee = EmployeeFactory()
    with pytest.raises(PermissionDenied):
        delete_employee(employee=employee, by=personas[persona])
    assert not Department.objects.filter(code="X").exists()
    assert Employee.objects.filter(pk=employee.pk).exists()
    assert audit_trail() == []
