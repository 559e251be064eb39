"""The desk's cursor is where the hand goes next, keyboard only: a wrong ID check keeps it in
its field, the search box leads to payment, and after each printout the search box waits
for the next patient."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment
from billing.models import Bill
from clinic.models import Patient
from clinic.tests.factories import TEST_PASSWORD, ReceptionistFactory
from scheduling.tests.factories import ScheduleFactory
from tests.e2e.conftest import log_in
from visits.models import Visit, VisitStatus
from visits.tests.factories import VisitFactory
from visits.tests.test_arrival import ID_X

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def desk_page(page, live_server, clinic_open_all_day):
    ReceptionistFactory(username="desk")
    page.add_init_script("window.print = () => { window.__printed = true; };")
    log_in(page, live_server, "desk", TEST_PASSWORD)
    return page


@pytest.fixture
def schedule():
    return ScheduleFactory(
        work_date=timezone.localdate(), time_slot="full_day", max_patients=5, current_patients=1
    )


class Keyboard:
    """Presses keys on the page and counts them."""

    def __init__(self, page) -> None:
        self.page, self.keys = page, []

    def press(self, key: str) -> None:
        self.keys.append(key)
        self.page.keyboard.press(key)

    def type(self, text: str) -> None:
        self.keys.extend(text)
        self.page.keyboard.type(text)


def _booked_with_id(schedule, *, name: str, phone: str) -> Appointment:
    """Today's booking of a returning patient, made with their ID number."""
    patient = Patient.objects.create(name=name, phone=phone, id_card=ID_X)
    return Appointment.objects.create(
        patient=patient,
        patient_name=patient.name,
        phone=patient.phone,
        id_card=ID_X,
        department=schedule.department,
        schedule=schedule,
        expected_time=timezone.now(),
    )


def test_a_wrong_id_check_keeps_the_cursor_in_its_field(desk_page, live_server, schedule):
    page = desk_page
    appointment = _booked_with_id(schedule, name="李四", phone="13812345678")
    patient = appointment.patient
    page.goto(f"{live_server.url}/visits/board/")
    keyboard = Keyboard(page)
    keyboard.press("/")
    keyboard.type(patient.phone)
    expect(page.locator("#desk-search-results a").first).to_be_visible()
    keyboard.press("Enter")
    expect(page.locator("#id_id_card")).to_be_focused()
    keyboard.type("0000")
    keyboard.press("Enter")
    field = page.locator("#id_id_card")
    expect(page.locator(".errorlist")).to_contain_text("does not match the booking")
    expect(field).to_be_focused()
    expect(field).to_have_attribute("aria-invalid", "true")
    assert not Visit.objects.exists()
    # The wrong text is selected: typing the right one replaces it.
    keyboard.type(ID_X[-4:])
    keyboard.press("Enter")
    expect(page.locator(".slip-number")).to_have_text("1")
    assert Visit.objects.get().appointment == appointment


def test_a_scanned_id_number_with_its_enter_checks_in_with_nothing_more_to_type(
    desk_page, live_server, schedule
):
    """A scanner types the 18 characters and Enter at once: the box searches that number
    and opens the booking's check-in, where the scan has made both checks."""
    page = desk_page
    patient = _booked_with_id(schedule, name="赵六", phone="13612345678").patient
    page.goto(f"{live_server.url}/visits/board/")
    keyboard = Keyboard(page)
    keyboard.press("/")
    keyboard.type(ID_X)
    keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Check in")
    expect(page.locator("#id_phone")).to_have_count(0)
    expect(page.locator("#id_id_card")).to_have_count(0)
    expect(page.locator("#main form[method=post] button[type=submit]")).to_be_focused()
    keyboard.press("Enter")
    expect(page.locator(".slip-number")).to_have_text("1")
    keyboard.press("Enter")
    assert page.evaluate("window.__printed === true")
    assert Visit.objects.get().patient == patient
    print(f"keyboard check-in with a scanned ID number: {len(keyboard.keys)} keys, 3 steps")


def test_enter_opens_the_first_result_of_what_is_typed_now(desk_page, live_server, schedule):
    """Results of the first digits are on screen when the rest is typed and Enter pressed
    at once: Enter opens the first result of the whole number, not of its beginning."""
    page = desk_page
    first = Patient.objects.create(name="赵六", phone="13612345678")
    Appointment.objects.create(
        patient=first,
        patient_name=first.name,
        phone=first.phone,
        department=schedule.department,
        schedule=schedule,
        expected_time=timezone.now(),
    )
    other = Patient.objects.create(name="赵七", phone="13600000000")
    page.goto(f"{live_server.url}/visits/board/")
    page.keyboard.press("/")
    page.keyboard.type("136")
    expect(page.locator("#desk-search-results a")).to_have_count(3)
    expect(page.locator("#desk-search-results a").first).to_contain_text("Check in")
    page.keyboard.type("00000000")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}/visits/walk-in/?patient={other.pk}")


def test_from_the_search_box_to_a_printed_receipt_and_back_to_the_search_box(
    desk_page, live_server, schedule
):
    page = desk_page
    patient = Patient.objects.create(name="王五", phone="13700007777")
    visit = VisitFactory(
        schedule=schedule, patient=patient, status=VisitStatus.AWAITING_PAYMENT, queue_number=1
    )
    page.goto(f"{live_server.url}/visits/board/")
    keyboard = Keyboard(page)
    keyboard.press("/")
    keyboard.type(patient.phone)
    result = page.locator("#desk-search-results a").first
    expect(result).to_contain_text("Pay →")
    keyboard.press("Enter")  # the result's next action: payment
    expect(page.locator("h1")).to_have_text("Payment")
    expect(page.locator("#id_total_amount")).to_be_focused()
    keyboard.type("50")
    keyboard.press("Enter")
    expect(page.locator(".receipt")).to_be_visible()
    bill = Bill.objects.get(visit=visit)
    assert bill.total_amount == 50
    expect(page.locator("[data-print]")).to_be_focused()
    keyboard.press("Enter")
    assert page.evaluate("window.__printed === true")
    print(f"keyboard payment, search box to printed receipt: {len(keyboard.keys)} keys")
    # The next patient: the search box has the cursor, and it searches as before.
    expect(page.locator("#desk-search")).to_be_focused()
    keyboard.type(patient.phone)
    expect(page.locator("#desk-search-results a").first).to_contain_text("Receipt →")


def test_the_walk_in_page_starts_in_the_phone_field(desk_page, live_server):
    desk_page.goto(f"{live_server.url}/visits/walk-in/")
    expect(desk_page.locator("#id_phone")).to_be_focused()
