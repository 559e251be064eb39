from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from billing.models import Bill, BillLine, IncomeRecord, PayStatus
from clinic.models import FeeCategory, FeeItem, InsuranceClass, InsurancePlan
from visits.models import Charge, ChargeKind, VisitStatus
from visits.tests.factories import VisitFactory


class BillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bill
        skip_postgeneration_save = True

    visit = factory.SubFactory(VisitFactory, status=VisitStatus.LEFT)
    total_amount = Decimal("100.00")
    insurance_amount = Decimal("60.00")
    self_pay_amount = factory.LazyAttribute(lambda o: o.total_amount - o.insurance_amount)
    estimated_insurance_amount = factory.LazyAttribute(lambda o: o.insurance_amount)
    pay_status = PayStatus.PAID
    pay_time = factory.LazyFunction(timezone.now)

    @factory.post_generation
    def lines(self, create, extracted, **kwargs):
        """One manual consultation line of the bill's figures (as migration 0005 gives old
        bills), unless lines=False."""
        if create and extracted is not False:
            BillLine.objects.create(
                bill=self,
                description="诊查费",
                category=FeeCategory.CONSULTATION,
                quantity=Decimal(1),
                unit_price=self.total_amount,
                amount=self.total_amount,
                insurance_class=InsuranceClass.A if self.insurance_amount else InsuranceClass.C,
                insured_amount=self.insurance_amount,
                self_pay_amount=self.self_pay_amount,
                manual_reason="factory",
            )


class IncomeRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IncomeRecord

    bill = factory.SubFactory(BillFactory)
    department = factory.LazyAttribute(lambda o: o.bill.visit.department)
    doctor = factory.LazyAttribute(lambda o: o.bill.visit.schedule.doctor)
    amount = factory.LazyAttribute(lambda o: o.bill.total_amount)
    record_date = factory.LazyFunction(timezone.localdate)


class FeeItemFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FeeItem
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"T{n:05d}")
    name = factory.Sequence(lambda n: f"Item {n}")
    category = FeeCategory.EXAMINATION
    unit = "test"
    unit_price = Decimal("25.00")
    insurance_class = InsuranceClass.A


class InsurancePlanFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InsurancePlan
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Plan {n}")
    coverage_a = Decimal("90")
    coverage_b = Decimal("70")
    coverage_c = Decimal("0")


class ChargeFactory(factory.django.DjangoModelFactory):
    """A charge made directly (visits.charges writes them in the application): its fee
    item's code, name, category, unit, price and class copied."""

    class Meta:
        model = Charge

    visit = factory.SubFactory(VisitFactory, status=VisitStatus.AWAITING_PAYMENT)
    kind = ChargeKind.ORDER
    fee_item = factory.SubFactory(FeeItemFactory)
    code = factory.LazyAttribute(lambda o: o.fee_item.code)
    name = factory.LazyAttribute(lambda o: o.fee_item.name)
    category = factory.LazyAttribute(lambda o: o.fee_item.category)
    unit = factory.LazyAttribute(lambda o: o.fee_item.unit)
    unit_price = factory.LazyAttribute(lambda o: o.fee_item.unit_price)
    insurance_class = factory.LazyAttribute(lambda o: o.fee_item.insurance_class)
    quantity = Decimal(1)
