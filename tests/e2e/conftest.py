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
