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


def diagnosed(visit: Visit, diagnosis: str = "Upper respiratory tract infection") -> Visit:
    """`visit` with a diagnosis in its record, as sending it to payment requires."""
    MedicalRecord.objects.update_or_create(visit=visit, defaults={"diagnosis": diagnosis})
    return visit
