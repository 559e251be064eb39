"""Browser tests: Playwright driving Debian's Chromium against pytest-django's live server.

Never a browser downloaded by Playwright: the tests use /usr/bin/chromium and skip, with
the reason, where it is not installed (CI installs it).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are still plain synchronous code.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
RESULTS = Path(__file__).resolve().parents[2] / "e2e-results"


def pytest_collection_modifyitems(config, items):
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    for item in items:
        if "e2e" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "locale": "en-US", "viewport": {"width": 1280, "height": 900}}


@pytest.fixture
def clinic_open_all_day(settings):
    """Slots that cover the whole day, so check-in and walk-ins work whenever the suite runs."""
    settings.CLINIC_MORNING_HOURS = (dt.time(0, 0), dt.time(11, 59))
    settings.CLINIC_AFTERNOON_HOURS = (dt.time(12, 0), dt.time(23, 59))
    settings.CLINIC_CHECK_IN_EARLY_MINUTES = 24 * 60


@pytest.fixture
def results_dir() -> Path:
    RESULTS.mkdir(exist_ok=True)
    return RESULTS


def log_in(page, live_server, username: str, password: str) -> None:
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("#main button[type=submit]")
    page.wait_for_load_state()


def wait_for_settled(page, selector: str) -> None:
    """Wait until htmx has settled what it swapped into `selector`.

    htmx inserts new content at once but wires its `hx-*` attributes (and applies `autofocus`)
    only when it settles, 20 ms later by a timer that a busy machine delays further; keys typed
    into a new box before then reach no htmx listener and are lost to it. The new nodes carry
    `htmx-added` (and the target `htmx-settling`) until that moment."""
    from playwright.sync_api import expect

    pending = ", ".join(
        f"{selector}.{name}, {selector} .{name}" for name in ("htmx-added", "htmx-settling")
    )
    expect(page.locator(pending)).to_have_count(0)
