"""Masking of personal data for lists and public pages."""

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
    """Only the first character: 张** ."""
    if not value:
        return ""
    return value[0] + "*" * max(len(value) - 1, 1)
