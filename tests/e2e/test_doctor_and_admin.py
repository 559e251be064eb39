"""The consultation and the money in a real browser: doctor, cashier, administrator."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from billing.models import Bill
from clinic.tests.factories import (
    TEST_PASSWORD,
    AdminUserFactory,
    DoctorUserFactory,
    ReceptionistFactory,
)
from scheduling.tests.factories import ScheduleFactory
from tests.e2e.conftest import log_in
from visits.models import MedicalRecord, VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_doctor_calls_writes_finishes_and_the_desk_settles(
    browser, live_server, clinic_open_all_day
):
    doctor = DoctorUserFactory(username="dr-wang")
    ReceptionistFactory(username="desk")
    schedule = ScheduleFactory(
        doctor=doctor.employee,
        department=doctor.employee.department,
        work_date=timezone.localdate(),
        time_slot="full_day",
        max_patients=5,
    )
    first = VisitFactory(schedule=schedule, queue_number=1)
    VisitFactory(schedule=schedule, queue_number=2)
    type(schedule).objects.filter(pk=schedule.pk).update(current_patients=2)

    doctor_page = browser.new_context(locale="en-US").new_page()
    log_in(doctor_page, live_server, "dr-wang", TEST_PASSWORD)
    doctor_page.goto(f"{live_server.url}/visits/queue/")
    doctor_page.click("#call-next-button")
    expect(doctor_page.locator("h1")).to_contain_text("#1")
    doctor_page.fill("#id_diagnosis", "Acute bronchitis")
    doctor_page.fill("#id_prescription", "Rest and fluids")
    doctor_page.click("button[name=finish]")
    first.refresh_from_db()
    assert first.status == VisitStatus.AWAITING_PAYMENT
    assert MedicalRecord.objects.get(visit=first).diagnosis == "Acute bronchitis"

    desk_page = browser.new_context(locale="en-US").new_page()
    log_in(desk_page, live_server, "desk", TEST_PASSWORD)
    desk_page.goto(f"{live_server.url}/visits/board/")
    desk_page.click(f"#pay-{first.pk}")
    desk_page.fill("#id_total_amount", "86.50")
    desk_page.fill("#id_insurance_amount", "50")
    expect(desk_page.locator("#self-pay")).to_contain_text("36.50")
    desk_page.click("#main form button[type=submit]")
    bill = Bill.objects.get(visit=first)
    expect(desk_page.locator(".receipt")).to_contain_text(bill.number)
    expect(desk_page.locator(".receipt")).to_contain_text("¥36.50")
    first.refresh_from_db()
    assert first.status == VisitStatus.LEFT


def test_admin_sees_todays_payment_in_the_statistics_and_exports_it(
    page, live_server, clinic_open_all_day
):
    from billing.services import settle_visit

    AdminUserFactory(username="boss")
    desk = ReceptionistFactory()
    visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
    settle_visit(visit=visit, total_amount="120.00", insurance_amount="20.00", by=desk)
    log_in(page, live_server, "boss", TEST_PASSWORD)
    page.goto(f"{live_server.url}/billing/statistics/?group_by=day")
    table = page.locator("#stats-income-table")
    expect(table).to_contain_text("120.00")
    expect(page.locator("#stats-income-chart")).to_be_visible()
    with page.expect_download() as download_info:
        page.locator("a[download]").first.click()
    body = download_info.value.path().read_text(encoding="utf-8")
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
    assert any(
        Decimal(cell) == Decimal("120.00")
        for row in rows[1:]
        for cell in row
        if cell.replace(".", "", 1).isdigit()
    )
