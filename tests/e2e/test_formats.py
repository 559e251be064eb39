"""Formats and languages in a real browser (issue 19): the browser's date pickers hold their
dates in Chinese as in English, and the language picker names each language in its own name."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from clinic.tests.factories import TEST_PASSWORD, AdminUserFactory, ReceptionistFactory
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def switch_language(page, code: str) -> None:
    page.select_option("#language-select", code)
    page.click(".language-switcher button")
    page.wait_for_load_state()


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_date_pickers_keep_their_date_in_every_language(page, live_server, language):
    """Chromium drops a value that is not ISO: before, the desk's date filter came out blank
    in Chinese (2026/12/06)."""
    ReceptionistFactory(username="desk")
    AdminUserFactory(username="boss")
    today = timezone.localdate().isoformat()
    log_in(page, live_server, "desk", TEST_PASSWORD)
    switch_language(page, language)
    expect(page.locator("html")).to_have_attribute("lang", language)
    page.goto(f"{live_server.url}/appointments/desk/?date={today}")
    assert page.input_value("#id_date") == today
    page.goto(f"{live_server.url}/billing/reports/?start_date={today}&end_date={today}")
    assert page.input_value("#id_start_date") == today
    assert page.input_value("#id_end_date") == today

    page.context.clear_cookies()
    log_in(page, live_server, "boss", TEST_PASSWORD)
    page.goto(f"{live_server.url}/billing/statistics/")
    switch_language(page, language)
    assert page.input_value("#id_end_date") == today
    page.goto(f"{live_server.url}/scheduling/planner/")
    assert page.input_value("#id_week")


def test_the_language_picker_names_each_language_in_its_own_name(page, live_server):
    ReceptionistFactory(username="desk")
    log_in(page, live_server, "desk", TEST_PASSWORD)
    for language in ("zh-hans", "en"):
        switch_language(page, language)
        options = page.locator("#language-select option")
        expect(options).to_have_text(["简体中文", "English"])
