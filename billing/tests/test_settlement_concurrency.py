"""Settlement of itemised bills under concurrency, on MariaDB (real row locks): the doctor
finishing while the desk settles, two desk tabs settling one bill, a price edit during the
settlement. Each race has one outcome, and never a half-written bill."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum

from billing.exceptions import AlreadySettled
from billing.models import Bill, BillLine, DailyCategoryIncome, DailyIncomeSummary, IncomeRecord
from billing.services import settle_visit
from billing.tests.factories import ChargeFactory, FeeItemFactory
from clinic.exceptions import InvalidTransition
from clinic.models import FeeItem
from clinic.tests.factories import DoctorUserFactory, ReceptionistFactory
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time, run_at_once
from visits.models import Charge, VisitStatus
from visits.tests.factories import VisitFactory, diagnosed

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]


def with_charges(visit, count: int = 3):
    for index in range(count):
        ChargeFactory(
            visit=visit,
            quantity=Decimal(index + 1),
            fee_item=FeeItemFactory(unit_price=Decimal(f"{index + 1}.35")),
        )
    return visit


def assert_whole_bill(visit) -> None:
    """The bill, if any, is every charge of the visit, its lines add up, one income record."""
    bills = Bill.objects.filter(visit=visit)
    if not bills.exists():
        assert BillLine.objects.filter(bill__visit=visit).count() == 0
        assert IncomeRecord.objects.filter(bill__visit=visit).count() == 0
        return
    bill = bills.get()
    lines = BillLine.objects.filter(bill=bill)
    assert sorted(lines.values_list("charge_id", flat=True)) == sorted(
        Charge.objects.filter(visit=visit).values_list("pk", flat=True)
    )
    assert lines.aggregate(total=Sum("amount"))["total"] == bill.total_amount
    assert IncomeRecord.objects.filter(bill=bill).count() == 1


def test_the_doctor_finishing_while_the_desk_settles(monkeypatch):
    """The doctor's last order and the end of the consultation (one transaction) race the
    desk's settlement: the settlement refuses (not awaiting payment yet) or, after the
    doctor, takes every charge."""
    cashier = ReceptionistFactory()
    doctor = DoctorUserFactory()
    schedule = ScheduleFactory(
        work_date=WORK_DAY,
        max_patients=40,
        doctor=doctor.employee,
        department=doctor.employee.department,
    )
    outcomes = set()
    for _ in range(4):
        visit = with_charges(
            diagnosed(VisitFactory(schedule=schedule, status=VisitStatus.IN_CONSULTATION)), 2
        )

        def finish(visit=visit, doctor=doctor):
            with transaction.atomic():
                visit.lock_for_update()
                ChargeFactory(visit=visit, fee_item=FeeItemFactory(unit_price=Decimal("7.77")))
                time.sleep(0.05)  # the desk's request arrives meanwhile
                visit.finish_consultation(by=doctor)

        def pay(visit=visit):
            time.sleep(0.01)
            return settle_visit(visit=visit, by=cashier, now=clinic_time(11))

        finished, paid = run_at_once([finish, pay])
        assert not isinstance(finished, Exception), finished
        if isinstance(paid, Exception):
            assert isinstance(paid, InvalidTransition)
            outcomes.add("refused")
            # Once the doctor is done, the desk settles every charge.
            paid = settle_visit(visit=visit, by=cashier, now=clinic_time(11))
        else:
            outcomes.add("settled after the doctor")
        assert paid.lines.count() == 3
        assert_whole_bill(visit)
    assert outcomes  # whichever came first, the bill was whole
    assert DailyCategoryIncome.differences() == []


def test_two_desk_tabs_settling_the_same_bill():
    cashier = ReceptionistFactory()
    visit = with_charges(
        VisitFactory(
            schedule=ScheduleFactory(work_date=WORK_DAY, max_patients=40),
            status=VisitStatus.AWAITING_PAYMENT,
        ),
        10,
    )
    results = run_at_once(
        [lambda: settle_visit(visit=visit, by=cashier, now=clinic_time(10)) for _ in range(2)]
    )
    errors = [result for result in results if isinstance(result, Exception)]
    assert [type(error) for error in errors] == [AlreadySettled]
    assert Bill.objects.count() == 1 and IncomeRecord.objects.count() == 1
    assert BillLine.objects.count() == 10
    assert_whole_bill(visit)
    assert DailyIncomeSummary.objects.get().payments == 1
    assert DailyIncomeSummary.differences() == []
    assert DailyCategoryIncome.differences() == []


def test_a_price_edit_during_settlement_does_not_touch_the_bill():
    cashier = ReceptionistFactory()
    visit = with_charges(
        VisitFactory(
            schedule=ScheduleFactory(work_date=WORK_DAY, max_patients=40),
            status=VisitStatus.AWAITING_PAYMENT,
        ),
        3,
    )
    copied = list(Charge.objects.filter(visit=visit).order_by("id").values_list("unit_price"))
    items = list(Charge.objects.filter(visit=visit).values_list("fee_item_id", flat=True))

    def edit_prices():
        with transaction.atomic():
            FeeItem.objects.filter(pk__in=items).update(unit_price=Decimal("999.99"))

    paid, edited = run_at_once(
        [lambda: settle_visit(visit=visit, by=cashier, now=clinic_time(10)), edit_prices]
    )
    assert not isinstance(paid, Exception), paid
    assert edited is None
    assert list(paid.lines.order_by("id").values_list("unit_price")) == copied
    # 1 × 1.35 + 2 × 2.35 + 3 × 3.35 = 16.10, exactly.
    assert Bill.objects.get().total_amount == Decimal("16.10")
    assert set(FeeItem.objects.filter(pk__in=items).values_list("unit_price", flat=True)) == {
        Decimal("999.99")
    }
    assert_whole_bill(visit)
