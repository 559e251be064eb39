"""`make screenshots`: a picture of every main page per role into docs/screenshots/."""

from __future__ import annotations

import datetime as dt
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from tests.e2e.conftest import log_in
from tests.e2e.demo_orders import finish_the_demo_consultation, order_in_the_demo_consultation

pytestmark = [pytest.mark.screenshots, pytest.mark.django_db(transaction=True)]

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

PATIENT = ("patient", "Patient-demo-2026")
DESK = ("reception", "Desk-demo-2026")
DOCTOR = ("doctor", "Doctor-demo-2026")
ADMIN = ("admin", "Admin-demo-2026")
PAGES = [
    # account, path, file, viewport width
    (PATIENT, "/appointments/book/?department=1", "patient-book", 375),
    (PATIENT, "/appointments/mine/", "patient-appointments", 375),
    (PATIENT, "/visits/mine/", "patient-visits", 375),
    (DESK, "/appointments/desk/", "desk-appointments", 1280),
    (DESK, "/visits/board/", "desk-board", 1280),
    (DESK, "/visits/walk-in/", "desk-walk-in", 1280),
    (DESK, "/billing/reports/", "desk-takings", 1280),
    (DESK, "/billing/shift/", "desk-shift", 1280),
    (DESK, "/notifications/", "desk-messages", 1280),
    (DOCTOR, "/visits/queue/", "doctor-queue", 1280),
    (ADMIN, "/billing/statistics/", "admin-statistics", 1280),
    (ADMIN, "/admin/", "admin-index", 1280),
    (ADMIN, "/billing/day-end/", "admin-day-end", 1280),
]


def pages_of_the_demo_day() -> list[tuple[tuple[str, str], str, str, int]]:
    """Pages that need the demo data: the outpatient record (the demo doctor's consultation
    in progress, allergies on top, and a printed record of the day, A5), and the week
    planner on tomorrow's week, whose schedules it shows as a grid beside the pattern."""
    from django.utils import timezone

    from billing.models import CashierShift
    from visits.models import MedicalRecord, Visit, VisitStatus

    mine = {"schedule__doctor__emp_id": "D001", "visit_date": timezone.localdate()}
    # The demo schedules run from today for a week: tomorrow's week has most of them.
    tomorrow = timezone.localdate() + dt.timedelta(days=1)
    visit = Visit.objects.get(status=VisitStatus.IN_CONSULTATION, **mine)
    record = MedicalRecord.objects.filter(**{f"visit__{k}": v for k, v in mine.items()}).first()
    shift = CashierShift.objects.get(cashier__username=DESK[0], status="open")
    return [
        (DESK, f"/billing/shifts/{shift.pk}/report/", "desk-shift-report", 1000),
        (DOCTOR, f"/visits/{visit.pk}/consultation/", "doctor-consultation", 1280),
        (DOCTOR, f"/visits/records/{record.pk}/print/", "doctor-record-print", 800),
        (ADMIN, f"/scheduling/planner/?week={tomorrow}", "admin-planner", 1440),
    ]


def cashier_and_receipt(browser, live_server, visit) -> None:
    """The consultation (with orders) finished: the desk's itemised payment page, then the
    receipt with the lines after Enter settles it."""
    finish_the_demo_consultation(visit)
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.add_init_script("window.print = () => {};")
    log_in(page, live_server, *DESK)
    page.goto(f"{live_server.url}/billing/pay/{visit.pk}/")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / "desk-pay-lines.png"), full_page=True)
    page.keyboard.press("Enter")  # the settle button has the focus
    page.wait_for_selector(".receipt")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(OUT / "desk-receipt-lines.png"), full_page=True)
    context.close()


def test_screenshots_of_every_main_page(browser, live_server):
    call_command("seed_demo", stdout=StringIO())
    OUT.mkdir(parents=True, exist_ok=True)
    ordered = order_in_the_demo_consultation()
    for (username, password), path, name, width in [*PAGES, *pages_of_the_demo_day()]:
        context = browser.new_context(locale="zh-CN", viewport={"width": width, "height": 900})
        page = context.new_page()
        log_in(page, live_server, username, password)
        page.goto(f"{live_server.url}{path}")
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(OUT / f"{name}.png"), full_page=width < 600)
        context.close()
    # The orders panel of the consultation, whole.
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    log_in(page, live_server, *DOCTOR)
    page.goto(f"{live_server.url}/visits/{ordered.pk}/consultation/")
    page.wait_for_load_state("networkidle")
    page.locator("#orders").screenshot(path=str(OUT / "doctor-consultation-orders.png"))
    context.close()
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(f"{live_server.url}/display/IM/?key=demo-IM")
    page.screenshot(path=str(OUT / "display.png"))
    context.close()
    # Last: it settles the demo consultation (the display above shows it in progress).
    cashier_and_receipt(browser, live_server, ordered)
