"""Serializer fields that know nothing of the clinic: dates within the range every database
compares, and amounts of money in the form the services take them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

# Dates the API accepts anywhere: far wider than the clinic's records, narrow enough that a
# day's bounds always convert between time zones (year 1 or 9999 would overflow).
DATE_MIN = dt.date(2000, 1, 1)
DATE_MAX = dt.date(2099, 12, 31)


def _check_date_range(value: dt.date) -> None:
    if not DATE_MIN <= value <= DATE_MAX:
        raise serializers.ValidationError(
            _("Enter a date from %(min)s to %(max)s.")
            % {"min": DATE_MIN.isoformat(), "max": DATE_MAX.isoformat()}
        )


class BoundedDateField(serializers.DateField):
    def to_internal_value(self, value: Any) -> dt.date:
        date = super().to_internal_value(value)
        _check_date_range(date)
        return date


class BoundedDateTimeField(serializers.DateTimeField):
    """ISO 8601; a naive value is read in the clinic's time zone (the current one)."""

    def to_internal_value(self, value: Any) -> dt.datetime:
        moment = super().to_internal_value(value)
        _check_date_range(moment.date())
        return moment


# A JSON number or a decimal string; what the settlement receives unchanged.
_AMOUNT_SCHEMA = {
    "oneOf": [
        {"type": "number"},
        {"type": "string", "pattern": r"^-?\d{1,12}(\.\d{1,6})?$"},
    ],
    "example": "86.50",
}


@extend_schema_field(_AMOUNT_SCHEMA)
class AmountField(serializers.Field):
    """An amount of money as a Decimal. Only the form is checked here (a finite number of a
    sensible size); the bill rules (cents, no negatives, the maximum, insurance within the
    total) are the settlement's, which reports them per field."""

    default_error_messages = {"invalid": _("Enter an amount such as 86.50.")}

    def to_internal_value(self, data: Any) -> Decimal:
        if isinstance(data, bool) or not isinstance(data, int | float | str):
            self.fail("invalid")
        try:
            amount = Decimal(str(data).strip())
        except (InvalidOperation, ValueError):
            self.fail("invalid")
        # Non-finite values and magnitudes no DECIMAL(10, 2) column could ever hold are a
        # malformed number, not an amount to judge.
        if not amount.is_finite() or amount.adjusted() > 15:
            self.fail("invalid")
        return amount

    def to_representation(self, value: Any) -> str:
        return str(value)
