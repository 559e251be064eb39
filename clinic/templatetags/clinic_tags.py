from __future__ import annotations

import datetime as dt

from django import template
from django.utils import timezone

from clinic import privacy

register = template.Library()

register.filter("mask_name", privacy.mask_name)
register.filter("mask_phone", privacy.mask_phone)
register.filter("mask_id_card", privacy.mask_id_card)


@register.filter
def minutes_since(value: dt.datetime | None, now: dt.datetime | None = None) -> int | str:
    """Whole minutes from `value` until `now` (default: the current time)."""
    if value is None:
        return ""
    return max(int(((now or timezone.now()) - value).total_seconds() // 60), 0)
