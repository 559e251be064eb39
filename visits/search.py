"""The desk's one search box (patients and live bookings), and visits found by the one
search rule (`clinic.search`) for Django Admin.

What a typed text is, and the lookups it makes, are `clinic.search`'s (patients) and
`appointments.search`'s (bookings); this module only puts them together for the desk.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.models import LIVE_STATUSES, Appointment
from appointments.search import appointment_filter
from clinic.models import Patient, Room
from clinic.search import TermKind, parse_term, patient_filter, patient_ordering
from scheduling.models import Schedule

LIMIT = 8

VISIT_SEARCH_HELP = _(
    "A phone number (all 11 digits, or the first 3 or more), an ID number (all of it), the "
    "beginning of a name, or a room number. Letters in any case."
)


@dataclass
class SearchResults:
    query: str
    patients: list[Patient] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)
    # Digits too few to be a phone's beginning: nothing was looked up, and the box says why.
    too_short: bool = False

    def __bool__(self) -> bool:
        return bool(self.patients or self.appointments)


def start_of_today() -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))


def desk_search(query: str) -> SearchResults:
    """Patients and live bookings (today onwards) matching what was typed."""
    results = SearchResults(query=(query or "").strip())
    term = parse_term(query)
    if term is None:
        return results
    if term.is_too_short:
        results.too_short = True
        return results
    results.patients = list(
        # Ordered along the index the filter uses (phone, id_card or name; InnoDB appends
        # the primary key), so the first matches are read without sorting them all.
        Patient.objects.filter(patient_filter(term)).order_by(*patient_ordering(term))[:LIMIT]
    )
    results.appointments = list(
        Appointment.objects.filter(
            # An ID number also finds the bookings of the patient found just above (the ID
            # number is unique), by that patient's id.
            appointment_filter(
                term,
                patient_ids=[patient.pk for patient in results.patients]
                if term.kind == TermKind.ID_NUMBER
                else None,
            ),
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


def visit_filter(text: str, *, prefix: str = "") -> Q:
    """Visits (or, through `prefix`, what belongs to one: "visit__") found by a search box:
    an exact room number when a room has it (one query to know), else the one rule on the
    visit's patient. One indexed lookup, not Django's OR across every search field, which
    would join and scan the whole list on a large clinic's history."""
    term = parse_term(text)
    if term is None:
        return Q()
    room_number = text.strip()
    if Room.objects.filter(room_number=room_number).exists():
        return Q(**{f"{prefix}schedule__room__room_number": room_number})
    return patient_filter(term, prefix=f"{prefix}patient__")
