from __future__ import annotations

import factory
from django.utils import timezone

from clinic.tests.factories import PatientFactory
from scheduling.tests.factories import ScheduleFactory
from visits.models import MedicalRecord, Visit, VisitStatus


class VisitFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Visit

    schedule = factory.SubFactory(ScheduleFactory)
    department = factory.LazyAttribute(lambda o: o.schedule.department)
    patient = factory.SubFactory(PatientFactory)
    queue_number = factory.Sequence(lambda n: n + 1)
    status = VisitStatus.WAITING
    visit_date = factory.LazyAttribute(lambda o: o.schedule.work_date)
    check_in_time = factory.LazyFunction(timezone.now)


class MedicalRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MedicalRecord

    visit = factory.SubFactory(VisitFactory)
    diagnosis = "Upper respiratory tract infection"
