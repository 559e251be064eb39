"""Random cashier days: open / pay / refund / close, checked after every step.

A hypothesis `RuleBasedStateMachine` plays two cashiers and a manager. Its rules open shifts
(with a float; a second open is refused), settle visits with random charges and plans by
random tenders (exact cash, cash with change, cash and WeChat), refund random lines or
parts of them (by the bill's cashier or the manager, cash or the bill's own method), and
close shifts with the drawer over, short or exact. Refused steps must change nothing.

After every step the invariant reads the rows back and checks, independently of the
services' own report code: each shift's expected cash and per-method totals equal its
tenders minus its refunds (a closed shift's stored figures still equal them: nothing
changed after the close); each bill's tenders add up to its self-pay and its refunds to
its refunded figures, never above what was paid; net income equals bills minus refunds;
the daily summaries equal what the detail rows add up to.

Isolation as in tests/test_workflow_stateful.py: one savepoint per example.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Sum
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test

from billing.cashier import close_shift, open_shift, shift_report
from billing.exceptions import (
    AlreadyRefunded,
    InvalidAmounts,
    InvalidRefund,
    NoOpenShift,
    RefundExceedsPaid,
    ShiftAlreadyOpen,
)
from billing.models import (
    Bill,
    BillLine,
    CashierShift,
    DailyCategoryIncome,
    DailyIncomeSummary,
    IncomeRecord,
    Refund,
    RefundLine,
    Tender,
)
from billing.refunds import refund_bill
from billing.services import bill_preview, settle_visit
from billing.tests.factories import ChargeFactory, FeeItemFactory, InsurancePlanFactory
from clinic.exceptions import PermissionDenied
from clinic.tests.factories import AdminUserFactory, ReceptionistFactory
from tests.support import clinic_time
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory

ZERO = Decimal("0.00")
NOW = clinic_time(10, 0)
prices = st.sampled_from(["0.10", "1.05", "12.35", "30.00", "99.99"])
classes = st.sampled_from(["A", "B", "C"])
quantities = st.integers(min_value=1, max_value=4)


def table_rows():
    """Every row the cashier's services write, to compare before and after a refusal."""
    return (
        list(CashierShift.objects.order_by("id").values()),
        list(Bill.objects.order_by("id").values()),
        list(BillLine.objects.order_by("id").values()),
        list(Tender.objects.order_by("id").values()),
        list(Refund.objects.order_by("id").values()),
        list(RefundLine.objects.order_by("id").values()),
        list(IncomeRecord.objects.order_by("id").values()),
        list(DailyIncomeSummary.objects.order_by("id").values()),
        list(DailyCategoryIncome.objects.order_by("id").values()),
    )


def cents(total: Decimal | None) -> Decimal:
    """A database sum in cents: SQLite sums decimals as binary floats (0.1 + 0.3 comes back
    as 0.399999999999999), MariaDB exactly."""
    return Decimal(total or 0).quantize(Decimal("0.01"))


class CashierDay(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self._savepoint = transaction.atomic()
        self._savepoint.__enter__()
        self.cashiers = [ReceptionistFactory(shift=False), ReceptionistFactory(shift=False)]
        self.manager = AdminUserFactory()
        self.plan = InsurancePlanFactory(name="城镇职工")
        self.bills: list[int] = []

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._savepoint.__exit__(None, None, None)

    def refused(self, call, *errors) -> None:
        before = table_rows()
        try:
            call()
        except errors:
            assert table_rows() == before, "a refused step wrote something"

    def people(self):
        return [*self.cashiers, self.manager]

    @rule(who=st.integers(0, 2), float_=st.sampled_from(["0", "200", "50.50"]))
    def open(self, who, float_):
        user = self.people()[who]
        if CashierShift.objects.filter(open_cashier=user.pk).exists():
            self.refused(lambda: open_shift(by=user, opening_float=float_), ShiftAlreadyOpen)
        else:
            open_shift(by=user, opening_float=float_, now=NOW)

    @rule(
        who=st.integers(0, 2),
        items=st.lists(st.tuples(prices, classes, quantities), min_size=1, max_size=3),
        insured=st.booleans(),
        how=st.sampled_from(["exact", "change", "split", "none"]),
    )
    def pay(self, who, items, insured, how):
        user = self.people()[who]
        visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
        if insured:
            visit.patient.insurance_plan = self.plan
            visit.patient.save(update_fields=["insurance_plan"])
        for price, insurance_class, quantity in items:
            ChargeFactory(
                visit=visit,
                quantity=Decimal(quantity),
                fee_item=FeeItemFactory(unit_price=Decimal(price), insurance_class=insurance_class),
            )
        self_pay = bill_preview(visit).self_pay
        tenders = None
        if how == "exact" and self_pay:
            tenders = [{"method": "cash", "amount": str(self_pay)}]
        elif how == "change" and self_pay:
            tenders = [{"method": "cash", "amount": str(self_pay), "handed_over": "100000"}]
        elif how == "split" and self_pay > Decimal("0.01"):
            cash = (self_pay / 2).quantize(Decimal("0.01"))
            tenders = [
                {"method": "cash", "amount": str(cash)},
                {"method": "wechat", "amount": str(self_pay - cash), "reference": "wx1"},
            ]
        if not CashierShift.objects.filter(open_cashier=user.pk).exists():
            self.refused(lambda: settle_visit(visit=visit, tenders=tenders, by=user), NoOpenShift)
            return
        bill = settle_visit(visit=visit, tenders=tenders, by=user, now=NOW)
        self.bills.append(bill.pk)

    @rule(
        data=st.data(),
        who=st.integers(0, 2),
        part=st.sampled_from([None, "1", "2"]),
        method=st.sampled_from(["cash", "wechat"]),
    )
    def refund(self, data, who, part, method):
        if not self.bills:
            return
        bill = Bill.objects.get(pk=data.draw(st.sampled_from(self.bills)))
        line = data.draw(st.sampled_from(list(bill.lines.order_by("id"))))
        user = self.people()[who]

        def call():
            return refund_bill(
                bill=bill,
                lines=[{"line": line.pk, "quantity": part}],
                reason="random",
                method=method,
                by=user,
                now=NOW,
            )

        before = table_rows()
        try:
            call()
        except (
            AlreadyRefunded,
            RefundExceedsPaid,
            PermissionDenied,
            NoOpenShift,
            InvalidRefund,
        ):
            assert table_rows() == before, "a refused refund wrote something"

    @rule(who=st.integers(0, 2), over=st.sampled_from(["0", "0", "-0.50", "1.00"]))
    def close(self, who, over):
        user = self.people()[who]
        shift = CashierShift.objects.filter(open_cashier=user.pk).first()
        if shift is None:
            return
        counted = shift_report(shift).expected_cash + Decimal(over)
        if counted < 0:
            return
        if Decimal(over):
            self.refused(
                lambda: close_shift(shift=shift, counted_cash=counted, by=user), InvalidAmounts
            )
        close_shift(shift=shift, counted_cash=counted, note="counted", by=user, now=NOW)

    @invariant()
    def shifts_add_up(self):
        taken: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
        for tender in Tender.objects.select_related("method"):
            taken[tender.shift_id, tender.method.code] += tender.amount
        given: dict[tuple[int, str], Decimal] = defaultdict(lambda: ZERO)
        for refund in Refund.objects.select_related("method").exclude(method=None):
            given[refund.shift_id, refund.method.code] += refund.self_pay_amount
        for shift in CashierShift.objects.all():
            report = shift_report(shift)
            for row in report.methods:
                key = (shift.pk, row.method.code)
                assert row.taken == taken[key] and row.given_back == given[key]
            cash = taken[shift.pk, "cash"] - given[shift.pk, "cash"]
            assert report.expected_cash == shift.opening_float + cash
            if not shift.is_open:
                assert shift.expected_cash == report.expected_cash
                assert shift.cash_difference == shift.counted_cash - shift.expected_cash

    @invariant()
    def bills_add_up(self):
        for bill in Bill.objects.all():
            tendered = cents(bill.tenders.aggregate(total=Sum("amount"))["total"])
            assert tendered == bill.self_pay_amount == bill.tendered_amount
            refunds = bill.refunds.aggregate(amount=Sum("amount"), self_pay=Sum("self_pay_amount"))
            assert cents(refunds["amount"]) == bill.refunded_amount <= bill.total_amount
            assert cents(refunds["self_pay"]) == bill.refunded_self_pay_amount
            assert bill.refunded_self_pay_amount <= bill.self_pay_amount
            for line in bill.lines.all():
                assert line.refunded_quantity <= line.quantity
                assert line.refunded_amount <= line.amount
        income = cents(IncomeRecord.objects.aggregate(total=Sum("amount"))["total"])
        billed = cents(Bill.objects.aggregate(total=Sum("total_amount"))["total"])
        refunded = cents(Refund.objects.aggregate(total=Sum("amount"))["total"])
        assert income == billed - refunded

    @invariant()
    def summaries_equal_the_detail(self):
        assert DailyIncomeSummary.differences() == []
        assert DailyCategoryIncome.differences() == []


@pytest.mark.django_db
def test_random_cashier_days_keep_the_money_exact():
    # Half the profile's examples (20 in CI: ~40 s on MariaDB), 20 steps each.
    budget = settings(
        settings.default, max_examples=settings.default.max_examples // 2, stateful_step_count=20
    )
    run_state_machine_as_test(CashierDay, settings=budget)
