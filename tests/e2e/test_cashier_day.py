"""The cashier's day in a browser, by keyboard where the desk works by keyboard: open the
shift, two payments (cash with change, WeChat Pay), a partial refund, close the shift 0.50
short, print the close report; then the manager's day end. axe-core checks each page (no
serious or critical violation) at a phone's and a desk's width."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse
from playwright.sync_api import expect

from billing.models import CashierShift, Refund, Tender
from clinic.tests.factories import TEST_PASSWORD, AdminUserFactory, ReceptionistFactory
from tests.e2e.conftest import log_in
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

AXE = Axe()
OPTIONS = {
    "resultTypes": ["violations"],
    "rules": {
        rule: {"enabled": True} for rule in ("target-size", "duplicate-id", "duplicate-id-active")
    },
}
SERIOUS = {"serious", "critical"}


def axe_problems(page, where: str) -> list[str]:
    found = AXE.run(page, options=OPTIONS).response["violations"]
    return [
        f"{where}: {v['id']} ({v['impact']}) {[n['target'] for n in v['nodes']][:3]}"
        for v in found
        if v["impact"] in SERIOUS
    ]


@pytest.mark.parametrize("width", [375, 1280])
def test_a_cashiers_day_from_the_float_to_the_printed_report(
    page, live_server, clinic_open_all_day, results_dir, width
):
    page.set_viewport_size({"width": width, "height": 900})
    page.add_init_script("window.print = () => { window.__printed = true; };")
    ReceptionistFactory(username="desk", shift=False)
    AdminUserFactory(username="manager")
    first, second = (VisitFactory(status=VisitStatus.AWAITING_PAYMENT) for _ in range(2))
    problems: list[str] = []
    log_in(page, live_server, "desk", TEST_PASSWORD)

    # No shift: the payment page says so and opens one, then comes back.
    page.goto(f"{live_server.url}{reverse('billing:pay', args=[first.pk])}")
    problems += axe_problems(page, "pay, no shift")
    page.fill("#id_opening_float", "100")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{live_server.url}{reverse('billing:pay', args=[first.pk])}")

    # Cash with change: typed total and insurance, 50 handed over, the change shown live.
    expect(page.locator("#id_total_amount")).to_be_focused()
    page.keyboard.type("86.50")
    page.keyboard.press("Tab")
    page.keyboard.type("50")
    page.fill("#id_handed_over", "50")
    expect(page.locator("#change")).to_have_text("¥13.50")
    problems += axe_problems(page, "pay")
    page.focus("#id_handed_over")
    page.keyboard.press("Enter")
    expect(page.locator(".receipt")).to_contain_text("¥13.50")
    problems += axe_problems(page, "receipt")

    # WeChat Pay: the method chosen, its reference scanned; it takes the whole self-pay.
    page.goto(f"{live_server.url}{reverse('billing:pay', args=[second.pk])}")
    page.fill("#id_total_amount", "60")
    page.fill("#id_insurance_amount", "0")
    page.locator(".other-methods summary").click()
    page.select_option("#id_method_1", "wechat")
    page.fill("#id_reference_1", "WX20261206001")
    expect(page.locator("#cash-due")).to_have_text("¥0.00")
    page.keyboard.press("Enter")
    expect(page.locator(".receipt")).to_contain_text("WX20261206001")
    assert Tender.objects.filter(method__code="wechat", amount=60).exists()

    # A partial refund of the first bill, in cash.
    page.goto(f"{live_server.url}{reverse('billing:receipt', args=[first.bill.pk])}")
    page.get_by_role("link", name="Refund").click()
    problems += axe_problems(page, "refund")
    page.fill("input[name^=quantity_]", "1")
    page.fill("#id_reason", "Charged twice")
    page.keyboard.press("Enter")
    expect(page.locator(".refund-receipt")).to_contain_text("Charged twice")
    problems += axe_problems(page, "refund receipt")
    assert Refund.objects.get().self_pay_amount == 36.5

    # Close: float 100 + 36.50 − 36.50 = 100.00 expected; 99.50 counted, a note given.
    page.goto(f"{live_server.url}{reverse('billing:shift')}")
    problems += axe_problems(page, "shift")
    page.fill("#id_counted_cash", "99.50")
    expect(page.locator("#drawer-difference")).to_contain_text("-¥0.50")
    page.fill("#id_note", "A coin short")
    page.focus("#id_counted_cash")
    page.keyboard.press("Enter")
    expect(page.locator("h1")).to_have_text("Shift close report")
    expect(page.locator("#report-bills")).to_have_text("2")
    expect(page.locator("#report-refunds")).to_have_text("1")
    problems += axe_problems(page, "close report")
    expect(page.locator("[data-print]")).to_be_focused()
    page.keyboard.press("Enter")
    assert page.evaluate("window.__printed === true")
    page.emulate_media(media="print")
    page.screenshot(path=str(results_dir / f"shift-report-print-{width}.png"), full_page=True)
    page.emulate_media(media="screen")
    shift = CashierShift.objects.get()
    assert shift.cash_difference == -0.5 and not shift.is_open

    # The manager's day end: the shift, its drawer, a reopen form.
    page.context.clear_cookies()
    log_in(page, live_server, "manager", TEST_PASSWORD)
    page.goto(f"{live_server.url}{reverse('billing:day-end')}")
    expect(page.locator("#day-difference")).to_have_text("-¥0.50")
    page.locator(f"#reopen-{shift.pk} summary").click()
    problems += axe_problems(page, "day end")
    page.screenshot(path=str(results_dir / f"day-end-{width}.png"), full_page=True)
    sideways = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert sideways <= 0, f"the day end scrolls sideways by {sideways} px"
    assert not problems, "\n".join(problems)
