from __future__ import annotations

import factory
from django.utils import timezone

from clinic.tests.factories import DoctorUserFactory, PatientFactory
from scheduling.tests.factories import ScheduleFactory
from visits.models import (
    AllergySeverity,
    DiagnosisCatalogue,
    MedicalRecord,
    PatientAllergy,
    Visit,
    VisitStatus,
)


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


class PatientAllergyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PatientAllergy

    patient = factory.SubFactory(PatientFactory)
    substance = "Penicillin"
    reaction = "Rash"
    severity = AllergySeverity.SEVERE
    recorded_by = factory.SubFactory(DoctorUserFactory)
    recorded_at = factory.LazyFunction(timezone.now)


class DiagnosisCatalogueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DiagnosisCatalogue
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"X{n:02d}.{n % 10}")
    name = factory.Sequence(lambda n: f"诊断 {n}")
    name_en = factory.Sequence(lambda n: f"Diagnosis {n}")
