"""Accessibility, checked by axe-core (issue 22): every page of the patient site, the desk and
the doctor's workbench, in both languages, on a phone (375 px) and a desk screen (1280 px).

Staff pages may have no "serious" or "critical" violation; the patient site (and the pages
anyone reaches without an account) none at all. axe-core is the copy bundled with
axe-playwright-python, injected into the page: nothing is downloaded.

The page list is test_every_page_clean.main_pages(), so one list says what "every page" is.
"""

from __future__ import annotations

import time
from io import StringIO

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.management import call_command

from tests.e2e.conftest import log_in
from tests.e2e.test_every_page_clean import ADMIN, PATIENT, main_pages

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The page's language as Django names it, and the browser's locale that asks for it.
LANGUAGES = {"zh-hans": "zh-CN", "en": "en-US"}
WIDTHS = (375, 1280)
SERIOUS = {"serious", "critical"}

AXE = Axe()


def violations(page, *, strict: bool) -> list[dict]:
    """axe-core's violations on the page as it stands: all of them, or only the serious ones."""
    found = AXE.run(page).response["violations"]
    return [v for v in found if strict or v["impact"] in SERIOUS]


def describe(where: str, violation: dict) -> str:
    targets = ", ".join(" ".join(map(str, node["target"])) for node in violation["nodes"])
    return f"{where}: {violation['id']} ({violation['impact']}) at {targets} — {violation['help']}"


def test_no_page_has_an_axe_violation(browser, live_server):
    call_command("seed_demo", stdout=StringIO())
    started = time.monotonic()
    pages = main_pages()
    # Django Admin's own pages are Django's; the administrators' pages built here are checked.
    pages[ADMIN] = [path for path in pages[ADMIN] if not path.startswith("/admin/")]
    # One login per role, whose cookies each language × width then reuses.
    sessions: dict = {}
    for account in pages:
        if account is not None:
            context = browser.new_context()
            page = context.new_page()
            log_in(page, live_server, *account)
            sessions[account] = context.cookies()
            context.close()

    problems: list[str] = []
    checked = 0
    for language, locale in LANGUAGES.items():
        for width in WIDTHS:
            context = browser.new_context(locale=locale, viewport={"width": width, "height": 900})
            page = context.new_page()
            for account, paths in pages.items():
                context.clear_cookies()
                if account is not None:
                    context.add_cookies(sessions[account])
                strict = account is None or account == PATIENT
                for path in paths:
                    response = page.goto(f"{live_server.url}{path}")
                    assert response is not None and response.status == 200, path
                    page.wait_for_load_state("networkidle")
                    where = f"{path} [{language}, {width} px]"
                    assert page.get_attribute("html", "lang") == language, where
                    problems += [describe(where, v) for v in violations(page, strict=strict)]
                    checked += 1
            context.close()
    print(f"\naxe-core: {checked} page views checked in {time.monotonic() - started:.1f} s")
    assert not problems, "\n".join(problems)
