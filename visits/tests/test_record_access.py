"""The medical-record access rule (visits.records) through both surfaces, pages and API, for
each persona, on the day of the visit and the day after (the clinic's clock controlled).

A doctor reads the records of patients they are seeing or have seen, and writes only the
record of their own visit, on the visit's day; later corrections are an administrator's,
audited as `medical_record.corrected`. Every read that shows a record is one
`medical_record.viewed` event; a refused request writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any
from unittest import mock

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from clinic.exceptions import PermissionDenied
from clinic.models import AuditEvent, User
from clinic.tests.factories import DoctorUserFactory, PatientFactory
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time
from visits.exceptions import RecordClosed, RecordNotEditable
from visits.models import MedicalRecord, Visit, VisitStatus
from visits.records import (
    can_read_record,
    can_write_record,
    get_record_for,
    readable_visits,
    records_readable_by,
)
from visits.services import save_medical_record
from visits.tests.factories import MedicalRecordFactory, VisitFactory

pytestmark = pytest.mark.django_db

ON_THE_DAY = clinic_time(10)
NEXT_DAY = clinic_time(10, day=WORK_DAY + dt.timedelta(days=1))
ORIGINAL = "Original diagnosis"
WRITES = ("medical_record.created", "medical_record.updated", "medical_record.corrected")


@pytest.fixture
def clock() -> Iterator[SimpleNamespace]:
    """The clinic's clock: `clock.now` is what django.utils.timezone.now() answers."""
    current = SimpleNamespace(now=ON_THE_DAY)
    with mock.patch("django.utils.timezone.now", side_effect=lambda: current.now):
        yield current


@pytest.fixture
def world(clock, doctor_user, other_doctor_user, admin_user, receptionist, patient_user):
    """The doctor persona sees a patient on the work day (a record written); another doctor
    saw the same patient a week before; a third doctor has never seen them."""
    patient = PatientFactory(name="Record Patient")
    visit = VisitFactory(
        schedule=ScheduleFactory(doctor=doctor_user.employee, work_date=WORK_DAY),
        patient=patient,
        queue_number=1,
        status=VisitStatus.IN_CONSULTATION,
        called_at=clinic_time(9),
    )
    record = MedicalRecordFactory(visit=visit, diagnosis=ORIGINAL, updated_by=doctor_user)
    earlier = VisitFactory(
        schedule=ScheduleFactory(
            doctor=other_doctor_user.employee, work_date=WORK_DAY - dt.timedelta(days=7)
        ),
        patient=patient,
        queue_number=1,
        status=VisitStatus.LEFT,
        called_at=clinic_time(9, day=WORK_DAY - dt.timedelta(days=7)),
    )
    stranger = DoctorUserFactory()
    # The stranger sees patients too, only never this one.
    VisitFactory(
        schedule=ScheduleFactory(doctor=stranger.employee, work_date=WORK_DAY),
        queue_number=1,
        status=VisitStatus.LEFT,
    )
    return SimpleNamespace(
        clock=clock,
        visit=visit,
        record=record,
        earlier=earlier,
        users={
            "own_doctor": doctor_user,
            "doctor_who_saw_the_patient": other_doctor_user,
            "doctor_who_never_saw_the_patient": stranger,
            "admin": admin_user,
            "receptionist": receptionist,
            "patient": patient_user,
        },
    )


# --- The surfaces -----------------------------------------------------------------------------


def page(client, user: User) -> Any:
    client.force_login(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def api(user: User) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    client.force_authenticate(user)
    return client


def consultation_url(world) -> str:
    return reverse("visits:consultation", args=[world.visit.pk])


def record_url(world) -> str:
    return reverse("visits:record-detail", args=[world.record.pk])


def correct_url(world) -> str:
    return reverse("visits:record-correct", args=[world.record.pk])


def api_url(world, group: str = "doctor") -> str:
    return f"/api/{group}/visits/{world.visit.pk}/medical-record"


def views_by(user: User) -> int:
    return AuditEvent.objects.filter(
        action="medical_record.viewed", actor=user, object_id=str(_record_pk())
    ).count()


def _record_pk() -> int:
    return MedicalRecord.objects.values_list("pk", flat=True).get(visit__queue_number=1)


def assert_unchanged(world) -> None:
    world.record.refresh_from_db()
    assert world.record.diagnosis == ORIGINAL
    assert not AuditEvent.objects.filter(action__in=WRITES).exists()


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status
    assert response.json()["error"]["code"] == code


# --- The visit's own doctor -------------------------------------------------------------------


class TestOwnDoctorOnTheDay:
    def test_reads_on_the_page_and_through_the_api_each_one_audited_view(self, client, world):
        doctor = world.users["own_doctor"]
        html = page(client, doctor).get(consultation_url(world)).content.decode()
        assert ORIGINAL in html
        assert views_by(doctor) == 1
        assert ORIGINAL in client.get(record_url(world)).content.decode()
        assert views_by(doctor) == 2
        response = api(doctor).get(api_url(world))
        assert response.status_code == 200
        assert response.json()["diagnosis"] == ORIGINAL
        assert views_by(doctor) == 3

    def test_writes_on_the_page(self, client, world):
        doctor = world.users["own_doctor"]
        html = page(client, doctor).get(consultation_url(world)).content.decode()
        assert 'name="diagnosis"' in html
        response = client.post(consultation_url(world), {"diagnosis": "Bronchitis"})
        assert response.status_code == 302
        world.record.refresh_from_db()
        assert world.record.diagnosis == "Bronchitis"
        event = AuditEvent.objects.get(action__in=WRITES)
        assert (event.action, event.actor) == ("medical_record.updated", doctor)

    def test_writes_through_the_api(self, world):
        doctor = world.users["own_doctor"]
        response = api(doctor).put(api_url(world), {"diagnosis": "Bronchitis"}, format="json")
        assert response.status_code == 200
        world.record.refresh_from_db()
        assert world.record.diagnosis == "Bronchitis"
        assert AuditEvent.objects.get(action__in=WRITES).action == "medical_record.updated"

    def test_writes_until_midnight_in_the_clinics_time_zone(self, world):
        doctor = world.users["own_doctor"]
        last_minute = clinic_time(23, 59)
        assert can_write_record(doctor, world.visit, now=last_minute)
        save_medical_record(visit=world.visit, by=doctor, now=last_minute, diagnosis="Late")
        world.record.refresh_from_db()
        assert world.record.diagnosis == "Late"


class TestOwnDoctorTheDayAfter:
    @pytest.fixture(autouse=True)
    def next_day(self, world):
        world.clock.now = NEXT_DAY

    def test_still_reads_on_the_page_and_through_the_api(self, client, world):
        doctor = world.users["own_doctor"]
        response = page(client, doctor).get(consultation_url(world))
        assert response.status_code == 200
        assert ORIGINAL in response.content.decode()
        assert client.get(record_url(world)).status_code == 200
        assert api(doctor).get(api_url(world)).json()["diagnosis"] == ORIGINAL
        assert views_by(doctor) == 3

    def test_the_page_shows_the_record_without_a_form_and_says_why(self, client, world):
        html = page(client, world.users["own_doctor"]).get(consultation_url(world)).content
        html = html.decode()
        assert 'name="diagnosis"' not in html
        assert 'id="record-closed"' in html
        assert "ask an administrator" in html
        assert reverse("visits:record-correct", args=[world.record.pk]) not in html

    def test_a_write_on_the_page_is_refused_with_403_and_nothing_is_written(self, client, world):
        response = page(client, world.users["own_doctor"]).post(
            consultation_url(world), {"diagnosis": "Changed later"}
        )
        assert response.status_code == 403
        html = response.content.decode()
        assert "ask an administrator" in html
        # What was typed is shown back, not lost.
        assert "Changed later" in html
        assert_unchanged(world)

    def test_a_write_through_the_api_is_refused_with_record_closed(self, world):
        response = api(world.users["own_doctor"]).put(
            api_url(world), {"diagnosis": "Changed later"}, format="json"
        )
        assert_error(response, 403, "record_closed")
        assert response.json()["error"]["details"] == {"visit_date": WORK_DAY.isoformat()}
        assert "administrator" in response.json()["error"]["message"]
        assert_unchanged(world)

    def test_the_service_refuses_from_midnight_in_the_clinics_time_zone(self, world):
        doctor = world.users["own_doctor"]
        # 00:00 in the clinic is still the visit's day in UTC: the clinic's date decides.
        midnight = clinic_time(0, day=WORK_DAY + dt.timedelta(days=1))
        assert midnight.astimezone(dt.UTC).date() == WORK_DAY
        assert not can_write_record(doctor, world.visit, now=midnight)
        with pytest.raises(RecordClosed):
            save_medical_record(visit=world.visit, by=doctor, now=midnight, diagnosis="Late")
        assert_unchanged(world)

    def test_sending_the_patient_to_pay_writes_no_record(self, client, world):
        response = page(client, world.users["own_doctor"]).post(
            consultation_url(world), {"finish": "1"}
        )
        assert response.status_code == 302
        world.visit.refresh_from_db()
        assert world.visit.status == VisitStatus.AWAITING_PAYMENT
        assert_unchanged(world)


# --- Another doctor who has seen the patient ----------------------------------------------------


class TestDoctorWhoSawThePatient:
    def test_reads_on_the_page_and_through_the_api(self, client, world):
        doctor = world.users["doctor_who_saw_the_patient"]
        response = page(client, doctor).get(record_url(world))
        assert response.status_code == 200
        assert ORIGINAL in response.content.decode()
        response = api(doctor).get(api_url(world))
        assert response.status_code == 200
        assert response.json()["diagnosis"] == ORIGINAL
        assert views_by(doctor) == 2

    def test_cannot_write_on_the_page(self, client, world):
        doctor = world.users["doctor_who_saw_the_patient"]
        # The consultation page is the visit's own doctor's.
        response = page(client, doctor).post(consultation_url(world), {"diagnosis": "Mine"})
        assert response.status_code == 404
        assert client.post(correct_url(world), {"diagnosis": "Mine"}).status_code == 403
        assert_unchanged(world)

    def test_cannot_write_through_the_api(self, world):
        response = api(world.users["doctor_who_saw_the_patient"]).put(
            api_url(world), {"diagnosis": "Mine"}, format="json"
        )
        assert_error(response, 403, "permission_denied")
        assert_unchanged(world)

    def test_the_rule_says_read_but_not_write(self, world):
        doctor = world.users["doctor_who_saw_the_patient"]
        assert can_read_record(doctor, world.visit)
        assert not can_write_record(doctor, world.visit)
        with pytest.raises(PermissionDenied):
            save_medical_record(visit=world.visit, by=doctor, diagnosis="Mine")
        assert_unchanged(world)


# --- A doctor who never saw the patient ---------------------------------------------------------


class TestDoctorWhoNeverSawThePatient:
    def test_the_record_does_not_exist_on_the_page(self, client, world):
        doctor = world.users["doctor_who_never_saw_the_patient"]
        page(client, doctor)
        for response in (
            client.get(record_url(world)),
            client.get(consultation_url(world)),
            client.post(consultation_url(world), {"diagnosis": "Mine"}),
        ):
            assert response.status_code == 404
            assert ORIGINAL not in response.content.decode()
        assert views_by(doctor) == 0
        assert_unchanged(world)

    def test_the_record_does_not_exist_in_the_api(self, world):
        client = api(world.users["doctor_who_never_saw_the_patient"])
        assert_error(client.get(api_url(world)), 404, "not_found")
        assert_error(
            client.put(api_url(world), {"diagnosis": "x"}, format="json"), 404, "not_found"
        )
        assert not AuditEvent.objects.filter(action="medical_record.viewed").exists()
        assert_unchanged(world)

    def test_the_rule_says_neither(self, world):
        doctor = world.users["doctor_who_never_saw_the_patient"]
        assert not can_read_record(doctor, world.visit)
        assert not records_readable_by(doctor).exists()
        assert not readable_visits(doctor).filter(patient=world.visit.patient).exists()


# --- Administrators ---------------------------------------------------------------------------


class TestAdministrator:
    def test_reads_on_the_pages_admin_and_api(self, client, world):
        admin = world.users["admin"]
        page(client, admin)
        assert ORIGINAL in client.get(record_url(world)).content.decode()
        change = reverse("admin:visits_medicalrecord_change", args=[world.record.pk])
        assert ORIGINAL in client.get(change).content.decode()
        assert ORIGINAL in client.get(correct_url(world)).content.decode()
        assert api(admin).get(api_url(world, "admin")).json()["diagnosis"] == ORIGINAL
        assert views_by(admin) == 4

    @pytest.mark.parametrize("when", [ON_THE_DAY, NEXT_DAY], ids=["on_the_day", "next_day"])
    def test_corrects_on_the_page_audited_as_a_correction(self, client, world, when):
        world.clock.now = when
        admin = world.users["admin"]
        response = page(client, admin).post(correct_url(world), {"diagnosis": "Corrected"})
        assert response.status_code == 302
        world.record.refresh_from_db()
        assert (world.record.diagnosis, world.record.updated_by) == ("Corrected", admin)
        event = AuditEvent.objects.get(action__in=WRITES)
        assert (event.action, event.actor) == ("medical_record.corrected", admin)
        assert (event.old_values, event.new_values) == (
            {"diagnosis": ORIGINAL},
            {"diagnosis": "Corrected"},
        )

    @pytest.mark.parametrize("when", [ON_THE_DAY, NEXT_DAY], ids=["on_the_day", "next_day"])
    def test_corrects_through_the_api_audited_as_a_correction(self, world, when):
        world.clock.now = when
        admin = world.users["admin"]
        response = api(admin).put(
            api_url(world, "admin"), {"diagnosis": "Corrected"}, format="json"
        )
        assert response.status_code == 200
        world.record.refresh_from_db()
        assert world.record.diagnosis == "Corrected"
        event = AuditEvent.objects.get(action__in=WRITES)
        assert (event.action, event.actor) == ("medical_record.corrected", admin)

    def test_a_record_exists_only_once_the_consultation_has_started(self, world):
        waiting = VisitFactory(schedule=world.visit.schedule, queue_number=2)
        with pytest.raises(RecordNotEditable):
            save_medical_record(visit=waiting, by=world.users["admin"], diagnosis="Too soon")
        assert not MedicalRecord.objects.filter(visit=waiting).exists()

    def test_uses_the_administrators_routes_not_the_doctors(self, world):
        client = api(world.users["admin"])
        assert_error(client.get(api_url(world)), 403, "permission_denied")
        assert_error(
            client.put(api_url(world), {"diagnosis": "x"}, format="json"), 403, "permission_denied"
        )
        assert_unchanged(world)


# --- The desk and patients --------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["receptionist", "patient"])
class TestDeskAndPatients:
    def test_are_refused_on_every_page(self, client, world, persona):
        page(client, world.users[persona])
        for response in (
            client.get(record_url(world)),
            client.get(consultation_url(world)),
            client.post(consultation_url(world), {"diagnosis": "x"}),
            client.get(correct_url(world)),
            client.post(correct_url(world), {"diagnosis": "x"}),
        ):
            assert response.status_code == 403
            assert ORIGINAL not in response.content.decode()
        assert not AuditEvent.objects.filter(action="medical_record.viewed").exists()
        assert_unchanged(world)

    def test_are_refused_by_every_endpoint(self, world, persona):
        client = api(world.users[persona])
        for group in ("doctor", "admin"):
            assert_error(client.get(api_url(world, group)), 403, "permission_denied")
            response = client.put(api_url(world, group), {"diagnosis": "x"}, format="json")
            assert_error(response, 403, "permission_denied")
        assert not AuditEvent.objects.filter(action="medical_record.viewed").exists()
        assert_unchanged(world)

    def test_the_rule_gives_them_nothing(self, world, persona):
        user = world.users[persona]
        assert not can_read_record(user, world.visit)
        assert not can_write_record(user, world.visit)
        assert not records_readable_by(user).exists()
        with pytest.raises(PermissionDenied):
            save_medical_record(visit=world.visit, by=user, diagnosis="x")
        assert_unchanged(world)


# --- One selector -----------------------------------------------------------------------------


def test_readable_records_are_one_query_whatever_their_number(world, django_assert_num_queries):
    doctor = world.users["own_doctor"]
    for _ in range(5):
        MedicalRecordFactory(visit__patient=world.visit.patient, visit__status=VisitStatus.LEFT)
    with django_assert_num_queries(1):
        records = list(records_readable_by(doctor))
        assert {record.visit.schedule.doctor.name for record in records}
    assert len(records) == 6
    with django_assert_num_queries(1):
        assert get_record_for(doctor, world.record.pk) == world.record


def test_a_waiting_patient_is_not_yet_seen(world):
    """Being in the doctor's waiting room does not open the patient's records."""
    newcomer = VisitFactory(schedule=world.visit.schedule, queue_number=2)
    elsewhere = MedicalRecordFactory(
        visit__patient=newcomer.patient, visit__status=VisitStatus.LEFT
    )
    doctor = world.users["own_doctor"]
    assert not records_readable_by(doctor).filter(pk=elsewhere.pk).exists()
    Visit.objects.filter(pk=newcomer.pk).update(status=VisitStatus.IN_CONSULTATION)
    assert records_readable_by(doctor).filter(pk=elsewhere.pk).exists()
