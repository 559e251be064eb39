"""The desk's one search box: phone, ID number, name or booking reference, on indexed columns."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from django.db.models import Q
from django.utils import timezone

from appointments.models import LIVE_STATUSES, Appointment
from clinic.codes import READABLE_ALPHABET
from clinic.models import Patient
from clinic.validators import normalize_phone, normalize_resident_id

LIMIT = 8
_REFERENCE = re.compile(f"^[{READABLE_ALPHABET}]{{8}}$")
_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")


@dataclass
class SearchResults:
    query: str
    patients: list[Patient] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.patients or self.appointments)


def search_filters(query: str) -> tuple[Q | None, Q | None]:
    """(patient filter, appointment filter) for what was typed; None where nothing matches.

    Every branch is an equality or prefix lookup on an indexed column: ID number (unique),
    phone (prefix from 3 digits), booking reference (unique), name prefix.
    """
    query = (query or "").strip()
    if not query:
        return None, None
    digits = normalize_phone(query)
    id_number = normalize_resident_id(query) or ""
    if _ID_NUMBER.match(id_number):
        return Q(id_card=id_number), Q(id_card=id_number) | Q(patient__id_card=id_number)
    if digits.isdigit() and len(digits) >= 3:
        return Q(phone__startswith=digits), Q(phone__startswith=digits)
    if _REFERENCE.match(query.upper()):
        return None, Q(reference=query.upper())
    return Q(name__startswith=query), Q(patient_name__startswith=query)


def desk_search(query: str) -> SearchResults:
    """Patients and live bookings (today onwards) matching what was typed."""
    results = SearchResults(query=(query or "").strip())
    patient_filter, appointment_filter = search_filters(query)
    if patient_filter is not None:
        results.patients = list(
            # Ordered along the index the filter uses (phone, id_card or name; InnoDB appends
            # the primary key), so the first matches are read without sorting them all.
            Patient.objects.filter(patient_filter).order_by(
                patient_filter.children[0][0].split("__")[0], "id"
            )[:LIMIT]
        )
    if appointment_filter is not None:
        results.appointments = list(
            Appointment.objects.filter(
                appointment_filter,
                status__in=LIVE_STATUSES,
                schedule__work_date__gte=timezone.localdate(),
            )
            .select_related("department", "schedule__doctor")
            .order_by("expected_time", "id")[:LIMIT]
        )
    return results
