"""Issue 19 in a real browser: the walk-in form's guard against registering someone twice,
the desk correcting a patient's details, the patient list telling a family apart, and the
patient seeing their booking as checked in during the visit."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.services import book_appointment
from clinic.models import AuditEvent, Patient
from clinic.tests.factories import (
    TEST_PASSWORD,
    PatientFactory,
    PatientUserFactory,
    ReceptionistFactory,
)
from scheduling.tests.factories import ScheduleFactory
from tests.e2e.conftest import log_in
from visits.models import Visit, VisitStatus
from visits.services import check_in
from visits.tests.factories import VisitFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = "13911112222"


@pytest.fixture
def schedule(clinic_open_all_day):
    return ScheduleFactory(work_date=timezone.localdate(), time_slot="full_day", max_patients=5)


@pytest.fixture
def desk_user():
    return ReceptionistFactory(username="desk")


def test_the_walk_in_form_sends_a_queued_patient_to_their_slip(
    page, live_server, schedule, desk_user
):
    queued = VisitFactory(schedule=schedule, patient__name="王芳", patient__phone=PHONE)
    paying = VisitFactory(
        schedule=schedule,
        patient__name="王大",
        patient__phone=PHONE,
        status=VisitStatus.AWAITING_PAYMENT,
    )
    sibling = PatientFactory(name="王小", phone=PHONE)
    log_in(page, live_server, "desk", TEST_PASSWORD)
    page.goto(f"{live_server.url}/visits/walk-in/")
    page.fill("#id_phone", PHONE)
    page.press("#id_phone", "Tab")
    matches = page.locator("#patient-matches")
    expect(matches).to_contain_text("Already in today's queue")
    expect(matches).to_contain_text("Waiting to pay")
    # Only the family member not here today is offered for registration.
    expect(matches.locator("a.button-choice")).to_have_count(1)
    expect(matches.locator("a.button-choice")).to_contain_text(sibling.name)
    expect(matches.locator(f"a[href='/billing/pay/{paying.pk}/']")).to_be_visible()
    matches.locator(f"a[href='/visits/{queued.pk}/slip/']").click()
    expect(page.locator(".slip-number")).to_have_text(str(queued.queue_number))

    # Registering the queued patient anyway (from their record) is refused, with the slip.
    page.goto(f"{live_server.url}/visits/walk-in/?patient={queued.patient.pk}")
    page.select_option("#id_department", str(schedule.department.pk))
    page.click("#main form button[type=submit]")
    expect(page.locator("#already-in-queue")).to_contain_text("Already in today's queue")
    expect(page.locator(".field-invalid")).to_contain_text("already has an open visit")
    assert Visit.objects.filter(patient=queued.patient).count() == 1


def test_the_desk_corrects_a_patients_details(page, live_server, desk_user):
    born = dt.date(1985, 6, 15)
    mother = PatientFactory(name="王芳", phone=PHONE, gender="female", birth_date=born)
    PatientUserFactory(patient__name="王小明", patient__phone=PHONE, patient__birth_date=None)
    log_in(page, live_server, "desk", TEST_PASSWORD)

    # The list tells the two apart: gender, birth date and age, the account.
    page.goto(f"{live_server.url}/visits/patients/?q={PHONE}")
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="王芳")).to_contain_text("1985-06-15")
    expect(rows.filter(has_text="王芳")).to_contain_text("Female")
    expect(rows.filter(has_text="王小明")).to_contain_text("online account")

    rows.filter(has_text="王芳").locator("a", has_text="王芳").click()
    page.fill("#id_details-phone", "1391111")
    page.click("#details button[type=submit]")
    expect(page.locator("#details .field-invalid")).to_contain_text("11-digit")
    page.fill("#id_details-name", "王芳华")
    page.fill("#id_details-phone", "13911113333")
    page.click("#details button[type=submit]")
    expect(page.locator("h1")).to_have_text("王芳华")
    mother.refresh_from_db()
    assert (mother.name, mother.phone) == ("王芳华", "13911113333")
    assert AuditEvent.objects.filter(action="patient.details_corrected", patient=mother).exists()


def test_the_patient_sees_their_booking_checked_in_under_today(page, live_server, schedule):
    user = PatientUserFactory(username="xiaoming")
    booking = book_appointment(
        by=user, department=schedule.department, expected_time=timezone.now()
    )
    check_in(
        appointment_id=booking.pk,
        phone=booking.phone,
        id_card=booking.id_card,
        by=ReceptionistFactory(),
    )
    log_in(page, live_server, "xiaoming", TEST_PASSWORD)
    page.goto(f"{live_server.url}/appointments/mine/")
    today = page.locator("#today-appointments")
    expect(today).to_contain_text(booking.reference)
    expect(today.locator(".badge")).to_have_text("Checked in")
    expect(page.locator("#past-appointments")).to_have_count(0)
    assert Patient.objects.get(user=user).visits.get().status == VisitStatus.WAITING
