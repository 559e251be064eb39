"""Serializer fields that know nothing of the clinic: dates within the range every database
compares, and amounts of money in the form the services take them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
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


# The range in the published schema as well: the year is 20xx.
@extend_schema_field({"type": "string", "format": "date", "pattern": r"^20\d{2}-\d{2}-\d{2}$"})
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


class IdField(serializers.IntegerField):
    """A row's id in a filter: 1 up to the largest value a database key holds (beyond it no
    database can compare, and SQLite refuses the parameter)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", 2**63 - 1)
        super().__init__(**kwargs)


class TextField(serializers.CharField):
    """Text, and only text: a number or a boolean where the schema says string is refused,
    not turned into one (REST framework's CharField would take 0 for "0")."""

    default_error_messages = {"invalid": _("Enter text.")}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """true or false, as the schema says: not "yes", 1 or "on"."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid", input=data)
        return data


class StrictManyRelatedField(serializers.ManyRelatedField):
    """A list of related rows, and only a list: REST framework's own field takes any
    iterable, so an object `{}` would pass as an empty list and clear the relation."""

    def to_internal_value(self, data: Any) -> list:
        if not isinstance(data, list):
            self.fail("not_a_list", input_type=type(data).__name__)
        return super().to_internal_value(data)


@extend_schema_field(OpenApiTypes.STR)
class LabelField(serializers.Field):
    """The label of a stored code, in the request's language: `LabelField(source="status")`
    beside the code itself. Read from the model field's own choices, once per answer, rather
    than through `get_status_display()` per row (REST framework inspects a callable's
    signature every time it reads one)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def bind(self, field_name: str, parent: Any) -> None:
        super().bind(field_name, parent)
        model = parent.Meta.model
        self.labels = dict(model._meta.get_field(self.source_attrs[-1]).flatchoices)

    def to_representation(self, value: Any) -> str:
        return str(self.labels.get(value, value))
