"""The cashier's counter under concurrency, on MariaDB (real row locks): two refunds of one
line, a payment arriving while its shift closes, two closes of one shift, a refund racing
a statistics rebuild. Each race has one outcome and the figures stay exact."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db.models import Sum

from billing.cashier import close_shift, open_shift, shift_report
from billing.exceptions import AlreadyRefunded, NoOpenShift, RefundExceedsPaid, ShiftClosed
from billing.models import (
    Bill,
    BillLine,
    CashierShift,
    DailyCategoryIncome,
    DailyIncomeSummary,
    Refund,
    Tender,
)
from billing.refunds import refund_bill
from billing.services import settle_visit
from billing.tests.factories import ChargeFactory, FeeItemFactory
from clinic.tests.factories import AdminUserFactory, ReceptionistFactory
from tests.support import clinic_time, run_at_once
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]

NOW = clinic_time(10, 0)


def paid_bill(cashier, quantity=2, price="12.50"):
    visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
    ChargeFactory(
        visit=visit,
        quantity=Decimal(quantity),
        fee_item=FeeItemFactory(unit_price=Decimal(price), insurance_class="C"),
    )
    return settle_visit(visit=visit, by=cashier, now=NOW)


def test_two_refunds_of_one_line_at_once_never_give_back_more_than_was_paid():
    cashier = ReceptionistFactory()
    manager = AdminUserFactory()
    open_shift(by=manager, opening_float="100")
    for quantities in ((None, None), ("2", "1"), ("1", "2")):
        bill = paid_bill(cashier)
        line = bill.lines.get()

        def refund(by, quantity, line=line, bill=bill):
            return refund_bill(
                bill=bill.pk,
                lines=[{"line": line.pk, "quantity": quantity}],
                reason="race",
                method="cash",
                by=by,
                now=NOW,
            )

        results = run_at_once(
            [lambda q=quantities[0]: refund(cashier, q), lambda q=quantities[1]: refund(manager, q)]
        )
        line.refresh_from_db()
        assert line.refunded_quantity <= line.quantity
        assert line.refunded_amount <= line.amount
        refunded = Refund.objects.filter(bill=bill)
        assert sum(r.amount for r in refunded) == line.refunded_amount
        errors = [r for r in results if isinstance(r, Exception)]
        assert all(isinstance(e, AlreadyRefunded | RefundExceedsPaid) for e in errors), errors
        if quantities == ("1", "2"):
            # 1 then 2 of 2: the second is refused; 2 then 1: the second too. One wins.
            assert len(errors) == 1
    assert DailyIncomeSummary.differences() == []
    assert DailyCategoryIncome.differences() == []


def test_a_payment_arriving_while_its_shift_closes_is_in_the_close_or_refused():
    for _ in range(4):
        cashier = ReceptionistFactory(shift=False)
        shift = open_shift(by=cashier, opening_float="50")
        visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
        ChargeFactory(
            visit=visit, fee_item=FeeItemFactory(unit_price=Decimal("30"), insurance_class="C")
        )
        results = run_at_once(
            [
                lambda visit=visit, cashier=cashier: settle_visit(visit=visit, by=cashier, now=NOW),
                lambda shift=shift, cashier=cashier: close_shift(
                    shift=shift.pk, counted_cash="80", note="counted", by=cashier
                ),
            ]
        )
        assert not isinstance(results[1], Exception), results[1]
        shift.refresh_from_db()
        if isinstance(results[0], Exception):
            assert isinstance(results[0], NoOpenShift)
            assert not Bill.objects.filter(visit=visit).exists()
            assert shift.expected_cash == Decimal("50.00")
        else:
            # Paid before the close took its totals: the close counts it.
            assert Tender.objects.get(bill__visit=visit).shift_id == shift.pk
            assert shift.expected_cash == Decimal("80.00")
            assert shift.cash_difference == 0
        assert shift_report(shift).expected_cash == shift.expected_cash


def test_two_closes_of_one_shift_close_it_once():
    cashier = ReceptionistFactory()
    manager = AdminUserFactory()
    paid_bill(cashier)
    shift = CashierShift.objects.get(cashier=cashier)
    results = run_at_once(
        [
            lambda: close_shift(shift=shift.pk, counted_cash="25", by=cashier),
            lambda: close_shift(shift=shift.pk, counted_cash="24", note="short", by=manager),
        ]
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], ShiftClosed)
    shift.refresh_from_db()
    assert shift.status == CashierShift.Status.CLOSED
    assert shift.expected_cash == Decimal("25.00")


def test_a_refund_racing_a_statistics_rebuild_leaves_them_exact():
    cashier = ReceptionistFactory()
    bills = [paid_bill(cashier) for _ in range(3)]

    def refund(bill):
        return refund_bill(
            bill=bill.pk,
            lines=[{"line": BillLine.objects.get(bill=bill).pk, "quantity": "1"}],
            reason="race",
            method="cash",
            by=cashier,
            now=NOW,
        )

    def rebuild():
        DailyIncomeSummary.rebuild()
        DailyCategoryIncome.rebuild()

    results = run_at_once([lambda: refund(bills[0]), rebuild, lambda: refund(bills[1])])
    assert not any(isinstance(r, Exception) for r in results), results
    assert DailyIncomeSummary.differences() == []
    assert DailyCategoryIncome.differences() == []
    totals = DailyIncomeSummary.objects.aggregate(
        payments=Sum("payments"), refunds=Sum("refunds"), total=Sum("total_amount")
    )
    assert totals == {"payments": 3, "refunds": 2, "total": Decimal("50.00")}
