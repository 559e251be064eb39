"""The desk's one search box (patients and live bookings), and visits found by the one
search rule (`clinic.search`) for Django Admin.

What a typed text is, and the lookups it makes, are `clinic.search`'s (patients) and
`appointments.search`'s (bookings); this module only puts them together for the desk.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import F, Prefetch, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from appointments.models import LIVE_STATUSES, Appointment
from appointments.search import appointment_filter
from clinic.models import Patient, Room
from clinic.search import (
    SearchTerm,
    TermKind,
    first_matching_patients,
    parse_term,
    patient_filter,
)
from scheduling.models import Schedule
from visits.models import Visit

LIMIT = 8

VISIT_SEARCH_HELP = _(
    "A phone number (all 11 digits, or the first 3 or more), an ID number (all of it), the "
    "beginning of a name or of its pinyin (zhangsan, zs; with the phone's first digits: zs "
    "138), or a room number. Letters in any case."
)


@dataclass
class SearchResults:
    query: str
    term: SearchTerm | None = None
    patients: list[Patient] = field(default_factory=list)
    appointments: list[Appointment] = field(default_factory=list)
    # Today's visits of the patients found, each with the desk's next action for it.
    visits: list[Visit] = field(default_factory=list)
    # Digits too few to be a phone's beginning: nothing was looked up, and the box says why.
    too_short: bool = False

    def __bool__(self) -> bool:
        return bool(self.patients or self.appointments or self.visits)

    @property
    def id_holder_ids(self) -> set[int]:
        """The patients found by their whole ID number (none for other searches)."""
        if self.term is None or self.term.kind != TermKind.ID_NUMBER:
            return set()
        return {patient.pk for patient in self.patients if patient.id_card == self.term.value}


def start_of_today() -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(timezone.localdate(), dt.time.min))


def desk_search(query: str) -> SearchResults:
    """Patients and live bookings (today onwards) matching what was typed, and today's
    visits of the patients found (`todays_visits_of`)."""
    term = parse_term(query)
    results = SearchResults(query=(query or "").strip(), term=term)
    if term is None:
        return results
    if term.is_too_short:
        results.too_short = True
        return results
    # Ordered along the index the filter uses (phone, id_card, name or pinyin key; InnoDB
    # appends the primary key), so the first matches are read without sorting them all.
    results.patients = first_matching_patients([term], LIMIT)
    results.appointments = list(
        Appointment.objects.filter(
            # An ID number also finds the bookings of the patient found just above (the ID
            # number is unique), by that patient's id; pinyin the bookings of the patients
            # shown (and phone bookings by the booked name), not every key's patient again.
            appointment_filter(
                term,
                patient_ids=[patient.pk for patient in results.patients]
                if term.kind in (TermKind.ID_NUMBER, TermKind.PINYIN)
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
            "department",
            "window",
            Prefetch("schedule", queryset=Schedule.objects.select_related("doctor")),
        )
        .order_by("expected_time", "id")[:LIMIT]
    )
    results.visits = todays_visits_of(results.patients)
    return results


def todays_visits_of(patients: list[Patient]) -> list[Visit]:
    """Today's visits of these patients that the desk still has something to do for
    (Visit.desk_next_action), each with its `bill_pk`: one query on the (patient, visit date)
    index, none when no patient was found."""
    if not patients:
        return []
    return list(
        Visit.objects.filter(
            patient__in=[patient.pk for patient in patients],
            visit_date=timezone.localdate(),
            status__in=list(Visit.DESK_NEXT_ACTION),
        )
        .select_related("patient", "department", "schedule__doctor", "window")
        .annotate(bill_pk=F("bill__id"))
        .order_by("check_in_time", "id")[:LIMIT]
    )


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
