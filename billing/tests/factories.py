from __future__ import annotations

from decimal import Decimal

import factory
from django.utils import timezone

from billing.models import Bill, IncomeRecord, PayStatus
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory


class BillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Bill

    visit = factory.SubFactory(VisitFactory, status=VisitStatus.LEFT)
    total_amount = Decimal("100.00")
    insurance_amount = Decimal("60.00")
    self_pay_amount = factory.LazyAttribute(lambda o: o.total_amount - o.insurance_amount)
    pay_status = PayStatus.PAID
    pay_time = factory.LazyFunction(timezone.now)


class IncomeRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IncomeRecord

    bill = factory.SubFactory(BillFactory)
    department = factory.LazyAttribute(lambda o: o.bill.visit.department)
    doctor = factory.LazyAttribute(lambda o: o.bill.visit.schedule.doctor)
    amount = factory.LazyAttribute(lambda o: o.bill.total_amount)
    record_date = factory.LazyFunction(timezone.localdate)
