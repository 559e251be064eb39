"""Reading the administrators' CSV uploads (the diagnosis catalogue, the fee catalogue): one
way to decode them and to undo what the export (clinic.exports) did to a cell.

An upload is UTF-8 (with or without the byte-order mark a spreadsheet writes) or, from an
older Chinese spreadsheet, GB18030. A cell the export wrote with a leading apostrophe (so
that a spreadsheet does not run it as a formula) reads back as it was: a file exported
imports back unchanged.
"""

from __future__ import annotations

import unicodedata

from clinic.exports import FORMULA_STARTS

ENCODINGS = ("utf-8-sig", "gb18030")


def decode_upload(data: bytes) -> str:
    """The uploaded bytes as text; ValueError when no accepted encoding reads them."""
    for encoding in ENCODINGS:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError("not UTF-8 or GB18030 text")


def as_written(cell: str) -> str:
    """A cell as it was before the export kept a spreadsheet from reading it as a formula
    (clinic.exports.safe_cell's leading apostrophe)."""
    if cell.startswith("'") and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def has_control_characters(cells: list[str]) -> bool:
    """A cell holds a line break or another control character (never part of a name)."""
    return any(unicodedata.category(char) == "Cc" for cell in cells for char in cell)
