"""The demo's charges: the fee catalogue, plans and registration fees, seeded idempotently;
the demo doctors have ranks and some demo patients a plan."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from clinic.models import (
    AllergyClass,
    DoctorRank,
    Employee,
    FeeCategory,
    FeeItem,
    InsurancePlan,
    Patient,
    Position,
    RegistrationFee,
)
from demo.catalogue import seed_catalogue

pytestmark = pytest.mark.django_db


def snapshot() -> list:
    items = [
        (item.code, item.name, item.unit_price, item.insurance_class, item.is_active,
         sorted(c.code for c in item.allergy_classes.all()))
        for item in FeeItem.objects.prefetch_related("allergy_classes").order_by("code")
    ]  # fmt: skip
    plans = list(InsurancePlan.objects.values_list("name", "coverage_a", "coverage_b"))
    fees = list(RegistrationFee.objects.values_list("rank", "fee_item__code"))
    return [items, plans, fees, AllergyClass.objects.count()]


def test_seed_catalogue_is_idempotent_and_restores_demo_prices():
    seed_catalogue()
    first = snapshot()
    FeeItem.objects.filter(code="JY001").update(unit_price=Decimal("99.00"))
    seed_catalogue()
    assert snapshot() == first
    assert 25 <= len(first[0]) <= 40
    assert {category for category in FeeItem.objects.values_list("category", flat=True)} == set(
        FeeCategory.values
    )


def test_every_rank_has_a_registration_fee_and_drugs_carry_their_classes():
    seed_catalogue()
    fees = {fee.rank: fee.fee_item for fee in RegistrationFee.objects.select_related("fee_item")}
    assert set(fees) == set(DoctorRank.values)
    assert fees[DoctorRank.CHIEF].unit_price == Decimal("25.00")
    assert fees[DoctorRank.RESIDENT].unit_price == Decimal("8.00")
    amoxicillin = FeeItem.objects.get(name="阿莫西林胶囊")
    assert [c.code for c in amoxicillin.allergy_classes.all()] == ["penicillins"]
    assert amoxicillin.doses_per_unit == Decimal("24")
    plan = InsurancePlan.objects.get(name="城镇职工")
    assert (plan.coverage("A"), plan.coverage("B"), plan.coverage("C")) == (90, 70, 0)


def test_seed_demo_gives_doctors_ranks_and_some_patients_a_plan():
    call_command("seed_demo", stdout=StringIO())
    doctors = Employee.objects.filter(position=Position.DOCTOR)
    assert doctors.exists() and not doctors.filter(rank="").exists()
    assert doctors.get(emp_id="D001").rank == DoctorRank.CHIEF
    with_plan = Patient.objects.filter(insurance_plan__isnull=False).count()
    assert 0 < with_plan < Patient.objects.count()
