"""Template filters of a visit's charges."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template

register = template.Library()


@register.filter
def plain_number(value: Any) -> str:
    """A quantity or a dose as a doctor writes it: 2.000 → 2, 0.500 → 0.5."""
    if value is None or value == "":
        return ""
    if not isinstance(value, Decimal):
        return str(value)
    return f"{value.normalize():f}"
