from __future__ import annotations

import pytest

from appointments.tests.factories import AppointmentFactory
from tests.support import assert_db_rejects
from visits.models import MedicalRecord, Visit
from visits.tests.factories import MedicalRecordFactory, VisitFactory

pytestmark = pytest.mark.django_db


def test_one_visit_per_appointment():
    appointment = AppointmentFactory()
    VisitFactory(appointment=appointment, schedule=appointment.schedule)
    other = VisitFactory(schedule=appointment.schedule)
    assert_db_rejects(lambda: Visit.objects.filter(pk=other.pk).update(appointment=appointment))


def test_walk_ins_without_appointment_coexist():
    first = VisitFactory(appointment=None)
    VisitFactory(appointment=None, schedule=first.schedule)
    assert Visit.objects.filter(appointment__isnull=True).count() == 2


def test_queue_number_is_unique_per_schedule():
    first = VisitFactory(queue_number=1)
    second = VisitFactory(schedule=first.schedule, queue_number=2)
    assert_db_rejects(lambda: Visit.objects.filter(pk=second.pk).update(queue_number=1))


def test_same_queue_number_on_another_schedule_is_fine():
    VisitFactory(queue_number=1)
    VisitFactory(queue_number=1)
    assert Visit.objects.filter(queue_number=1).count() == 2


def test_queue_number_starts_at_one():
    visit = VisitFactory()
    assert_db_rejects(lambda: Visit.objects.filter(pk=visit.pk).update(queue_number=0))


def test_unknown_status_is_refused_by_the_database():
    visit = VisitFactory()
    assert_db_rejects(lambda: Visit.objects.filter(pk=visit.pk).update(status="teleported"))


def test_one_medical_record_per_visit():
    record = MedicalRecordFactory()
    other = MedicalRecordFactory()
    assert_db_rejects(lambda: MedicalRecord.objects.filter(pk=other.pk).update(visit=record.visit))
