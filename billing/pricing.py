"""What a visit costs: its charges priced into bill lines with the patient's plan. Pure
functions, no database access: the settlement (billing.services.settle_visit), its preview
(`bill_preview`) and the Hypothesis test all use this one code.

A line's amount is its charge's (visits.charges.charge_amount: quantity × unit price rounded
half-up to cents, as the doctor's panel shows it); its insured part is the
amount × the plan's coverage of the line's insurance class (in percent), rounded half-up to
cents; its self-pay part the rest. A bill's figures are the sums of its lines."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from clinic.models import FeeCategory, InsuranceClass
from clinic.templatetags.clinic_format import format_number
from visits.charges import charge_amount

if TYPE_CHECKING:
    from billing.models import Bill, BillLine
    from clinic.models import InsurancePlan
    from visits.models import Charge

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
HUNDRED = Decimal(100)


def to_cents(value: Decimal) -> Decimal:
    """Rounded half-up to cents ("+ 0" turns -0.00 into 0.00)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP) + 0


def coverage_of(plan: InsurancePlan | None, insurance_class: str) -> Decimal:
    """The percentage of an item of this class that the plan pays (none: self-pay)."""
    return plan.coverage(insurance_class) if plan is not None else ZERO


@dataclass(frozen=True)
class LineDraft:
    """A bill line before it is saved: what `BillLine` will hold."""

    code: str
    description: str
    category: str
    unit: str
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    insurance_class: str
    insured_amount: Decimal
    self_pay_amount: Decimal
    charge: Charge | None = None
    manual_reason: str = ""

    @property
    def quantity_display(self) -> str:
        return format_number(self.quantity)

    def get_category_display(self) -> str:
        return str(FeeCategory(self.category).label)

    def get_insurance_class_display(self) -> str:
        return str(InsuranceClass(self.insurance_class).label)

    def as_bill_line(self, bill: Bill) -> BillLine:
        from billing.models import BillLine

        return BillLine(
            bill=bill,
            charge=self.charge,
            code=self.code,
            description=self.description,
            category=self.category,
            unit=self.unit,
            quantity=self.quantity,
            unit_price=self.unit_price,
            amount=self.amount,
            insurance_class=self.insurance_class,
            insured_amount=self.insured_amount,
            self_pay_amount=self.self_pay_amount,
            manual_reason=self.manual_reason,
        )


@dataclass(frozen=True)
class CategoryGroup:
    """A bill's lines of one fee category, with their subtotals (for pages and receipts)."""

    category: str
    label: str
    lines: list[Any]
    amount: Decimal
    insured_amount: Decimal
    self_pay_amount: Decimal


def group_by_category(lines: list[Any]) -> list[CategoryGroup]:
    """Lines (drafts or saved BillLines) grouped in the catalogue's category order, each
    group keeping its lines' order."""
    groups = []
    for category in FeeCategory:
        members = [line for line in lines if line.category == category.value]
        if members:
            groups.append(
                CategoryGroup(
                    category=category.value,
                    label=str(category.label),
                    lines=members,
                    amount=sum((line.amount for line in members), ZERO),
                    insured_amount=sum((line.insured_amount for line in members), ZERO),
                    self_pay_amount=sum((line.self_pay_amount for line in members), ZERO),
                )
            )
    return groups


@dataclass(frozen=True)
class BillDraft:
    """A bill before it is saved: its lines, the plan's name, and their sums."""

    lines: tuple[LineDraft, ...]
    plan_name: str = ""

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def insured(self) -> Decimal:
        return sum((line.insured_amount for line in self.lines), ZERO)

    @property
    def self_pay(self) -> Decimal:
        return sum((line.self_pay_amount for line in self.lines), ZERO)

    @property
    def by_category(self) -> list[CategoryGroup]:
        return group_by_category(list(self.lines))


def price_charge(charge: Charge, plan: InsurancePlan | None) -> LineDraft:
    """One charge as a bill line: its copied code, name, unit, price and class, never the
    catalogue's current ones."""
    amount = charge_amount(charge)  # the figure the doctor's panel showed
    insured = to_cents(amount * coverage_of(plan, charge.insurance_class) / HUNDRED)
    return LineDraft(
        code=charge.code,
        description=charge.name,
        category=charge.category,
        unit=charge.unit,
        quantity=charge.quantity,
        unit_price=charge.unit_price,
        amount=amount,
        insurance_class=charge.insurance_class,
        insured_amount=insured,
        self_pay_amount=amount - insured,
        charge=charge,
    )


def plan_label(plan: InsurancePlan | None) -> str:
    """What a bill records as its plan: the plan's name, empty for self-pay."""
    return plan.name if plan is not None else ""


def price_visit(charges: Any, plan: InsurancePlan | None) -> BillDraft:
    """A visit's charges (in their order) priced with the patient's plan (None: self-pay)."""
    return BillDraft(
        lines=tuple(price_charge(charge, plan) for charge in charges), plan_name=plan_label(plan)
    )


def manual_draft(
    *, total: Decimal, insurance: Decimal, reason: str, plan_name: str = ""
) -> BillDraft:
    """The bill of a visit without charges: one consultation line of the typed total, its
    insured part as typed (the seed's payment body, kept for older integrations)."""
    return BillDraft(
        lines=(
            LineDraft(
                code="",
                description=str(FeeCategory.CONSULTATION.label),
                category=FeeCategory.CONSULTATION,
                unit="",
                quantity=Decimal(1),
                unit_price=total,
                amount=total,
                insurance_class=InsuranceClass.A if insurance else InsuranceClass.C,
                insured_amount=insurance,
                self_pay_amount=total - insurance,
                manual_reason=reason,
            ),
        ),
        plan_name=plan_name,
    )
