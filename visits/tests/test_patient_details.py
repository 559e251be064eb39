"""The desk corrects a patient's details (issue 19): one audited service, validated as
registration is, with issue 18's rule for the ID number of an account's record."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from appointments.models import AppointmentStatus
from appointments.tests.factories import AppointmentFactory
from clinic.exceptions import InvalidInput, PermissionDenied
from clinic.models import AuditEvent, Gender, Patient
from clinic.privacy import mask_id_card
from clinic.tests.factories import PatientFactory, PatientUserFactory, make_resident_id
from scheduling.models import TimeSlot
from scheduling.tests.factories import ScheduleFactory, set_places_taken
from visits.identity import correct_patient_details
from visits.services import check_in

pytestmark = pytest.mark.django_db

BORN = dt.date(1985, 6, 15)
NEW_BORN = dt.date(1990, 2, 3)


@pytest.fixture
def record():
    return PatientFactory(
        name="王芳",
        phone="13911112222",
        gender=Gender.FEMALE,
        birth_date=BORN,
        id_card=make_resident_id(BORN, seed=1),
        id_verified=True,
    )


@pytest.fixture
def account_record():
    """A record an online account acts for, with a number given online (not verified)."""
    user = PatientUserFactory(
        patient__name="李四", patient__id_card=make_resident_id(BORN, seed=2),
        patient__birth_date=BORN,
    )  # fmt: skip
    return user.patient


def events() -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action="patient.details_corrected"))


def test_name_phone_and_gender_are_corrected_and_audited(record, receptionist):
    correct_patient_details(
        record=record, by=receptionist, name=" 王 芳 ", phone="139 1111 3333", gender="male"
    )
    record.refresh_from_db()
    assert (record.name, record.phone, record.gender) == ("王 芳", "13911113333", "male")
    (event,) = events()
    assert event.actor == receptionist and event.patient == record
    assert event.old_values == {"name": "王芳", "phone": "13911112222", "gender": "female"}
    assert event.new_values == {"name": "王 芳", "phone": "13911113333", "gender": "male"}


def test_nothing_changed_writes_nothing(record, receptionist):
    correct_patient_details(record=record, by=receptionist, name="王芳", phone="13911112222")
    assert events() == []


def test_a_new_id_number_sets_the_birth_date_and_is_verified(record, receptionist):
    new_id = make_resident_id(NEW_BORN, seed=3)
    Patient.objects.filter(pk=record.pk).update(id_verified=False)
    correct_patient_details(record=record, by=receptionist, id_card=new_id.lower())
    record.refresh_from_db()
    assert (record.id_card, record.birth_date, record.id_verified) == (new_id, NEW_BORN, True)
    (event,) = events()
    assert event.old_values == {
        "id_card": mask_id_card(make_resident_id(BORN, seed=1)),
        "birth_date": BORN.isoformat(),
    }
    assert event.new_values == {
        "id_card": mask_id_card(new_id),
        "birth_date": NEW_BORN.isoformat(),
        "id_verified": True,
    }
    assert new_id not in str(event.new_values)


def test_the_birth_date_of_a_record_without_a_resident_id_is_corrected(receptionist):
    record = PatientFactory(id_card=None, birth_date=None)
    correct_patient_details(record=record, by=receptionist, birth_date=NEW_BORN)
    record.refresh_from_db()
    assert record.birth_date == NEW_BORN


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"name": "  "}, "name"),
        ({"gender": "other"}, "gender"),
        ({"id_type": "nonsense"}, "id_type"),
        # A wrong check digit.
        ({"id_card": make_resident_id(NEW_BORN, seed=4)[:17] + "Y"}, "id_card"),
        ({"birth_date": NEW_BORN}, "birth_date"),  # the resident ID says otherwise
    ],
)
def test_bad_input_is_a_field_error_and_writes_nothing(record, receptionist, changes, field):
    before = Patient.objects.filter(pk=record.pk).values().get()
    with pytest.raises(InvalidInput) as refused:
        correct_patient_details(record=record, by=receptionist, **changes)
    assert field in refused.value.details
    assert Patient.objects.filter(pk=record.pk).values().get() == before
    assert events() == []


def test_an_id_number_on_another_record_is_refused(record, receptionist):
    other = PatientFactory()
    with pytest.raises(InvalidInput) as refused:
        correct_patient_details(record=record, by=receptionist, id_card=other.id_card)
    assert "id_card" in refused.value.details
    record.refresh_from_db()
    assert record.id_card == make_resident_id(BORN, seed=1)


def test_the_id_of_an_accounts_record_needs_the_document_seen(account_record, receptionist):
    new_id = make_resident_id(NEW_BORN, seed=5)
    with pytest.raises(InvalidInput) as refused:
        correct_patient_details(record=account_record, by=receptionist, id_card=new_id)
    assert set(refused.value.details) == {"id_document_seen"}
    account_record.refresh_from_db()
    assert account_record.id_card != new_id and not account_record.id_verified
    correct_patient_details(
        record=account_record, by=receptionist, id_card=new_id, id_document_seen=True
    )
    account_record.refresh_from_db()
    assert (account_record.id_card, account_record.id_verified) == (new_id, True)
    assert account_record.user is not None


def test_other_details_of_an_accounts_record_need_no_confirmation(account_record, receptionist):
    correct_patient_details(record=account_record, by=receptionist, phone="13800001111")
    account_record.refresh_from_db()
    assert account_record.phone == "13800001111" and not account_record.id_verified


def test_taking_the_id_number_off(record, receptionist):
    correct_patient_details(record=record, by=receptionist, id_card="")
    record.refresh_from_db()
    assert (record.id_card, record.id_verified) == (None, False)


@pytest.mark.parametrize("persona", ["patient_user", "doctor_user"])
def test_only_the_desk_corrects(record, request, persona):
    with pytest.raises(PermissionDenied):
        correct_patient_details(record=record, by=request.getfixturevalue(persona), name="X")
    record.refresh_from_db()
    assert record.name == "王芳" and events() == []


def test_an_administrator_corrects_too(record, admin_user):
    correct_patient_details(record=record, by=admin_user, name="王芳芳")
    assert len(events()) == 1


def test_unknown_fields_are_a_programming_error(record, receptionist):
    with pytest.raises(TypeError):
        correct_patient_details(record=record, by=receptionist, user=None)


def test_a_number_taken_meanwhile_is_a_field_error_not_a_crash(record, receptionist, monkeypatch):
    """Two desks giving one number to two records at once: the unique index refuses the
    second write after its validation passed; the desk gets the field error."""
    other = PatientFactory()
    monkeypatch.setattr(Patient, "validate_unique", lambda self, exclude=None: None)
    with pytest.raises(InvalidInput) as refused:
        correct_patient_details(record=record, by=receptionist, id_card=other.id_card)
    assert "id_card" in refused.value.details
    record.refresh_from_db()
    assert record.id_card == make_resident_id(BORN, seed=1) and events() == []


def test_live_bookings_follow_the_correction_and_check_in_knows_the_new_phone(record, receptionist):
    """A booking copies its patient's name, phone and ID number: a live one follows the
    correction (the desk's search and check-in use the copy); a past one keeps its history."""
    today = ScheduleFactory(work_date=timezone.localdate(), time_slot=TimeSlot.FULL_DAY)
    live = AppointmentFactory(
        schedule=today, patient=record, patient_name=record.name, phone=record.phone,
        id_card=record.id_card,
    )  # fmt: skip
    past = AppointmentFactory(
        patient=record, patient_name=record.name, phone=record.phone,
        status=AppointmentStatus.CANCELLED,
    )  # fmt: skip
    new_id = make_resident_id(BORN, seed=7)
    correct_patient_details(
        record=record, by=receptionist, name="王芳华", phone="13911113333", id_card=new_id
    )
    live.refresh_from_db()
    past.refresh_from_db()
    assert (live.patient_name, live.phone, live.id_card) == ("王芳华", "13911113333", new_id)
    assert (past.patient_name, past.phone) == ("王芳", "13911112222")
    (event,) = events()
    assert event.new_values["bookings_updated"] == [live.pk]
    set_places_taken(today, 1)
    visit = check_in(
        appointment_id=live.pk, phone="13911113333", id_card=new_id[-4:], by=receptionist,
        now=timezone.localtime().replace(hour=9, minute=0),
    )  # fmt: skip
    assert visit.patient_id == record.pk


@pytest.mark.parametrize(
    "born", [dt.date(1899, 12, 31), dt.date.today() + dt.timedelta(days=2)], ids=str
)
def test_a_birth_date_before_1900_or_in_the_future_is_refused(receptionist, born):
    record = PatientFactory(id_card=None, birth_date=None)
    with pytest.raises(InvalidInput) as refused:
        correct_patient_details(record=record, by=receptionist, birth_date=born)
    assert "birth_date" in refused.value.details
    record.refresh_from_db()
    assert record.birth_date is None
