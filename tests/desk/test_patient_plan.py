"""A patient's insurance plan (issue 20): chosen at registration (page and API), corrected
at the desk (page and API, in the same audited event as the other details), shown on the
desk's pages and, read only, in the patient's profile. Inactive plans cannot be chosen."""

from __future__ import annotations

import pytest
from django.urls import reverse

from clinic.models import AuditEvent, Patient, User
from clinic.tests.factories import InsurancePlanFactory, PatientFactory
from tests.api.conftest import bearer_client

pytestmark = pytest.mark.django_db

PASSWORD = "lantern-orchid-42"


@pytest.fixture
def plans():
    return (
        InsurancePlanFactory(name="城镇职工", name_en="Urban employees"),
        InsurancePlanFactory(name="旧方案", is_active=False),
    )


def registration(**overrides) -> dict:
    return {
        "username": "xiaoming",
        "name": "王小明",
        "phone": "13912340000",
        "gender": "male",
        "id_card": "",
        "password1": PASSWORD,
        "password2": PASSWORD,
        **overrides,
    }


def test_the_registration_page_offers_active_plans_and_self_pay(client, plans):
    active, inactive = plans
    html = client.get(reverse("register")).content.decode()
    assert 'name="insurance_plan"' in html
    assert f'value="{active.pk}"' in html and f'value="{inactive.pk}"' not in html


def test_a_plan_chosen_at_registration_is_the_records(client, plans):
    active, _inactive = plans
    response = client.post(reverse("register"), registration(insurance_plan=active.pk))
    assert response.status_code == 302
    patient = User.objects.get(username="xiaoming").patient
    assert patient.insurance_plan == active
    event = AuditEvent.objects.get(action="patient.registered")
    assert event.new_values["insurance_plan"] == active.pk


def test_registration_without_a_plan_is_self_pay(client, plans):
    assert client.post(reverse("register"), registration()).status_code == 302
    assert User.objects.get(username="xiaoming").patient.insurance_plan is None


def test_an_inactive_plan_is_refused_at_registration(client, plans):
    _active, inactive = plans
    response = client.post(reverse("register"), registration(insurance_plan=inactive.pk))
    assert response.status_code == 400
    assert not User.objects.filter(username="xiaoming").exists()


def test_the_api_registers_with_a_plan_and_the_profile_shows_it(plans):
    active, inactive = plans
    body = {
        "username": "api.patient",
        "password": "a-long-enough-passphrase",
        "name": "New Patient",
        "phone": "13655556666",
        "gender": "female",
    }
    api = bearer_client(None)
    refused = api.post("/api/auth/register", {**body, "insurance_plan": inactive.pk}, format="json")
    assert refused.status_code == 400
    assert "insurance_plan" in refused.json()["error"]["details"]
    response = api.post("/api/auth/register", {**body, "insurance_plan": active.pk}, format="json")
    assert response.status_code == 201
    user = User.objects.get(username="api.patient")
    profile = bearer_client(user).get("/api/auth/profile").json()
    assert profile["insurance_plan"]["id"] == active.pk


def test_the_profile_of_a_self_paying_patient_has_no_plan(patient_user):
    assert bearer_client(patient_user).get("/api/auth/profile").json()["insurance_plan"] is None


# The desk.


def details(record: Patient, **changes) -> dict:
    data = {
        "action": "details",
        "details-name": record.name,
        "details-phone": record.phone,
        "details-gender": record.gender,
        "details-birth_date": record.birth_date.isoformat() if record.birth_date else "",
        "details-id_type": record.id_type,
        "details-id_card": "",
        "details-insurance_plan": record.insurance_plan_id or "",
    }
    data.update({f"details-{name}": value for name, value in changes.items()})
    return data


def test_the_desk_page_sets_the_plan_audited(client, receptionist, plans):
    active, _inactive = plans
    record = PatientFactory()
    client.force_login(receptionist)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    url = reverse("visits:patient", args=[record.pk])
    assert "Self-pay" in client.get(url).content.decode()
    response = client.post(url, details(record, insurance_plan=active.pk))
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.insurance_plan == active
    event = AuditEvent.objects.get(action="patient.details_corrected")
    assert event.old_values["insurance_plan"] is None
    assert event.new_values["insurance_plan"] == active.pk
    assert "Urban employees" in client.get(url).content.decode()
    listing = client.get(reverse("visits:patients"), {"q": record.name}).content.decode()
    assert "Urban employees" in listing


def test_the_desk_page_refuses_an_inactive_plan(client, receptionist, plans):
    _active, inactive = plans
    record = PatientFactory()
    client.force_login(receptionist)
    response = client.post(
        reverse("visits:patient", args=[record.pk]), details(record, insurance_plan=inactive.pk)
    )
    assert response.status_code == 400
    record.refresh_from_db()
    assert record.insurance_plan is None
    assert not AuditEvent.objects.filter(action="patient.details_corrected").exists()


def test_a_record_keeps_a_plan_no_longer_offered(client, receptionist, plans):
    _active, inactive = plans
    record = PatientFactory(insurance_plan=inactive)
    client.force_login(receptionist)
    response = client.post(
        reverse("visits:patient", args=[record.pk]), details(record, name="王芳华")
    )
    assert response.status_code == 302
    record.refresh_from_db()
    assert (record.name, record.insurance_plan) == ("王芳华", inactive)


def test_the_desk_api_sets_and_clears_the_plan(receptionist, plans):
    active, inactive = plans
    record = PatientFactory()
    api = bearer_client(receptionist)
    url = f"/api/receptionist/patients/{record.pk}"
    response = api.patch(url, {"insurance_plan": active.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["insurance_plan"] == active.pk
    refused = api.patch(url, {"insurance_plan": inactive.pk}, format="json")
    assert refused.status_code == 400
    assert "insurance_plan" in refused.json()["error"]["details"]
    unknown = api.patch(url, {"insurance_plan": 999_999}, format="json")
    assert unknown.status_code == 400
    response = api.patch(url, {"insurance_plan": None}, format="json")
    assert response.status_code == 200 and response.json()["insurance_plan"] is None
    events = AuditEvent.objects.filter(action="patient.details_corrected").order_by("id")
    assert [event.new_values["insurance_plan"] for event in events] == [active.pk, None]


# A walk-in's new record.


def test_a_walk_in_new_record_gets_the_plan_an_existing_one_keeps_its_own(receptionist, plans):
    from scheduling.tests.factories import ScheduleFactory
    from tests.support import WORK_DAY, clinic_time
    from visits.services import register_walk_in

    active, inactive = plans
    schedule = ScheduleFactory(work_date=WORK_DAY, max_patients=5)
    now = clinic_time(7, 30)
    visit = register_walk_in(
        by=receptionist,
        department=schedule.department,
        name="路人甲",
        phone="13700000001",
        now=now,
        insurance_plan=active,
    )
    assert visit.patient.insurance_plan == active
    existing = PatientFactory(name="路人乙", phone="13700000002", id_card=None)
    visit = register_walk_in(
        by=receptionist,
        department=schedule.department,
        name="路人乙",
        phone="13700000002",
        now=now,
        insurance_plan=active,
    )
    assert visit.patient == existing
    existing.refresh_from_db()
    assert existing.insurance_plan is None
    from clinic.exceptions import InvalidInput

    with pytest.raises(InvalidInput) as error:
        register_walk_in(
            by=receptionist,
            department=schedule.department,
            name="路人丙",
            phone="13700000003",
            now=now,
            insurance_plan=inactive,
        )
    assert "insurance_plan" in error.value.details
    assert not Patient.objects.filter(name="路人丙").exists()


def test_the_walk_in_page_offers_the_active_plans(client, receptionist, plans):
    active, inactive = plans
    client.force_login(receptionist)
    html = client.get(reverse("visits:walk-in")).content.decode()
    assert 'name="insurance_plan"' in html
    assert f'value="{active.pk}"' in html and f'value="{inactive.pk}"' not in html
