"""The administrator's own pages in a real browser: statistics at a laptop's width, the week
planner's grid and its rooms narrowed to the doctor's department."""

from __future__ import annotations

import pytest
from django.utils import translation
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

    visits = _overflow(page, "#stats-visits-wrap")
    assert visits["scroll"] > visits["client"], "seven status columns do not fit beside a chart"
    before = page.locator("#stats-visits-table tfoot th").bounding_box()
    page.eval_on_selector("#stats-visits-wrap", "el => { el.scrollLeft = el.scrollWidth; }")
    after = page.locator("#stats-visits-table tfoot th").bounding_box()
    assert after["x"] == pytest.approx(before["x"], abs=1), "the label column is sticky"
    # The last column is reachable, not cut off.
    last = page.locator("#stats-visits-table thead th").last.bounding_box()
    wrap = page.locator("#stats-visits-wrap").bounding_box()
    assert last["x"] + last["width"] <= wrap["x"] + wrap["width"] + 1

    # One label for both rows of sums, translated on its own (合计, not the bills' 总费用).
    with translation.override("en" if locale == "en-US" else "zh-hans"):
        label = total_label()
    assert label != "总费用"
    for name in ("income", "visits"):
        expect(page.locator(f"#stats-{name}-table tfoot th")).to_have_text(label)
    context.close()
