"""The walk-in page guards against registering a patient twice (issue 19): the phone lookup
says who is already in today's queue or has yet to pay, with a link to their slip or payment,
and a second registration in the same department is refused with a field error."""

from __future__ import annotations

import datetime as dt
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from clinic.models import AuditEvent
from clinic.tests.factories import PatientFactory
from scheduling.tests.factories import ScheduleFactory, set_places_taken
from visits.models import Visit, VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
URL = reverse("visits:walk-in")
PHONE = "13911112222"


@pytest.fixture
def desk_client(client, receptionist):
    client.force_login(receptionist)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def all_day_schedule(settings):
    settings.CLINIC_MORNING_HOURS = (dt.time(0, 0), dt.time(11, 59))
    settings.CLINIC_AFTERNOON_HOURS = (dt.time(12, 0), dt.time(23, 59))
    return ScheduleFactory(work_date=timezone.localdate(), time_slot="full_day", max_patients=50)


def lookup(desk_client, phone: str = PHONE) -> str:
    response = desk_client.get(URL, {"part": "matches", "phone": phone}, headers=HTMX)
    assert response.status_code == 200
    return response.content.decode()


def test_a_patient_in_todays_queue_gets_their_slip_not_a_second_registration(
    desk_client, all_day_schedule
):
    visit = VisitFactory(schedule=all_day_schedule, patient__phone=PHONE)
    html = lookup(desk_client)
    assert "Already in today's queue" in unescape(html)
    assert reverse("visits:slip", args=[visit.pk]) in html
    assert f"?patient={visit.patient.pk}" not in html


def test_a_patient_waiting_to_pay_gets_the_pay_page(desk_client, all_day_schedule):
    # An unpaid visit of an earlier day still stops a second registration.
    earlier = ScheduleFactory(work_date=timezone.localdate() - dt.timedelta(days=3))
    visit = VisitFactory(
        schedule=earlier, patient__phone=PHONE, status=VisitStatus.AWAITING_PAYMENT
    )
    html = lookup(desk_client)
    assert "Waiting to pay" in html
    assert reverse("billing:pay", args=[visit.pk]) in html
    assert f"?patient={visit.patient.pk}" not in html


def test_a_family_member_on_the_same_phone_is_still_offered(desk_client, all_day_schedule):
    queued = VisitFactory(schedule=all_day_schedule, patient__phone=PHONE)
    sibling = PatientFactory(phone=PHONE, name="王小")
    html = lookup(desk_client)
    assert reverse("visits:slip", args=[queued.pk]) in html
    assert f"?patient={sibling.pk}" in html


@pytest.mark.parametrize("status", [VisitStatus.LEFT, VisitStatus.CANCELLED])
def test_a_finished_visit_offers_the_record_again(desk_client, all_day_schedule, status):
    visit = VisitFactory(schedule=all_day_schedule, patient__phone=PHONE, status=status)
    html = lookup(desk_client)
    assert f"?patient={visit.patient.pk}" in html
    assert reverse("visits:slip", args=[visit.pk]) not in html


def test_the_lookup_is_two_queries_whatever_the_matches(
    desk_client, all_day_schedule, django_assert_num_queries
):
    for index in range(5):
        VisitFactory(schedule=all_day_schedule, patient__phone=PHONE, patient__name=f"P{index}")
    # Session, user, the patients, their unfinished visits.
    with django_assert_num_queries(4):
        lookup(desk_client)


def test_registering_again_in_the_same_department_is_a_field_error_with_the_slip(
    desk_client, all_day_schedule
):
    visit = VisitFactory(schedule=all_day_schedule)
    set_places_taken(all_day_schedule, 1)
    events = AuditEvent.objects.count()
    response = desk_client.post(
        URL,
        {
            "patient": visit.patient.pk,
            "department": all_day_schedule.department.pk,
            "id_type": "resident_id",
        },
    )
    assert response.status_code == 409
    assert response.context["form"].errors["department"]
    html = response.content.decode()
    assert 'id="already-in-queue"' in html
    assert reverse("visits:slip", args=[visit.pk]) in html
    assert Visit.objects.count() == 1
    all_day_schedule.refresh_from_db()
    assert all_day_schedule.current_patients == 1
    assert AuditEvent.objects.count() == events


def test_a_returning_patient_registers_with_the_fields_a_browser_sends(
    desk_client, all_day_schedule
):
    """The record's fields are disabled on the form, so a browser sends none of them (not
    even the ID type): the patient and the department are enough."""
    patient = PatientFactory()
    response = desk_client.post(
        URL, {"patient": patient.pk, "department": all_day_schedule.department.pk}
    )
    assert response.status_code == 302
    assert Visit.objects.get().patient == patient
