"""Patient matching: an ID number decides; without one, phone and name; never a merge."""

from __future__ import annotations

import pytest

from clinic.exceptions import InvalidInput, PatientConflict
from clinic.models import Patient
from clinic.services import match_or_create_patient
from clinic.tests.factories import PatientFactory, make_resident_id

pytestmark = pytest.mark.django_db


def test_the_id_number_finds_the_patient_whatever_the_phone():
    patient = PatientFactory(name="张三")
    found = match_or_create_patient(name="张三", phone="13000000000", id_card=patient.id_card)
    assert found == patient
    found.refresh_from_db()
    assert found.phone == patient.phone  # nothing overwritten


def test_the_same_id_number_under_another_name_is_a_conflict():
    patient = PatientFactory(name="张三")
    with pytest.raises(PatientConflict):
        match_or_create_patient(name="李四", phone=patient.phone, id_card=patient.id_card)
    patient.refresh_from_db()
    assert patient.name == "张三"
    assert Patient.objects.count() == 1


def test_without_id_phone_and_name_must_both_match():
    patient = PatientFactory(name="张三", phone="13900001111", id_card=None)
    assert match_or_create_patient(name="张三", phone="13900001111") == patient
    family = match_or_create_patient(name="张小三", phone="13900001111")
    assert family != patient
    assert Patient.objects.count() == 2


def test_a_record_without_id_gets_the_id_of_the_same_person():
    patient = PatientFactory(name="张三", phone="13900001111", id_card=None)
    id_card = make_resident_id(seed=5)
    assert match_or_create_patient(name="张三", phone="13900001111", id_card=id_card) == patient
    patient.refresh_from_db()
    assert patient.id_card == id_card
    assert patient.birth_date is not None


def test_a_new_person_gets_a_new_record():
    patient = match_or_create_patient(
        name=" 王五 ", phone="139-0000-1111", id_card=make_resident_id(seed=6), gender="female"
    )
    assert (patient.name, patient.phone, patient.gender) == ("王五", "13900001111", "female")
    assert patient.pk is not None


def test_an_account_is_never_attached_by_matching(patient_user):
    own = patient_user.patient
    found = match_or_create_patient(name=own.name, phone=own.phone, id_card=own.id_card)
    assert found == own
    assert Patient.objects.filter(user__isnull=False).count() == 1


def test_bad_details_are_field_errors():
    with pytest.raises(InvalidInput) as excinfo:
        match_or_create_patient(name="", phone="12", id_card="110105194912310021")
    assert set(excinfo.value.details) == {"name", "phone", "id_card"}
    assert not Patient.objects.exists()
