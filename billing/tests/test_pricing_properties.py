"""Random charges × random plans: every line satisfies the database's CHECKs and every bill
is the sum of its lines — checked in Python and by saving them on the test database."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.db import transaction
from hypothesis import given
from hypothesis import strategies as st

from billing.models import Bill, BillLine
from billing.pricing import HUNDRED, price_visit, to_cents
from billing.tests.factories import BillFactory
from clinic.models import InsuranceClass, InsurancePlan

CENT = Decimal("0.01")
HALF_CENT = Decimal("0.005")

percent = st.decimals(min_value=0, max_value=100, places=2)
plans = st.one_of(
    st.none(),
    st.builds(
        lambda a, b, c: InsurancePlan(name="P", coverage_a=a, coverage_b=b, coverage_c=c),
        percent,
        percent,
        percent,
    ),
)
# Whole and fractional quantities; at most 10 lines of 99 × 99,999.99 fit DECIMAL(10, 2).
quantities = st.one_of(
    st.integers(min_value=1, max_value=99).map(Decimal),
    st.decimals(min_value=Decimal("0.001"), max_value=99, places=3),
)
charges = st.builds(
    lambda q, p, c, cat: SimpleNamespace(
        code="X", name="Item", category=cat, unit="u", quantity=q, unit_price=p, insurance_class=c
    ),
    quantities,
    st.decimals(min_value=0, max_value=Decimal("99999.99"), places=2),
    st.sampled_from(InsuranceClass.values),
    st.sampled_from(["drug", "examination", "laboratory", "registration"]),
)


def check_line(line, plan) -> None:
    product = line.quantity * line.unit_price
    assert abs(line.amount - product) <= HALF_CENT
    assert line.amount == line.amount.quantize(CENT)
    assert line.insured_amount + line.self_pay_amount == line.amount
    assert min(line.amount, line.insured_amount, line.self_pay_amount) >= 0
    coverage = plan.coverage(line.insurance_class) if plan else Decimal(0)
    assert line.insured_amount == to_cents(line.amount * coverage / HUNDRED)


@given(st.lists(charges, min_size=0, max_size=10), plans)
def test_lines_and_bills_satisfy_the_rules(charge_list, plan):
    draft = price_visit(charge_list, plan)
    for line in draft.lines:
        check_line(line, plan)
    assert draft.total == sum((line.amount for line in draft.lines), Decimal(0))
    assert draft.insured == sum((line.insured_amount for line in draft.lines), Decimal(0))
    assert draft.insured + draft.self_pay == draft.total
    assert 0 <= draft.insured <= draft.total


LINE_FIELDS = (
    "code", "description", "category", "unit", "quantity", "unit_price",
    "amount", "insurance_class", "insured_amount", "self_pay_amount",
)  # fmt: skip


def line_fields(line) -> dict:
    return {name: getattr(line, name) for name in LINE_FIELDS}


@pytest.fixture
def bill_template(db):
    return BillFactory(lines=False)


@pytest.mark.django_db
@given(charge_list=st.lists(charges, min_size=1, max_size=10), plan=plans)
def test_the_database_accepts_every_priced_bill(bill_template, charge_list, plan):
    draft = price_visit(charge_list, plan)
    bill = bill_template
    with transaction.atomic():
        # The bill's row takes the draft's figures (its CHECKs apply to the UPDATE).
        Bill.objects.filter(pk=bill.pk).update(
            total_amount=draft.total,
            insurance_amount=draft.insured,
            self_pay_amount=draft.self_pay,
            estimated_insurance_amount=draft.insured,
        )
        lines = [
            BillLine(bill=bill, manual_reason="property test", **line_fields(line))
            for line in draft.lines
        ]
        BillLine.objects.bulk_create(lines)
        saved = BillLine.objects.filter(bill=bill)
        assert saved.count() == len(draft.lines)
        transaction.set_rollback(True)
