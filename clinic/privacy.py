"""Masking of personal data, one rule per kind for every surface: pages (the `mask_*`
template filters), the API (clinic.fields), the waiting-room display, slips and exports."""

from __future__ import annotations


def mask_id_card(value: str | None) -> str:
    """First 3 and last 4 characters, the rest hidden: 110***********1234."""
    if not value:
        return ""
    if len(value) <= 7:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"


def mask_phone(value: str | None) -> str:
    """138****5678."""
    if not value:
        return ""
    if len(value) < 7:
        return "*" * len(value)
    return f"{value[:3]}{'*' * (len(value) - 7)}{value[-4:]}"


def mask_name(value: str | None) -> str:
    """Only the first character, then always two stars: 张** for 张三 and for 欧阳修远
    alike, so that the length of a name says nothing either."""
    if not value:
        return ""
    return value[0] + "**"
