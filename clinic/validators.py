"""Validators for the identity data a clinic collects: names, mobile phones, resident IDs."""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

MOBILE_PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
RESIDENT_ID_RE = re.compile(r"^\d{17}[\dX]$")

# ISO 7064 MOD 11-2 as used by GB 11643-1999: weights 2^(17-i) mod 11, and the check
# character for each remainder.
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK_CHARS = "10X98765432"
_OLDEST_PLAUSIBLE_BIRTH_YEAR = 1900


def validate_not_blank(value: str) -> None:
    if not value or not value.strip():
        raise ValidationError(_("This field cannot be blank."), code="blank")


def normalize_phone(value: str) -> str:
    """Drop the spaces, dashes and +86 prefix people type, keeping the 11 digits."""
    digits = re.sub(r"[\s-]", "", value or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    return digits


def validate_mobile_phone(value: str) -> None:
    if not MOBILE_PHONE_RE.fullmatch(value or ""):
        raise ValidationError(
            _("Enter an 11-digit mainland mobile number starting with 13 to 19."),
            code="invalid_phone",
        )


def normalize_resident_id(value: str | None) -> str | None:
    """Upper-case the check character and strip spaces; an empty value becomes None."""
    if value is None:
        return None
    cleaned = value.strip().replace(" ", "").upper()
    return cleaned or None


def resident_id_check_char(first17: str) -> str:
    total = sum(int(digit) * weight for digit, weight in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def birth_date_from_resident_id(value: str) -> dt.date | None:
    """The birth date encoded in an 18-character resident ID, or None when it is not a date."""
    try:
        return dt.date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return None


def validate_resident_id(value: str) -> None:
    value = normalize_resident_id(value) or ""
    if not RESIDENT_ID_RE.fullmatch(value):
        raise ValidationError(
            _("A resident ID number has 17 digits followed by a digit or X."),
            code="invalid_id_format",
        )
    birth_date = birth_date_from_resident_id(value)
    if (
        birth_date is None
        or birth_date.year < _OLDEST_PLAUSIBLE_BIRTH_YEAR
        or birth_date > timezone.localdate()
    ):
        raise ValidationError(
            _("The birth date in this resident ID number is not a possible date."),
            code="invalid_id_birth_date",
        )
    if resident_id_check_char(value[:17]) != value[17]:
        raise ValidationError(
            _("The check digit of this resident ID number is wrong; please check the number."),
            code="invalid_id_check_digit",
        )


def validate_birth_date(value: dt.date | None) -> None:
    """A birth date a living patient can have: not in the future, not before the oldest
    plausible year (the same bounds as the birth date inside a resident ID number)."""
    if value is None:
        return
    if value.year < _OLDEST_PLAUSIBLE_BIRTH_YEAR or value > timezone.localdate():
        raise ValidationError(
            _("Enter a birth date from %(year)s to today.")
            % {"year": _OLDEST_PLAUSIBLE_BIRTH_YEAR},
            code="invalid_birth_date",
        )
