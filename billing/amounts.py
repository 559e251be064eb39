"""Amounts of money as the services take them: parsed, rounded to cents, in range."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _

from billing.exceptions import InvalidAmounts
from clinic.models import MAX_AMOUNT

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
# Reasons and notes typed at the counter; references typed or scanned.
TEXT_LENGTH = 200
REFERENCE_LENGTH = 64


def clean_text(
    value: Any, field: str, errors: dict[str, list[str]], limit: int = TEXT_LENGTH
) -> str:
    """Text as the services take it: stripped, at most `limit` characters (an error under
    `field` otherwise)."""
    text = "" if value is None else str(value).strip()
    if len(text) > limit:
        errors[field] = [_("At most %d characters.") % limit]
    return text


@dataclass(frozen=True)
class Amounts:
    total: Decimal
    insurance: Decimal
    self_pay: Decimal


def to_cents(value: Any, field: str, errors: dict[str, list[str]]) -> Decimal | None:
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
    total_amount = to_cents(total, "total_amount", errors)
    insurance_amount = to_cents(insurance, "insurance_amount", errors)
    given_self_pay = (
        to_cents(self_pay, "self_pay_amount", errors) if self_pay not in (None, "") else None
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
