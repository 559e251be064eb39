"""Bills found by the one search rule (`clinic.search`): Django Admin's bills and income
records, the API's bill lists and the desk's takings report.

A bill number finds that bill (exactly: the number is unique); everything else is the rule on
the bill's patient, through its visit. Django Admin's box also takes a room number
(`visits.search.visit_filter`).
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from clinic.search import SearchTerm, TermKind, parse_term, patient_filter
from visits.search import visit_filter

BILL_SEARCH_HELP = _(
    "A bill number, a phone number (all 11 digits, or the first 3 or more), an ID number (all "
    "of it), the beginning of a name, or a room number. Letters in any case."
)


def bill_filter(*terms: SearchTerm | None, prefix: str = "") -> Q:
    """Bills (or, through `prefix`, what belongs to one: "bill__") matching every term."""
    found = Q()
    for term in terms:
        if term is None:
            continue
        if term.kind == TermKind.BILL_NUMBER:
            found &= Q(**{f"{prefix}number": term.value})
        else:
            found &= patient_filter(term, prefix=f"{prefix}visit__patient__")
    return found


def bill_search_filter(text: str, *, prefix: str = "") -> Q:
    """What a search box finds among bills: a bill number, else a room number or the rule on
    the patient, as for visits."""
    term = parse_term(text)
    if term is not None and term.kind == TermKind.BILL_NUMBER:
        return bill_filter(term, prefix=prefix)
    return visit_filter(text, prefix=f"{prefix}visit__")
