"""Pricing: a line's amount, insured and self-pay parts; a bill's sums; categories."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

from billing.pricing import group_by_category, manual_draft, price_charge, price_visit
from clinic.models import FeeCategory, InsuranceClass, InsurancePlan

PLAN = InsurancePlan(
    name="城镇职工", coverage_a=Decimal(90), coverage_b=Decimal(70), coverage_c=Decimal(0)
)


def charge(quantity: str, price: str, cls: str = "A", category: str = "drug", **extra):
    return SimpleNamespace(
        code=extra.get("code", "D001"),
        name=extra.get("name", "Amoxicillin"),
        category=category,
        unit="box",
        quantity=Decimal(quantity),
        unit_price=Decimal(price),
        insurance_class=cls,
    )


def test_amount_is_quantity_times_price_rounded_half_up():
    # 0.125 × 0.20 = 0.025 → 0.03 (half-up, not banker's 0.02)
    line = price_charge(charge("0.125", "0.20", cls="C"), None)
    assert line.amount == Decimal("0.03")
    assert (line.insured_amount, line.self_pay_amount) == (Decimal("0.00"), Decimal("0.03"))


def test_insured_part_is_the_coverage_of_the_class_rounded_half_up():
    line = price_charge(charge("3", "12.35", cls="B"), PLAN)  # 37.05 × 70 % = 25.935
    assert line.amount == Decimal("37.05")
    assert line.insured_amount == Decimal("25.94")
    assert line.self_pay_amount == Decimal("11.11")


def test_class_c_and_self_pay_patients_pay_everything():
    assert price_charge(charge("1", "50", cls="C"), PLAN).insured_amount == 0
    assert price_charge(charge("1", "50", cls="A"), None).self_pay_amount == Decimal("50.00")


def test_a_line_copies_the_charge_not_the_catalogue():
    source = charge("2", "9.99", code="X1", name="Copied name")
    line = price_charge(source, PLAN)
    assert (line.code, line.description, line.unit_price, line.charge) == (
        "X1",
        "Copied name",
        Decimal("9.99"),
        source,
    )


def test_bill_totals_are_the_sums_of_lines_and_the_plan_is_named():
    draft = price_visit(
        [charge("1", "10", "A", "registration"), charge("2", "3.33", "B"), charge("1", "5", "C")],
        PLAN,
    )
    assert draft.total == Decimal("21.66")
    assert draft.insured == Decimal("9.00") + Decimal("4.66")  # 6.66 × 70 % = 4.662
    assert draft.self_pay == draft.total - draft.insured
    assert draft.plan_name == "城镇职工"
    assert price_visit([], None).plan_name == ""


def test_groups_follow_the_catalogue_order_with_subtotals():
    draft = price_visit(
        [charge("1", "5", "A", "laboratory"), charge("1", "10", "A", "registration"),
         charge("1", "2", "A", "laboratory")],
        None,
    )  # fmt: skip
    groups = group_by_category(list(draft.lines))
    assert [g.category for g in groups] == [FeeCategory.REGISTRATION, FeeCategory.LABORATORY]
    assert groups[1].amount == Decimal("7.00") and len(groups[1].lines) == 2


def test_a_manual_draft_is_one_consultation_line_with_its_reason():
    draft = manual_draft(total=Decimal("86.50"), insurance=Decimal("50.00"), reason="typed")
    (line,) = draft.lines
    assert (line.category, line.insurance_class, line.manual_reason) == (
        FeeCategory.CONSULTATION,
        InsuranceClass.A,
        "typed",
    )
    assert (draft.total, draft.insured, draft.self_pay) == (
        Decimal("86.50"),
        Decimal("50.00"),
        Decimal("36.50"),
    )
