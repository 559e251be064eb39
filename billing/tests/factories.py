from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from billing.models import (
    Bill,
    BillLine,
    CashierShift,
    IncomeRecord,
    PaymentMethod,
    PayStatus,
    Refund,
    ShiftStatus,
)
from clinic.models import FeeCategory, InsuranceClass
from clinic.tests.factories import FeeItemFactory, InsurancePlanFactory  # noqa: F401
from visits.models import VisitStatus
from visits.tests import factories as visits_factories
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
    insurance_amount = factory.LazyAttribute(lambda o: o.bill.insurance_amount)
    self_pay_amount = factory.LazyAttribute(lambda o: o.bill.self_pay_amount)
    record_date = factory.LazyFunction(timezone.localdate)


class ChargeFactory(visits_factories.ChargeFactory):
    """A charge made directly (visits.charges writes them in the application), on a visit
    awaiting payment."""

    visit = factory.SubFactory(VisitFactory, status=VisitStatus.AWAITING_PAYMENT)


class CashierShiftFactory(factory.django.DjangoModelFactory):
    """An open cashier shift (float 0) of a new receptionist without one; pass `cashier`
    for someone else's. Tests that need the open/close rules call billing.cashier."""

    class Meta:
        model = CashierShift

    cashier = factory.SubFactory("clinic.tests.factories.ReceptionistFactory", shift=False)
    status = ShiftStatus.OPEN
    open_cashier = factory.LazyAttribute(lambda o: o.cashier.pk)
    opened_at = factory.LazyFunction(timezone.now)
    opening_float = Decimal("0.00")


def open_shift_for(user, opening_float="0.00", now=None) -> CashierShift:
    """The user's open shift: the one they have, or one opened now (billing.cashier, as
    the counter does). For an administrator who settles or refunds in a test."""
    from billing.cashier import current_shift, open_shift

    return current_shift(user) or open_shift(by=user, opening_float=opening_float, now=now)


class PaymentMethodFactory(factory.django.DjangoModelFactory):
    """A payment method of the clinic's own (migration 0007 seeds the usual five)."""

    class Meta:
        model = PaymentMethod

    code = factory.Sequence(lambda n: f"method-{n}")
    name = factory.Sequence(lambda n: f"支付方式{n}")
    name_en = factory.Sequence(lambda n: f"Method {n}")
    requires_reference = True
    sort_order = factory.Sequence(lambda n: 100 + n)


class RefundFactory(factory.django.DjangoModelFactory):
    """A refund row as it is listed (no lines, no counters): for lists and admin pages.
    The rules of a refund are billing.refunds.refund_bill's; tests of them call it."""

    class Meta:
        model = Refund

    bill = factory.SubFactory(BillFactory)
    shift = factory.SubFactory(CashierShiftFactory)
    method = factory.LazyFunction(lambda: PaymentMethod.objects.get(code="cash"))
    amount = Decimal("10.00")
    insurance_amount = Decimal("6.00")
    self_pay_amount = Decimal("4.00")
    reason = "factory"
    record_date = factory.LazyFunction(timezone.localdate)
    created_by = factory.LazyAttribute(lambda o: o.shift.cashier)
    created_at = factory.LazyFunction(timezone.now)
