"""Real threads against MariaDB: a patient's allergies change one writer at a time (the
patient's row lock, visits.allergies). Same method as tests/test_concurrency.py; SQLite has
no row locks, and the root conftest skips these tests there."""

from __future__ import annotations

from functools import partial

import pytest

from clinic.exceptions import InvalidInput
from clinic.models import AuditEvent
from scheduling.tests.factories import ScheduleFactory
from tests.support import run_at_once
from visits.allergies import add_allergy, confirm_no_known_allergies, remove_allergy
from visits.models import NoKnownAllergies, PatientAllergy, VisitStatus
from visits.tests.factories import PatientAllergyFactory, VisitFactory

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]


def test_allergies_and_no_known_allergies_never_hold_together(doctor_user):
    schedule = ScheduleFactory(doctor=doctor_user.employee)
    patient = VisitFactory(schedule=schedule, status=VisitStatus.IN_CONSULTATION).patient
    existing = PatientAllergyFactory(patient=patient, recorded_by=doctor_user)
    calls = [
        *(partial(remove_allergy, allergy=existing, by=doctor_user) for _ in range(4)),
        *(
            partial(add_allergy, patient=patient, by=doctor_user, substance=f"Drug {n}")
            for n in range(4)
        ),
        *(partial(confirm_no_known_allergies, patient=patient, by=doctor_user) for _ in range(4)),
    ]
    results = run_at_once(calls)

    unexpected = [
        r for r in results if isinstance(r, Exception) and not isinstance(r, InvalidInput)
    ]
    assert not unexpected
    active = PatientAllergy.objects.active().filter(patient=patient)
    # The four new allergies are all on file; "no known allergies" cannot hold beside them
    # (whenever it was confirmed, a later addition ended it, and none was confirmed after).
    assert sorted(active.values_list("substance", flat=True)) == [f"Drug {n}" for n in range(4)]
    assert not NoKnownAllergies.objects.filter(patient=patient).exists()
    # The old one was removed once, whatever the number of clicks.
    assert AuditEvent.objects.filter(action="allergy.removed").count() == 1
    assert AuditEvent.objects.filter(action="allergy.added").count() == 4
    confirmed = sum(isinstance(r, NoKnownAllergies) for r in results)
    assert AuditEvent.objects.filter(action="allergy.none_known").count() == confirmed
