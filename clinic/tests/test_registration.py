"""Patients register their own accounts; desk records are attached only on a full match."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clinic.models import Patient, Role, User
from clinic.tests.factories import PatientFactory, PatientUserFactory, make_resident_id

pytestmark = pytest.mark.django_db

REGISTER = reverse("register")
PASSWORD = "lantern-orchid-42"


def form_data(**overrides):
    data = {
        "username": "xiaoming",
        "name": "王小明",
        "phone": "13912340000",
        "gender": "male",
        "id_card": "",
        "password1": PASSWORD,
        "password2": PASSWORD,
    }
    data.update(overrides)
    return data


def test_the_page_renders_without_an_unusable_password_choice(client):
    html = client.get(REGISTER).content.decode()
    assert 'name="username"' in html and 'name="id_card"' in html
    assert "usable_password" not in html


def test_registration_creates_a_patient_account_and_logs_in(client):
    response = client.post(REGISTER, form_data())
    assert response.status_code == 302
    user = User.objects.get(username="xiaoming")
    assert user.role == Role.PATIENT
    assert (user.patient.name, user.patient.phone, user.patient.id_card) == (
        "王小明",
        "13912340000",
        None,
    )
    assert client.get(reverse("appointments:my-appointments")).status_code == 200


def test_a_desk_record_is_attached_when_name_phone_and_id_all_match(client):
    id_card = make_resident_id(seed=11)
    record = PatientFactory(name="王小明", phone="13912340000", id_card=id_card)
    client.post(REGISTER, form_data(id_card=id_card))
    record.refresh_from_db()
    assert record.user.username == "xiaoming"
    assert Patient.objects.count() == 1


@pytest.mark.parametrize("mismatch", ["name", "phone"])
def test_a_partial_match_is_never_attached(client, mismatch):
    id_card = make_resident_id(seed=12)
    record = PatientFactory(
        name="王小明" if mismatch != "name" else "王大明",
        phone="13912340000" if mismatch != "phone" else "13812340000",
        id_card=id_card,
    )
    response = client.post(REGISTER, form_data(id_card=id_card), follow=True)
    record.refresh_from_db()
    assert record.user is None
    user = User.objects.get(username="xiaoming")
    assert user.patient != record
    assert user.patient.id_card is None  # the number stays with its record until the desk checks
    assert response.context["messages"]


def test_a_record_that_already_has_an_account_is_never_attached(client):
    owner = PatientUserFactory(patient__name="王小明", patient__phone="13912340000")
    client.post(REGISTER, form_data(id_card=owner.patient.id_card))
    owner.patient.refresh_from_db()
    assert owner.patient.user == owner


def test_a_shared_family_phone_gets_its_own_record(client):
    family = PatientFactory(name="王大明", phone="13912340000", id_card=None)
    client.post(REGISTER, form_data())
    assert User.objects.get(username="xiaoming").patient != family


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"phone": "12345"}, "phone"),
        ({"id_card": "110105194912310021"}, "id_card"),
        ({"name": "  "}, "name"),
        ({"password1": "1234567890", "password2": "1234567890"}, "password2"),
        ({"password2": "something-else-9"}, "password2"),
        ({"gender": "other"}, "gender"),
    ],
)
def test_bad_input_gives_field_errors_and_creates_nothing(client, overrides, field):
    response = client.post(REGISTER, form_data(**overrides))
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not User.objects.exists()
    assert not Patient.objects.exists()


def test_a_taken_username_is_a_field_error(client):
    PatientUserFactory(username="xiaoming")
    response = client.post(REGISTER, form_data())
    assert "username" in response.context["form"].errors


def test_signed_in_users_are_sent_home(client, patient_user):
    client.force_login(patient_user)
    assert client.get(REGISTER).status_code == 302
