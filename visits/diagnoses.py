"""The diagnosis catalogue: suggestions for the consultation's code field, and the
administrators' CSV import and export (Django Admin).

The import reads `code,name[,name_en]` rows (a header line with those names is optional),
checks every row before writing any, and writes all of them or none: one transaction, one
audit event naming the codes added and changed. A code already in the catalogue gets the
file's name (and English name) and becomes active again.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from clinic.audit import audit_values, changed_values, record_event
from clinic.csv_import import as_written, decode_upload, has_control_characters
from clinic.db import atomic_with_retry
from clinic.exceptions import InvalidInput, RecordInUse
from clinic.models import Role, User
from clinic.roles import ensure_role
from clinic.search import prefix_lookup
from visits.models import DiagnosisCatalogue

SUGGESTIONS = 20
CODE_MAX = DiagnosisCatalogue._meta.get_field("code").max_length
NAME_MAX = DiagnosisCatalogue._meta.get_field("name").max_length
HEADER = ("code", "name", "name_en")
# A catalogue file is a list of codes, not a data dump: a bound on what one upload reads.
MAX_ROWS = 50_000


def suggest_diagnoses(text: str) -> list[DiagnosisCatalogue]:
    """Active entries whose code or name begins with `text` (any case), by code, at most
    SUGGESTIONS. Two reads, each one range of an index (the code's unique index, the
    name's), each stopping after SUGGESTIONS rows: an OR of the two would leave MariaDB to
    choose between an index merge and a scan."""
    text = (text or "").strip()
    if not text:
        return []
    active = DiagnosisCatalogue.objects.filter(active=True)
    by_code = active.filter(prefix_lookup("code", text)).order_by("code")[:SUGGESTIONS]
    by_name = active.filter(prefix_lookup("name", text)).order_by("name")[:SUGGESTIONS]
    found = {entry.pk: entry for entry in [*by_code, *by_name]}
    return sorted(found.values(), key=lambda entry: entry.code)[:SUGGESTIONS]


@dataclass
class CatalogueImport:
    """What an import found: rows to write, or errors by line number (nothing written)."""

    rows: dict[str, tuple[str, str]] = field(default_factory=dict)
    errors: list[tuple[int, str]] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)


def read_catalogue_csv(data: bytes) -> CatalogueImport:
    """Check every row of an uploaded file; nothing is written here."""
    result = CatalogueImport()
    try:
        text = decode_upload(data)
    except ValueError:
        result.errors.append((0, _("The file is not UTF-8 (or GB18030) text.")))
        return result
    reader = csv.reader(io.StringIO(text))
    try:
        for row in reader:
            number = reader.line_num
            cells = [as_written(cell.strip()) for cell in row]
            if not any(cells):
                continue
            if number == 1 and [cell.lower() for cell in cells[:3]] == list(HEADER[: len(cells)]):
                continue
            if number > MAX_ROWS:
                result.errors.append(
                    (number, _("Too many rows (at most %(n)d).") % {"n": MAX_ROWS})
                )
                break
            error = _row_error(cells, result.rows)
            if error:
                result.errors.append((number, error))
                continue
            code, name, name_en = ([*cells, ""])[:3]
            result.rows[code.upper()] = (name, name_en)
    except csv.Error:
        # A quote left open runs to the end of the file, into one over-long field.
        result.errors.append(
            (reader.line_num, _("This line cannot be read as CSV (a quote left open?)."))
        )
    if not result.rows and not result.errors:
        result.errors.append((0, _("The file has no rows.")))
    return result


def _row_error(cells: list[str], seen: dict[str, tuple[str, str]]) -> str:
    if has_control_characters(cells):
        return _("A cell holds a line break or another control character.")
    if len(cells) not in (2, 3):
        return _("Expected code,name or code,name,name_en (%(n)d columns found).") % {
            "n": len(cells)
        }
    code, name = cells[0], cells[1]
    name_en = cells[2] if len(cells) == 3 else ""
    if not code:
        return _("The code is empty.")
    if len(code) > CODE_MAX:
        return _("The code is longer than %(n)d characters.") % {"n": CODE_MAX}
    if not name:
        return _("The name is empty.")
    if len(name) > NAME_MAX or len(name_en) > NAME_MAX:
        return _("A name is longer than %(n)d characters.") % {"n": NAME_MAX}
    if code.upper() in seen:
        return _("The code %(code)s is in the file twice.") % {"code": code}
    return ""


@atomic_with_retry
def import_catalogue(*, data: bytes, by: User) -> CatalogueImport:
    """Import a CSV file into the catalogue, all rows or none (see the module's doc).
    RecordInUse when another import added one of its codes meanwhile (nothing written)."""
    ensure_role(by, Role.ADMIN)
    result = read_catalogue_csv(data)
    if result.errors:
        return result
    # The entries the file changes, locked. A code that is not there yet locks nothing: two
    # uploads adding it at once meet at the unique index, and the second is refused below.
    existing = {
        entry.code.upper(): entry
        for entry in DiagnosisCatalogue.objects.select_for_update().filter(
            code__in=list(result.rows)
        )
    }
    new_entries = []
    for code, (name, name_en) in result.rows.items():
        entry = existing.get(code)
        if entry is None:
            new_entries.append(DiagnosisCatalogue(code=code, name=name, name_en=name_en))
            result.added.append(code)
        elif (entry.name, entry.name_en, entry.active) != (name, name_en, True):
            entry.name, entry.name_en, entry.active = name, name_en, True
            entry.save(update_fields=["name", "name_en", "active"])
            result.changed.append(code)
    try:
        with transaction.atomic():
            DiagnosisCatalogue.objects.bulk_create(new_entries, batch_size=1000)
    except IntegrityError as error:
        raise RecordInUse(
            _("Another import added some of these codes meanwhile: upload the file again.")
        ) from error
    record_event(
        actor=by,
        action="diagnosis_catalogue.imported",
        new={"added": result.added, "changed": result.changed},
    )
    return result


ENTRY_FIELDS = ("code", "name", "name_en", "active")


@atomic_with_retry
def save_catalogue_entry(*, entry: DiagnosisCatalogue, by: User) -> DiagnosisCatalogue:
    """Add or change one entry (Django Admin), audited with what changed. Entries are
    retired (active off), never deleted, and keep their code: records point to them."""
    ensure_role(by, Role.ADMIN)
    entry.clean()  # the code in capitals, unique whatever its case (ValidationError)
    adding = entry._state.adding
    old = {}
    if not adding:
        current = DiagnosisCatalogue.objects.select_for_update().get(pk=entry.pk)
        if current.code != entry.code:
            # Records point to the entry: a new code would change theirs silently.
            raise InvalidInput(
                details={"code": [_("An entry's code is fixed once made; add a new entry.")]}
            )
        old = audit_values(current, ENTRY_FIELDS)
    entry.save()
    old, new = changed_values(old, audit_values(entry, ENTRY_FIELDS))
    if new:
        action = "diagnosis_catalogue.added" if adding else "diagnosis_catalogue.changed"
        record_event(actor=by, action=action, obj=entry, old=old, new=new)
    return entry


def catalogue_csv_rows(entries: Iterable[DiagnosisCatalogue]) -> Iterable[tuple[str, ...]]:
    """The export, in the import's own format (a file exported imports back)."""
    yield HEADER
    for entry in entries:
        yield (entry.code, entry.name, entry.name_en)
