"""The no-show history and block of a patient, for the desk's patient page (its include)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from appointments.no_shows import no_show_history, online_booking_blocked_until
from clinic.models import Patient

register = template.Library()


@register.simple_tag
def no_show_status(patient: Patient) -> dict[str, Any]:
    """The patient's no-shows (latest first) and the date online booking opens again for
    them (None when it is open)."""
    return {
        "history": no_show_history(patient),
        "blocked_until": online_booking_blocked_until(patient, timezone.localdate()),
    }
