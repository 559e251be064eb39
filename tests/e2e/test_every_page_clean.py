"""Every main page per role loads without a console error, an uncaught exception or a failed
request (a 4xx/5xx answer or a request that never completes): no missing favicon, script,
style or fragment anywhere."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment, AppointmentStatus
from billing.models import Bill
from tests.e2e.conftest import log_in
from visits.models import MedicalRecord, Visit, VisitStatus

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PATIENT = ("patient", "Patient-demo-2026")
DESK = ("reception", "Desk-demo-2026")
DOCTOR = ("doctor", "Doctor-demo-2026")
ADMIN = ("admin", "Admin-demo-2026")


def main_pages() -> dict[tuple[str, str] | None, list[str]]:
    """Each role's main pages, the ones about one record taken from the demo clinic."""
    today = timezone.localdate()
    waiting = Visit.objects.filter(status=VisitStatus.WAITING).first()
    unpaid = Visit.objects.filter(status=VisitStatus.AWAITING_PAYMENT).first()
    seeing = Visit.objects.filter(
        status=VisitStatus.IN_CONSULTATION, schedule__doctor__user__username=DOCTOR[0]
    ).first()
    booked = Appointment.objects.filter(
        schedule__work_date=today, status=AppointmentStatus.CONFIRMED
    ).first()
    bill = Bill.objects.first()
    mine = Appointment.objects.filter(
        patient__user__username=PATIENT[0], status=AppointmentStatus.CONFIRMED
    ).first()
    record = MedicalRecord.objects.filter(visit__schedule__doctor__user__username=DOCTOR[0]).first()
    patient = [
        reverse("appointments:book"),
        reverse("appointments:book") + "?department=1",
        reverse("appointments:my-appointments"),
        reverse("visits:my-visits"),
        reverse("notifications:my-settings"),
    ]
    if mine:
        patient += [
            reverse("appointments:detail", args=[mine.pk]),
            reverse("appointments:cancel", args=[mine.pk]),
        ]
    desk = [
        reverse("visits:search") + "?q=13912345678",
        reverse("appointments:desk"),
        reverse("visits:board"),
        reverse("visits:walk-in"),
        reverse("appointments:phone-booking"),
        reverse("visits:patients"),
        reverse("billing:reports"),
        reverse("billing:shift"),
        reverse("notifications:log"),
    ]
    if waiting:
        desk += [
            reverse("visits:slip", args=[waiting.pk]),
            reverse("visits:patient", args=[waiting.patient_id]),
        ]
    if unpaid:
        desk.append(reverse("billing:pay", args=[unpaid.pk]))
    if booked:
        desk.append(reverse("visits:check-in", args=[booked.pk]))
    if bill:
        desk.append(reverse("billing:receipt", args=[bill.pk]))
    doctor = [reverse("visits:doctor-queue")]
    if seeing:
        doctor.append(reverse("visits:consultation", args=[seeing.pk]))
    if record:
        doctor += [
            reverse("visits:record-detail", args=[record.pk]),
            reverse("visits:record-print", args=[record.pk]),
            reverse("visits:prescription-print", args=[record.pk]),
        ]
    return {
        None: [reverse("login"), reverse("register"), "/display/IM/?key=demo-IM"],
        PATIENT: patient,
        DESK: desk,
        DOCTOR: doctor,
        ADMIN: [
            "/admin/",
            reverse("billing:statistics"),
            reverse("billing:day-end"),
            reverse("scheduling:planner"),
            reverse("scheduling:copy-week"),
            "/admin/scheduling/schedule/",
            "/admin/clinic/auditevent/",
            "/admin/notifications/notification/",
            "/admin/django_tasks_database/dbtaskresult/",
            *([reverse("visits:record-correct", args=[record.pk])] if record else []),
        ],
    }


class Problems:
    """What went wrong in the browser while a page loaded and settled."""

    def __init__(self, page) -> None:
        self.found: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda error: self.found.append(f"exception: {error}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)

    def _console(self, message) -> None:
        if message.type == "error":
            self.found.append(f"console: {message.text}")

    def _failed(self, request) -> None:
        # A request the browser dropped itself (the next page's navigation, htmx replacing a
        # poll) is not a failure; a refused connection or a broken answer is.
        if request.failure != "net::ERR_ABORTED":
            self.found.append(f"failed ({request.failure}): {request.method} {request.url}")

    def _response(self, response) -> None:
        if response.status >= 400:
            self.found.append(f"{response.status}: {response.request.method} {response.url}")


@pytest.mark.parametrize("locale", ["zh-CN", "en-US"])
def test_every_main_page_loads_without_console_errors_or_failed_requests(
    browser, live_server, locale
):
    call_command("seed_demo", stdout=StringIO())
    problems: dict[str, list[str]] = {}
    pages = main_pages()
    assert len(pages[DESK]) >= 12 and len(pages[DOCTOR]) == 5, "the demo clinic has them all"
    assert len(pages[PATIENT]) == 7, "the demo patient has a booking to show and cancel"
    for account, paths in pages.items():
        context = browser.new_context(locale=locale)
        page = context.new_page()
        if account is not None:
            log_in(page, live_server, *account)
        watcher = Problems(page)
        for path in paths:
            response = page.goto(f"{live_server.url}{path}")
            assert response is not None and response.status == 200, path
            page.wait_for_load_state("networkidle")
            # The browser fetches icons outside the page's own requests: ask for them.
            icons = page.eval_on_selector_all("link[rel=icon]", "links => links.map(l => l.href)")
            for icon in [*icons, f"{live_server.url}/favicon.ico"]:
                answer = page.request.get(icon)
                if not answer.ok:
                    watcher.found.append(f"icon {answer.status}: {icon}")
            # Django Admin's pages link no icon of their own: /favicon.ico serves them.
            if not icons and not path.startswith("/admin/"):
                watcher.found.append("no <link rel=icon>")
            if watcher.found:
                problems[path] = list(watcher.found)
                watcher.found.clear()
        context.close()
    assert problems == {}
