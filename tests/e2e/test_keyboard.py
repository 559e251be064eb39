"""The patient site without a mouse (issue 22): create an account, book, view and cancel an
appointment, switch the language, log out and in again, with Tab, Shift+Tab, Enter, Space and
the arrow keys only, on a phone (the menu behind its button) and on a desk screen; every element
the focus lands on shows where it is."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from appointments.models import Appointment, AppointmentStatus
from clinic.models import User
from clinic.tests.factories import TEST_PASSWORD
from scheduling.tests.factories import ScheduleFactory

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

MAX_TABS = 80

# What the focused element is, and whether its focus is drawn: an outline or a box shadow.
FOCUSED = """() => {
  const element = document.activeElement;
  if (!element || element === document.body) return null;
  const style = getComputedStyle(element);
  const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0;
  return {
    html: element.outerHTML.slice(0, 120),
    visible: outline || style.boxShadow !== "none",
  };
}"""


class Keyboard:
    """Moves the focus with Tab until it reaches an element, checking each stop's focus ring."""

    def __init__(self, page) -> None:
        self.page = page
        self.stops = 0

    def focus_ring(self) -> bool:
        """Whether the focus is on the page (past its last element it goes to the browser's
        own controls, then comes back to the first); if so, it must be drawn."""
        focused = self.page.evaluate(FOCUSED)
        if focused is not None:
            assert focused["visible"], f"no visible focus on {focused['html']} at {self.page.url}"
        return focused is not None

    def on(self, selector: str) -> bool:
        return self.page.evaluate("s => document.activeElement.matches(s)", selector)

    def tab_to(self, selector: str, *, backwards: bool = False) -> None:
        if self.on(selector):  # a page's autofocus may already be there
            self.focus_ring()
            return
        key = "Shift+Tab" if backwards else "Tab"
        for _ in range(MAX_TABS):
            self.page.keyboard.press(key)
            if self.focus_ring():
                self.stops += 1
            if self.on(selector):
                return
        raise AssertionError(f"{MAX_TABS} × {key} never reached {selector} on {self.page.url}")

    def follow(self, key: str) -> None:
        """Press a key that leaves the page (a link, a form's button) and wait for the next."""
        with self.page.expect_navigation():
            self.page.keyboard.press(key)


def open_menu_if_folded(keys: Keyboard) -> bool:
    """On a phone the header's links are behind the menu button: Space opens it."""
    if not keys.page.locator(".menu-button").is_visible():
        return False
    keys.tab_to(".menu-button")
    keys.page.keyboard.press("Space")
    expect(keys.page.locator(".menu-button")).to_have_attribute("aria-expanded", "true")
    return True


@pytest.mark.parametrize("width", [375, 1280])
def test_a_patient_does_everything_with_the_keyboard_alone(
    browser, live_server, clinic_open_all_day, width
):
    """Create an account, book, view, cancel, switch the language, log out and in again."""
    schedule = ScheduleFactory(work_date=timezone.localdate(), time_slot="full_day")
    context = browser.new_context(locale="en-US", viewport={"width": width, "height": 900})
    page = context.new_page()
    keys = Keyboard(page)

    # Create an account: the header's link, the fields in order, a radio button by Space.
    page.goto(f"{live_server.url}/accounts/login/")
    assert open_menu_if_folded(keys) == (width < 600)
    keys.tab_to("a[href='/accounts/register/']")
    keys.follow("Enter")
    for field, text in (
        ("#id_username", "keyboard"),
        ("#id_name", "键盘"),
        ("#id_phone", "13900001111"),
    ):
        keys.tab_to(field)
        page.keyboard.type(text)
    keys.tab_to("input[name=gender]")
    page.keyboard.press("Space")
    assert page.evaluate("() => document.activeElement.checked")
    for field in ("#id_password1", "#id_password2"):
        keys.tab_to(field)
        page.keyboard.type(TEST_PASSWORD)
    keys.tab_to("#main form button[type=submit]")
    keys.follow("Enter")
    expect(page.locator(".user-name")).to_contain_text("键盘")
    user = User.objects.get(username="keyboard")

    # Book: the menu's link, the department by arrow keys, a free time by arrow keys.
    open_menu_if_folded(keys)
    keys.tab_to("a[href='/appointments/book/']")
    keys.follow("Enter")
    expect(page.locator("h1")).to_have_text("Book an appointment")
    keys.tab_to("#id_department")
    department = str(schedule.department.pk)
    for _ in range(20):
        if page.input_value("#id_department") == department:
            break
        page.keyboard.press("ArrowDown")
    assert page.input_value("#id_department") == department
    # The free places arrive by htmx; the focus stays on the select meanwhile.
    expect(page.locator("#availability input[name=window]").first).to_be_attached()
    keys.focus_ring()
    keys.tab_to("#availability input[name=window]:not(:disabled)")
    if not page.evaluate("() => document.activeElement.checked"):
        page.keyboard.press("Space")
    slot = page.evaluate("() => document.activeElement.value")
    keys.tab_to("#availability input[name=doctor]")
    page.keyboard.press("ArrowDown")  # the schedule's doctor rather than "any doctor"
    assert page.evaluate("() => document.activeElement.checked")
    keys.tab_to("#availability button[type=submit]")
    keys.follow("Enter")
    expect(page.locator(".reference")).to_be_visible()
    appointment = Appointment.objects.get(patient__user=user)
    assert appointment.schedule == schedule and appointment.status in (
        AppointmentStatus.PENDING,
        AppointmentStatus.CONFIRMED,
    )
    assert page.locator(".reference").inner_text() == appointment.reference
    window = appointment.window
    assert slot == f"{window.start_time:%H:%M}-{window.end_time:%H:%M}"

    # View it from the list of my appointments.
    open_menu_if_folded(keys)
    keys.tab_to("a[href='/appointments/mine/']")
    keys.follow("Enter")
    keys.tab_to(f"#main a[href='/appointments/{appointment.pk}/']")
    keys.follow("Enter")
    expect(page.locator(".reference")).to_have_text(appointment.reference)

    # Cancel it: the detail page's button, a reason, then back to check the answer is kept
    # by Shift+Tab, and the confirmation by Space.
    keys.tab_to(f"a[href='/appointments/{appointment.pk}/cancel/']")
    keys.follow("Enter")
    keys.tab_to("#id_reason")
    page.keyboard.type("Feeling better")
    keys.tab_to(f"a[href='/appointments/{appointment.pk}/']")
    keys.tab_to("#main button[type=submit]", backwards=True)
    keys.follow("Space")
    expect(page.locator(".messages")).to_be_visible()
    appointment.refresh_from_db()
    assert appointment.status == AppointmentStatus.CANCELLED
    assert appointment.cancel_reason == "Feeling better"

    # Switch to Chinese: the language select by arrow keys, then its button.
    open_menu_if_folded(keys)
    keys.tab_to("#language-select")
    page.keyboard.press("ArrowUp")
    assert page.input_value("#language-select") == "zh-hans"
    keys.tab_to(".language-switcher button[type=submit]")
    keys.follow("Enter")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")

    # Log out, and in again.
    open_menu_if_folded(keys)
    keys.tab_to("form[action='/accounts/logout/'] button[type=submit]")
    keys.follow("Enter")
    if not page.url.endswith("/accounts/login/"):
        keys.tab_to("a[href='/accounts/login/']")
        keys.follow("Enter")
    keys.tab_to("#id_username")
    page.keyboard.type(user.username)
    keys.tab_to("#id_password")
    page.keyboard.type(TEST_PASSWORD)
    keys.follow("Enter")
    expect(page).to_have_url(re.compile(r"/appointments/mine/$"))
    assert keys.stops > 20
    context.close()
