"""Bookings found by the one search rule (`clinic.search`): the desk's search box, the
appointment desk's API filter and Django Admin.

A booking carries a snapshot of who booked (name, phone, ID number; a phone booking has no
patient record), so the rule reads the booking's own columns, each indexed together with
`expected_time` (Appointment.Meta.indexes).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clinic.models import Patient
from clinic.search import (
    NOTHING,
    SearchTerm,
    TermKind,
    phone_lookup,
    pinyin_patients,
    pinyin_phone,
    prefix_lookup,
)

APPOINTMENT_SEARCH_HELP = _(
    "A booking reference, a phone number (all 11 digits, or the first 3 or more), an ID number "
    "(all of it), or the beginning of a name or of its pinyin (zhangsan, zs; with the phone's "
    "first digits: zs 138). Letters in any case."
)


def _held_by(id_number: str, patient_ids: Iterable[int] | None) -> Q:
    """Bookings holding an ID number, or made for the patient who has it.

    A booking made before the ID number was on file has none of its own. `patient_ids` are the
    ids of the patients with that number when the caller has read them already; otherwise
    they are read here (one query on the unique index). The patient's id, not a join on the
    patient's ID number: `id_card = … OR patient_id IN (…)` is a union of two indexes, where
    the OR across a join read every booking.
    """
    if patient_ids is None:
        patient_ids = Patient.objects.filter(id_card=id_number).values_list("pk", flat=True)
    return Q(id_card=id_number) | Q(patient__in=list(patient_ids))


def appointment_lookup(term: SearchTerm, *, patient_ids: Iterable[int] | None = None) -> Q:
    """Bookings matching one term (`patient_ids`: see `_held_by`, for an ID number; for
    pinyin, the patients already found by it)."""
    if term.kind == TermKind.ID_NUMBER:
        return _held_by(term.value, patient_ids)
    if term.kind == TermKind.PHONE:
        return phone_lookup("phone", term.value)
    if term.kind == TermKind.REFERENCE:
        return Q(reference=term.value)
    if term.kind == TermKind.BILL_NUMBER:
        return NOTHING
    if term.kind == TermKind.PINYIN:
        # The booked name's beginning (a phone booking has no patient record), or the pinyin of
        # the patient's name (clinic.search, rule 5); and the phone's beginning when typed.
        # `patient_ids`: the patients the caller found by the same text (the desk's box), so
        # that their keys are not read twice.
        patients = pinyin_patients(term) if patient_ids is None else list(patient_ids)
        found = prefix_lookup("patient_name", term.value) | Q(patient__in=patients)
        found &= pinyin_phone("phone", term.phone)
        if term.document:
            found |= _held_by(term.document, None)
        return found
    found = prefix_lookup("patient_name", term.value)
    if term.document:
        found |= _held_by(term.document, None)
    return found


def appointment_filter(*terms: SearchTerm | None, patient_ids: Iterable[int] | None = None) -> Q:
    """Bookings matching every term given (None terms are left out; none at all: every one)."""
    found = Q()
    for term in terms:
        if term is not None:
            found &= appointment_lookup(term, patient_ids=patient_ids)
    return found
