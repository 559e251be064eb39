from __future__ import annotations

import pytest

from appointments.models import Appointment
from appointments.tests.factories import AppointmentFactory
from tests.support import assert_db_rejects

pytestmark = pytest.mark.django_db


def test_booking_reference_is_unique():
    first, second = AppointmentFactory(), AppointmentFactory()
    assert_db_rejects(
        lambda: Appointment.objects.filter(pk=second.pk).update(reference=first.reference)
    )


def test_references_are_readable_and_not_sequential():
    references = {AppointmentFactory().reference for _ in range(5)}
    assert len(references) == 5
    for reference in references:
        assert len(reference) == 8
        assert not set(reference) & set("01ILO")


def test_unknown_status_is_refused_by_the_database():
    appointment = AppointmentFactory()
    assert_db_rejects(lambda: Appointment.objects.filter(pk=appointment.pk).update(status="lost"))
