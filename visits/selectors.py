"""Reading visits, scoped to who asks."""

from __future__ import annotations

from django.db.models import QuerySet

from clinic.models import User
from visits.models import Visit


def visits_of_patient_account(user: User) -> QuerySet[Visit]:
    """A patient's own visits, newest first, with everything the list shows (one query)."""
    return (
        Visit.objects.filter(patient__user=user)
        .select_related(
            "department", "schedule__doctor", "schedule__room", "bill", "medical_record"
        )
        .order_by("-visit_date", "-check_in_time")
    )
