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
from scheduling.tests.factories import ScheduleFactory, set_places_taken
from tests.e2e.conftest import log_in
from visits.allergies import active_allergies
from visits.models import MedicalRecord, VisitStatus
from visits.tests.factories import (
    DiagnosisCatalogueFactory,
    PatientAllergyFactory,
    VisitFactory,
)

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
    set_places_taken(schedule, 2)
    DiagnosisCatalogueFactory(code="J20.9", name="急性支气管炎", name_en="Acute bronchitis")
    PatientAllergyFactory(patient=first.patient, substance="Penicillin", recorded_by=doctor)

    doctor_page = browser.new_context(locale="en-US").new_page()
    log_in(doctor_page, live_server, "dr-wang", TEST_PASSWORD)
    doctor_page.goto(f"{live_server.url}/visits/queue/")
    # The queue card warns of the allergy before the patient is called.
    expect(doctor_page.locator(".queue-next .badge-allergy")).to_contain_text("Penicillin")
    doctor_page.click("#call-next-button")
    expect(doctor_page.locator("h1")).to_contain_text("#1")
    # The allergies head the consultation; the hand starts at the chief complaint.
    expect(doctor_page.locator("#allergies")).to_contain_text("Penicillin")
    expect(doctor_page.locator("#id_chief_complaint")).to_be_focused()
    doctor_page.keyboard.type("Cough for 3 days")
    # Another allergy, added without losing what is typed in the record.
    doctor_page.click("#allergies summary")
    doctor_page.fill("#id_substance", "Sulfa drugs")
    doctor_page.select_option("#id_severity", "mild")
    doctor_page.click("#add-allergy-button")
    expect(doctor_page.locator("#allergies")).to_contain_text("Sulfa drugs")
    expect(doctor_page.locator("#id_chief_complaint")).to_have_value("Cough for 3 days")
    # No diagnosis: the patient is not sent to pay, and the field says why.
    doctor_page.click("button[name=finish]")
    expect(doctor_page.locator(".field-invalid")).to_contain_text("Write the diagnosis")
    expect(doctor_page.locator("#id_diagnosis")).to_be_focused()
    first.refresh_from_db()
    assert first.status == VisitStatus.IN_CONSULTATION
    # The code field suggests catalogue entries by the beginning of the code.
    doctor_page.fill("#id_diagnosis_code", "J2")
    expect(doctor_page.locator("#diagnosis-codes option[value='J20.9']")).to_have_count(1)
    doctor_page.fill("#id_diagnosis", "Acute bronchitis")
    doctor_page.fill("#id_diagnosis_code", "J20.9")
    doctor_page.fill("#id_plan", "Rest and fluids")
    doctor_page.click("button[name=save]")
    # Printable record and prescription, from the consultation.
    with doctor_page.expect_popup() as popup:
        doctor_page.click("#print-prescription")
    prescription = popup.value
    expect(prescription.locator(".print-plan")).to_contain_text("Rest and fluids")
    expect(prescription.locator(".print-foot")).to_contain_text(doctor.employee.name)
    prescription.close()
    doctor_page.click("button[name=finish]")
    first.refresh_from_db()
    assert first.status == VisitStatus.AWAITING_PAYMENT
    record = MedicalRecord.objects.get(visit=first)
    assert (record.chief_complaint, record.diagnosis, record.plan) == (
        "Cough for 3 days",
        "Acute bronchitis",
        "Rest and fluids",
    )
    assert record.diagnosis_code.code == "J20.9"
    assert set(active_allergies(first.patient).values_list("substance", flat=True)) == {
        "Penicillin",
        "Sulfa drugs",
    }

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
