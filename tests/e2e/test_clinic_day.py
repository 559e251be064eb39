"""The clinic's day in a real browser: patient, front desk, board, languages, keyboard."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment, AppointmentStatus
from appointments.tests.factories import AppointmentFactory
from clinic.models import Patient
from clinic.tests.factories import TEST_PASSWORD, PatientUserFactory, ReceptionistFactory
from scheduling.tests.factories import ScheduleFactory, set_places_taken
from tests.e2e.conftest import log_in
from visits.desk_views import BOARD_LEFT_SHOWN
from visits.models import Visit, VisitStatus
from visits.tests.factories import VisitFactory
from visits.tests.test_arrival import ID_X

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def todays_schedules(clinic_open_all_day):
    """Two departments seeing patients today (a full-day schedule each)."""
    first = ScheduleFactory(work_date=timezone.localdate(), time_slot="full_day", max_patients=5)
    second = ScheduleFactory(work_date=timezone.localdate(), time_slot="full_day", max_patients=5)
    return first, second


@pytest.fixture
def desk_user():
    return ReceptionistFactory(username="desk")


def test_patient_registers_books_watching_availability_and_cancels(
    page, live_server, todays_schedules
):
    first, second = todays_schedules
    # No GET of any page may carry the CSRF token (it would reach the address bar, the
    # history and Referer headers): the availability updates send only what they need.
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_server.url}/accounts/register/")
    page.fill("#id_username", "xiaoming")
    page.fill("#id_name", "王小明")
    page.fill("#id_phone", "13912340000")
    page.check("input[name=gender][value=male]")
    page.fill("#id_password1", "lantern-orchid-42")
    page.fill("#id_password2", "lantern-orchid-42")
    page.click("#main button[type=submit]")
    expect(page).to_have_url(f"{live_server.url}/appointments/mine/")

    page.goto(f"{live_server.url}/appointments/book/")
    page.select_option("#id_department", str(first.department.pk))
    # The availability panel updates in place (htmx), no reload.
    panel = page.locator("#availability")
    expect(panel).to_contain_text("5 places left")
    expect(panel).to_contain_text(first.doctor.name)
    # The first slot still open today (the morning may have ended).
    page.locator("label.slot-card:not(.slot-unavailable)").first.click()
    page.click("#availability button[type=submit]")
    expect(page.locator(".reference")).to_be_visible()
    booked = Appointment.objects.get(patient__user__username="xiaoming")
    expect(page.locator(".reference")).to_have_text(booked.reference)

    # A second booking elsewhere, then cancel it from "my appointments".
    page.goto(f"{live_server.url}/appointments/book/")
    page.select_option("#id_department", str(second.department.pk))
    expect(panel).to_contain_text("5 places left")
    page.locator("label.slot-card:not(.slot-unavailable)").first.click()
    page.click("#availability button[type=submit]")
    other = Appointment.objects.filter(department=second.department).get()
    page.goto(f"{live_server.url}/appointments/mine/")
    page.click(f"a[href='/appointments/{other.pk}/cancel/']")
    page.fill("#id_reason", "Feeling better")
    page.click("text=Yes, cancel it")
    expect(page.locator(".messages")).to_contain_text("cancelled")
    other.refresh_from_db()
    booked.refresh_from_db()
    assert (other.status, booked.status) == (AppointmentStatus.CANCELLED, AppointmentStatus.PENDING)
    assert requested
    assert not [url for url in requested if "csrfmiddlewaretoken" in url]


def test_desk_finds_checks_in_prints_and_registers_a_walk_in(
    page, live_server, todays_schedules, desk_user, results_dir
):
    first, _second = todays_schedules
    patient_user = PatientUserFactory(patient__name="张三丰", patient__phone="13912345678")
    appointment = Appointment.objects.create(
        patient=patient_user.patient,
        patient_name="张三丰",
        phone="13912345678",
        department=first.department,
        schedule=first,
        expected_time=timezone.now(),
    )
    set_places_taken(first, 1)
    log_in(page, live_server, "desk", TEST_PASSWORD)

    page.goto(f"{live_server.url}/appointments/desk/")
    page.fill("#desk-search", "13912345678")
    result = page.locator("#desk-search-results a", has_text=appointment.reference)
    expect(result).to_be_visible()
    result.click()
    expect(page.locator("h1")).to_have_text("Check in")
    # Found by the whole phone number: the search made the phone check, nothing to type.
    expect(page.locator("#id_phone")).to_have_count(0)
    page.click("#main form[method=post] button[type=submit]")
    expect(page.locator(".slip-number")).to_have_text("1")

    page.emulate_media(media="print")
    expect(page.locator(".site-header")).to_be_hidden()
    expect(page.locator(".slip-actions")).to_be_hidden()
    page.screenshot(path=str(results_dir / "slip-print.png"))
    page.emulate_media(media="screen")

    page.goto(f"{live_server.url}/visits/walk-in/")
    page.fill("#id_phone", "13700000001")
    page.fill("#id_name", "路人甲")
    page.select_option("#id_department", str(first.department.pk))
    page.click("#main form button[type=submit]")
    expect(page.locator(".slip-number")).to_have_text("2")
    assert Visit.objects.filter(patient__name="路人甲", status=VisitStatus.WAITING).exists()


def test_the_board_updates_by_itself_and_keeps_focus_and_typing(
    page, live_server, todays_schedules, desk_user
):
    first, _second = todays_schedules
    waiting = VisitFactory(schedule=first, status=VisitStatus.WAITING, queue_number=1)
    other = VisitFactory(schedule=first, status=VisitStatus.WAITING, queue_number=2)
    set_places_taken(first, 2)
    log_in(page, live_server, "desk", TEST_PASSWORD)
    page.goto(f"{live_server.url}/visits/board/")
    consultation = page.locator("section.board-in_consultation")
    expect(consultation).not_to_contain_text(waiting.patient.name)

    # Someone types in the search box and someone else has a board button focused.
    page.fill("#desk-search", "139")
    page.focus(f"#advance-{other.pk}")
    # Another session (the doctor's, here the service directly) moves a visit along.
    waiting.start_consultation(by=desk_user)
    expect(consultation).to_contain_text(waiting.patient.name, timeout=12_000)
    assert page.evaluate("document.activeElement.id") == f"advance-{other.pk}"
    assert page.input_value("#desk-search") == "139"


def test_languages_switch_and_the_booking_page_fits_a_phone(page, live_server, todays_schedules):
    PatientUserFactory(username="phone-user")
    log_in(page, live_server, "phone-user", TEST_PASSWORD)
    page.goto(f"{live_server.url}/appointments/book/")
    expect(page.locator("h1")).to_have_text("Book an appointment")
    page.select_option("#language-select", "zh-hans")
    page.click(".language-switcher button")
    expect(page.locator("h1")).to_have_text("预约挂号")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    page.set_viewport_size({"width": 375, "height": 812})
    first, _second = todays_schedules
    page.select_option("#id_department", str(first.department.pk))
    expect(page.locator("#availability")).to_contain_text(first.doctor.name)
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


# Measured on the check-in as it was before issue 19, by the same keyboard walk: `/`, the
# 11 digits, Enter, the same 11 digits again, Tab, the 18 characters of the ID number, Enter,
# Enter to print.
KEYS_BEFORE_ISSUE_19 = 45


def test_keyboard_only_check_in_of_a_returning_patient(
    page, live_server, todays_schedules, desk_user, results_dir
):
    """A returning patient who booked with their ID number, from the desk's search to the
    printed slip, keyboard only: at most 20 key presses and 3 steps."""
    first, _second = todays_schedules
    patient = Patient.objects.create(name="李四", phone="13812345678", id_card=ID_X)
    appointment = Appointment.objects.create(
        patient=patient,
        patient_name=patient.name,
        phone=patient.phone,
        id_card=patient.id_card,
        department=first.department,
        schedule=first,
        expected_time=timezone.now(),
    )
    set_places_taken(first, 1)
    page.add_init_script("window.print = () => { window.__printed = true; };")
    log_in(page, live_server, "desk", TEST_PASSWORD)
    page.goto(f"{live_server.url}/appointments/desk/")

    keys = []

    def press(key: str) -> None:
        keys.append(key)
        page.keyboard.press(key)

    def type_text(text: str) -> None:
        keys.extend(text)
        page.keyboard.type(text)

    steps = []
    press("/")
    type_text("13812345678")
    # Enter at once, as a quick hand does (before the box has searched as it goes): the
    # results of the whole number are asked for, then the first one opened.
    press("Enter")  # step 1: Enter opens the first result, the booking's check-in
    steps.append("open the check-in from the search")
    expect(page.locator("h1")).to_have_text("Check in")
    # The search made the phone check: the cursor waits in the ID check.
    expect(page.locator("#id_phone")).to_have_count(0)
    expect(page.locator("#id_id_card")).to_be_focused()
    type_text(ID_X[-4:].lower())  # the last 4 characters, the X in lower case
    press("Enter")  # step 2: the submitted check-in form
    steps.append("submit the check-in")
    expect(page.locator(".slip-number")).to_have_text("1")
    press("Enter")  # step 3: the focused print button
    steps.append("print")
    assert page.evaluate("window.__printed === true")
    # Printed: the hand goes on to the next patient, in the search box.
    expect(page.locator("#desk-search")).to_be_focused()

    visit = Visit.objects.get(appointment=appointment)
    assert visit.status == VisitStatus.WAITING
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.COMPLETED
    assert len(keys) <= 20
    assert len(steps) <= 3
    figures = {
        "booking": "returning patient, booked with an ID number",
        "steps": steps,
        "step_count": len(steps),
        "key_presses": len(keys),
        "key_presses_before": KEYS_BEFORE_ISSUE_19,
        "keys": keys,
    }
    (results_dir / "keyboard-check-in.json").write_text(json.dumps(figures, indent=2))
    print(
        f"keyboard check-in (ID booking): before {KEYS_BEFORE_ISSUE_19} key presses, "
        f"after {len(keys)} key presses in {len(steps)} steps"
    )


def test_desk_rows_change_in_place_and_the_board_shows_every_visit_that_left(
    page, live_server, todays_schedules, desk_user
):
    first, _second = todays_schedules
    pending = AppointmentFactory(schedule=first)
    other = AppointmentFactory(schedule=first)
    log_in(page, live_server, "desk", TEST_PASSWORD)
    page.goto(f"{live_server.url}/appointments/desk/")
    # The row's forms swap their own row (the target is declared once, on the table body).
    page.click(f"#confirm-{pending.pk}")
    row = page.locator(f"#appointment-{pending.pk}")
    expect(row.locator(".badge")).to_have_text("Confirmed")
    expect(row.locator(f"#confirm-{pending.pk}")).to_have_count(0)
    expect(page.locator(f"#confirm-{other.pk}")).to_be_visible()
    pending.refresh_from_db()
    assert pending.status == AppointmentStatus.CONFIRMED

    type(first).objects.filter(pk=first.pk).update(max_patients=50)
    left = VisitFactory.create_batch(BOARD_LEFT_SHOWN + 2, schedule=first, status=VisitStatus.LEFT)
    page.goto(f"{live_server.url}/visits/board/")
    column = page.locator("section.board-left")
    expect(column.locator(".count")).to_have_text(str(BOARD_LEFT_SHOWN + 2))
    expect(column.locator(".board-card")).to_have_count(BOARD_LEFT_SHOWN)
    page.click("#board-left-all")
    expect(column.locator(".board-card")).to_have_count(BOARD_LEFT_SHOWN + 2)
    expect(column).to_contain_text(left[0].patient.name)
