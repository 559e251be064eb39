"""Real threads against MariaDB: desks registering the same person at once queue them once
(issue 19's walk-in guard holds under contention, thanks to the patient's row lock)."""

from __future__ import annotations

from collections import Counter
from functools import partial

import pytest

from clinic.models import Gender, Patient
from clinic.tests.factories import PatientFactory, ReceptionistFactory, make_resident_id
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time, run_at_once
from visits.exceptions import AlreadyInQueue
from visits.models import Visit
from visits.services import register_walk_in

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]

NOW = clinic_time(7, 30)
THREADS = 8


def outcome(results: list) -> Counter:
    return Counter(type(result).__name__ for result in results)


def test_the_same_record_registered_at_once_is_queued_once():
    schedule = ScheduleFactory(work_date=WORK_DAY, max_patients=20)
    patient = PatientFactory()
    desk = ReceptionistFactory()
    walk_in = partial(
        register_walk_in, by=desk, department=schedule.department, patient=patient, now=NOW
    )
    results = run_at_once([walk_in] * THREADS)
    assert outcome(results) == Counter({"Visit": 1, "AlreadyInQueue": THREADS - 1})
    assert Visit.objects.filter(patient=patient).count() == 1
    schedule.refresh_from_db()
    assert schedule.current_patients == 1


def test_the_same_new_person_typed_at_several_desks_is_queued_once():
    schedule = ScheduleFactory(work_date=WORK_DAY, max_patients=20)
    desk = ReceptionistFactory()
    walk_in = partial(
        register_walk_in,
        by=desk,
        department=schedule.department,
        name="路人甲",
        phone="13700000001",
        id_card=make_resident_id(seed=31),
        gender=Gender.MALE,
        now=NOW,
    )
    results = run_at_once([walk_in] * THREADS)
    assert outcome(results) == Counter({"Visit": 1, "AlreadyInQueue": THREADS - 1})
    assert all(isinstance(result, (Visit, AlreadyInQueue)) for result in results), results
    assert Patient.objects.count() == 1 and Visit.objects.count() == 1
    schedule.refresh_from_db()
    assert schedule.current_patients == 1
