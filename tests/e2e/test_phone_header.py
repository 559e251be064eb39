"""The header on a phone (375 px): one line in Chinese and in English (the brand and a menu
button), the menu opens and its links work; without JavaScript the links are all there."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from clinic.tests.factories import TEST_PASSWORD, PatientUserFactory, ReceptionistFactory
from tests.e2e.conftest import log_in

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 375, "height": 740}


def header_is_one_line(page) -> None:
    """The header is no taller than its tallest item plus its padding: nothing wrapped."""
    box = page.locator(".site-header").bounding_box()
    brand = page.locator(".site-header .brand").bounding_box()
    button = page.locator(".menu-button").bounding_box()
    padding = page.eval_on_selector(
        ".site-header",
        "el => parseFloat(getComputedStyle(el).paddingTop)"
        " + parseFloat(getComputedStyle(el).paddingBottom)",
    )
    assert box["height"] <= max(brand["height"], button["height"]) + padding + 1, box
    # Side by side, inside the screen.
    assert (
        brand["y"] < button["y"] + button["height"] and button["y"] < brand["y"] + brand["height"]
    )
    assert button["x"] + button["width"] <= PHONE["width"]
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"]


@pytest.mark.parametrize(("locale", "link"), [("zh-CN", "患者"), ("en-US", "Patients")])
def test_the_header_is_one_line_on_a_phone_and_the_menu_opens(
    browser, live_server, results_dir, locale, link
):
    ReceptionistFactory(username="desk")
    context = browser.new_context(locale=locale, viewport=PHONE)
    page = context.new_page()
    log_in(page, live_server, "desk", TEST_PASSWORD)
    page.goto(f"{live_server.url}/visits/board/")
    header_is_one_line(page)
    menu = page.locator("#site-menu")
    button = page.locator(".menu-button")
    expect(menu).to_be_hidden()
    expect(button).to_have_attribute("aria-expanded", "false")
    expect(button).to_have_attribute("aria-controls", "site-menu")
    page.screenshot(path=results_dir / f"phone-header-{locale}.png")

    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    expect(menu).to_be_visible()
    expect(menu.locator("#language-select")).to_be_visible()
    page.screenshot(path=results_dir / f"phone-menu-{locale}.png", full_page=True)
    menu.get_by_role("link", name=link, exact=True).click()
    page.wait_for_url("**/visits/patients/")
    header_is_one_line(page)

    # Escape closes it again and leaves the focus on the button.
    button.click()
    expect(menu).to_be_visible()
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(button).to_be_focused()
    context.close()


def test_a_patient_and_a_visitor_get_one_line_too(browser, live_server):
    PatientUserFactory(username="zhang")
    context = browser.new_context(locale="zh-CN", viewport=PHONE)
    page = context.new_page()
    page.goto(f"{live_server.url}/accounts/login/")
    header_is_one_line(page)
    log_in(page, live_server, "zhang", TEST_PASSWORD)
    page.goto(f"{live_server.url}/appointments/mine/")
    header_is_one_line(page)
    context.close()


def test_without_javascript_every_link_is_reachable(browser, live_server):
    ReceptionistFactory(username="desk")
    context = browser.new_context(locale="en-US", viewport=PHONE, java_script_enabled=False)
    page = context.new_page()
    log_in(page, live_server, "desk", TEST_PASSWORD)
    page.goto(f"{live_server.url}/visits/board/")
    expect(page.locator(".menu-button")).to_be_hidden()
    expect(page.locator("#site-menu")).to_be_visible()
    page.locator("#site-menu").get_by_role("link", name="Patients", exact=True).click()
    page.wait_for_url("**/visits/patients/")
    context.close()


def test_a_laptop_shows_the_whole_header_without_a_menu_button(browser, live_server):
    ReceptionistFactory(username="desk")
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 800})
    page = context.new_page()
    log_in(page, live_server, "desk", TEST_PASSWORD)
    expect(page.locator(".menu-button")).to_be_hidden()
    expect(page.locator("#site-menu .main-nav")).to_be_visible()
    expect(page.locator("#language-select")).to_be_visible()
    context.close()
