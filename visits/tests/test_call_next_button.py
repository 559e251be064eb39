"""The doctor's "call next patient" button says why it cannot be pressed when nobody waits,
and the call itself still refuses cleanly."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from clinic.models import AuditEvent
from scheduling.tests.factories import ScheduleFactory
from visits.models import Visit, VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

QUEUE = reverse("visits:doctor-queue")
CALL_NEXT = reverse("visits:call-next")


@pytest.fixture
def schedule(doctor_user):
    return ScheduleFactory(doctor=doctor_user.employee, max_patients=60)


def call_next_button(html: str) -> str:
    (button,) = re.findall(r'<button[^>]*id="call-next-button"[^>]*>', html)
    return button


def test_with_nobody_waiting_the_button_is_disabled_with_its_reason_shown(doctor_client, schedule):
    VisitFactory(schedule=schedule, status=VisitStatus.AWAITING_PAYMENT)
    html = doctor_client.get(QUEUE).content.decode()
    button = call_next_button(html)
    assert " disabled" in button
    assert 'aria-describedby="call-next-reason"' in button
    (reason,) = re.findall(r'<span class="muted" id="call-next-reason">([^<]*)</span>', html)
    assert reason == "No patient waiting: nobody to call."


def test_with_a_patient_waiting_the_button_is_enabled(doctor_client, schedule):
    VisitFactory(schedule=schedule)
    button = call_next_button(doctor_client.get(QUEUE).content.decode())
    assert "disabled" not in button and "aria-describedby" not in button


def test_the_call_still_refuses_cleanly_and_changes_nothing(doctor_client, schedule):
    paid = VisitFactory(schedule=schedule, status=VisitStatus.LEFT)
    events = AuditEvent.objects.count()
    response = doctor_client.post(CALL_NEXT)
    assert response.status_code == 409
    assert '<div class="form-errors" role="alert"><p>Nobody is waiting.</p></div>' in (
        response.content.decode()
    )
    paid.refresh_from_db()
    assert paid.status == VisitStatus.LEFT
    assert not Visit.objects.filter(status=VisitStatus.IN_CONSULTATION).exists()
    assert AuditEvent.objects.count() == events
