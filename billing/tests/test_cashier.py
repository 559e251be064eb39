"""The cashier's counter: shifts, tenders in the settlement, and refunds (services)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from hypothesis import given
from hypothesis import strategies as st

from billing.cashier import close_shift, day_report, open_shift, reopen_shift, shift_report
from billing.exceptions import (
    AlreadyRefunded,
    InvalidAmounts,
    InvalidRefund,
    InvalidTenders,
    NoOpenShift,
    RefundExceedsPaid,
    ShiftAlreadyOpen,
    ShiftClosed,
)
from billing.models import (
    Bill,
    BillLine,
    CashierShift,
    DailyCategoryIncome,
    DailyIncomeSummary,
    IncomeRecord,
    PayStatus,
    Refund,
    Tender,
)
from billing.refunds import can_refund, line_refund_figures, refund_bill
from billing.services import settle_visit
from billing.tests.factories import ChargeFactory, FeeItemFactory
from billing.tests.test_services import PAID_AT, itemised_visit
from clinic.exceptions import PermissionDenied
from clinic.models import AuditEvent, FeeItem, InsurancePlan
from clinic.tests.factories import AdminUserFactory, ReceptionistFactory
from tests.support import clinic_time
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

# itemised_visit(): 10 (A 90 %) + 2 × 12.35 (B 70 %) + 30 (C) = 64.70; insured 26.29;
# self-pay 38.41.
SELF_PAY = Decimal("38.41")


def cash(amount, handed_over=None):
    return {"method": "cash", "amount": str(amount), "handed_over": handed_over}


def wechat(amount, reference="4200001234"):
    return {"method": "wechat", "amount": str(amount), "reference": reference}


def another_visit():
    """itemised_visit()'s charges on one more visit (the catalogue's items made once)."""
    if not FeeItem.objects.filter(code="R1").exists():
        return itemised_visit()
    visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
    visit.patient.insurance_plan = InsurancePlan.objects.get(name="城镇职工")
    visit.patient.save(update_fields=["insurance_plan"])
    for code, quantity in (("R1", 1), ("D1", 2), ("L1", 1)):
        item = FeeItem.objects.get(code=code)
        kind = "registration" if code == "R1" else "order"
        ChargeFactory(visit=visit, fee_item=item, quantity=Decimal(quantity), kind=kind)
    return visit


def settled(by, tenders=None, now=PAID_AT):
    return settle_visit(visit=another_visit(), tenders=tenders, by=by, now=now)


# --- Shifts ---------------------------------------------------------------------------


def test_a_cashier_opens_one_shift_at_a_time():
    cashier = ReceptionistFactory(shift=False)
    shift = open_shift(by=cashier, opening_float="200")
    assert shift.is_open and shift.opening_float == Decimal("200.00")
    assert AuditEvent.objects.filter(action="shift.opened", object_id=str(shift.pk)).exists()
    with pytest.raises(ShiftAlreadyOpen):
        open_shift(by=cashier, opening_float="0")
    assert CashierShift.objects.filter(cashier=cashier).count() == 1


def test_the_database_refuses_a_second_open_shift():
    cashier = ReceptionistFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        CashierShift.objects.create(
            cashier=cashier,
            open_cashier=cashier.pk,
            opened_at=PAID_AT,
            opening_float=0,
        )


@pytest.mark.parametrize("amount", ["-1", "abc", "", None, "1e30"])
def test_a_bad_float_is_refused(amount):
    cashier = ReceptionistFactory(shift=False)
    with pytest.raises(InvalidAmounts):
        open_shift(by=cashier, opening_float=amount)
    assert not CashierShift.objects.exists()


def test_no_open_shift_no_money():
    cashier = ReceptionistFactory(shift=False)
    visit = itemised_visit()
    with pytest.raises(NoOpenShift):
        settle_visit(visit=visit, by=cashier)
    assert not Bill.objects.exists()


def test_the_seeds_body_pays_one_exact_cash_tender_in_the_open_shift(receptionist):
    bill = settled(receptionist)
    tender = Tender.objects.get(bill=bill)
    assert tender.method.code == "cash"
    assert tender.amount == SELF_PAY == bill.tendered_amount
    assert tender.change_given == 0
    assert bill.shift == tender.shift == CashierShift.objects.get(cashier=receptionist)


def test_cash_with_change_and_wechat(receptionist):
    bill = settled(receptionist, [cash("20.00", "50"), wechat("18.41")])
    tenders = list(bill.tenders.order_by("id"))
    assert [t.method.code for t in tenders] == ["cash", "wechat"]
    assert tenders[0].handed_over == Decimal("50.00")
    assert tenders[0].change_given == Decimal("30.00")
    assert tenders[1].reference == "4200001234"
    income = IncomeRecord.objects.get(bill=bill)
    assert (income.insurance_amount, income.self_pay_amount) == (
        Decimal("26.29"),
        SELF_PAY,
    )


@pytest.mark.parametrize(
    ("tenders", "field"),
    [
        ([cash("38.40")], "tenders"),
        ([cash("38.41", "30")], "tenders.0.handed_over"),
        ([wechat("38.41", reference="")], "tenders.0.reference"),
        ([{"method": "gold", "amount": "38.41"}], "tenders.0.method"),
        ([{"method": "wechat", "amount": "38.41", "handed_over": "40", "reference": "x"}],
         "tenders.0.handed_over"),
        ([cash("0")], "tenders.0.amount"),
        ([cash("-1")], "tenders.0.amount"),
        ({"method": "cash"}, "tenders"),
        (["cash"], "tenders.0"),
    ],
)  # fmt: skip
def test_bad_tenders_are_refused_and_nothing_is_written(receptionist, tenders, field):
    visit = itemised_visit()
    with pytest.raises(InvalidTenders) as caught:
        settle_visit(visit=visit, tenders=tenders, by=receptionist)
    assert field in caught.value.details
    assert not Bill.objects.exists() and not Tender.objects.exists()


def test_close_counts_the_drawer_and_records_the_difference(receptionist):
    shift = CashierShift.objects.get(cashier=receptionist)
    settled(receptionist, [cash("38.41", "100")])
    settled(receptionist, [wechat("38.41")])
    with pytest.raises(InvalidAmounts) as caught:
        close_shift(shift=shift, counted_cash="37.91", by=receptionist)
    assert "note" in caught.value.details
    closed = close_shift(shift=shift, counted_cash="37.91", note="a coin lost", by=receptionist)
    assert closed.expected_cash == Decimal("38.41")
    assert closed.cash_difference == Decimal("-0.50")
    assert closed.open_cashier is None
    with pytest.raises(ShiftClosed):
        close_shift(shift=shift, counted_cash="37.91", note="again", by=receptionist)
    with pytest.raises(NoOpenShift):
        settled(receptionist)
    report = shift_report(closed)
    by_code = {row.method.code: row for row in report.methods}
    assert by_code["cash"].taken == by_code["wechat"].taken == Decimal("38.41")
    assert report.bill_count == 2 and report.billed == Decimal("129.40")
    assert {row.category: row.net for row in report.categories} == {
        "registration": Decimal("20.00"),
        "drug": Decimal("49.40"),
        "laboratory": Decimal("60.00"),
    }


def test_only_its_cashier_or_a_manager_closes_a_shift(receptionist):
    shift = CashierShift.objects.get(cashier=receptionist)
    with pytest.raises(PermissionDenied):
        close_shift(shift=shift, counted_cash="0", by=ReceptionistFactory())
    close_shift(shift=shift, counted_cash="0", by=AdminUserFactory())


def test_a_manager_reopens_a_closed_shift_with_a_reason(receptionist):
    shift = close_shift(
        shift=CashierShift.objects.get(cashier=receptionist), counted_cash="0", by=receptionist
    )
    with pytest.raises(PermissionDenied):
        reopen_shift(shift=shift, reason="count again", by=receptionist)
    manager = AdminUserFactory()
    with pytest.raises(InvalidAmounts):
        reopen_shift(shift=shift, reason=" ", by=manager)
    reopened = reopen_shift(shift=shift, reason="count again", by=manager)
    assert reopened.is_open and reopened.reopen_count == 1
    event = AuditEvent.objects.get(action="shift.reopened")
    assert event.new_values["reason"] == "count again"
    assert event.old_values["counted_cash"] == "0.00"


def test_the_day_report_sums_the_shifts_and_flags_those_left_open(receptionist):
    settled(receptionist, [cash("38.41")])
    other = ReceptionistFactory()
    settled(other, [wechat("38.41")])
    close_shift(shift=CashierShift.objects.get(cashier=other), counted_cash="0", by=other)
    report = day_report(dt.date.today())
    assert report.bill_count == 2
    assert report.net == Decimal("76.82")
    assert [shift.cashier for shift in report.left_open] == [receptionist]


# --- Refunds --------------------------------------------------------------------------


def drug_line(bill):
    return bill.lines.get(code="D1")


def test_a_partial_refund_then_the_rest(receptionist):
    bill = settled(receptionist, [cash("38.41")])
    line = drug_line(bill)  # 2 × 12.35 = 24.70, insured 17.29
    refund = refund_bill(
        bill=bill,
        lines=[{"line": line.pk, "quantity": "1"}],
        reason="allergic",
        method="cash",
        by=receptionist,
        now=PAID_AT,
    )
    assert refund.amount == Decimal("12.35")
    assert refund.insurance_amount == Decimal("8.65")  # 17.29 / 2, half up
    assert refund.self_pay_amount == Decimal("3.70")
    bill.refresh_from_db()
    assert bill.pay_status == PayStatus.PARTIALLY_REFUNDED
    second = refund_bill(
        bill=bill, lines=[{"line": line.pk}], reason="rest", method="cash", by=receptionist,
        now=PAID_AT,
    )  # fmt: skip
    assert second.amount == Decimal("12.35")
    assert second.insurance_amount == Decimal("8.64")
    line.refresh_from_db()
    assert line.refunded_quantity == line.quantity
    assert line.refunded_amount == line.amount
    with pytest.raises(AlreadyRefunded):
        refund_bill(
            bill=bill, lines=[{"line": line.pk}], reason="again", method="cash",
            by=receptionist, now=PAID_AT,
        )  # fmt: skip


def test_refunding_every_line_refunds_the_bill_exactly(receptionist):
    bill = settled(receptionist, [cash("38.41", "100")])
    refund_bill(
        bill=bill,
        lines=[{"line": line.pk} for line in bill.lines.all()],
        reason="wrong patient",
        method="cash",
        by=receptionist,
        now=PAID_AT,
    )
    bill.refresh_from_db()
    assert bill.pay_status == PayStatus.REFUNDED
    assert bill.refunded_amount == bill.total_amount
    assert bill.refunded_self_pay_amount == bill.self_pay_amount
    net = sum(record.amount for record in IncomeRecord.objects.filter(bill=bill))
    assert net == 0
    row = DailyIncomeSummary.objects.get()
    assert (row.payments, row.refunds, row.total_amount) == (1, 1, 0)
    assert DailyIncomeSummary.differences() == []
    assert DailyCategoryIncome.differences() == []
    assert all(row.total_amount == 0 for row in DailyCategoryIncome.objects.all())


def test_more_than_is_left_is_409_and_nothing_changes(receptionist):
    bill = settled(receptionist)
    line = drug_line(bill)
    with pytest.raises(RefundExceedsPaid):
        refund_bill(
            bill=bill, lines=[{"line": line.pk, "quantity": "3"}], reason="x", method="cash",
            by=receptionist, now=PAID_AT,
        )  # fmt: skip
    assert not Refund.objects.exists()
    assert BillLine.objects.get(pk=line.pk).refunded_quantity == 0


def test_the_database_refuses_refunding_more_than_was_paid(receptionist):
    bill = settled(receptionist)
    line = drug_line(bill)
    with pytest.raises(IntegrityError), transaction.atomic():
        BillLine.objects.filter(pk=line.pk).update(refunded_quantity=Decimal("2.001"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Bill.objects.filter(pk=bill.pk).update(
            refunded_amount=Decimal("100"), refunded_self_pay_amount=Decimal("100")
        )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"lines": []}, "lines"),
        ({"lines": "all"}, "lines"),
        ({"lines": [{"line": "x"}]}, "lines.0.line"),
        ({"lines": [{"line": 1, "quantity": "-1"}]}, "lines.0.quantity"),
        ({"lines": [{"line": 1, "quantity": "0.0001"}]}, "lines.0.quantity"),
        ({"reason": ""}, "reason"),
        ({"reason": "x" * 201}, "reason"),
        ({"lines": [{"line": 999999}]}, "lines.0.line"),
        ({"method": "alipay"}, "method"),
    ],
)
def test_bad_refunds_are_400_and_write_nothing(receptionist, body, field):
    bill = settled(receptionist, [cash("38.41")])
    request = {
        "lines": [{"line": drug_line(bill).pk}],
        "reason": "allergic",
        "method": "cash",
        **body,
    }
    with pytest.raises(InvalidRefund) as caught:
        refund_bill(bill=bill, by=receptionist, now=PAID_AT, **request)
    assert field in caught.value.details
    assert not Refund.objects.exists()


def test_back_to_wechat_no_more_than_it_paid(receptionist):
    bill = settled(receptionist, [cash("38.00"), wechat("0.41")])
    lab = bill.lines.get(code="L1")  # 30.00, all self-pay
    with pytest.raises(InvalidRefund) as caught:
        refund_bill(
            bill=bill, lines=[{"line": lab.pk}], reason="not done", method="wechat",
            by=receptionist, now=PAID_AT,
        )  # fmt: skip
    assert "method" in caught.value.details
    refund = refund_bill(
        bill=bill, lines=[{"line": lab.pk}], reason="not done", method="cash",
        by=receptionist, now=PAID_AT,
    )  # fmt: skip
    assert refund.method.code == "cash" and refund.self_pay_amount == Decimal("30.00")


def test_who_may_refund(receptionist):
    bill = settled(receptionist)
    other = ReceptionistFactory()
    assert can_refund(bill, receptionist, PAID_AT.date())
    assert not can_refund(bill, other, PAID_AT.date())
    assert not can_refund(bill, receptionist, PAID_AT.date() + dt.timedelta(days=1))
    manager = AdminUserFactory()
    assert can_refund(bill, manager, PAID_AT.date() + dt.timedelta(days=1))
    line = drug_line(bill)
    with pytest.raises(PermissionDenied):
        refund_bill(
            bill=bill, lines=[{"line": line.pk}], reason="x", method="cash", by=other,
            now=PAID_AT,
        )  # fmt: skip
    # The manager needs an open shift of their own to give money back.
    with pytest.raises(NoOpenShift):
        refund_bill(
            bill=bill, lines=[{"line": line.pk}], reason="x", method="cash", by=manager,
            now=clinic_time(9, 0) + dt.timedelta(days=1),
        )  # fmt: skip
    open_shift(by=manager, opening_float="100")
    later = clinic_time(9, 0) + dt.timedelta(days=1)
    refund = refund_bill(
        bill=bill, lines=[{"line": line.pk}], reason="x", method="cash", by=manager, now=later
    )
    assert refund.record_date == later.date()
    assert IncomeRecord.objects.get(refund=refund).record_date == later.date()
    assert refund.shift.cashier == manager


def test_a_refund_in_a_closed_shift_is_refused(receptionist):
    bill = settled(receptionist)
    close_shift(
        shift=CashierShift.objects.get(cashier=receptionist), counted_cash="38.41",
        by=receptionist,
    )  # fmt: skip
    with pytest.raises(NoOpenShift):
        refund_bill(
            bill=bill, lines=[{"line": drug_line(bill).pk}], reason="x", method="cash",
            by=receptionist, now=PAID_AT,
        )  # fmt: skip


def test_the_close_counts_refunds_paid_from_the_drawer(receptionist):
    bill = settled(receptionist, [cash("38.41")])
    refund_bill(
        bill=bill, lines=[{"line": bill.lines.get(code="L1").pk}], reason="not done",
        method="cash", by=receptionist, now=PAID_AT,
    )  # fmt: skip
    shift = CashierShift.objects.get(cashier=receptionist)
    report = shift_report(shift)
    assert report.expected_cash == Decimal("8.41")
    assert report.refund_count == 1
    assert {row.category: row.net for row in report.categories}["laboratory"] == 0


@given(
    quantity=st.integers(min_value=1, max_value=10_000).map(lambda n: Decimal(n) / 1000),
    price=st.integers(min_value=0, max_value=100_000).map(lambda n: Decimal(n) / 100),
    coverage=st.integers(min_value=0, max_value=100),
    cuts=st.lists(st.integers(min_value=1, max_value=999), max_size=8),
)
def test_partial_refunds_of_a_line_never_drift(quantity, price, coverage, cuts):
    """Any sequence of partial refunds of a line gives back non-negative parts that never
    exceed what the line paid (amount, insured, self-pay), and all of it once the whole
    quantity is back."""
    amount = (quantity * price).quantize(Decimal("0.01"))
    insured = (amount * coverage / 100).quantize(Decimal("0.01"))
    marks = sorted({(quantity * cut / 1000).quantize(Decimal("0.001")) for cut in cuts})
    steps = [m for m in marks if 0 < m < quantity] + [quantity]
    done = given = given_insured = Decimal(0)
    for mark in steps:
        part, part_insured = line_refund_figures(
            quantity=quantity, amount=amount, insured=insured, refunded_quantity=done,
            refunded_amount=given, refunded_insured=given_insured, refund=mark - done,
        )  # fmt: skip
        assert 0 <= part_insured <= part
        given += part
        given_insured += part_insured
        done = mark
        assert given <= amount and given_insured <= insured
        assert given - given_insured <= amount - insured
    assert (given, given_insured) == (amount, insured)


def test_cash_goes_back_only_from_what_the_drawer_holds(receptionist):
    bill = settled(receptionist, [wechat("38.41")])  # nothing in the drawer
    with pytest.raises(InvalidRefund) as caught:
        refund_bill(
            bill=bill, lines=[{"line": bill.lines.get(code="L1").pk}], reason="x",
            method="cash", by=receptionist, now=PAID_AT,
        )  # fmt: skip
    assert "method" in caught.value.details
    refund = refund_bill(
        bill=bill, lines=[{"line": bill.lines.get(code="L1").pk}], reason="x",
        method="wechat", by=receptionist, now=PAID_AT,
    )  # fmt: skip
    assert refund.method.code == "wechat"


def test_a_bill_whose_lines_of_money_are_back_is_refunded(receptionist):
    visit = another_visit()
    ChargeFactory(visit=visit, fee_item=FeeItemFactory(code="Z0", unit_price=Decimal(0)))
    bill = settle_visit(visit=visit, by=receptionist, now=PAID_AT)
    paid_lines = [{"line": line.pk} for line in bill.lines.exclude(code="Z0")]
    refund_bill(
        bill=bill, lines=paid_lines, reason="x", method="cash", by=receptionist, now=PAID_AT
    )
    bill.refresh_from_db()
    assert bill.pay_status == PayStatus.REFUNDED
    assert bill.refunded_amount == bill.total_amount
