"""The waitlist in a real browser: a patient's booking finds the window full (its last place
went while they chose), they join its waitlist; the desk cancels a booking there; the
patient sees the place offered on My appointments, accepts it, and it is their appointment."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment, AppointmentStatus, WaitlistEntry, WaitlistStatus
from appointments.services import book_appointment
from clinic.tests.factories import TEST_PASSWORD, PatientUserFactory, ReceptionistFactory
from scheduling.tests.factories import ScheduleFactory
from tests.e2e.conftest import log_in, wait_for_settled
from tests.e2e.test_accessibility import violations


def assert_accessible(page) -> None:
    found = violations(page, strict=True)
    assert not found, [(v["id"], [n["target"] for n in v["nodes"]]) for v in found]


pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

WINDOW = "09:30-10:00"


def test_a_patient_waits_is_offered_a_freed_place_and_accepts_it(browser, live_server, results_dir):
    schedule = ScheduleFactory(
        work_date=timezone.localdate() + dt.timedelta(days=1),
        start_time=dt.time(9, 0),
        end_time=dt.time(10, 0),
        window_minutes=30,
        max_patients=2,
    )
    waiting_user = PatientUserFactory(username="xiaoli")
    first_user = PatientUserFactory(username="first")
    last_user = PatientUserFactory(username="last")
    ReceptionistFactory(username="desk")
    expected_time = timezone.make_aware(dt.datetime.combine(schedule.work_date, dt.time(9, 30)))
    # The 09:30 window has one place (quota 1): the first patient holds it.
    first = book_appointment(
        by=first_user, department=schedule.department, expected_time=expected_time
    )
    assert first.window.label == "09:30–10:00"

    context = browser.new_context(locale="en-US")
    page = context.new_page()
    log_in(page, live_server, "xiaoli", TEST_PASSWORD)
    page.goto(
        f"{live_server.url}/appointments/book/?department={schedule.department_id}"
        f"&date={schedule.work_date.isoformat()}"
    )
    # A full window cannot be chosen on the page: the patient chooses the free 09:00 one,
    # whose last place someone else takes while they look at it.
    choice = page.locator("#availability input[name=window][value='09:00-09:30']")
    expect(choice).to_be_enabled()
    choice.check()
    book_appointment(
        by=last_user,
        department=schedule.department,
        expected_time=expected_time - dt.timedelta(minutes=30),
    )
    page.locator("#availability button[type=submit]").click()
    join = page.locator("#join-waitlist")
    expect(join).to_be_visible()
    page.screenshot(path=results_dir / "waitlist-join.png", full_page=True)
    assert_accessible(page)
    join.click()
    expect(page.locator("#waitlist")).to_contain_text("09:00–09:30")
    entry = WaitlistEntry.objects.get(patient__user=waiting_user)
    assert entry.status == WaitlistStatus.WAITING

    # The desk cancels the booking that holds the 09:00 window's place.
    taken = Appointment.objects.get(patient__user=last_user)
    desk = browser.new_context(locale="en-US")
    desk_page = desk.new_page()
    log_in(desk_page, live_server, "desk", TEST_PASSWORD)
    desk_page.goto(f"{live_server.url}/appointments/desk/?date={schedule.work_date.isoformat()}")
    row = desk_page.locator(f"#appointment-{taken.pk}")
    row.locator("summary").click()
    row.locator("button.button-danger").click()
    expect(desk_page.locator(f"#appointment-{taken.pk}")).to_contain_text("Cancelled")
    wait_for_settled(desk_page, f"#appointment-{taken.pk}")
    desk_page.goto(
        f"{live_server.url}/appointments/desk/waitlist/?department={schedule.department_id}"
        f"&date={schedule.work_date.isoformat()}&slot=morning"
    )
    expect(desk_page.locator(f"#waitlist-entry-{entry.pk}")).to_contain_text("Place offered")
    assert_accessible(desk_page)
    desk.close()

    # The patient sees the offer and takes it.
    page.goto(f"{live_server.url}/appointments/mine/")
    offer = page.locator(f"#waitlist-entry-{entry.pk}")
    expect(offer).to_contain_text("A place is held for you")
    page.screenshot(path=results_dir / "waitlist-offer.png", full_page=True)
    assert_accessible(page)
    page.locator(f"#accept-offer-{entry.pk}").click()
    expect(page.locator("h1")).to_have_text("Appointment")
    expect(page.locator(".window-label")).to_have_text("09:00–09:30")
    entry.refresh_from_db()
    assert entry.status == WaitlistStatus.ACCEPTED
    assert entry.appointment.patient == waiting_user.patient
    assert entry.appointment.status == AppointmentStatus.PENDING
    context.close()
