"""Issue 20 in a real browser: the desk checks a patient in (registration fee by the doctor's
rank), the doctor orders two drugs and a blood test from the catalogue, the desk settles the
itemised bill with Enter and the receipt lists the lines with their insured and self-pay parts.

The expected figures are computed here from the demo catalogue's prices, the drugs' doses per
unit and the plan's coverage, not copied from the pages."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment
from billing.models import Bill
from clinic.models import DoctorRank, FeeItem, InsurancePlan, Patient, RegistrationFee
from clinic.templatetags.clinic_format import format_money
from clinic.tests.factories import TEST_PASSWORD, DoctorUserFactory, ReceptionistFactory
from demo.catalogue import seed_catalogue
from scheduling.tests.factories import ScheduleFactory
from tests.e2e.conftest import log_in, wait_for_settled
from visits.models import Visit, VisitStatus

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CENT = Decimal("0.01")
DOSES_A_DAY = {"qd": 1, "bid": 2, "tid": 3, "qid": 4}
# What the doctor prescribes: code, dose, frequency, days.
DRUGS = [("YP001", "2", "tid", "7"), ("YP009", "1", "qd", "7")]
BLOOD_TEST = "JY001"  # 血常规, laboratory


def _expected_line(item: FeeItem, quantity: int, plan: InsurancePlan) -> dict:
    amount = (item.unit_price * quantity).quantize(CENT, rounding=ROUND_HALF_UP)
    insured = (amount * plan.coverage(item.insurance_class) / 100).quantize(
        CENT, rounding=ROUND_HALF_UP
    )
    return {
        "code": item.code,
        "name": item.name,
        "category": item.category,
        "quantity": quantity,
        "amount": amount,
        "insured": insured,
        "self_pay": amount - insured,
    }


def test_orders_of_the_doctor_become_the_lines_of_the_bill_and_the_receipt(
    browser, live_server, clinic_open_all_day
):
    seed_catalogue()
    plan = InsurancePlan.objects.get(name="城镇职工")
    doctor = DoctorUserFactory(username="dr-li", employee__rank=DoctorRank.ATTENDING)
    registration = RegistrationFee.objects.get(rank=DoctorRank.ATTENDING).fee_item
    assert registration.unit_price > 0
    ReceptionistFactory(username="desk")
    schedule = ScheduleFactory(
        doctor=doctor.employee,
        department=doctor.employee.department,
        work_date=timezone.localdate(),
        time_slot="full_day",
        max_patients=5,
        current_patients=1,
    )
    patient = Patient.objects.create(
        name="赵六", phone="13811112222", gender="male", insurance_plan=plan
    )
    appointment = Appointment.objects.create(
        patient=patient,
        patient_name=patient.name,
        phone=patient.phone,
        department=schedule.department,
        schedule=schedule,
        expected_time=timezone.now(),
    )

    # --- The desk checks the patient in: the registration fee of the doctor's rank. -------
    desk = browser.new_context(locale="en-US").new_page()
    desk.add_init_script("window.print = () => { window.__printed = true; };")
    log_in(desk, live_server, "desk", TEST_PASSWORD)
    desk.goto(f"{live_server.url}/appointments/desk/")
    desk.keyboard.press("/")
    desk.keyboard.type(patient.phone)
    desk.keyboard.press("Enter")
    expect(desk.locator("h1")).to_have_text("Check in")
    desk.click("#main form[method=post] button[type=submit]")
    expect(desk.locator(".slip-number")).to_have_text("1")
    visit = Visit.objects.get(appointment=appointment)
    assert list(visit.charges.values_list("code", flat=True)) == [registration.code]

    # --- The doctor calls, writes, orders two drugs and a blood test, finishes. ------------
    doc = browser.new_context(locale="en-US").new_page()
    log_in(doc, live_server, "dr-li", TEST_PASSWORD)
    doc.goto(f"{live_server.url}/visits/queue/")
    doc.click("#call-next-button")
    expect(doc.locator("h1")).to_contain_text("#1")
    expect(doc.locator("#id_chief_complaint")).to_be_focused()
    doc.keyboard.type("Fever and sore throat for 2 days")
    doc.fill("#id_diagnosis", "Acute tonsillitis")
    orders = doc.locator("#orders")
    # The registration charge is already on the visit.
    expect(orders.locator(".charge-registration")).to_contain_text(registration.name)

    quantities: dict[str, int] = {}
    for code, dose, frequency, days in DRUGS:
        item = FeeItem.objects.get(code=code)
        # The panel swapped in after the last order is wired by htmx before typing (keys typed
        # into the new box before it settles would never ask for suggestions).
        wait_for_settled(doc, "#orders")
        search = doc.locator("#order-search")
        search.focus()
        search.fill("")
        search.press_sequentially(code)
        # The catalogue suggests the item as it is typed (slowly on a busy machine).
        expect(doc.locator(f"#fee-item-options option[value='{code}']")).to_have_count(
            1, timeout=15_000
        )
        doc.keyboard.press("Enter")  # the whole code: straight to the item's form
        form = doc.locator("#order-form")
        expect(form).to_contain_text(item.name)
        expect(doc.locator("#order_dose")).to_be_focused()
        doc.keyboard.type(dose)
        doc.select_option("#order_frequency", frequency)
        doc.fill("#order_days", days)
        doc.locator("#order_days").focus()
        expected_quantity = math.ceil(
            Decimal(dose) * DOSES_A_DAY[frequency] * int(days) / item.doses_per_unit
        )
        quantities[code] = expected_quantity
        # The quantity is computed as the dose, frequency and days are typed.
        expect(doc.locator("#order-quantity-hint")).to_contain_text(
            f"{expected_quantity} {item.unit}"
        )
        doc.keyboard.press("Enter")  # adds the order (quantity left empty: computed)
        expect(form).to_have_count(0)
        expect(orders.locator(".charge-order", has_text=item.name)).to_have_count(1)

    blood = FeeItem.objects.get(code=BLOOD_TEST)
    wait_for_settled(doc, "#orders")
    doc.locator("#order-search").focus()
    doc.locator("#order-search").fill("")
    doc.keyboard.type(blood.name)
    doc.keyboard.press("Enter")  # a name: the search results
    pick = doc.locator(f"#pick-item-{blood.pk}")
    expect(pick).to_be_visible()
    # The results came with the cursor kept in the search box (its autofocus, applied as
    # htmx settles the panel): only then does the hand move to the result.
    expect(doc.locator("#order-search")).to_be_focused()
    wait_for_settled(doc, "#orders")
    pick.focus()
    doc.keyboard.press("Enter")
    expect(doc.locator("#order-form")).to_contain_text(blood.name)
    expect(doc.locator("#order_quantity")).to_be_focused()
    doc.keyboard.type("1")
    doc.keyboard.press("Enter")
    expect(orders.locator(".charge-order")).to_have_count(3)
    # What the doctor typed in the record is still there after the orders.
    expect(doc.locator("#id_chief_complaint")).to_have_value("Fever and sore throat for 2 days")

    expected = [
        _expected_line(registration, 1, plan),
        *(_expected_line(FeeItem.objects.get(code=c), quantities[c], plan) for c, *_ in DRUGS),
        _expected_line(blood, 1, plan),
    ]
    total = sum((line["amount"] for line in expected), Decimal(0))
    insured = sum((line["insured"] for line in expected), Decimal(0))
    self_pay = total - insured
    expect(doc.locator("#orders-total")).to_have_text(format_money(total))

    doc.click("button[name=finish]")
    visit.refresh_from_db()
    assert visit.status == VisitStatus.AWAITING_PAYMENT
    # Finished: the orders are frozen.
    doc.goto(f"{live_server.url}/visits/{visit.pk}/consultation/")
    expect(doc.locator("#orders-closed")).to_be_visible()

    # --- The desk opens the payment: lines by category, the plan's shares. ----------------
    desk.goto(f"{live_server.url}/visits/board/")
    desk.click(f"#pay-{visit.pk}")
    expect(desk.locator("h1")).to_have_text("Payment")
    expect(desk.locator("#pay-plan")).to_contain_text(plan.name_en)  # en-US
    table = desk.locator("#bill-lines")
    categories = table.locator("tbody.bill-category")
    shown = categories.evaluate_all("els => els.map(e => e.dataset.category)")
    assert sorted(shown) == sorted({line["category"] for line in expected})
    for line in expected:
        group = table.locator(f"tbody[data-category='{line['category']}']")
        row = group.locator("tr", has_text=line["name"])
        expect(row).to_have_count(1)
        cells = row.locator("td")
        expect(cells.nth(0)).to_contain_text(str(line["quantity"]))
        expect(cells.nth(2)).to_have_text(format_money(line["amount"]))
        expect(cells.nth(4)).to_have_text(format_money(line["insured"]))
        expect(cells.nth(5)).to_have_text(format_money(line["self_pay"]))
    expect(desk.locator("#bill-total")).to_have_text(format_money(total))
    expect(desk.locator("#bill-insured")).to_have_text(format_money(insured))
    expect(desk.locator("#bill-self-pay")).to_have_text(format_money(self_pay))
    expect(desk.locator("#self-pay")).to_contain_text(format_money(self_pay))

    # Cash first: "handed over" has the focus; left empty, Enter settles the exact amount.
    expect(desk.locator("#id_handed_over")).to_be_focused()
    desk.keyboard.press("Enter")
    receipt = desk.locator(".receipt")
    expect(receipt).to_be_visible()
    bill = Bill.objects.get(visit=visit)
    expect(receipt).to_contain_text(bill.number)

    # --- The receipt lists the lines with their amounts. -----------------------------------
    rows = desk.locator("#receipt-lines tbody tr:not(.slip-category):not(.slip-subtotal)")
    expect(rows).to_have_count(len(expected))
    for line in expected:
        row = desk.locator("#receipt-lines tbody tr", has_text=line["name"])
        expect(row).to_have_count(1)
        cells = row.locator("td")
        expect(cells.nth(1)).to_have_text(str(line["quantity"]))
        expect(cells.nth(2)).to_have_text(format_money(line["amount"]))
        expect(cells.nth(3)).to_have_text(format_money(line["self_pay"]))
    expect(receipt).to_contain_text(format_money(total))
    expect(receipt.locator("strong", has_text=format_money(self_pay))).to_be_visible()

    bill_lines = {line.code: line for line in bill.lines.all()}
    assert set(bill_lines) == {line["code"] for line in expected}
    for line in expected:
        saved = bill_lines[line["code"]]
        assert (saved.quantity, saved.amount, saved.insured_amount, saved.self_pay_amount) == (
            line["quantity"],
            line["amount"],
            line["insured"],
            line["self_pay"],
        )
    assert (bill.total_amount, bill.insurance_amount, bill.self_pay_amount) == (
        total,
        insured,
        self_pay,
    )
    visit.refresh_from_db()
    assert visit.status == VisitStatus.LEFT
