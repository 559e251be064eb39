"""Settlement: the itemised bill, the income it books and the patient's leaving, in one
transaction; and the bill's preview that the cashier's page and the API show before paying."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Count, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.amounts import CENT, clean_text, to_cents, validate_amounts
from billing.cashier import (
    TenderInput,
    lock_open_shift,
    parse_tenders,
    tenders_for,
    write_tenders,
)
from billing.exceptions import AlreadySettled, AmountsDiffer, BillOutOfBalance, InvalidAmounts
from billing.models import (
    Bill,
    BillLine,
    DailyCategoryIncome,
    DailyIncomeSummary,
    IncomeRecord,
    PayStatus,
    Tender,
    new_bill_number,
)
from billing.pricing import BillDraft, manual_draft, plan_label, price_visit
from clinic.audit import record_event
from clinic.db import atomic_with_retry
from clinic.models import MAX_AMOUNT, InsurancePlan, Patient, User
from clinic.roles import DESK_ROLES, ensure_role
from visits.charges import locked_charges
from visits.models import Charge, Visit


def default_manual_reason() -> str:
    """The reason a manual line records when the desk gives none."""
    return _("Amounts typed at the desk (visit without charges)")


def _plan_of(visit: Visit) -> InsurancePlan | None:
    """The patient's plan as it is now (read at settlement; NULL: self-pay). One query."""
    plan_id = Patient.objects.filter(pk=visit.patient_id).values("insurance_plan_id")[:1]
    return InsurancePlan.objects.filter(pk=Subquery(plan_id)).first()


def bill_preview(visit: Visit) -> BillDraft:
    """What settling the visit now would bill (read-only, same pricing as the settlement):
    its charges priced with the patient's plan. No lines when the visit has no charges."""
    charges = Charge.objects.filter(visit=visit).order_by("id")
    return price_visit(charges, _plan_of(visit))


@dataclass(frozen=True)
class Settlement:
    """The figures a settlement writes: the lines, the insurance paid (the estimate, or the
    bureau's figure) and the reason when it is the bureau's."""

    draft: BillDraft
    insurance: Decimal
    override_reason: str

    @property
    def total(self) -> Decimal:
        return self.draft.total

    @property
    def self_pay(self) -> Decimal:
        return self.total - self.insurance


def _check_given_amounts(total: Any, insurance: Any, self_pay: Any) -> None:
    """The amounts sent, on their own: each an amount, and consistent with each other where
    several are given (InvalidAmounts otherwise), whatever the visit's lines."""
    errors: dict[str, list[str]] = {}
    given = {
        name: to_cents(value, name, errors)
        for name, value in (
            ("total_amount", total),
            ("insurance_amount", insurance),
            ("self_pay_amount", self_pay),
        )
        if value not in (None, "")
    }
    if errors:
        raise InvalidAmounts(details=errors)
    if "total_amount" in given and "insurance_amount" in given:
        if given["insurance_amount"] > given["total_amount"]:
            raise InvalidAmounts(
                details={"insurance_amount": [_("Insurance cannot pay more than the total.")]}
            )
        expected = given["total_amount"] - given["insurance_amount"]
        if given.get("self_pay_amount", expected) != expected:
            raise InvalidAmounts(
                details={
                    "self_pay_amount": [
                        _("Self-pay must be the total minus insurance: %s.") % expected
                    ]
                }
            )


def _expected(figure: Decimal) -> list[str]:
    return [_("Expected %s.") % figure]


def _priced_settlement(
    draft: BillDraft,
    *,
    total_amount: Any,
    insurance_amount: Any,
    self_pay_amount: Any,
    override_reason: str,
) -> Settlement:
    """A visit with charges: the amounts sent (all optional) must be the lines' figures,
    except insurance with a reason (the bureau's figure for the whole bill)."""
    if draft.total > MAX_AMOUNT:
        raise InvalidAmounts(
            details={"total_amount": [_("An amount cannot exceed %s.") % MAX_AMOUNT]}
        )
    errors: dict[str, list[str]] = {}
    given = {
        name: to_cents(value, name, errors)
        for name, value in (
            ("total_amount", total_amount),
            ("insurance_amount", insurance_amount),
            ("self_pay_amount", self_pay_amount),
        )
        if value not in (None, "")
    }
    if errors:
        raise InvalidAmounts(details=errors)
    total = draft.total
    insurance = draft.insured
    if override_reason:
        if "insurance_amount" not in given:
            raise InvalidAmounts(
                details={"insurance_amount": [_("Enter the bureau's figure for insurance.")]}
            )
        insurance = given["insurance_amount"]
        if insurance > total:
            raise InvalidAmounts(
                details={"insurance_amount": [_("Insurance cannot pay more than the total.")]}
            )
    expected = {
        "total_amount": total,
        "insurance_amount": insurance,
        "self_pay_amount": total - insurance,
    }
    differ = {
        name: _expected(expected[name]) for name, value in given.items() if value != expected[name]
    }
    if differ:
        if "insurance_amount" in differ and not override_reason:
            differ["insurance_amount"].append(
                _("Give a reason to use the bureau's figure instead of the estimate.")
            )
        raise AmountsDiffer(
            _(
                "The bill's lines add up to %(total)s, insurance %(insurance)s, self-pay "
                "%(self_pay)s."
            )
            % {
                "total": total,
                "insurance": insurance,
                "self_pay": total - insurance,
            },
            details=differ,
        )
    return Settlement(draft=draft, insurance=insurance, override_reason=override_reason)


def _manual_settlement(
    *, total_amount: Any, insurance_amount: Any, self_pay_amount: Any, reason: str, plan_name: str
) -> Settlement:
    """A visit without charges: the seed's body, one manual line with its reason."""
    missing = {
        name: [_("Enter an amount such as 86.50.")]
        for name, value in (("total_amount", total_amount), ("insurance_amount", insurance_amount))
        if value in (None, "")
    }
    if missing:
        raise InvalidAmounts(details=missing)
    amounts = validate_amounts(total_amount, insurance_amount, self_pay_amount)
    draft = manual_draft(
        total=amounts.total,
        insurance=amounts.insurance,
        reason=reason or default_manual_reason(),
        plan_name=plan_name,
    )
    return Settlement(draft=draft, insurance=amounts.insurance, override_reason="")


@atomic_with_retry
def settle_visit(
    *,
    visit: Visit,
    total_amount: Any = None,
    insurance_amount: Any = None,
    self_pay_amount: Any = None,
    override_reason: Any = "",
    manual_reason: Any = "",
    tenders: Any = None,
    by: User,
    now: dt.datetime | None = None,
) -> Bill:
    """Settle a visit awaiting payment: a paid itemised bill, its income record, and the
    visit leaves.

    A visit with charges is billed their lines, priced with the patient's plan as it is now;
    amounts sent must be those figures (AmountsDiffer names them), except `insurance_amount`
    with an `override_reason`: the bureau's figure for the whole bill (the estimate is kept).
    A visit without charges takes `total_amount` and `insurance_amount` as typed: one manual
    consultation line with `manual_reason` (a default text when empty).

    The self-pay part is paid by `tenders` (a list of {method, amount, handed_over,
    reference}, adding up to it), or, none sent, by one cash tender of the exact amount;
    all in the cashier's open shift (NoOpenShift without one).

    A zero total is a valid settlement. A second settlement of the same visit fails cleanly
    (AlreadySettled), and any failure leaves nothing written.
    """
    ensure_role(by, *DESK_ROLES)
    errors: dict[str, list[str]] = {}
    override_reason = clean_text(override_reason, "override_reason", errors)
    manual_reason = clean_text(manual_reason, "manual_reason", errors)
    if errors:
        raise InvalidAmounts(details=errors)
    _check_given_amounts(total_amount, insurance_amount, self_pay_amount)
    sent_tenders = parse_tenders(tenders)
    now = now or timezone.now()
    # Lock order: Visit, its Charges (by id), the cashier's open shift, then the Bill and
    # its lines, the tenders, the income record, and the day's summary rows last (so that a
    # busy doctor's rows are held only from those writes to the commit). The visit's lock
    # serialises settlements of one visit; the shift's, a settlement and the shift's close.
    visit.lock_for_update()
    charges = locked_charges(visit)
    shift = lock_open_shift(by)
    plan = _plan_of(visit)
    # The input's own faults first (as before itemised bills), then the visit's state.
    if not charges:
        if override_reason:
            raise InvalidAmounts(
                details={"override_reason": [
                    _("The bureau's figure replaces an estimate: a typed bill has none.")
                ]}
            )  # fmt: skip
        settlement = _manual_settlement(
            total_amount=total_amount,
            insurance_amount=insurance_amount,
            self_pay_amount=self_pay_amount,
            reason=manual_reason,
            plan_name=plan_label(plan),
        )
    elif manual_reason:
        raise InvalidAmounts(
            details={
                "manual_reason": [_("A visit with charges is billed its lines, not a manual line.")]
            }
        )
    if Bill.objects.filter(visit=visit).exists():
        raise AlreadySettled()
    visit.ensure_move_allowed(Visit.Status.LEFT)
    if charges:
        settlement = _priced_settlement(
            price_visit(charges, plan),
            total_amount=total_amount,
            insurance_amount=insurance_amount,
            self_pay_amount=self_pay_amount,
            override_reason=override_reason,
        )
    draft = settlement.draft
    paid_with = tenders_for(sent_tenders, settlement.self_pay)
    record_date = timezone.localdate(now)
    bill = Bill.objects.create(
        visit=visit,
        number=new_bill_number(now),
        total_amount=settlement.total,
        insurance_amount=settlement.insurance,
        self_pay_amount=settlement.self_pay,
        estimated_insurance_amount=draft.insured,
        insurance_override_reason=settlement.override_reason,
        insurance_plan_name=draft.plan_name,
        pay_status=PayStatus.PAID,
        pay_time=now,
        cashier=by,
        shift=shift,
        tendered_amount=settlement.self_pay,
    )
    _write_lines(bill, draft)
    write_tenders(bill, shift, paid_with, record_date)
    income = IncomeRecord.objects.create(
        bill=bill,
        department_id=visit.department_id,
        doctor_id=visit.schedule.doctor_id,
        amount=settlement.total,
        insurance_amount=settlement.insurance,
        self_pay_amount=settlement.self_pay,
        record_date=record_date,
    )
    ensure_bill_balanced(bill)
    visit.leave_after_settlement(by=by)
    _audit_settlement(bill, settlement, paid_with, by=by)
    DailyIncomeSummary.add_payment(
        record_date=income.record_date,
        department_id=income.department_id,
        doctor_id=income.doctor_id,
        total=settlement.total,
        insurance=settlement.insurance,
        self_pay=settlement.self_pay,
    )
    DailyCategoryIncome.add_lines(
        record_date=income.record_date,
        department_id=income.department_id,
        doctor_id=income.doctor_id,
        lines=draft.lines,
    )
    return bill


def _write_lines(bill: Bill, draft: BillDraft) -> None:
    BillLine.objects.bulk_create([line.as_bill_line(bill) for line in draft.lines])


def ensure_bill_balanced(bill: Bill) -> None:
    """The saved bill equals the sum of its saved lines (total, and the estimate the sum of
    the insured parts) and its self-pay the sum of its tenders, re-read with one statement;
    BillOutOfBalance otherwise, which undoes the settlement."""
    saved = (
        Bill.objects.filter(pk=bill.pk)
        .annotate(
            line_count=Subquery(_line_sums(bill, Count("id"))),
            line_amount=Subquery(_line_sums(bill, Sum("amount"))),
            line_insured=Subquery(_line_sums(bill, Sum("insured_amount"))),
            tendered=Subquery(
                Tender.objects.filter(bill=bill)
                .values("bill_id")
                .annotate(total=Sum("amount"))
                .values("total")
            ),
        )
        .values(
            "total_amount", "estimated_insurance_amount", "self_pay_amount", "line_count",
            "line_amount", "line_insured", "tendered",
        )[0]
    )  # fmt: skip
    amount = (saved["line_amount"] or Decimal(0)).quantize(CENT)
    insured = (saved["line_insured"] or Decimal(0)).quantize(CENT)
    tendered = (saved["tendered"] or Decimal(0)).quantize(CENT)
    if (
        not saved["line_count"]
        or amount != saved["total_amount"].quantize(CENT)
        or insured != saved["estimated_insurance_amount"].quantize(CENT)
        or tendered != saved["self_pay_amount"].quantize(CENT)
    ):
        raise BillOutOfBalance(
            details={
                "total_amount": [str(saved["total_amount"]), str(amount)],
                "estimated_insurance_amount": [
                    str(saved["estimated_insurance_amount"]),
                    str(insured),
                ],
                "tenders": [str(saved["self_pay_amount"]), str(tendered)],
            }
        )


def _line_sums(bill: Bill, aggregate: Any) -> Any:
    return (
        BillLine.objects.filter(bill=bill)
        .values("bill_id")
        .annotate(result=aggregate)
        .values("result")
    )


def _audit_settlement(
    bill: Bill, settlement: Settlement, tenders: list[TenderInput], *, by: User
) -> None:
    new = {
        "visit": bill.visit_id,
        "total_amount": str(settlement.total),
        "insurance_amount": str(settlement.insurance),
        "self_pay_amount": str(settlement.self_pay),
        "estimated_insurance_amount": str(settlement.draft.insured),
        "insurance_plan": settlement.draft.plan_name,
        "lines": len(settlement.draft.lines),
        "shift": bill.shift_id,
        "tenders": [
            {"method": tender.method.code, "amount": str(tender.amount)}
            | ({"change": str(tender.change)} if tender.change else {})
            | ({"reference": tender.reference} if tender.reference else {})
            for tender in tenders
        ],
    }
    record_event(actor=by, action="bill.settled", obj=bill, patient=bill.visit.patient, new=new)
    if settlement.override_reason:
        record_event(
            actor=by,
            action="bill.insurance_overridden",
            obj=bill,
            patient=bill.visit.patient,
            old={"insurance_amount": str(settlement.draft.insured)},
            new={
                "insurance_amount": str(settlement.insurance),
                "reason": settlement.override_reason,
            },
        )
