"""My visits and bills: own visits only, bills shown, records only when the clinic allows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.tests.factories import BillFactory
from visits.models import VisitStatus
from visits.tests.factories import MedicalRecordFactory, VisitFactory

pytestmark = pytest.mark.django_db

MY_VISITS = reverse("visits:my-visits")


def test_own_visits_show_their_bills(client, patient_user, other_patient_user):
    bill = BillFactory(visit__patient=patient_user.patient)
    theirs = BillFactory(visit__patient=other_patient_user.patient)
    client.force_login(patient_user)
    html = client.get(MY_VISITS).content.decode()
    assert bill.number in html
    assert str(bill.self_pay_amount) in html
    assert theirs.number not in html


def test_medical_records_are_hidden_unless_the_clinic_enables_them(client, patient_user, settings):
    record = MedicalRecordFactory(
        visit__patient=patient_user.patient, visit__status=VisitStatus.LEFT, diagnosis="Gastritis"
    )
    client.force_login(patient_user)
    settings.CLINIC_PATIENTS_SEE_RECORDS = False
    assert record.diagnosis not in client.get(MY_VISITS).content.decode()
    settings.CLINIC_PATIENTS_SEE_RECORDS = True
    assert record.diagnosis in client.get(MY_VISITS).content.decode()


def test_query_count_does_not_grow_with_visits(client, patient_user):
    client.force_login(patient_user)

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(MY_VISITS).status_code == 200
        return len(queries)

    for _ in range(3):
        BillFactory(visit__patient=patient_user.patient)
    # One waiting today from the start: its expected wait is a fixed number of queries more.
    VisitFactory(patient=patient_user.patient)
    with_3 = count()
    for _ in range(12):
        VisitFactory(patient=patient_user.patient)
    assert count() == with_3
