"""Accounts and the patient records they act for: every change audited (one event per kind of
change, a password only as a flag), a refused change writes nothing."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError

from clinic.accounts import (
    delete_account,
    delete_patient,
    link_patient_account,
    save_account,
    save_patient,
    set_account_password,
    unlink_patient_account,
)
from clinic.exceptions import PermissionDenied, RecordInUse
from clinic.models import AuditEvent, Patient, Position, Role, User
from clinic.privacy import mask_id_card
from clinic.tests.factories import (
    TEST_PASSWORD,
    AdminUserFactory,
    DoctorFactory,
    EmployeeFactory,
    PatientFactory,
    PatientUserFactory,
    ReceptionistFactory,
    UserFactory,
    make_resident_id,
)
from tests.support import audit_trail, run_at_once

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-fresh-clinic-passphrase"


def no_hash_anywhere(user: User) -> None:
    user.refresh_from_db()
    for event in AuditEvent.objects.all():
        stored = json.dumps([event.old_values, event.new_values])
        assert user.password not in stored
        assert "pbkdf2" not in stored and "argon2" not in stored


class TestAccounts:
    def test_a_new_staff_account_is_recorded_without_its_password(self, admin_user):
        employee = EmployeeFactory(position=Position.RECEPTIONIST)
        user = User(username="desk2", role=Role.RECEPTIONIST, employee=employee)
        user.set_password(NEW_PASSWORD)
        save_account(user=user, by=admin_user)
        assert User.objects.get(username="desk2").check_password(NEW_PASSWORD)
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
        no_hash_anywhere(user)

    def test_a_role_change_deactivation_and_rename_are_three_events(self, admin_user):
        user = ReceptionistFactory(username="desk")
        user.role = Role.ADMIN
        user.is_active = False
        user.first_name = "Mei"
        save_account(user=user, by=admin_user)
        user.refresh_from_db()
        assert (user.role, user.is_staff, user.is_active) == (Role.ADMIN, True, False)
        pk = str(user.pk)
        assert audit_trail() == [
            (
                admin_user.pk,
                "user.role_changed",
                "clinic.user",
                pk,
                {"role": "receptionist"},
                {"role": "admin"},
            ),
            (
                admin_user.pk,
                "user.deactivated",
                "clinic.user",
                pk,
                {"is_active": True},
                {"is_active": False},
            ),
            (
                admin_user.pk,
                "user.updated",
                "clinic.user",
                pk,
                {"first_name": ""},
                {"first_name": "Mei"},
            ),
        ]

    def test_reactivating_an_account(self, admin_user):
        user = UserFactory(is_active=False)
        user.is_active = True
        save_account(user=user, by=admin_user)
        assert [row[1:] for row in audit_trail()] == [
            (
                "user.reactivated",
                "clinic.user",
                str(user.pk),
                {"is_active": False},
                {"is_active": True},
            )
        ]

    def test_relinking_a_doctors_account_to_another_staff_record(self, admin_user, doctor_user):
        before = doctor_user.employee
        after = DoctorFactory()
        doctor_user.employee = after
        save_account(user=doctor_user, by=admin_user)
        assert User.objects.get(pk=doctor_user.pk).employee == after
        assert [row[1:] for row in audit_trail()] == [
            (
                "user.updated",
                "clinic.user",
                str(doctor_user.pk),
                {"employee": before.pk},
                {"employee": after.pk},
            )
        ]

    def test_group_changes_are_recorded_by_name(self, admin_user):
        user = ReceptionistFactory()
        night, weekend = Group.objects.create(name="night"), Group.objects.create(name="weekend")
        user.groups.add(night)
        save_account(user=user, by=admin_user, groups=[weekend, night])
        assert set(user.groups.values_list("name", flat=True)) == {"night", "weekend"}
        assert [row[1:] for row in audit_trail()] == [
            (
                "user.updated",
                "clinic.user",
                str(user.pk),
                {"groups": ["night"]},
                {"groups": ["night", "weekend"]},
            )
        ]

    def test_a_password_is_recorded_as_changed_never_as_a_hash(self, admin_user):
        user = ReceptionistFactory()
        set_account_password(user=user, password=NEW_PASSWORD, by=admin_user)
        user.refresh_from_db()
        assert user.check_password(NEW_PASSWORD)
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
        no_hash_anywhere(user)

    def test_a_password_can_be_taken_away(self, admin_user):
        user = ReceptionistFactory()
        set_account_password(user=user, password=None, by=admin_user)
        user.refresh_from_db()
        assert not user.has_usable_password()
        assert audit_trail()[0][5] == {"password_changed": True, "password_usable": False}

    def test_a_weak_password_changes_nothing(self, admin_user):
        user = ReceptionistFactory()
        with pytest.raises(ValidationError) as refused:
            set_account_password(user=user, password="12345", by=admin_user)
        assert "password" in refused.value.message_dict
        assert User.objects.get(pk=user.pk).check_password(TEST_PASSWORD)
        assert audit_trail() == []

    def test_a_hash_set_on_a_changed_account_is_a_password_event(self, admin_user):
        user = ReceptionistFactory()
        user.set_password(NEW_PASSWORD)
        save_account(user=user, by=admin_user)
        assert User.objects.get(pk=user.pk).check_password(NEW_PASSWORD)
        assert [row[1] for row in audit_trail()] == ["user.password_changed"]
        no_hash_anywhere(user)

    def test_a_doctors_account_without_a_staff_record_is_refused(self, admin_user, doctor_user):
        employee = doctor_user.employee
        doctor_user.employee = None
        with pytest.raises(ValidationError) as refused:
            save_account(user=doctor_user, by=admin_user)
        assert "employee" in refused.value.message_dict
        assert User.objects.get(pk=doctor_user.pk).employee == employee
        assert audit_trail() == []

    def test_a_patients_account_cannot_become_staff_while_linked(self, admin_user):
        user = PatientUserFactory()
        user.role = Role.RECEPTIONIST
        user.employee = EmployeeFactory(position=Position.RECEPTIONIST)
        with pytest.raises(ValidationError) as refused:
            save_account(user=user, by=admin_user)
        assert "role" in refused.value.message_dict
        assert User.objects.get(pk=user.pk).role == Role.PATIENT
        assert audit_trail() == []

    def test_an_account_that_has_acted_is_not_deleted(self, admin_user):
        user = ReceptionistFactory()
        AuditEvent.objects.create(actor=user, action="test.acted")
        with pytest.raises(RecordInUse):
            delete_account(user=user, by=admin_user)
        assert User.objects.filter(pk=user.pk).exists()
        assert not AuditEvent.objects.filter(action="user.deleted").exists()

    def test_deleting_an_unused_account(self, admin_user):
        user = ReceptionistFactory(username="temp", shift=False)
        pk = user.pk
        delete_account(user=user, by=admin_user)
        assert not User.objects.filter(pk=pk).exists()
        [(actor, action, object_type, object_id, old, new)] = audit_trail()
        assert (actor, action, object_type, object_id, old["username"], new) == (
            admin_user.pk,
            "user.deleted",
            "clinic.user",
            str(pk),
            "temp",
            {},
        )

    @pytest.mark.parametrize("persona", ["patient", "receptionist", "doctor"])
    def test_only_administrators_change_accounts(self, personas, persona):
        user = ReceptionistFactory()
        user.role = Role.ADMIN
        with pytest.raises(PermissionDenied):
            save_account(user=user, by=personas[persona])
        with pytest.raises(PermissionDenied):
            set_account_password(user=user, password=NEW_PASSWORD, by=personas[persona])
        user.refresh_from_db()
        assert user.role == Role.RECEPTIONIST and user.check_password(TEST_PASSWORD)
        assert audit_trail() == []


class TestPatientAccountLink:
    def test_linking_a_record_to_an_account(self, admin_user):
        patient = PatientFactory()
        account = UserFactory(role=Role.PATIENT)
        link_patient_account(patient=patient, account=account, by=admin_user)
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
        assert AuditEvent.objects.get(action="patient.account_linked").patient == patient

    def test_relinking_is_one_event_with_both_accounts(self, admin_user, patient_user):
        patient = patient_user.patient
        other = UserFactory(role=Role.PATIENT)
        link_patient_account(patient=patient, account=other, by=admin_user)
        assert [row[1:] for row in audit_trail()] == [
            (
                "patient.account_linked",
                "clinic.patient",
                str(patient.pk),
                {"user": patient_user.pk},
                {"user": other.pk},
            )
        ]

    def test_unlinking(self, admin_user, patient_user):
        patient = patient_user.patient
        unlink_patient_account(patient=patient, by=admin_user)
        assert Patient.objects.get(pk=patient.pk).user is None
        assert [row[1:] for row in audit_trail()] == [
            (
                "patient.account_unlinked",
                "clinic.patient",
                str(patient.pk),
                {"user": patient_user.pk},
                {"user": None},
            )
        ]

    def test_a_staff_account_is_never_linked(self, admin_user, receptionist):
        patient = PatientFactory()
        with pytest.raises(ValidationError) as refused:
            link_patient_account(patient=patient, account=receptionist, by=admin_user)
        assert "user" in refused.value.message_dict
        assert Patient.objects.get(pk=patient.pk).user is None
        assert audit_trail() == []

    def test_an_account_holds_one_record(self, admin_user, patient_user):
        patient = PatientFactory()
        with pytest.raises(ValidationError) as refused:
            link_patient_account(patient=patient, account=patient_user, by=admin_user)
        assert "user" in refused.value.message_dict
        assert Patient.objects.get(pk=patient.pk).user is None
        assert audit_trail() == []

    def test_a_stale_copy_writes_back_only_the_link(self, admin_user):
        patient = PatientFactory(name="Before")
        stale = Patient.objects.get(pk=patient.pk)
        Patient.objects.filter(pk=patient.pk).update(phone="13700000000")
        link_patient_account(patient=stale, account=UserFactory(role=Role.PATIENT), by=admin_user)
        assert Patient.objects.get(pk=patient.pk).phone == "13700000000"
        assert [row[1] for row in audit_trail()] == ["patient.account_linked"]

    def test_details_and_link_changed_together_are_two_events(self, admin_user):
        old_id = make_resident_id(seed=4)
        patient = PatientFactory(id_card=old_id, phone="13900000001")
        account = UserFactory(role=Role.PATIENT)
        new_id = make_resident_id(seed=5)
        patient.id_card = new_id
        patient.phone = "139 0000 0002"
        patient.user = account
        save_patient(patient=patient, by=admin_user)
        patient.refresh_from_db()
        assert (patient.id_card, patient.phone, patient.user) == (new_id, "13900000002", account)
        updated, linked = audit_trail()
        assert updated[1:4] == ("patient.updated", "clinic.patient", str(patient.pk))
        # The trail keeps that the ID number changed, not a second copy of it.
        assert updated[4]["id_card"] == mask_id_card(old_id)
        assert updated[5]["id_card"] == mask_id_card(new_id)
        assert (updated[4]["phone"], updated[5]["phone"]) == ("13900000001", "13900000002")
        assert updated[5]["birth_date"] == patient.birth_date.isoformat()
        assert linked[1] == "patient.account_linked"

    def test_a_patient_record_referred_to_is_not_deleted(self, admin_user):
        patient = PatientFactory()
        save_patient(patient=Patient(name="Made here", phone="13911112222"), by=admin_user)
        made = Patient.objects.get(name="Made here")
        with pytest.raises(RecordInUse):
            delete_patient(patient=made, by=admin_user)  # its own patient.created event
        pk = patient.pk
        delete_patient(patient=patient, by=admin_user)
        assert not Patient.objects.filter(pk=pk).exists()
        assert audit_trail()[-1][1:4] == ("patient.deleted", "clinic.patient", str(pk))
        assert audit_trail()[-1][4]["id_card"] == mask_id_card(patient.id_card)


@pytest.mark.mariadb
@pytest.mark.django_db(transaction=True)
def test_two_relinks_at_once_each_record_the_link_the_other_left():
    """The old account in each event is the row's, read under its lock: two administrators
    relinking one record at once never both record the same starting point."""
    admins = AdminUserFactory.create_batch(2)
    patient = PatientFactory()
    accounts = UserFactory.create_batch(2, role=Role.PATIENT)

    results = run_at_once(
        [
            lambda by=by, account=account: link_patient_account(
                patient=patient, account=account, by=by
            )
            for by, account in zip(admins, accounts, strict=True)
        ]
    )

    assert not [result for result in results if isinstance(result, Exception)]
    first, second = AuditEvent.objects.filter(action="patient.account_linked").order_by("id")
    assert first.old_values == {"user": None}
    assert second.old_values == first.new_values
    assert Patient.objects.get(pk=patient.pk).user_id == second.new_values["user"]
