from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from clinic.models import FeeCategory, FeeItem, InsuranceClass
from clinic.tests import factories as clinic_factories
from clinic.tests.factories import DoctorUserFactory, PatientFactory
from scheduling.tests.factories import ScheduleFactory
from visits.models import (
    AllergySeverity,
    Charge,
    ChargeKind,
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


class AllergyClassFactory(clinic_factories.AllergyClassFactory):
    """The penicillins, the class most orders here are checked against."""

    code = "PEN"
    name = "青霉素类"
    name_en = "Penicillins"


class FeeItemFactory(clinic_factories.FeeItemFactory):
    """An examination by default; `drug()` for a prescription item."""

    name = factory.Sequence(lambda n: f"检查项目 {n}")
    unit = "次"


def drug(**kwargs) -> FeeItem:
    """阿莫西林胶囊 0.25 g × 24: a box of 24 capsules, dosed in capsules."""
    values = {
        "name": "阿莫西林胶囊",
        "category": FeeCategory.DRUG,
        "unit": "盒",
        "unit_price": Decimal("12.50"),
        "insurance_class": InsuranceClass.B,
        "specification": "0.25 g × 24 粒",
        "dosage_form": "胶囊",
        "default_usage": "口服",
        "dose_unit": "粒",
        "doses_per_unit": Decimal(24),
        **kwargs,
    }
    return FeeItemFactory(**values)


class ChargeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Charge

    visit = factory.SubFactory(VisitFactory)
    kind = ChargeKind.ORDER
    fee_item = factory.SubFactory(FeeItemFactory)
    code = factory.LazyAttribute(lambda o: o.fee_item.code)
    name = factory.LazyAttribute(lambda o: o.fee_item.name)
    category = factory.LazyAttribute(lambda o: o.fee_item.category)
    unit = factory.LazyAttribute(lambda o: o.fee_item.unit)
    unit_price = factory.LazyAttribute(lambda o: o.fee_item.unit_price)
    insurance_class = factory.LazyAttribute(lambda o: o.fee_item.insurance_class)
    quantity = Decimal(1)
