"""What the desk's search box proves about an arriving patient, for check-in.

Check-in asks the patient for the phone they booked with (and the ID number when the booking
has one). When the desk has just found the booking by typing that whole phone number (or the
whole ID number) into its search box, asking for it again proves nothing more: the search's
"check in" link carries a proof of what was typed, and `check_in()` counts it as that check.

The proof is signed by the server (`django.core.signing`, the SECRET_KEY), never a flag the
browser sets: it names the booking, the desk user who searched and what matched, and it is
good for a few minutes, while the patient stands at the desk. It says nothing secret (not
the phone, not the ID number), so it may travel in the link's query string.
"""

from __future__ import annotations

from django.core import signing

from appointments.models import Appointment
from clinic.models import User
from clinic.search import SearchTerm, TermKind

SALT = "visits.arrival-proof"
# Long enough for the patient in front of the desk, short enough that an old link in the
# browser's history proves nothing.
MAX_AGE_SECONDS = 10 * 60

# The checks a proof can stand for.
PHONE = "phone"
ID_NUMBER = "id_card"


def checks_found_by_search(
    appointment: Appointment, term: SearchTerm | None, *, id_holder_ids: set[int]
) -> frozenset[str]:
    """The arrival checks the search `term` already made for `appointment`.

    - The whole phone number, equal to the booking's: the phone check.
    - The whole ID number, equal to the booking's own: the phone check and the ID check
      (the full number is more than the last 4 characters the ID check asks for).
    - The whole ID number of the booking's patient record (`id_holder_ids`: the patients the
      search found by that number), on a booking that has no ID number of its own or
      another one: the phone check only.
    A phone's beginning, a name or a reference proves nothing.
    """
    if term is None:
        return frozenset()
    if term.is_full_phone and term.value == appointment.phone:
        return frozenset({PHONE})
    if term.kind == TermKind.ID_NUMBER:
        if appointment.id_card and appointment.id_card == term.value:
            return frozenset({PHONE, ID_NUMBER})
        if appointment.patient_id in id_holder_ids:
            return frozenset({PHONE})
    return frozenset()


def make_proof(*, appointment_id: int, by: User, checks: frozenset[str]) -> str:
    """A signed, timestamped proof that `by` made `checks` for this booking ("" for none)."""
    if not checks:
        return ""
    return signing.dumps(
        {"appointment": appointment_id, "user": by.pk, "checks": sorted(checks)},
        salt=SALT,
        compress=True,
    )


def proven_checks(proof: str, *, appointment_id: int, by: User) -> frozenset[str]:
    """The checks a proof stands for, when it is genuine, recent, for this booking and made
    by this desk user; none otherwise (a tampered, expired or borrowed proof is no proof)."""
    if not proof or by is None or not by.is_authenticated:
        return frozenset()
    try:
        data = signing.loads(proof, salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.BadSignature:  # SignatureExpired is a BadSignature too
        return frozenset()
    if not isinstance(data, dict):
        return frozenset()
    if data.get("appointment") != appointment_id or data.get("user") != by.pk:
        return frozenset()
    checks = data.get("checks")
    if not isinstance(checks, list):
        return frozenset()
    return frozenset(checks) & {PHONE, ID_NUMBER}
