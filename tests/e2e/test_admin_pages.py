"""The administrator's own pages in a real browser: statistics at a laptop's width, the week
planner's grid and its rooms narrowed to the doctor's department."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from billing.views import total_label
from clinic.tests.factories import TEST_PASSWORD, AdminUserFactory, ReceptionistFactory
from tests.e2e.conftest import log_in
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LAPTOP = {"width": 1366, "height": 768}


def _overflow(page, selector: str) -> dict:
    return page.eval_on_selector(
        selector,
        "el => ({scroll: el.scrollWidth, client: el.clientWidth,"
        " overflowX: getComputedStyle(el).overflowX})",
    )


@pytest.mark.parametrize("locale", ["en-US", "zh-CN"])
def test_statistics_tables_fit_a_laptop_and_scroll_inside_their_card(
    browser, live_server, clinic_open_all_day, results_dir, locale
):
    from billing.services import settle_visit

    AdminUserFactory(username="boss")
    desk = ReceptionistFactory()
    visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
    settle_visit(visit=visit, total_amount="1234.50", insurance_amount="20.00", by=desk)
    context = browser.new_context(locale=locale, viewport=LAPTOP)
    page = context.new_page()
    log_in(page, live_server, "boss", TEST_PASSWORD)
    page.goto(f"{live_server.url}/billing/statistics/?group_by=day")
    expect(page.locator("#stats-visits-table")).to_be_visible()
    page.screenshot(path=results_dir / f"statistics-1366-{locale}.png", full_page=True)

    # The document never scrolls sideways: each table scrolls inside its own wrapper.
    document = page.evaluate(
        "({scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )
    assert document["scroll"] <= document["client"], document
    for name in ("income", "visits"):
        wrapper = _overflow(page, f"#stats-{name}-wrap")
        assert wrapper["overflowX"] == "auto"
        # The wrapper stays inside its card.
        card = page.eval_on_selector(
            f"#stats-{name}-wrap", "el => el.closest('.card').getBoundingClientRect().right"
        )
        right = page.eval_on_selector(
            f"#stats-{name}-wrap", "el => el.getBoundingClientRect().right"
        )
        assert right <= card + 0.5
        # The first column stays put while the rest scrolls.
        first = page.locator(f"#stats-{name}-table tbody tr:first-child th")
        assert first.evaluate("el => getComputedStyle(el).position") == "sticky"

    # At 1366 px both tables show every column without scrolling.
    for name in ("income", "visits"):
        wrapper = _overflow(page, f"#stats-{name}-wrap")
        assert wrapper["scroll"] <= wrapper["client"], (name, wrapper)

    # Narrower (a tablet on its side), the visits table scrolls inside its card, its label
    # column fixed, and its last column is reachable.
    page.set_viewport_size({"width": 1024, "height": 768})
    visits = _overflow(page, "#stats-visits-wrap")
    assert visits["scroll"] > visits["client"], "seven status columns do not fit beside a chart"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1024
    before = page.locator("#stats-visits-table tfoot th").bounding_box()
    page.eval_on_selector("#stats-visits-wrap", "el => { el.scrollLeft = el.scrollWidth; }")
    after = page.locator("#stats-visits-table tfoot th").bounding_box()
    assert after["x"] == pytest.approx(before["x"], abs=1), "the label column is sticky"
    last = page.locator("#stats-visits-table thead th").last.bounding_box()
    wrap = page.locator("#stats-visits-wrap").bounding_box()
    assert last["x"] + last["width"] <= wrap["x"] + wrap["width"] + 1
    page.screenshot(path=results_dir / f"statistics-1024-{locale}.png", full_page=True)

    # One label for both rows of sums, translated on its own (合计, not the bills' 总费用).
    with translation.override("en" if locale == "en-US" else "zh-hans"):
        label = total_label()
    assert label != "总费用"
    for name in ("income", "visits"):
        expect(page.locator(f"#stats-{name}-table tfoot th")).to_have_text(label)
    context.close()


def test_planner_shows_the_week_proposes_a_free_one_and_narrows_rooms(
    browser, live_server, results_dir
):
    from clinic.tests.factories import DepartmentFactory, DoctorFactory, RoomFactory
    from scheduling.models import Schedule, monday_of
    from scheduling.tests.factories import ScheduleFactory

    AdminUserFactory(username="boss")
    medicine = DepartmentFactory(name="Medicine")
    surgery = DepartmentFactory(name="Surgery")
    wang = DoctorFactory(department=medicine, name="Wang", emp_id="D001")
    DoctorFactory(department=surgery, name="Li", emp_id="D002")
    room_101 = RoomFactory(department=medicine, room_number="101")
    RoomFactory(department=medicine, room_number="102")
    RoomFactory(department=surgery, room_number="205")
    this_monday = monday_of(timezone.localdate())
    ScheduleFactory(
        doctor=wang, room=room_101, work_date=this_monday, max_patients=20, current_patients=0
    )
    proposal = this_monday + dt.timedelta(weeks=1)

    context = browser.new_context(locale="en-US", viewport=LAPTOP)
    page = context.new_page()
    log_in(page, live_server, "boss", TEST_PASSWORD)
    page.goto(f"{live_server.url}/scheduling/planner/")
    # The week proposed is the first without schedules: next week, empty.
    expect(page.locator("#id_week")).to_have_value(proposal.isoformat())
    expect(page.locator("#week-grid-empty")).to_be_visible()

    # Choosing this week shows its schedule in the grid (HTMX, no reload).
    page.fill("#id_week", this_monday.isoformat())
    page.dispatch_event("#id_week", "change")
    expect(page.locator("#week-grid-table")).to_contain_text("Wang (D001)")
    expect(page.locator("#week-grid-table")).to_contain_text("08:00–12:00 · room 101 · 0/20")

    # Back to the proposed week; choosing Wang leaves only Medicine's rooms.
    page.fill("#id_week", proposal.isoformat())
    page.dispatch_event("#id_week", "change")
    expect(page.locator("#week-grid-empty")).to_be_visible()
    room_select = page.locator("#id_pattern-0-room")
    expect(room_select.locator("option")).to_have_count(4)  # blank + 101, 102, 205
    page.select_option("#id_pattern-0-doctor", str(wang.pk))
    expect(room_select.locator("option")).to_have_count(3)  # blank + 101, 102
    expect(room_select).not_to_contain_text("205")
    page.select_option("#id_pattern-0-room", label="102 · Medicine")
    page.click("button[value=create]")
    page.wait_for_load_state()
    assert Schedule.objects.filter(work_date__gte=proposal, room__room_number="102").count() == 5
    expect(page.locator("#week-grid-table")).to_contain_text("08:00–12:00 · room 102 · 0/20")
    page.screenshot(path=results_dir / "planner-1366.png", full_page=True)
    context.close()
