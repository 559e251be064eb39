"""CSV downloads: one way to write them, for every export of the project.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and, in some, a tab or a
carriage return, or their full-width forms typed by a Chinese input method) as a formula: a
patient registered as `=HYPERLINK(...)` would run on the cashier's computer. Every text cell
that could be read so is written with a leading apostrophe, which spreadsheets show as text;
numbers are written as numbers.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.http import HttpResponse

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")


def safe_cell(value: Any) -> Any:
    """A cell that a spreadsheet shows as written: text that could start a formula gets a
    leading apostrophe; numbers (and text that is only a number, such as -12.50) stay."""
    if value is None:
        return ""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    try:
        Decimal(value)
    except (InvalidOperation, ValueError):
        return "'" + value
    return value


def csv_response(filename: str, rows: Iterable[Iterable[Any]]) -> HttpResponse:
    """A CSV attachment of `rows` (the header first), UTF-8 with a byte-order mark so that
    spreadsheets read Chinese, every cell through `safe_cell`."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.write("\ufeff")
    writer = csv.writer(response)
    for row in rows:
        writer.writerow([safe_cell(cell) for cell in row])
    return response
