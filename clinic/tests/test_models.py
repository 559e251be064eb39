from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.transaction import TransactionManagementError

from clinic.models import (
    AuditEvent,
    Department,
    Employee,
    IdentityLock,
    Patient,
    Position,
    Role,
    Room,
    User,
)
from clinic.tests.factories import (
    AdminUserFactory,
    DepartmentFactory,
    DoctorFactory,
    EmployeeFactory,
    ManagerUserFactory,
    PatientFactory,
    RoomFactory,
    UserFactory,
    make_resident_id,
)
from tests.support import assert_db_rejects

pytestmark = pytest.mark.django_db


class TestUniqueness:
    def test_department_name_is_unique(self):
        first, second = DepartmentFactory(), DepartmentFactory()
        assert_db_rejects(lambda: Department.objects.filter(pk=second.pk).update(name=first.name))

    def test_department_code_is_unique(self):
        first, second = DepartmentFactory(), DepartmentFactory()
        assert_db_rejects(lambda: Department.objects.filter(pk=second.pk).update(code=first.code))

    def test_room_number_is_unique(self):
        first, second = RoomFactory(), RoomFactory()
        assert_db_rejects(
            lambda: Room.objects.filter(pk=second.pk).update(room_number=first.room_number)
        )

    def test_staff_code_is_unique(self):
        first, second = EmployeeFactory(), EmployeeFactory()
        assert_db_rejects(lambda: Employee.objects.filter(pk=second.pk).update(emp_id=first.emp_id))

    def test_patient_id_number_is_unique(self):
        first, second = PatientFactory(), PatientFactory()
        assert_db_rejects(
            lambda: Patient.objects.filter(pk=second.pk).update(id_card=first.id_card)
        )

    def test_many_patients_without_id_number_coexist(self):
        PatientFactory.create_batch(3, id_card=None)
        assert Patient.objects.filter(id_card__isnull=True).count() == 3

    def test_empty_id_number_is_stored_as_null(self):
        patient = PatientFactory(id_card="  ")
        patient.refresh_from_db()
        assert patient.id_card is None

    def test_empty_string_id_number_is_refused_by_the_database(self):
        patient = PatientFactory()
        with connection.cursor() as cursor:
            table = Patient._meta.db_table
            assert_db_rejects(
                lambda: cursor.execute(
                    f"UPDATE {table} SET id_card = '' WHERE id = %s",  # noqa: S608
                    [patient.pk],
                )
            )


class TestUser:
    def test_only_administrators_are_staff(self):
        user = UserFactory(role=Role.RECEPTIONIST)
        assert user.is_staff is False
        assert_db_rejects(lambda: User.objects.filter(pk=user.pk).update(is_staff=True))

    def test_saving_an_admin_makes_it_staff(self):
        user = UserFactory(role=Role.ADMIN)
        assert user.is_staff is True
        user.role = Role.RECEPTIONIST
        user.save(update_fields=["role"])
        user.refresh_from_db()
        assert user.is_staff is False

    def test_unknown_role_is_refused_by_the_database(self):
        user = UserFactory()
        assert_db_rejects(lambda: User.objects.filter(pk=user.pk).update(role="superhero"))

    def test_superuser_is_an_admin(self):
        user = User.objects.create_superuser("root", password="x" * 12)
        assert (user.role, user.is_staff) == (Role.ADMIN, True)

    def test_an_administrators_rights_come_from_their_group(self):
        # The role opens Django Admin; the group ("Clinic administrator", "Clinic
        # manager": clinic.groups) says what may be done there.
        assert not UserFactory(role=Role.ADMIN).has_perm("scheduling.add_schedule")
        administrator = AdminUserFactory()
        assert administrator.has_perm("scheduling.add_schedule")
        assert administrator.has_perm("visits.view_medicalrecord")
        manager = ManagerUserFactory()
        assert manager.has_perm("scheduling.add_schedule")
        assert not manager.has_perm("visits.view_medicalrecord")
        assert not manager.has_perm("clinic.manage_administrators")
        administrator.is_active = False
        assert not administrator.has_perm("scheduling.add_schedule")

    def test_receptionist_holds_no_admin_permission(self):
        assert not UserFactory(role=Role.RECEPTIONIST).has_perm("scheduling.add_schedule")

    def test_doctor_account_must_link_a_doctor(self):
        nurse = EmployeeFactory(position=Position.NURSE)
        user = User(username="dr", role=Role.DOCTOR, employee=nurse)
        with pytest.raises(ValidationError) as excinfo:
            user.full_clean()
        assert "employee" in excinfo.value.message_dict

    def test_doctor_account_with_a_doctor_is_valid(self):
        user = User(username="dr", role=Role.DOCTOR, employee=DoctorFactory(), password="x")
        user.full_clean()


class TestPatientValidation:
    def test_clean_normalises_and_derives_birth_date(self):
        id_card = make_resident_id(dt.date(1985, 3, 14), seed=1)
        patient = Patient(name="张三", phone="139-1234-5678", id_card=id_card.lower())
        patient.full_clean()
        assert patient.phone == "13912345678"
        assert patient.birth_date == dt.date(1985, 3, 14)

    def test_clean_reports_bad_phone_and_bad_id_by_field(self):
        patient = Patient(name="张三", phone="12345", id_card="110105198503141230")
        with pytest.raises(ValidationError) as excinfo:
            patient.full_clean()
        assert set(excinfo.value.message_dict) >= {"phone", "id_card"}

    def test_passport_numbers_skip_the_resident_id_check(self):
        patient = Patient(name="John", phone="13912345678", id_type="passport", id_card="E1234567")
        patient.full_clean()

    def test_blank_name_is_refused(self):
        with pytest.raises(ValidationError) as excinfo:
            Patient(name="   ", phone="13912345678").full_clean()
        assert "name" in excinfo.value.message_dict


class TestEmployee:
    def test_doctor_without_department_is_invalid(self):
        employee = Employee(emp_id="D9", name="Dr", gender="male", position=Position.DOCTOR)
        with pytest.raises(ValidationError) as excinfo:
            employee.full_clean()
        assert "department" in excinfo.value.message_dict

    def test_unknown_status_is_refused_by_the_database(self):
        employee = EmployeeFactory()
        assert_db_rejects(lambda: Employee.objects.filter(pk=employee.pk).update(status="fired"))


class TestAuditEvent:
    def test_events_are_append_only(self):
        event = AuditEvent.objects.create(action="test.thing")
        event.action = "changed"
        with pytest.raises(TypeError):
            event.save()
        with pytest.raises(TypeError):
            event.delete()
        with pytest.raises(TypeError):
            AuditEvent.objects.filter(pk=event.pk).update(action="changed")
        with pytest.raises(TypeError):
            AuditEvent.objects.all().delete()
        event.refresh_from_db()
        assert event.action == "test.thing"


@pytest.mark.django_db(transaction=True)
def test_an_identity_lock_outside_a_transaction_is_refused():
    with pytest.raises(TransactionManagementError):
        IdentityLock.acquire("phone:13800000000")
    with transaction.atomic():
        IdentityLock.acquire("phone:13800000000")
        IdentityLock.acquire("phone:13800000000")  # found: locked again, not duplicated
    assert IdentityLock.objects.filter(key="phone:13800000000").count() == 1
