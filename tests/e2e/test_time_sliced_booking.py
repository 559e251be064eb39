"""Time-sliced booking in a real browser: a patient on a phone books a 30-minute window
(09:30–10:00 tomorrow, and a window later today), the desk checks them in, and the slip, the
patient's pages and the desk's rows show the window."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment
from clinic.tests.factories import TEST_PASSWORD, PatientUserFactory, ReceptionistFactory
from scheduling.tests.factories import ScheduleFactory
from tests.e2e.conftest import log_in, wait_for_settled
from visits.models import Visit, VisitStatus

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 740}
LAST_MINUTE = 23 * 60 + 59


def clock(minutes: int) -> dt.time:
    return dt.time(minutes // 60, minutes % 60)


@pytest.fixture
def schedules(clinic_open_all_day):
    """Tomorrow 09:00–11:00 and today from the running half hour for 90 minutes, both in
    30-minute windows, for one doctor of one department."""
    now = timezone.localtime()
    running = (now.hour * 60 + now.minute) // 30 * 30
    if running + 90 > LAST_MINUTE:
        pytest.skip("too close to midnight for a window later today")
    tomorrow = ScheduleFactory(
        work_date=timezone.localdate() + dt.timedelta(days=1),
        start_time=dt.time(9, 0),
        end_time=dt.time(11, 0),
        window_minutes=30,
        max_patients=8,
    )
    today = ScheduleFactory(
        doctor=tomorrow.doctor,
        department=tomorrow.department,
        room=tomorrow.room,
        work_date=timezone.localdate(),
        start_time=clock(running),
        end_time=clock(running + 90),
        window_minutes=30,
        max_patients=6,
    )
    # The window after the running one: open for booking and for check-in all day long.
    later = (clock(running + 30), clock(running + 60))
    return tomorrow, today, later


def book_window(page, live_server, *, department_id: int, date: dt.date, window: str) -> None:
    """Choose the department and the date (the free places follow by htmx), then the window
    and "Book", by keyboard."""
    page.goto(f"{live_server.url}/appointments/book/")
    page.select_option("#id_department", str(department_id))
    wait_for_settled(page, "#availability")
    page.fill("#id_date", date.isoformat())
    # The date's own request must have come back: the window's text may already be there from
    # the department's answer, and a late answer would replace the chosen radio button.
    expect(page.locator(".htmx-request")).to_have_count(0)
    expect(page.locator("#availability")).to_contain_text(window.replace("-", "–"))
    wait_for_settled(page, "#availability")
    choice = page.locator(f"#availability input[name=window][value='{window}']")
    expect(choice).to_be_enabled()
    choice.focus()
    page.keyboard.press("Space")
    expect(choice).to_be_checked()
    page.locator("#availability button[type=submit]").focus()
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Appointment")


def test_a_patient_books_a_window_on_a_phone_and_the_slip_shows_it(
    browser, live_server, schedules, results_dir
):
    tomorrow, today, (later_start, later_end) = schedules
    later = f"{later_start:%H:%M}-{later_end:%H:%M}"
    later_label = f"{later_start:%H:%M}–{later_end:%H:%M}"
    patient_user = PatientUserFactory(username="xiaohong")
    ReceptionistFactory(username="desk")

    phone = browser.new_context(viewport=PHONE, locale="en-US")
    page = phone.new_page()
    log_in(page, live_server, "xiaohong", TEST_PASSWORD)

    # Tomorrow's windows, each with its free places; 09:30–10:00 is booked at its start.
    book_window(
        page,
        live_server,
        department_id=tomorrow.department_id,
        date=tomorrow.work_date,
        window="09:30-10:00",
    )
    expect(page.locator(".window-label")).to_have_text("09:30–10:00")
    booked = Appointment.objects.get(patient__user=patient_user)
    assert booked.window.label == "09:30–10:00"
    assert timezone.localtime(booked.expected_time).time() == dt.time(9, 30)
    # The page fits the phone: nothing wider than the viewport.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

    # Its place is gone from that window, not from the others.
    page.goto(
        f"{live_server.url}/appointments/book/?department={tomorrow.department_id}"
        f"&date={tomorrow.work_date.isoformat()}"
    )
    expect(page.locator("[data-window='09:30-10:00']")).to_contain_text("1 place left")
    expect(page.locator("[data-window='09:00-09:30']")).to_contain_text("2 places left")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.screenshot(path=results_dir / "time-sliced-booking-phone.png", full_page=True)

    # A window later today, which the desk can check in now.
    book_window(
        page,
        live_server,
        department_id=today.department_id,
        date=today.work_date,
        window=later,
    )
    expect(page.locator(".window-label")).to_have_text(later_label)
    todays = Appointment.objects.get(schedule=today)
    phone.close()

    desk = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = desk.new_page()
    log_in(page, live_server, "desk", TEST_PASSWORD)
    page.goto(f"{live_server.url}/appointments/desk/")
    row = page.locator(f"#appointment-{todays.pk}")
    expect(row).to_contain_text(later_label)
    expect(row.locator(".badge-late")).to_have_count(0)
    row.locator("a", has_text="Check in").click()
    expect(page.locator("h1")).to_have_text("Check in")
    if page.locator("#id_phone").count():
        page.fill("#id_phone", todays.phone)
    if page.locator("#id_id_card").count():
        page.fill("#id_id_card", todays.id_card[-4:])
    page.get_by_role("button", name="Check in and print the slip").click()
    expect(page.locator(".slip-window")).to_contain_text(later_label)
    expect(page.locator(".slip-window .badge-late")).to_have_count(0)
    desk.close()

    visit = Visit.objects.get(appointment=todays)
    assert visit.status == VisitStatus.WAITING
    assert (visit.window.start_time, visit.window.end_time) == (later_start, later_end)
    assert not visit.arrived_late
