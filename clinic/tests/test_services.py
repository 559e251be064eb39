"""Patient matching: an ID number decides; without one, phone and name; never a merge."""

from __future__ import annotations

import pytest

from clinic.exceptions import InvalidInput, PatientConflict, PatientNeedsDeskReview
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


def test_an_accounts_record_is_found_only_on_a_verified_id_number(patient_user):
    own = patient_user.patient
    own.id_verified = True
    own.save(update_fields=["id_verified"])
    found = match_or_create_patient(name=own.name, phone=own.phone, id_card=own.id_card)
    assert found == own
    assert Patient.objects.count() == 1


def test_an_unverified_id_number_on_an_accounts_record_needs_the_desk(patient_user):
    own = patient_user.patient
    with pytest.raises(PatientNeedsDeskReview) as refused:
        match_or_create_patient(name=own.name, phone=own.phone, id_card=own.id_card)
    assert refused.value.details["record"] == own.pk
    assert Patient.objects.count() == 1


def test_name_and_phone_never_choose_or_change_an_accounts_record(patient_user):
    own = patient_user.patient
    own.id_card = None
    own.save(update_fields=["id_card"])
    found = match_or_create_patient(
        name=own.name, phone=own.phone, id_card=make_resident_id(seed=5)
    )
    assert found != own and found.user is None and found.id_verified
    again = match_or_create_patient(name=own.name, phone=own.phone)
    assert again == found
    own.refresh_from_db()
    assert own.id_card is None


def test_bad_details_are_field_errors():
    with pytest.raises(InvalidInput) as excinfo:
        match_or_create_patient(name="", phone="12", id_card="110105194912310021")
    assert set(excinfo.value.details) == {"name", "phone", "id_card"}
    assert not Patient.objects.exists()
