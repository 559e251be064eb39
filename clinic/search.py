"""The one search rule: what a typed text is, and how patients are found by it.

Every surface that searches patients (the desk's search box and patients page, the walk-in
lookup, Django Admin, the API's list filters, the takings report) reads the text here, and
every thing searched builds on it: bookings in `appointments.search`, visits in
`visits.search`, bills in `billing.search`.

The rule, in the order a text is read:
1. an 18-character resident ID number (any case, spaces ignored): the ID number, exactly;
2. a booking reference (8 readable letters and digits, any case): that booking, exactly;
   for patients (and their visits and bills) it is the beginning of a name, as it may be;
3. digits (spaces, dashes and +86 ignored): all 11 digits are the whole phone number, exactly;
   3 to 10 digits are its beginning; 1 or 2 digits are too short and find nothing;
4. a bill number (B20261128-7K3PQ9, any case): that bill, exactly;
5. Latin letters (and spaces), alone or with a phone fragment before or after them (`zs`,
   `zhang san`, `zs 138`, `zs1380`): pinyin. For patients the letters, any case and spaces
   left out, are the beginning of one of the name's stored pinyin keys (clinic.pinyin: full
   pinyin `zhangsan` or initials `zs`, each reading of a polyphonic name, surnames read as
   surnames; a name in Latin letters is its own key, so this is also the name's beginning),
   and the digits the beginning of the phone (both must match; all 11 digits: the phone
   exactly). For bookings, which may have no patient record, the letters are also the
   beginning of the booked name. When the whole text could be another document's number
   (`e12345678`), that ID number exactly as well. A booking reference made of letters only
   (`zhangsan` is one) is read as pinyin for patients too;
6. anything else is the beginning of a name (any case); when it could be the number of
   another identity document (a passport: 5 to 32 letters, digits or dashes with a digit
   among them), that ID number exactly as well.
Full-width digits and letters (as Chinese input methods type them) read as their ASCII forms.

Results come exact matches first: a name is ordered along its index, where a name equal to
the text comes before the longer ones it begins; pinyin matches by the best key each patient
matched, so that an equal key (`zs` for 张三) comes before longer ones (`zsf` for 张三丰).

Every lookup is an equality or a prefix on an indexed column, written so that MariaDB reads a
range of the index (see `prefix_lookup`); pinyin is a range of the key table's index
(`PatientNameKey`, (key, patient)), which the patients are joined to. Fields of their own
(the API's `name`, `phone`, `id_card`, the report's filters) are read by `field_terms`: name =
the beginning of the name (Latin letters: its pinyin, as above), phone = the whole number or
its beginning from 3 digits (fewer is a validation error), id_card = exact.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from django.core.exceptions import ValidationError
from django.db.models import Min, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from clinic.codes import READABLE_ALPHABET
from clinic.models import Patient, PatientNameKey
from clinic.pinyin import search_key
from clinic.validators import RESIDENT_ID_RE, normalize_phone, normalize_resident_id

MIN_PHONE_DIGITS = 3
FULL_PHONE_DIGITS = 11

_DIGITS = re.compile(r"[0-9]+")
_BILL_NUMBER = re.compile(r"B[0-9]{8}-[0-9A-Z]{1,15}")
_REFERENCE = re.compile(f"[{READABLE_ALPHABET}]{{8}}")
_DOCUMENT_NUMBER = re.compile(r"(?=.*[0-9])[0-9A-Z-]{5,32}")
# Pinyin: Latin letters and spaces, with a phone fragment before or after them, or none.
# Words and groups of digits split by single runs of separators: no two parts of a pattern
# can take the same character, so a long text is read in linear time (no backtracking).
_LETTERS = r"[A-Za-z]+(?: +[A-Za-z]+)*"
_PHONE_FRAGMENT = r"[0-9]+(?:[ -]+[0-9]+)*"
# Longer than any name, number or key: the rest of a longer text is not read.
MAX_SEARCH_TEXT = 100
_PINYIN = (
    re.compile(rf"(?P<letters>{_LETTERS})\s*(?P<digits>{_PHONE_FRAGMENT})?"),
    re.compile(rf"(?P<digits>{_PHONE_FRAGMENT}?)\s*(?P<letters>{_LETTERS})"),
)

# What each search box says it finds (Django Admin's search help, the desk's fields).
PATIENT_SEARCH_HELP = _(
    "A phone number (all 11 digits, or the first 3 or more), an ID number (all of it), or the "
    "beginning of a name or of its pinyin (zhangsan, zhang san, or initials: zs), alone or "
    "with the phone's first digits (zs 138). Letters in any case."
)
PHONE_SEARCH_HELP = _(
    "The whole phone number, or its first 3 digits or more (spaces, dashes and +86 are "
    "ignored). Fewer than 3 digits is refused with a validation error."
)
NAME_SEARCH_HELP = _(
    "The beginning of the name, in any case, or of its pinyin (zhangsan, zhang san, or "
    "initials: zs)."
)
ID_CARD_SEARCH_HELP = _("The whole ID number, in any case.")


class TermKind(StrEnum):
    ID_NUMBER = "id_number"
    PHONE = "phone"
    BILL_NUMBER = "bill_number"
    REFERENCE = "reference"
    PINYIN = "pinyin"
    NAME = "name"


@dataclass(frozen=True)
class SearchTerm:
    """What was typed, read: its kind and the value to look up (normalized for that kind).

    `document` is set for a name (or reference, or pinyin) that could also be another identity
    document's number: the upper-case text, looked up exactly in the ID number column.
    `phone` is pinyin's phone fragment (digits), when one was typed with it.
    """

    kind: TermKind
    value: str
    document: str = ""
    phone: str = ""

    @property
    def reads_pinyin(self) -> bool:
        """Found among patients by their stored pinyin keys: pinyin, or a booking reference of
        letters only (which may be a name's pinyin as well)."""
        return self.kind == TermKind.PINYIN or (
            self.kind == TermKind.REFERENCE and self.value.isalpha()
        )

    @property
    def key(self) -> str:
        """The pinyin key the text begins: lower case, spaces left out."""
        return search_key(self.value)

    @property
    def is_full_phone(self) -> bool:
        return self.kind == TermKind.PHONE and len(self.value) >= FULL_PHONE_DIGITS

    @property
    def is_too_short(self) -> bool:
        """Digits too few to be a phone's beginning: found nothing, said so."""
        return self.kind == TermKind.PHONE and len(self.value) < MIN_PHONE_DIGITS


# Matches nothing, without asking the database: Django answers `pk IN ()` itself.
NOTHING = Q(pk__in=[])


def fold_text(text: str | None) -> str:
    """Full-width digits, letters, signs and spaces as their ASCII forms (NFKC)."""
    return unicodedata.normalize("NFKC", text or "").strip()


def parse_term(text: str | None) -> SearchTerm | None:
    """The text of a search box, read by the rule above; None when nothing was typed."""
    typed = (text or "").strip()[:MAX_SEARCH_TEXT]
    folded = fold_text(typed)
    if not folded:
        return None
    id_number = normalize_resident_id(folded) or ""
    if RESIDENT_ID_RE.fullmatch(id_number):
        return SearchTerm(TermKind.ID_NUMBER, id_number)
    upper = folded.upper()
    document = upper if _DOCUMENT_NUMBER.fullmatch(upper) else ""
    # Before the digits: a reference may be all digits (from 2 to 9), which no mobile number
    # begins with (they begin with 1), so it is never a phone's beginning read wrongly.
    if _REFERENCE.fullmatch(upper):
        return SearchTerm(TermKind.REFERENCE, upper, document=document)
    digits = normalize_phone(folded)
    if _DIGITS.fullmatch(digits):
        return SearchTerm(TermKind.PHONE, digits)
    if _BILL_NUMBER.fullmatch(upper):
        return SearchTerm(TermKind.BILL_NUMBER, upper)
    pinyin = pinyin_term(folded, document=document)
    if pinyin is not None:
        return pinyin
    # The name as typed (only trimmed): a name is looked up as it is stored.
    return SearchTerm(TermKind.NAME, typed, document=document)


def pinyin_term(text: str, *, document: str = "") -> SearchTerm | None:
    """Latin letters (and spaces), alone or with a phone fragment: pinyin (rule 5); else None."""
    for pattern in _PINYIN:
        match = pattern.fullmatch(text)
        if match and match["letters"].strip():
            digits = normalize_phone(match["digits"] or "")
            return SearchTerm(
                TermKind.PINYIN, match["letters"].strip(), document=document, phone=digits
            )
    return None


def validate_phone_search(value: str) -> None:
    """A phone search field: digits, at least 3 of them (the API and the report's filter)."""
    digits = normalize_phone(fold_text(value))
    if not digits:
        return
    if not _DIGITS.fullmatch(digits):
        raise ValidationError(
            _("Enter the digits of a phone number (spaces, dashes and +86 are allowed)."),
            code="phone_not_digits",
        )
    if len(digits) < MIN_PHONE_DIGITS:
        raise ValidationError(
            _("Enter at least %(count)d digits of the phone number.") % {"count": MIN_PHONE_DIGITS},
            code="phone_too_short",
        )


def validate_search_text(value: str) -> None:
    """A free-text search field: refused only when it is digits too few to be a phone."""
    term = parse_term(value)
    if term is not None and term.is_too_short:
        validate_phone_search(term.value)


def field_terms(
    *, name: str | None = None, phone: str | None = None, id_card: str | None = None
) -> list[SearchTerm]:
    """Search fields of their own, each read as its field says (blank ones left out).

    Raises ValidationError for a phone that is not digits or has fewer than 3: callers
    validate it first (`validate_phone_search` on the field) to report it as the field's.
    """
    terms = []
    id_number = normalize_resident_id(fold_text(id_card))
    if id_number:
        terms.append(SearchTerm(TermKind.ID_NUMBER, id_number))
    if fold_text(phone):
        validate_phone_search(phone or "")
        terms.append(SearchTerm(TermKind.PHONE, normalize_phone(fold_text(phone))))
    typed = (name or "").strip()
    if typed:
        pinyin = pinyin_term(fold_text(typed))
        if pinyin is not None and not pinyin.phone:
            terms.append(pinyin)
        else:
            terms.append(SearchTerm(TermKind.NAME, typed))
    return terms


def prefix_lookup(column: str, value: str) -> Q:
    # `istartswith`, never `startswith`: on MariaDB Django writes `startswith` as
    # `LIKE BINARY 'x%'`, which cannot be a range on an index in the column's
    # (case-insensitive) collation, so the server read all 100,000 entries of the name or phone
    # index for every keystroke (112 ms instead of 4). `LIKE 'x%'` is a range on the same index.
    # `icontains` (`LIKE '%x%'`) can only read them all. SQLite writes both prefixes alike.
    return Q(**{f"{column}__istartswith": value})


def phone_lookup(column: str, digits: str) -> Q:
    """The whole phone exactly, its beginning from 3 digits, or nothing below that."""
    if len(digits) < MIN_PHONE_DIGITS:
        return NOTHING
    if len(digits) >= FULL_PHONE_DIGITS:
        return Q(**{column: digits})
    return prefix_lookup(column, digits)


def pinyin_patients(term: SearchTerm) -> QuerySet[PatientNameKey]:
    """The ids of the patients one of whose pinyin keys begins with the term's (a range of the
    key index, for `… IN (subquery)`)."""
    return PatientNameKey.objects.filter(prefix_lookup("key", term.key)).values("patient")


def pinyin_phone(column: str, digits: str) -> Q:
    """Pinyin's phone fragment: all 11 digits exactly, fewer as the beginning (any count: the
    letters narrow already), none typed: no condition."""
    if not digits:
        return Q()
    if len(digits) >= FULL_PHONE_DIGITS:
        return Q(**{column: digits})
    return prefix_lookup(column, digits)


def held_document(term: SearchTerm) -> SearchTerm:
    """Pinyin with digits that is also another document's number (`e12345678`): that ID
    number when a patient has it (one query on the unique index to know), else the pinyin.
    Either way one indexed lookup, never an OR of the two (which no index serves)."""
    if (
        term.reads_pinyin
        and term.document
        and Patient.objects.filter(id_card=term.document).exists()
    ):
        return SearchTerm(TermKind.ID_NUMBER, term.document)
    return term


def patient_lookup(term: SearchTerm, *, prefix: str = "") -> Q:
    """Patients matching one term; `prefix` reaches the patient from another model
    ("patient__", "visit__patient__")."""
    term = held_document(term)
    if term.reads_pinyin:
        # `pk IN (keys)`: a semi-join, one row per patient however many keys match.
        found = Q(**{f"{prefix}pk__in": pinyin_patients(term)})
        return found & pinyin_phone(f"{prefix}phone", term.phone)
    if term.kind == TermKind.ID_NUMBER:
        return Q(**{f"{prefix}id_card": term.value})
    if term.kind == TermKind.PHONE:
        return phone_lookup(f"{prefix}phone", term.value)
    if term.kind == TermKind.BILL_NUMBER:
        return NOTHING
    found = prefix_lookup(f"{prefix}name", term.value)
    if term.document:
        found |= Q(**{f"{prefix}id_card": term.document})
    return found


def patient_filter(*terms: SearchTerm | None, prefix: str = "") -> Q:
    """Patients matching every term given (None terms are left out; none at all: everyone)."""
    found = Q()
    for term in terms:
        if term is not None:
            found &= patient_lookup(term, prefix=prefix)
    return found


def patient_ordering(*terms: SearchTerm | None) -> tuple[str, str]:
    """An order along the index the most selective term reads (InnoDB appends the primary key
    to every secondary index), so that a page of matches is read without sorting them all."""
    kinds = {term.kind for term in terms if term is not None}
    if TermKind.ID_NUMBER in kinds:
        return ("id_card", "id")
    if TermKind.PHONE in kinds:
        return ("phone", "id")
    return ("name", "id")


def matching_patients(terms: Iterable[SearchTerm | None]) -> QuerySet[Patient]:
    """Patients matching every term, exact matches first: in the order of the index their
    lookup reads (a name equal to the text sorts before the names it begins), or, for pinyin,
    by the best key each patient matched (an equal key first), then id. For a page of the
    first few, `first_matching_patients` reads no more of the index than it needs."""
    terms = [held_document(term) for term in terms if term is not None]
    pinyin = next((term for term in terms if term.reads_pinyin), None)
    if pinyin is None or any(term.kind == TermKind.ID_NUMBER for term in terms):
        return Patient.objects.filter(patient_filter(*terms)).order_by(*patient_ordering(*terms))
    others = [term for term in terms if term is not pinyin]
    # Read from the key index's range, each patient joined by primary key and grouped: the
    # lowest key matched is the best match (an equal key sorts before every longer one
    # beginning with it). The join (not `IN`) makes the server start from the keys.
    return (
        Patient.objects.filter(patient_filter(*others))
        .filter(prefix_lookup("name_keys__key", pinyin.key) & pinyin_phone("phone", pinyin.phone))
        .annotate(best_key=Min("name_keys__key"))
        .order_by("best_key", "id")
    )


def first_matching_patients(terms: Iterable[SearchTerm | None], limit: int) -> list[Patient]:
    """The first `limit` of `matching_patients(terms)`, in the same order. For pinyin, the key
    index is read in its own order (key, patient) from the beginning of its range and stops
    after a few entries more than the page: a patient first appears at its best key, so the
    first appearances are the grouped query's order, without grouping and sorting every match
    (`zs` matches thousands at 100,000 patients). Falls back to the grouped query when a page
    of distinct patients is not among the entries read."""
    terms = [held_document(term) for term in terms if term is not None]
    pinyin = next((term for term in terms if term.reads_pinyin), None)
    if pinyin is None or len(terms) > 1:
        return list(matching_patients(terms)[:limit])
    wanted = limit * 4
    entries = list(
        PatientNameKey.objects.filter(
            prefix_lookup("key", pinyin.key) & pinyin_phone("patient__phone", pinyin.phone)
        )
        .order_by("key", "patient")
        .values_list("patient", flat=True)[:wanted]
    )
    ids = list(dict.fromkeys(entries))[:limit]
    if len(ids) < limit and len(entries) == wanted:
        return list(matching_patients(terms)[:limit])
    found = Patient.objects.in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]
