"""The patient's desk page corrects the record's details (issue 19): a form with field errors,
the same audited service as the API, the ID number never shown in full."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from clinic.models import AuditEvent, Patient
from clinic.tests.factories import PatientFactory, PatientUserFactory, make_resident_id

pytestmark = pytest.mark.django_db

BORN = dt.date(1985, 6, 15)


@pytest.fixture
def desk_client(client, receptionist):
    client.force_login(receptionist)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def record():
    return PatientFactory(
        name="王芳", phone="13911112222", gender="female", birth_date=BORN,
        id_card=make_resident_id(BORN, seed=1), id_verified=True,
    )  # fmt: skip


def form_data(record: Patient, **changes) -> dict:
    data = {
        "action": "details",
        "details-name": record.name,
        "details-phone": record.phone,
        "details-gender": record.gender,
        "details-birth_date": record.birth_date.isoformat() if record.birth_date else "",
        "details-id_type": record.id_type,
        "details-id_card": "",
    }
    data.update({f"details-{name}": value for name, value in changes.items()})
    return data


def url(record: Patient) -> str:
    return reverse("visits:patient", args=[record.pk])


def test_the_form_is_filled_with_the_record_and_hides_the_id_number(desk_client, record):
    html = desk_client.get(url(record)).content.decode()
    assert 'name="details-name"' in html and 'value="王芳"' in html
    assert 'type="date" name="details-birth_date" value="1985-06-15"' in html
    assert record.id_card not in html


def test_a_correction_is_saved_and_audited(desk_client, record):
    response = desk_client.post(url(record), form_data(record, name="王芳华", phone="13911113333"))
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.name, record.phone) == ("王芳华", "13911113333")
    event = AuditEvent.objects.get(action="patient.details_corrected")
    assert event.old_values == {"name": "王芳", "phone": "13911112222"}
    # The identity history on the page shows it.
    assert "Patient details corrected at the desk" in desk_client.get(url(record)).content.decode()


def test_a_new_id_number_changes_the_birth_date_with_it(desk_client, record):
    born = dt.date(1990, 2, 3)
    new_id = make_resident_id(born, seed=7)
    # The form still sends the old birth date: only what the desk changed is corrected.
    assert desk_client.post(url(record), form_data(record, id_card=new_id)).status_code == 302
    record.refresh_from_db()
    assert (record.id_card, record.birth_date) == (new_id, born)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"name": ""}, "name"),
        ({"id_card": make_resident_id(BORN, seed=3)[:17] + "Y"}, "id_card"),
        ({"birth_date": "1999-01-01"}, "birth_date"),
        ({"birth_date": "not a date"}, "birth_date"),
    ],
)
def test_bad_input_is_a_field_error(desk_client, record, changes, field):
    response = desk_client.post(url(record), form_data(record, **changes))
    assert response.status_code == 400
    assert field in response.context["details_form"].errors
    assert not AuditEvent.objects.filter(action="patient.details_corrected").exists()
    assert Patient.objects.get(pk=record.pk).name == "王芳"


def test_an_id_number_on_another_record_is_a_field_error(desk_client, record):
    other = PatientFactory()
    response = desk_client.post(url(record), form_data(record, id_card=other.id_card))
    assert response.status_code == 400
    assert "id_card" in response.context["details_form"].errors
    assert Patient.objects.get(pk=record.pk).id_card == make_resident_id(BORN, seed=1)


def test_an_accounts_record_needs_the_document_seen_to_change_its_number(desk_client):
    user = PatientUserFactory(patient__birth_date=None)
    record = user.patient
    new_id = make_resident_id(BORN, seed=9)
    refused = desk_client.post(url(record), form_data(record, id_card=new_id))
    assert refused.status_code == 400
    assert "id_document_seen" in refused.context["details_form"].errors
    assert Patient.objects.get(pk=record.pk).id_card != new_id
    done = desk_client.post(url(record), form_data(record, id_card=new_id, id_document_seen="on"))
    assert done.status_code == 302
    record.refresh_from_db()
    assert (record.id_card, record.id_verified, record.user) == (new_id, True, user)


@pytest.mark.parametrize("persona", ["patient_user", "doctor_user"])
def test_other_roles_are_refused(client, record, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.post(url(record), form_data(record, name="X")).status_code == 403
    assert Patient.objects.get(pk=record.pk).name == "王芳"


def test_nothing_changed_is_saved_without_an_event(desk_client, record):
    assert desk_client.post(url(record), form_data(record)).status_code == 302
    assert not AuditEvent.objects.filter(action="patient.details_corrected").exists()
