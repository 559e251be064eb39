"""check_invariants over the cashier's day: tenders pay each bill's self-pay part, refunded
counters are their refunds' sums, each refund is its lines, a closed shift's expected cash
is its float and cash movements, and income is the paid bills less their refunds."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from billing.cashier import close_shift
from billing.invariants import find_problems
from billing.models import (
    Bill,
    BillLine,
    CashierShift,
    DailyCategoryIncome,
    DailyIncomeSummary,
    IncomeRecord,
    PayStatus,
    RefundLine,
    Tender,
)
from billing.refunds import refund_bill
from billing.services import settle_visit
from billing.tests.factories import IncomeRecordFactory, open_shift_for
from billing.tests.test_cashier import another_visit
from billing.tests.test_services import PAID_AT
from clinic.tests.factories import AdminUserFactory
from tests.support import WORK_DAY, clinic_time

pytestmark = pytest.mark.django_db

REFUNDED_AT = clinic_time(23, 40)
CLOSED_AT = clinic_time(23, 50)
NEXT_DAY = WORK_DAY + dt.timedelta(days=1)


def money_problems() -> list[str]:
    # Factories do not count schedule places: only the money invariants are in scope.
    return [p for p in find_problems() if not p.startswith(("schedule", "window"))]


@pytest.fixture
def day(receptionist):
    """A shift's day: a bill paid by cash with change, one by cash and WeChat, one drug of
    the second given back in cash, the shift closed with the drawer as expected; and an
    old bill from before tenders (no tenders, no shift)."""
    cash_bill = settle_visit(
        visit=another_visit(),
        tenders=[{"method": "cash", "amount": "38.41", "handed_over": "50"}],
        by=receptionist,
        now=PAID_AT,
    )
    split_bill = settle_visit(
        visit=another_visit(),
        tenders=[
            {"method": "cash", "amount": "8.41"},
            {"method": "wechat", "amount": "30.00", "reference": "4200001234"},
        ],
        by=receptionist,
        now=PAID_AT,
    )
    drug = split_bill.lines.get(code="D1")
    refund = refund_bill(
        bill=split_bill,
        lines=[{"line": drug.pk, "quantity": "1"}],
        reason="One box not taken",
        method="cash",
        by=receptionist,
        now=REFUNDED_AT,
    )
    shift = CashierShift.objects.get(cashier=receptionist)
    # Float 0 + 38.41 + 8.41 cash taken − 3.70 given back.
    close_shift(shift=shift, counted_cash="43.12", by=receptionist, now=CLOSED_AT)
    legacy = IncomeRecordFactory(record_date=PAID_AT.date()).bill
    # The old bill's income was written directly: its summary rows, as a restore has them.
    DailyIncomeSummary.rebuild()
    DailyCategoryIncome.rebuild()
    return {
        "cash_bill": cash_bill,
        "split_bill": split_bill,
        "drug": drug,
        "refund": refund,
        "shift": shift,
        "legacy": legacy,
    }


def test_a_day_of_tenders_refunds_and_a_close_holds(day):
    assert day["refund"].amount == Decimal("12.35")
    assert day["refund"].self_pay_amount == Decimal("3.70")
    assert money_problems() == []
    call_command("rebuild_income_summary", "--check", stdout=StringIO())


def test_refunded_bills_are_still_paid_bills_of_visits_that_left(receptionist):
    bill = settle_visit(visit=another_visit(), by=receptionist, now=PAID_AT)
    refund_bill(
        bill=bill,
        lines=[{"line": line.pk} for line in bill.lines.all()],
        reason="Charged to the wrong patient",
        method="cash",
        by=receptionist,
        now=REFUNDED_AT,
    )
    bill.refresh_from_db()
    assert bill.pay_status == PayStatus.REFUNDED
    assert money_problems() == []


def test_a_manager_refunding_another_day_keeps_the_income_net(receptionist):
    bill = settle_visit(visit=another_visit(), by=receptionist, now=PAID_AT)
    manager = AdminUserFactory()
    open_shift_for(manager, opening_float="100", now=clinic_time(9, day=NEXT_DAY))
    refund_bill(
        bill=bill,
        lines=[{"line": bill.lines.get(code="L1").pk}],
        reason="Test not done",
        method="cash",
        by=manager,
        now=clinic_time(9, 30, day=NEXT_DAY),
    )
    assert money_problems() == []


def test_tenders_that_do_not_add_up_to_the_bill_are_a_problem(day):
    bill = day["split_bill"]
    Tender.objects.filter(bill=bill, method__code="wechat").update(amount=Decimal("29.00"))
    assert (
        f"bill {bill.pk}: tendered 38.41, its tenders add up to 37.41, self-pay 38.41"
        in money_problems()
    )


def test_tenders_without_a_tendered_amount_are_a_problem(day):
    bill = day["cash_bill"]
    Bill.objects.filter(pk=bill.pk).update(tendered_amount=None)
    assert any(
        p.startswith(f"bill {bill.pk}: tendered None, its tenders add up to 38.41")
        for p in money_problems()
    )


def test_a_legacy_bill_without_tenders_is_no_problem(day):
    assert Bill.objects.get(pk=day["legacy"].pk).tendered_amount is None
    assert not any(p.startswith(f"bill {day['legacy'].pk}:") for p in money_problems())


def test_a_bills_refunded_figures_that_are_not_its_refunds_are_a_problem(day):
    bill = day["split_bill"]
    Bill.objects.filter(pk=bill.pk).update(
        refunded_amount=F("refunded_amount") + 1,
        refunded_self_pay_amount=F("refunded_self_pay_amount") + 1,
    )
    assert (
        f"bill {bill.pk}: refunded 13.35 (insurance 8.65, self-pay 4.70), its refunds add up "
        "to 12.35 (insurance 8.65, self-pay 3.70)" in money_problems()
    )


def test_a_lines_refunded_figures_that_are_not_its_refund_lines_are_a_problem(day):
    drug = day["drug"]
    BillLine.objects.filter(pk=drug.pk).update(refunded_quantity=Decimal("2"))
    assert (
        f"bill line {drug.pk} (bill {drug.bill_id}): refunded 2.000 for 12.35 (insured 8.65), "
        "its refund lines add up to 1.000 for 12.35 (insured 8.65)" in money_problems()
    )


def test_a_refund_that_is_not_the_sum_of_its_lines_is_a_problem(day):
    refund = day["refund"]
    RefundLine.objects.filter(refund=refund).update(
        amount=F("amount") - Decimal("0.05"), self_pay_amount=F("self_pay_amount") - Decimal("0.05")
    )
    problems = money_problems()
    assert (
        f"refund {refund.pk} (bill {refund.bill_id}): amount 12.35, its lines add up to 12.30"
        in problems
    )
    # The line's counters no longer match its refund lines either.
    assert any(p.startswith(f"bill line {day['drug'].pk} ") for p in problems)


def test_a_refund_without_lines_is_a_problem(day):
    refund = day["refund"]
    RefundLine.objects.filter(refund=refund).delete()
    assert (
        f"refund {refund.pk} (bill {refund.bill_id}): amount 12.35, its lines add up to 0.00"
        in money_problems()
    )


def test_a_closed_shift_whose_expected_cash_is_not_its_cash_is_a_problem(day):
    shift = day["shift"]
    CashierShift.objects.filter(pk=shift.pk).update(
        expected_cash=F("expected_cash") + 10, counted_cash=F("counted_cash") + 10
    )
    assert (
        f"shift {shift.pk}: expected cash 53.12, but float 0.00 + cash taken 46.82 − cash "
        "given back 3.70 differ" in money_problems()
    )


def test_an_open_shift_is_not_checked_until_it_closes(receptionist):
    settle_visit(visit=another_visit(), by=receptionist, now=PAID_AT)
    assert CashierShift.objects.get(cashier=receptionist).expected_cash is None
    assert money_problems() == []


def test_income_that_is_not_the_paid_bills_less_their_refunds_is_a_problem(day):
    IncomeRecord.objects.filter(refund=day["refund"]).delete()
    problems = money_problems()
    # 64.70 + 64.70 + 100.00 (the old bill) paid, 12.35 given back: 217.05 expected.
    assert "income records total 229.40, paid bills total 229.40 less refunds 12.35" in problems


def test_a_payments_income_parts_that_are_not_its_bills_are_a_problem(day):
    bill = day["cash_bill"]
    record = IncomeRecord.objects.get(bill=bill, refund__isnull=True)
    IncomeRecord.objects.filter(pk=record.pk).update(
        insurance_amount=F("insurance_amount") + 1, self_pay_amount=F("self_pay_amount") - 1
    )
    assert (
        f"income record {record.pk}: 64.70 (insurance 27.29) is not its bill {bill.pk}'s figures"
        in money_problems()
    )


def test_a_refunds_income_parts_that_are_not_minus_the_refunds_are_a_problem(day):
    refund = day["refund"]
    record = IncomeRecord.objects.get(refund=refund)
    IncomeRecord.objects.filter(pk=record.pk).update(
        insurance_amount=F("insurance_amount") + 1, self_pay_amount=F("self_pay_amount") - 1
    )
    assert (
        f"income record {record.pk}: -12.35 (insurance -7.65) is not minus its refund "
        f"{refund.pk}'s figures" in money_problems()
    )


def test_the_command_reports_the_cashiers_problems(day):
    bill = day["split_bill"]
    Tender.objects.filter(bill=bill, method__code="wechat").update(amount=Decimal("29.50"))
    with pytest.raises(CommandError, match=r"its tenders add up to 37\.91"):
        call_command("check_invariants", stdout=StringIO())
