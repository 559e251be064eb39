"""The desk's one search box: phone, ID number, name or booking reference, on indexed columns."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from enum import StrEnum

from django.db.models import Prefetch, Q
from django.utils import timezone

from appointments.models import LIVE_STATUSES, Appointment
from clinic.codes import READABLE_ALPHABET
from clinic.models import Patient
from clinic.validators import normalize_phone, normalize_resident_id
from scheduling.models import Schedule

LIMIT = 8
_REFERENCE = re.compile(f"^[{READABLE_ALPHABET}]{{8}}$")
_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")


class TermKind(StrEnum):
    ID_NUMBER = "id_number"
    PHONE = "phone"
    REFERENCE = "reference"
    NAME = "name"


@dataclass(frozen=True)
class SearchTerm:
    kind: TermKind
    value: str


# Prefix lookups are `istartswith`, never `startswith`: on MariaDB Django writes `startswith` as
# `LIKE BINARY 'x%'`, which cannot be a range on an index in the column's (case-insensitive)
# collation, so the server read all 100,000 entries of the name or phone index for every
# keystroke. `LIKE 'x%'` is a range on the same index. (SQLite writes both the same way.)
_PATIENT_LOOKUP = {
    TermKind.ID_NUMBER: ("id_card", "exact"),
    TermKind.PHONE: ("phone", "istartswith"),
    TermKind.NAME: ("name", "istartswith"),
}
_APPOINTMENT_LOOKUP = {
    TermKind.ID_NUMBER: ("id_card", "exact"),
    TermKind.PHONE: ("phone", "istartswith"),
    TermKind.REFERENCE: ("reference", "exact"),
    TermKind.NAME: ("patient_name", "istartswith"),
}


@dataclass
class SearchResults:
    query: str
    patients: list[Patient] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.patients or self.appointments)


def parse_term(query: str) -> SearchTerm | None:
    """What was typed, read as an ID number, a phone (prefix from 3 digits), a booking reference
    or a name prefix; None for nothing."""
    query = (query or "").strip()
    if not query:
        return None
    digits = normalize_phone(query)
    id_number = normalize_resident_id(query) or ""
    if _ID_NUMBER.match(id_number):
        return SearchTerm(TermKind.ID_NUMBER, id_number)
    if digits.isdigit() and len(digits) >= 3:
        return SearchTerm(TermKind.PHONE, digits)
    if _REFERENCE.match(query.upper()):
        return SearchTerm(TermKind.REFERENCE, query.upper())
    return SearchTerm(TermKind.NAME, query)


def _lookup(table: dict, term: SearchTerm) -> Q | None:
    if term.kind not in table:
        return None
    column, lookup = table[term.kind]
    return Q(**{f"{column}__{lookup}": term.value})


def search_filters(query: str) -> tuple[Q | None, Q | None]:
    """(patient filter, appointment filter) for what was typed; None where nothing matches.

    Every branch is an equality or prefix lookup on an indexed column: ID number (unique),
    phone (prefix from 3 digits), booking reference (unique), name prefix.
    """
    term = parse_term(query)
    if term is None:
        return None, None
    appointment_filter = _lookup(_APPOINTMENT_LOOKUP, term)
    if term.kind == TermKind.ID_NUMBER:
        appointment_filter |= Q(patient__id_card=term.value)
    return _lookup(_PATIENT_LOOKUP, term), appointment_filter


def start_of_today() -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))


def desk_search(query: str) -> SearchResults:
    """Patients and live bookings (today onwards) matching what was typed."""
    results = SearchResults(query=(query or "").strip())
    term = parse_term(query)
    if term is None:
        return results
    patient_filter = _lookup(_PATIENT_LOOKUP, term)
    if patient_filter is not None:
        column = _PATIENT_LOOKUP[term.kind][0]
        results.patients = list(
            # Ordered along the index the filter uses (phone, id_card or name; InnoDB appends
            # the primary key), so the first matches are read without sorting them all.
            Patient.objects.filter(patient_filter).order_by(column, "id")[:LIMIT]
        )
    appointment_filter = _lookup(_APPOINTMENT_LOOKUP, term)
    if term.kind == TermKind.ID_NUMBER:
        # The patient found just above (the ID number is unique) instead of a join on the
        # patient's ID number: `id_card = … OR patient_id IN (…)` is a union of two indexes,
        # where the OR across a join read every live booking.
        appointment_filter |= Q(patient__in=[patient.pk for patient in results.patients])
    results.appointments = list(
        Appointment.objects.filter(
            appointment_filter,
            status__in=LIVE_STATUSES,
            # A booking's expected time lies on its schedule's work date (requested_slot), so
            # this is "schedule from today on" without filtering through the join: the server
            # may read the (phone|patient_name|id_card, expected_time) index or the
            # expected_time one, whichever its statistics say holds fewer rows.
            expected_time__gte=start_of_today(),
        )
        # Fetched apart, by primary key: with the joins in the same statement the server is
        # free to start from the departments and read every booking of each (it did, on
        # statistics taken before a bulk load), instead of a range of one index.
        .prefetch_related(
            "department", Prefetch("schedule", queryset=Schedule.objects.select_related("doctor"))
        )
        .order_by("expected_time", "id")[:LIMIT]
    )
    return results
