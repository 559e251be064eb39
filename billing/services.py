"""Settlement: the bill, the income it books and the patient's leaving, in one transaction."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from billing.exceptions import AlreadySettled, InvalidAmounts
from billing.models import Bill, DailyIncomeSummary, IncomeRecord, PayStatus, new_bill_number
from clinic.audit import record_event
from clinic.db import atomic_with_retry
from clinic.models import User
from clinic.roles import DESK_ROLES, ensure_role
from visits.models import Visit

CENT = Decimal("0.01")
# DECIMAL(10, 2) holds up to 99,999,999.99.
MAX_AMOUNT = Decimal("99999999.99")


@dataclass(frozen=True)
class Amounts:
    total: Decimal
    insurance: Decimal
    self_pay: Decimal


def _to_cents(value: Any, field: str, errors: dict[str, list[str]]) -> Decimal | None:
    try:
        amount = Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        errors[field] = [_("Enter an amount such as 86.50.")]
        return None
    if not amount.is_finite():
        errors[field] = [_("Enter an amount such as 86.50.")]
        return None
    # Range first: rounding a number of 29 digits or more would itself fail.
    if amount > MAX_AMOUNT:
        errors[field] = [_("An amount cannot exceed %s.") % MAX_AMOUNT]
        return None
    # "+ 0" turns a rounded -0.001 (that is, -0.00) into a plain 0.00.
    rounded = amount.quantize(CENT, rounding=ROUND_HALF_UP) + 0 if amount > -1 else amount
    if rounded < 0:
        errors[field] = [_("An amount cannot be negative.")]
        return None
    return rounded


def validate_amounts(total: Any, insurance: Any, self_pay: Any = None) -> Amounts:
    """Amounts rounded to cents that satisfy the bill identity, or InvalidAmounts.

    `self_pay` is computed as total − insurance when omitted, and must equal it when given.
    """
    errors: dict[str, list[str]] = {}
    total_amount = _to_cents(total, "total_amount", errors)
    insurance_amount = _to_cents(insurance, "insurance_amount", errors)
    given_self_pay = (
        _to_cents(self_pay, "self_pay_amount", errors) if self_pay not in (None, "") else None
    )
    if errors:
        raise InvalidAmounts(details=errors)
    if insurance_amount > total_amount:
        raise InvalidAmounts(
            details={"insurance_amount": [_("Insurance cannot pay more than the total.")]}
        )
    self_pay_amount = total_amount - insurance_amount
    if given_self_pay is not None and given_self_pay != self_pay_amount:
        raise InvalidAmounts(
            details={
                "self_pay_amount": [
                    _("Self-pay must be the total minus insurance: %s.") % self_pay_amount
                ]
            }
        )
    return Amounts(total_amount, insurance_amount, self_pay_amount)


@atomic_with_retry
def settle_visit(
    *,
    visit: Visit,
    total_amount: Any,
    insurance_amount: Any,
    self_pay_amount: Any = None,
    by: User,
    now: dt.datetime | None = None,
) -> Bill:
    """Settle a visit awaiting payment: a paid bill, its income record, and the visit leaves.

    A zero total is a valid settlement. A second settlement of the same visit fails cleanly
    (AlreadySettled), and any failure leaves nothing written.
    """
    ensure_role(by, *DESK_ROLES)
    amounts = validate_amounts(total_amount, insurance_amount, self_pay_amount)
    now = now or timezone.now()
    # Lock order: Visit, then the Bill insert, then the day's summary rows (last, so that a
    # busy doctor's rows are held only from those writes to the commit). The visit's lock
    # serialises settlements of one visit.
    visit.lock_for_update()
    if Bill.objects.filter(visit=visit).exists():
        raise AlreadySettled()
    visit.ensure_move_allowed(Visit.Status.LEFT)
    bill = Bill.objects.create(
        visit=visit,
        number=new_bill_number(now),
        total_amount=amounts.total,
        insurance_amount=amounts.insurance,
        self_pay_amount=amounts.self_pay,
        pay_status=PayStatus.PAID,
        pay_time=now,
        cashier=by,
    )
    income = IncomeRecord.objects.create(
        bill=bill,
        department_id=visit.department_id,
        doctor_id=visit.schedule.doctor_id,
        amount=amounts.total,
        record_date=timezone.localdate(now),
    )
    visit.leave_after_settlement(by=by)
    _audit_settlement(bill, amounts, by=by)
    DailyIncomeSummary.add_payment(
        record_date=income.record_date,
        department_id=income.department_id,
        doctor_id=income.doctor_id,
        total=amounts.total,
        insurance=amounts.insurance,
        self_pay=amounts.self_pay,
    )
    return bill


def _audit_settlement(bill: Bill, amounts: Amounts, *, by: User) -> None:
    record_event(
        actor=by,
        action="bill.settled",
        obj=bill,
        patient=bill.visit.patient,
        new={
            "visit": bill.visit_id,
            "total_amount": str(amounts.total),
            "insurance_amount": str(amounts.insurance),
            "self_pay_amount": str(amounts.self_pay),
        },
    )
