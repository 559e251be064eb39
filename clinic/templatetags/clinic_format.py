"""How the clinic writes a value, one way per kind, on every page (template filters) and in
Python (the functions, for views and Django Admin).

- money: ``¥1,234.50`` — in both languages, on cards, tables, receipts, statistics and admin;
- durations: whole minutes, ``63 min`` — on the board and the doctor's queue alike;
- people: their full name, never their sign-in name;
- departments and titles: their English name when the page is in English — the models'
  ``department.display_name`` and ``employee.display_title`` (and, for rows read with
  values(), ``clinic.models.department_name_in_language``);
- audit actions: their label, not their code.

Dates and times need no filter: ``{{ value|date }}`` / ``{{ value|time }}`` follow the
formats in clinic/formats/ (2026-12-06, 10:48) in every language.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from clinic import audit
from clinic.models import Employee, Patient, User, plan_name

register = template.Library()

CENT = Decimal("0.01")


def format_money(value: Any) -> str:
    """``¥1,234.50``: yuan with thousands separators and always two decimals; "" for None."""
    if value is None or value == "":
        return ""
    try:
        amount = Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        return str(value)
    sign = "-" if amount < 0 else ""
    return f"{sign}¥{abs(amount):,.2f}"


def minutes_between(start: dt.datetime | None, end: dt.datetime | None = None) -> int | None:
    """Whole minutes from `start` until `end` (default: now), never negative."""
    if start is None:
        return None
    return max(int(((end or timezone.now()) - start).total_seconds() // 60), 0)


def format_minutes(minutes: int | None) -> str:
    """A duration as whole minutes, ``63 min`` (not "1 hour, 3 minutes"): a queue's waits
    are compared at a glance, and the board and the doctor's queue must read alike."""
    if minutes is None or minutes == "":
        return ""
    return _("%(minutes)s min") % {"minutes": minutes}


def person_name(value: Any) -> str:
    """A person as people call them: the full name (a staff member's or patient's record),
    never the sign-in name unless the account has nothing else."""
    if value is None or value == "":
        return ""
    if isinstance(value, User):
        return value.display_name
    if isinstance(value, Employee | Patient):
        return value.name
    return str(value)


def format_number(value: Any) -> str:
    """A quantity or a dose as people write it: 2.000 → 2, 0.500 → 0.5 (nothing for none)."""
    if value is None or value == "":
        return ""
    if not isinstance(value, Decimal):
        return str(value)
    return f"{value.normalize():f}"


@register.filter("plain_number")
def plain_number(value: Any) -> str:
    return format_number(value)


@register.filter
def money(value: Any) -> str:
    return format_money(value)


@register.filter
def minutes_since(value: dt.datetime | None, now: dt.datetime | None = None) -> int | str:
    """Whole minutes from `value` until `now` (default: the current time)."""
    minutes = minutes_between(value, now)
    return "" if minutes is None else minutes


@register.filter
def duration_since(value: dt.datetime | None, now: dt.datetime | None = None) -> str:
    """How long since `value`, the clinic's one way: ``63 min``."""
    return format_minutes(minutes_between(value, now))


@register.filter
def minutes(value: int | None) -> str:
    """A number of minutes written the clinic's one way: ``63 min``."""
    return format_minutes(value)


@register.filter
def person(value: Any) -> str:
    return person_name(value)


@register.filter
def action_label(value: str) -> str:
    """An audit action's label (clinic.audit.ACTION_LABELS), never its code."""
    return audit.action_label(value)


@register.filter("plan_name")
def plan_name_filter(plan: Any) -> str:
    """An insurance plan (or a bill's plan name) as pages name it; "Self-pay" for none."""
    return plan_name(plan)


@register.filter
def cell(value: Any) -> str:
    """A statistics cell: money (a Decimal) as money, a count or a label as it is."""
    return format_money(value) if isinstance(value, Decimal) else value
