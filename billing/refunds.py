"""Refunds: money given back for whole lines or part of a line's quantity of a paid bill,
with a reason, in the refunding cashier's open shift.

A refund never edits what the bill charged. It adds a Refund with its RefundLines, raises
the bill's and the lines' refunded counters (CHECKed: never above what was paid), moves
the bill paid → partially refunded → refunded, books a negative income record on the
refund's own day and takes its figures off the day's summaries, all in one transaction.

Lock order (ARCHITECTURE.md): CashierShift → Bill → BillLines (by id) → IncomeRecord →
summary rows, as the settlement takes them after the visit and its charges.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from billing.amounts import CENT, REFERENCE_LENGTH, TEXT_LENGTH, ZERO, clean_text
from billing.cashier import lock_open_shift, shift_report
from billing.exceptions import AlreadyRefunded, BillNotPaid, InvalidRefund, RefundExceedsPaid
from billing.models import (
    Bill,
    BillLine,
    DailyCategoryIncome,
    DailyIncomeSummary,
    IncomeRecord,
    PaymentMethod,
    PayStatus,
    Refund,
    RefundLine,
    Tender,
)
from clinic.audit import record_event
from clinic.db import atomic_with_retry
from clinic.exceptions import PermissionDenied
from clinic.models import MAX_QUANTITY, Role, User
from clinic.roles import DESK_ROLES, ensure_role
from clinic.templatetags.clinic_format import format_money, format_number

REASON_LENGTH = TEXT_LENGTH
QUANTITY_STEP = Decimal("0.001")


def can_refund(bill: Bill, user: User, today: dt.date | None = None) -> bool:
    """The one access rule: a manager (administrator) refunds any paid bill; a cashier only
    bills of their own shift paid today (the clinic's day)."""
    if not user.is_authenticated or user.role not in DESK_ROLES:
        return False
    if not bill.refundable:
        return False
    if user.role == Role.ADMIN:
        return True
    today = today or timezone.localdate()
    return (
        bill.shift_id is not None
        and bill.shift.cashier_id == user.pk
        and bill.pay_time is not None
        and timezone.localdate(bill.pay_time) == today
    )


def refund_methods(bill: Bill) -> list[PaymentMethod]:
    """How the patient's part may be paid back: cash from the drawer, or the electronic
    methods the bill was paid with (back to where it came from)."""
    paid_with = Tender.objects.filter(bill=bill).values("method_id")
    methods = PaymentMethod.objects.filter(is_cash=True, is_active=True) | (
        PaymentMethod.objects.filter(pk__in=paid_with)
    )
    return list(methods.distinct().order_by("sort_order", "id"))


@dataclass(frozen=True)
class RefundRequest:
    line_id: int
    quantity: Decimal | None


def _parse_lines(raw: Any, errors: dict[str, list[str]]) -> list[RefundRequest]:
    if not isinstance(raw, list | tuple) or not raw:
        errors["lines"] = [_("Choose at least one line to refund.")]
        return []
    requests: list[RefundRequest] = []
    seen: set[int] = set()
    for index, item in enumerate(raw):
        prefix = f"lines.{index}."
        if not isinstance(item, dict):
            errors[f"lines.{index}"] = [_("Each line is an object.")]
            continue
        line_id = item.get("line")
        if isinstance(line_id, bool) or not isinstance(line_id, int) or line_id < 1:
            errors[prefix + "line"] = [_("Give the bill line's id.")]
            continue
        if line_id in seen:
            errors[prefix + "line"] = [_("Each line once.")]
            continue
        seen.add(line_id)
        quantity = item.get("quantity")
        if quantity in (None, ""):
            requests.append(RefundRequest(line_id, None))
            continue
        try:
            value = Decimal(str(quantity).strip()) if not isinstance(quantity, bool) else None
        except (InvalidOperation, ValueError):
            value = None
        if value is None or not value.is_finite() or value <= 0 or value > MAX_QUANTITY:
            errors[prefix + "quantity"] = [_("Enter a quantity greater than 0.")]
            continue
        if value != value.quantize(QUANTITY_STEP):
            errors[prefix + "quantity"] = [_("At most three decimal places.")]
            continue
        requests.append(RefundRequest(line_id, value))
    return requests


def _share(amount: Decimal, part: Decimal, whole: Decimal) -> Decimal:
    """`amount` × part ÷ whole, to the cent, half up."""
    if not whole:
        return ZERO
    return (amount * part / whole).quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class LineRefund:
    line: BillLine
    quantity: Decimal
    amount: Decimal
    insured: Decimal

    @property
    def category(self) -> str:
        return self.line.category

    @property
    def insured_amount(self) -> Decimal:
        return self.insured

    @property
    def self_pay_amount(self) -> Decimal:
        return self.amount - self.insured


def line_refund_figures(
    *,
    quantity: Decimal,
    amount: Decimal,
    insured: Decimal,
    refunded_quantity: Decimal,
    refunded_amount: Decimal,
    refunded_insured: Decimal,
    refund: Decimal,
) -> tuple[Decimal, Decimal]:
    """What refunding `refund` more of a line gives back: (amount, insured part). Pure, the
    one computation (refunds, and the demo history's).

    From running totals: after the refund the line has given back its share of the amount
    and of the insured part for all the quantity refunded so far (to the cent, half up;
    exactly the line's figures once all of it is back), less what earlier refunds gave. So
    partial refunds never drift from the line, and the last takes exactly what is left. The
    insured part stays within what insurance and the patient each have left to get back.
    """
    after = refunded_quantity + refund
    if after == quantity:
        amount_after, insured_after = amount, insured
    else:
        amount_after = _share(amount, after, quantity)
        insured_after = _share(insured, after, quantity)
    given = max(amount_after - refunded_amount, ZERO)
    self_pay_left = (amount - insured) - (refunded_amount - refunded_insured)
    insured_given = insured_after - refunded_insured
    insured_given = min(insured_given, insured - refunded_insured, given)
    return given, max(insured_given, given - self_pay_left, ZERO)


def _line_refund(line: BillLine, quantity: Decimal | None, index: int) -> LineRefund:
    """What refunding `quantity` of the line gives back (line_refund_figures)."""
    left = line.quantity - line.refunded_quantity
    if left <= 0:
        raise AlreadyRefunded(
            _("“%s” has already been refunded in full.") % line.description,
            details={f"lines.{index}.line": [_("Already refunded in full.")]},
        )
    quantity = left if quantity is None else quantity
    if quantity > left:
        raise RefundExceedsPaid(
            _("At most %(left)s of “%(line)s” can be refunded.")
            % {"left": format_number(left), "line": line.description},
            details={f"lines.{index}.quantity": [_("At most %s.") % format_number(left)]},
        )
    amount, insured = line_refund_figures(
        quantity=line.quantity,
        amount=line.amount,
        insured=line.insured_amount,
        refunded_quantity=line.refunded_quantity,
        refunded_amount=line.refunded_amount,
        refunded_insured=line.refunded_insured_amount,
        refund=quantity,
    )
    return LineRefund(line, quantity, amount, insured)


def _insurance_part(bill: Bill, amount: Decimal, estimate: Decimal, completes: bool) -> Decimal:
    """The refund's insured part at the bill's level: the lines' estimate, or — for a bill
    whose insurance was the bureau's figure — the bill's own insured share of the amount;
    always within what insurance and the patient have left to get back, and exactly that
    when the refund completes the bill."""
    insurance_left = bill.insurance_amount - bill.refunded_insurance_amount
    self_pay_left = bill.self_pay_amount - bill.refunded_self_pay_amount
    if completes:
        return insurance_left
    share = estimate
    if bill.insurance_override_reason:
        share = _share(amount, bill.insurance_amount, bill.total_amount)
    return max(amount - self_pay_left, min(share, insurance_left), ZERO)


def _check_method(
    bill: Bill, code: str, self_pay: Decimal, errors: dict[str, list[str]]
) -> PaymentMethod | None:
    """The method the patient's part goes back by: cash, or one the bill was paid with, and
    by that one no more than it paid (less what earlier refunds gave back by it)."""
    if not self_pay:
        return None
    method = next((m for m in refund_methods(bill) if m.code == code), None)
    if method is None:
        errors["method"] = [_("Choose cash or a method the bill was paid with.")]
        return None
    if not method.is_cash:
        paid = Tender.objects.filter(bill=bill, method=method).aggregate(total=Sum("amount"))
        given = Refund.objects.filter(bill=bill, method=method).aggregate(
            total=Sum("self_pay_amount")
        )
        given_back = given["total"] or ZERO
        paid = paid["total"] or ZERO
        if self_pay > paid - given_back:
            errors["method"] = [
                _("At most %(left)s can go back by %(method)s.")
                % {"left": format_money(paid - given_back), "method": method.display_name}
            ]
            return None
    return method


def _ensure_cash_in_drawer(shift: Any, method: PaymentMethod | None, self_pay: Decimal) -> None:
    """Cash goes back from the refunder's drawer (its shift, locked): never more than the
    drawer holds, the shift's expected cash (billing.cashier: the one computation)."""
    if method is None or not method.is_cash:
        return
    drawer = shift_report(shift).expected_cash
    if self_pay > drawer:
        raise InvalidRefund(
            details={
                "method": [
                    _("The drawer holds %(drawer)s: not enough cash to give back %(amount)s.")
                    % {"drawer": format_money(drawer), "amount": format_money(self_pay)}
                ]
            }
        )


@atomic_with_retry
def refund_bill(
    *,
    bill: Bill | int,
    lines: Any,
    reason: Any,
    method: Any = None,
    reference: Any = "",
    by: User,
    now: dt.datetime | None = None,
) -> Refund:
    """Refund some lines of a paid bill (each whole, or part of its quantity) with a reason.

    By the bill's cashier on the day it was paid, otherwise by a manager (can_refund); in
    the refunder's open shift (NoOpenShift). The patient's part is paid back by `method`
    (a payment method's code: cash, or one the bill was paid with). A line already refunded
    in full is AlreadyRefunded (409); more than is left, RefundExceedsPaid (409). Input
    faults are InvalidRefund (400) naming the fields; nothing is written on any error.
    """
    ensure_role(by, *DESK_ROLES)
    errors: dict[str, list[str]] = {}
    requests = _parse_lines(lines, errors)
    reason = clean_text(reason, "reason", errors, REASON_LENGTH)
    if not reason and "reason" not in errors:
        errors["reason"] = [_("Give the reason for the refund.")]
    reference = clean_text(reference, "reference", errors, REFERENCE_LENGTH)
    code = "" if method is None else str(method).strip()
    if errors:
        raise InvalidRefund(details=errors)
    now = now or timezone.now()
    bill_id = bill.pk if isinstance(bill, Bill) else bill
    # Lock order: the refunder's shift, the bill, its lines by id.
    shift = lock_open_shift(by)
    bill = Bill.objects.select_for_update().get(pk=bill_id)
    if not can_refund(bill, by, timezone.localdate(now)):
        if bill.pay_status == PayStatus.REFUNDED:
            raise AlreadyRefunded(_("This bill has already been refunded in full."))
        if not bill.refundable:
            raise BillNotPaid()
        raise PermissionDenied(
            _("Refunds of another cashier's shift or an earlier day are for a manager.")
        )
    bill_lines = {
        line.pk: line
        for line in BillLine.objects.select_for_update().filter(bill=bill).order_by("id")
    }
    unknown = {
        f"lines.{index}.line": [_("Not a line of this bill.")]
        for index, request in enumerate(requests)
        if request.line_id not in bill_lines
    }
    if unknown:
        raise InvalidRefund(details=unknown)
    parts = [
        _line_refund(bill_lines[request.line_id], request.quantity, index)
        for index, request in enumerate(requests)
    ]
    amount = sum((part.amount for part in parts), ZERO)
    refunded = {part.line.pk: part.quantity for part in parts}
    # Every line back (a line of ¥0 has nothing to give back: it counts as back).
    completes = all(
        line.refunded_quantity + refunded.get(line.pk, 0) == line.quantity or not line.amount
        for line in bill_lines.values()
    )
    insurance = _insurance_part(
        bill, amount, sum((part.insured for part in parts), ZERO), completes
    )
    self_pay = amount - insurance
    paid_back_by = _check_method(bill, code, self_pay, errors)
    if errors:
        raise InvalidRefund(details=errors)
    _ensure_cash_in_drawer(shift, paid_back_by, self_pay)
    refund = Refund.objects.create(
        bill=bill,
        shift=shift,
        method=paid_back_by,
        amount=amount,
        insurance_amount=insurance,
        self_pay_amount=self_pay,
        reason=reason,
        reference=reference,
        record_date=timezone.localdate(now),
        created_by=by,
        created_at=now,
    )
    RefundLine.objects.bulk_create(
        [
            RefundLine(
                refund=refund,
                bill_line=part.line,
                category=part.line.category,
                quantity=part.quantity,
                amount=part.amount,
                insured_amount=part.insured,
                self_pay_amount=part.self_pay_amount,
            )
            for part in parts
        ]
    )
    for part in parts:
        line = part.line
        line.refunded_quantity += part.quantity
        line.refunded_amount += part.amount
        line.refunded_insured_amount += part.insured
        line.save(update_fields=["refunded_quantity", "refunded_amount", "refunded_insured_amount"])
    old_status = bill.pay_status
    bill.refunded_amount += amount
    bill.refunded_insurance_amount += insurance
    bill.refunded_self_pay_amount += self_pay
    bill.pay_status = PayStatus.REFUNDED if completes else PayStatus.PARTIALLY_REFUNDED
    bill.save(
        update_fields=[
            "refunded_amount", "refunded_insurance_amount", "refunded_self_pay_amount",
            "pay_status",
        ]
    )  # fmt: skip
    payment = IncomeRecord.objects.filter(bill=bill, refund__isnull=True).first()
    department_id = payment.department_id if payment else bill.visit.department_id
    doctor_id = payment.doctor_id if payment else bill.visit.schedule.doctor_id
    IncomeRecord.objects.create(
        bill=bill,
        refund=refund,
        department_id=department_id,
        doctor_id=doctor_id,
        amount=-amount,
        insurance_amount=-insurance,
        self_pay_amount=-self_pay,
        record_date=refund.record_date,
    )
    record_event(
        actor=by,
        action="bill.refunded",
        obj=bill,
        patient=bill.visit.patient,
        old={"pay_status": old_status},
        new={
            "pay_status": bill.pay_status,
            "refund": refund.number,
            "amount": str(amount),
            "insurance_amount": str(insurance),
            "self_pay_amount": str(self_pay),
            "method": paid_back_by.code if paid_back_by else None,
            "reason": reason,
            "shift": shift.pk,
            "lines": [
                {"line": part.line.pk, "quantity": str(part.quantity), "amount": str(part.amount)}
                for part in parts
            ],
        },
    )
    DailyIncomeSummary.add_payment(
        record_date=refund.record_date,
        department_id=department_id,
        doctor_id=doctor_id,
        total=-amount,
        insurance=-insurance,
        self_pay=-self_pay,
        refund=True,
    )
    DailyCategoryIncome.add_lines(
        record_date=refund.record_date,
        department_id=department_id,
        doctor_id=doctor_id,
        lines=parts,
        refund=True,
    )
    return refund
