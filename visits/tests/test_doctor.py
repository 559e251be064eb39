"""The doctor's workbench: the queue, calling the next patient, the consultation with its
medical record, reading records, the administrators' correction and the audit trail."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from clinic.exceptions import PermissionDenied
from clinic.models import AuditEvent, Gender, IdType
from clinic.tests.factories import (
    DoctorUserFactory,
    PatientFactory,
    ReceptionistFactory,
    RoomFactory,
    make_resident_id,
)
from scheduling.models import TimeSlot
from scheduling.tests.factories import ScheduleFactory, set_places_taken
from tests.support import WORK_DAY, clinic_time
from visits.exceptions import QueueEmpty, RecordNotEditable
from visits.models import MedicalRecord, Visit, VisitStatus
from visits.records import records_readable_by
from visits.selectors import doctor_day, get_visit_for_doctor, patient_history_for_doctor
from visits.services import call_next, save_medical_record
from visits.tests.factories import MedicalRecordFactory, VisitFactory, diagnosed

pytestmark = pytest.mark.django_db

QUEUE = reverse("visits:doctor-queue")
CALL_NEXT = reverse("visits:call-next")
HTMX = {"HTTP_HX_REQUEST": "true"}
RECORD_ACTIONS = (
    "medical_record.created",
    "medical_record.updated",
    "medical_record.corrected",
    "medical_record.viewed",
)


def consultation_url(visit: Visit) -> str:
    return reverse("visits:consultation", args=[visit.pk])


def record_url(record: MedicalRecord) -> str:
    return reverse("visits:record-detail", args=[record.pk])


def record_events(record: MedicalRecord | None = None, action: str | None = None):
    events = AuditEvent.objects.filter(action__in=RECORD_ACTIONS)
    if record is not None:
        events = events.filter(object_type="visits.medicalrecord", object_id=str(record.pk))
    if action is not None:
        events = events.filter(action=action)
    return events


@pytest.fixture
def schedule(doctor_user):
    """The doctor's morning schedule today."""
    return ScheduleFactory(doctor=doctor_user.employee, max_patients=60)


def waiting(schedule, number: int, **kwargs) -> Visit:
    return VisitFactory(schedule=schedule, queue_number=number, **kwargs)


def seen(schedule, number: int = 1, status: str = VisitStatus.IN_CONSULTATION, **kwargs) -> Visit:
    return VisitFactory(
        schedule=schedule, queue_number=number, status=status, called_at=timezone.now(), **kwargs
    )


# --- The queue page ---------------------------------------------------------------------------


class TestQueuePage:
    def test_shows_waiting_in_queue_order_the_patient_in_consultation_and_those_sent_to_pay(
        self, doctor_client, schedule
    ):
        third = waiting(schedule, 3, patient__name="Third Waiting")
        first = waiting(schedule, 1, patient__name="First Waiting")
        current = seen(schedule, 2, patient__name="In The Room")
        paying = seen(schedule, 4, VisitStatus.AWAITING_PAYMENT, patient__name="Gone To Pay")
        waiting(schedule, 5, status=VisitStatus.CANCELLED, patient__name="Left Unseen")

        response = doctor_client.get(QUEUE)

        assert response.status_code == 200
        html = response.content.decode()
        assert html.index(first.patient.name) < html.index(third.patient.name)
        assert current.patient.name in html
        assert consultation_url(current) in html
        assert paying.patient.name in html
        assert "Left Unseen" not in html
        assert 'hx-trigger="every 5s"' in html

    def test_shows_how_long_each_patient_has_waited(self, doctor_client, schedule):
        waiting(schedule, 1, check_in_time=timezone.now() - dt.timedelta(minutes=25))
        html = doctor_client.get(QUEUE).content.decode()
        # The clinic's one way to write a wait, as on the visit board (clinic_format).
        assert "waiting 25 min" in html

    def test_shows_only_the_doctors_own_schedules_of_today(
        self, doctor_client, doctor_user, schedule
    ):
        waiting(schedule, 1, patient__name="Mine Today")
        VisitFactory(queue_number=1, patient__name="Another Doctors")
        tomorrow = ScheduleFactory(
            doctor=doctor_user.employee, work_date=timezone.localdate() + dt.timedelta(days=1)
        )
        waiting(tomorrow, 1, patient__name="Mine Tomorrow")

        html = doctor_client.get(QUEUE).content.decode()

        assert "Mine Today" in html
        assert "Another Doctors" not in html
        assert "Mine Tomorrow" not in html

    def test_marks_the_patient_call_next_would_call(self, doctor_user, schedule):
        afternoon = ScheduleFactory(
            doctor=doctor_user.employee, time_slot=TimeSlot.AFTERNOON, room=schedule.room
        )
        waiting(afternoon, 1)
        expected = waiting(schedule, 7)
        waiting(schedule, 9)

        day = doctor_day(doctor_user, day=timezone.localdate())

        assert [queue.schedule for queue in day.schedules] == [schedule, afternoon]
        assert day.next_up == expected
        assert call_next(by=doctor_user) == expected

    def test_htmx_polls_get_the_panel_alone(self, doctor_client, schedule):
        waiting(schedule, 1, patient__name="Polled Patient")
        response = doctor_client.get(QUEUE, **HTMX)
        html = response.content.decode()
        assert response.status_code == 200
        assert html.lstrip().startswith('<div id="queue-panel"')
        assert "Polled Patient" in html
        assert "<html" not in html
        assert "HX-Request" in response["Vary"]

    def test_without_a_schedule_today_says_so(self, doctor_client):
        assert "no schedule today" in doctor_client.get(QUEUE).content.decode()

    @pytest.mark.parametrize("persona", ["patient", "receptionist", "admin"])
    def test_other_roles_are_refused(self, client, personas, persona):
        client.force_login(personas[persona])
        assert client.get(QUEUE).status_code == 403
        assert client.post(CALL_NEXT).status_code == 403

    def test_anonymous_goes_to_the_login_page(self, client):
        for response in (client.get(QUEUE), client.post(CALL_NEXT)):
            assert response.status_code == 302
            assert response["Location"].startswith(reverse("login"))

    @pytest.mark.parametrize("htmx", [False, True])
    def test_query_count_is_the_same_for_5_and_50_patients(
        self, doctor_client, doctor_user, schedule, htmx
    ):
        afternoon = ScheduleFactory(
            doctor=doctor_user.employee, time_slot=TimeSlot.AFTERNOON, max_patients=60
        )
        statuses = [
            VisitStatus.WAITING,
            VisitStatus.WAITING,
            VisitStatus.AWAITING_PAYMENT,
            VisitStatus.LEFT,
            VisitStatus.CANCELLED,
        ]
        headers = HTMX if htmx else {}

        def add(count: int, start: int) -> None:
            for index in range(start, start + count):
                status = statuses[index % len(statuses)]
                VisitFactory(
                    schedule=schedule if index % 2 else afternoon,
                    queue_number=index,
                    status=status,
                    called_at=None if status == VisitStatus.WAITING else timezone.now(),
                )

        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert doctor_client.get(QUEUE, **headers).status_code == 200
            return len(queries)

        seen(schedule, 1000)  # one patient in consultation throughout
        add(5, 1)
        with_5 = count()
        add(45, 6)
        assert count() == with_5


# --- Calling the next patient -----------------------------------------------------------------


class TestCallNext:
    def test_calls_the_lowest_waiting_number_and_opens_the_consultation(
        self, doctor_client, doctor_user, schedule
    ):
        later = waiting(schedule, 5)
        first = waiting(schedule, 2)
        VisitFactory(schedule=schedule, queue_number=1, status=VisitStatus.CANCELLED)

        response = doctor_client.post(CALL_NEXT)

        assert response.status_code == 302
        assert response["Location"] == consultation_url(first)
        first.refresh_from_db()
        later.refresh_from_db()
        assert first.status == VisitStatus.IN_CONSULTATION
        assert first.called_at is not None
        assert later.status == VisitStatus.WAITING
        event = AuditEvent.objects.get(action="visit.consultation_started")
        assert (event.actor, event.object_id, event.patient) == (
            doctor_user,
            str(first.pk),
            first.patient,
        )
        assert event.old_values == {"status": VisitStatus.WAITING}
        assert event.new_values["status"] == VisitStatus.IN_CONSULTATION

    def test_goes_through_the_days_schedules_morning_full_day_then_afternoon(self):
        doctor = DoctorUserFactory()
        rooms = RoomFactory.create_batch(3, department=doctor.employee.department)
        day = {"doctor": doctor.employee, "work_date": WORK_DAY}
        afternoon = ScheduleFactory(time_slot=TimeSlot.AFTERNOON, room=rooms[0], **day)
        full_day = ScheduleFactory(time_slot=TimeSlot.FULL_DAY, room=rooms[1], **day)
        morning = ScheduleFactory(time_slot=TimeSlot.MORNING, room=rooms[2], **day)
        # Created in the opposite order of their turn, so that ids do not decide.
        last, third, second, first = (
            waiting(afternoon, 1),
            waiting(full_day, 1),
            waiting(morning, 2),
            waiting(morning, 1),
        )
        expected = [first, second, third, last]
        called = []
        for _ in expected:
            visit = call_next(by=doctor, now=clinic_time(9))
            called.append(visit)
            diagnosed(visit).finish_consultation(by=doctor)
        assert called == expected
        with pytest.raises(QueueEmpty):
            call_next(by=doctor, now=clinic_time(9))

    def test_with_a_patient_already_in_consultation_answers_409_and_calls_nobody(
        self, doctor_client, schedule
    ):
        seen(schedule, 1)
        still_waiting = waiting(schedule, 2)
        response = doctor_client.post(CALL_NEXT)
        assert response.status_code == 409
        assert "Finish the current consultation" in response.content.decode()
        still_waiting.refresh_from_db()
        assert still_waiting.status == VisitStatus.WAITING

    def test_with_nobody_waiting_answers_409(self, doctor_client, schedule):
        seen(schedule, 1, VisitStatus.AWAITING_PAYMENT)
        response = doctor_client.post(CALL_NEXT)
        assert response.status_code == 409
        assert "Nobody is waiting." in response.content.decode()

    def test_never_calls_another_doctors_patient(self, doctor_client, schedule):
        theirs = VisitFactory(queue_number=1)
        response = doctor_client.post(CALL_NEXT)
        assert response.status_code == 409
        theirs.refresh_from_db()
        assert theirs.status == VisitStatus.WAITING

    def test_a_patient_the_desk_already_called_is_skipped(self, doctor_client, schedule):
        first, second = waiting(schedule, 1), waiting(schedule, 2)
        first.start_consultation(by=ReceptionistFactory())
        diagnosed(first).finish_consultation(by=ReceptionistFactory())
        response = doctor_client.post(CALL_NEXT)
        assert response["Location"] == consultation_url(second)
        assert (
            AuditEvent.objects.filter(
                action="visit.consultation_started", object_id=str(first.pk)
            ).count()
            == 1
        )

    def test_is_post_only(self, doctor_client, schedule):
        waiting(schedule, 1)
        assert doctor_client.get(CALL_NEXT).status_code == 405
        assert not Visit.objects.filter(status=VisitStatus.IN_CONSULTATION).exists()

    def test_only_doctors_call(self, receptionist, schedule):
        waiting(schedule, 1)
        with pytest.raises(PermissionDenied):
            call_next(by=receptionist)


# --- The consultation -------------------------------------------------------------------------


class TestConsultationPage:
    def test_shows_the_patient_summary_with_age_from_the_id_and_a_masked_phone(
        self, doctor_client, schedule
    ):
        id_card = make_resident_id(dt.date(1980, 1, 1), seed=7)
        patient = PatientFactory(
            name="Summary Patient",
            gender=Gender.FEMALE,
            phone="13812345678",
            id_card=id_card,
            id_type=IdType.RESIDENT_ID,
            birth_date=None,
        )
        visit = seen(schedule, patient=patient)
        today = timezone.localdate()
        age = today.year - 1980 - ((today.month, today.day) < (1, 1))

        html = doctor_client.get(consultation_url(visit)).content.decode()

        assert "Summary Patient" in html
        assert "Female" in html
        assert f"<dd>{age}</dd>" in html
        assert "138****5678" in html
        assert "13812345678" not in html
        assert id_card not in html
        assert 'name="diagnosis"' in html
        assert 'name="finish"' in html

    def test_age_is_blank_without_a_birth_date_or_resident_id(self, doctor_client, schedule):
        patient = PatientFactory(id_card=None, id_type=IdType.PASSPORT, birth_date=None)
        html = doctor_client.get(consultation_url(seen(schedule, patient=patient))).content
        assert b"<dd>\xe2\x80\x94</dd>" in html

    def test_lists_previous_visits_with_links_to_their_records(self, doctor_client, schedule):
        visit = seen(schedule)
        older = MedicalRecordFactory(
            visit__patient=visit.patient,
            visit__status=VisitStatus.LEFT,
            visit__visit_date=timezone.localdate() - dt.timedelta(days=30),
            diagnosis="Old diagnosis text",
        )
        unseen = VisitFactory(patient=visit.patient, status=VisitStatus.CANCELLED)
        someone_else = MedicalRecordFactory(visit__status=VisitStatus.LEFT)

        html = doctor_client.get(consultation_url(visit)).content.decode()

        assert record_url(older) in html
        assert older.visit.schedule.doctor.name in html
        # The content opens on demand (one audited view each), not with the page.
        assert "Old diagnosis text" not in html
        assert f"history-record-{unseen.pk}" not in html
        assert record_url(someone_else) not in html

    def test_saves_the_record_with_its_author_and_time(self, doctor_client, doctor_user, schedule):
        visit = seen(schedule)
        response = doctor_client.post(
            consultation_url(visit),
            {
                "chief_complaint": "Cough for 3 days",
                "present_illness": "",
                "past_history": "",
                "physical_exam": "",
                "diagnosis": " Acute bronchitis ",
                "diagnosis_code": "",
                "plan": "Rest",
            },
        )
        assert response.status_code == 302
        assert response["Location"] == consultation_url(visit)
        record = MedicalRecord.objects.get(visit=visit)
        assert (record.chief_complaint, record.diagnosis, record.plan) == (
            "Cough for 3 days",
            "Acute bronchitis",
            "Rest",
        )
        assert record.updated_by == doctor_user
        assert record.updated_at is not None
        visit.refresh_from_db()
        assert visit.status == VisitStatus.IN_CONSULTATION

    def test_finish_saves_and_sends_the_patient_to_payment(
        self, doctor_client, doctor_user, schedule
    ):
        visit = seen(schedule)
        response = doctor_client.post(
            consultation_url(visit), {"diagnosis": "Gastritis", "finish": "1"}
        )
        assert response.status_code == 302
        assert response["Location"] == QUEUE
        visit.refresh_from_db()
        assert visit.status == VisitStatus.AWAITING_PAYMENT
        assert visit.finished_at is not None
        assert visit.medical_record.diagnosis == "Gastritis"
        moves = AuditEvent.objects.filter(action="visit.consultation_finished")
        assert moves.get().old_values == {"status": VisitStatus.IN_CONSULTATION}
        assert record_events().count() == 1

    def test_finish_without_a_diagnosis_is_refused_on_the_field_and_changes_nothing(
        self, doctor_client, schedule
    ):
        visit = seen(schedule)
        response = doctor_client.post(
            consultation_url(visit),
            {"chief_complaint": "Cough", "diagnosis": "  ", "finish": "1"},
        )
        assert response.status_code == 400
        form = response.context["form"]
        assert form.errors["diagnosis"] == [
            "Write the diagnosis before sending the patient to payment."
        ]
        # What was typed is shown back, and the diagnosis field has the focus.
        assert "Cough" in response.content.decode()
        assert form.fields["diagnosis"].widget.attrs.get("autofocus")
        visit.refresh_from_db()
        assert visit.status == VisitStatus.IN_CONSULTATION
        assert visit.finished_at is None
        assert not MedicalRecord.objects.exists()
        assert not record_events().exists()
        assert not AuditEvent.objects.filter(action="visit.consultation_finished").exists()

    def test_finish_with_an_empty_saved_record_is_refused(self, doctor_client, schedule):
        visit = seen(schedule)
        MedicalRecordFactory(visit=visit, diagnosis="", chief_complaint="Cough")
        response = doctor_client.post(consultation_url(visit), {"finish": "1"})
        assert response.status_code == 400
        visit.refresh_from_db()
        assert visit.status == VisitStatus.IN_CONSULTATION

    def test_a_second_finish_is_refused_with_409_and_the_text_is_shown_back(
        self, doctor_client, schedule
    ):
        visit = seen(schedule, status=VisitStatus.AWAITING_PAYMENT)
        MedicalRecordFactory(visit=visit, diagnosis="First")
        response = doctor_client.post(
            consultation_url(visit), {"diagnosis": "Late note", "finish": "1"}
        )
        assert response.status_code == 409
        html = response.content.decode()
        assert "form-errors" in html
        assert "Late note" in html  # nothing lost: the doctor saves it with "Save"
        visit.refresh_from_db()
        assert visit.status == VisitStatus.AWAITING_PAYMENT
        assert visit.medical_record.diagnosis == "First"

    def test_the_record_stays_editable_after_the_visit_is_finished(self, doctor_client, schedule):
        visit = seen(schedule, status=VisitStatus.LEFT)
        MedicalRecordFactory(visit=visit, diagnosis="Draft")
        html = doctor_client.get(consultation_url(visit)).content.decode()
        assert 'name="finish"' not in html
        doctor_client.post(consultation_url(visit), {"diagnosis": "Final"})
        assert MedicalRecord.objects.get(visit=visit).diagnosis == "Final"

    def test_is_404_for_another_doctors_visit_and_changes_nothing(
        self, doctor_client, other_doctor_user
    ):
        theirs = MedicalRecordFactory(
            visit__schedule__doctor=other_doctor_user.employee,
            visit__status=VisitStatus.IN_CONSULTATION,
            diagnosis="Theirs",
        )
        url = consultation_url(theirs.visit)
        assert doctor_client.get(url).status_code == 404
        assert doctor_client.post(url, {"diagnosis": "Mine now", "finish": "1"}).status_code == 404
        theirs.refresh_from_db()
        theirs.visit.refresh_from_db()
        assert theirs.diagnosis == "Theirs"
        assert theirs.visit.status == VisitStatus.IN_CONSULTATION
        assert not record_events().exists()
        assert not AuditEvent.objects.filter(action__startswith="visit.").exists()

    @pytest.mark.parametrize("status", [VisitStatus.WAITING, VisitStatus.CANCELLED])
    def test_is_404_for_an_own_visit_not_seen(self, doctor_client, schedule, status):
        visit = VisitFactory(schedule=schedule, queue_number=1, status=status)
        assert doctor_client.get(consultation_url(visit)).status_code == 404
        assert doctor_client.post(consultation_url(visit), {"diagnosis": "x"}).status_code == 404
        assert not MedicalRecord.objects.exists()

    def test_is_404_for_a_visit_that_does_not_exist(self, doctor_client):
        assert doctor_client.get(reverse("visits:consultation", args=[999999])).status_code == 404

    @pytest.mark.parametrize("persona", ["patient", "receptionist", "admin"])
    def test_other_roles_are_refused(self, client, personas, persona, schedule):
        visit = seen(schedule)
        client.force_login(personas[persona])
        assert client.get(consultation_url(visit)).status_code == 403
        assert client.post(consultation_url(visit), {"diagnosis": "x"}).status_code == 403
        assert not MedicalRecord.objects.exists()

    def test_query_count_does_not_grow_with_the_history(self, doctor_client, schedule):
        visit = seen(schedule)
        MedicalRecordFactory(visit=visit)

        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert doctor_client.get(consultation_url(visit)).status_code == 200
            return len(queries)

        def add_history(n: int) -> None:
            for _ in range(n):
                MedicalRecordFactory(visit__patient=visit.patient, visit__status=VisitStatus.LEFT)

        add_history(2)
        with_2 = count()
        add_history(10)
        assert count() == with_2


# --- Reading records --------------------------------------------------------------------------


class TestReadingRecords:
    def test_a_doctor_reads_another_doctors_record_of_a_patient_they_are_seeing(
        self, doctor_client, schedule
    ):
        visit = seen(schedule)
        earlier = MedicalRecordFactory(
            visit__patient=visit.patient, visit__status=VisitStatus.LEFT, diagnosis="Asthma"
        )
        response = doctor_client.get(record_url(earlier))
        assert response.status_code == 200
        assert "Asthma" in response.content.decode()

    def test_htmx_gets_the_record_alone(self, doctor_client, schedule):
        visit = seen(schedule)
        record = MedicalRecordFactory(visit=visit, diagnosis="Migraine")
        html = doctor_client.get(record_url(record), **HTMX).content.decode()
        assert "Migraine" in html
        assert "<html" not in html

    @pytest.mark.parametrize("status", [VisitStatus.AWAITING_PAYMENT, VisitStatus.LEFT])
    def test_a_doctor_keeps_reading_patients_seen_before(self, doctor_client, schedule, status):
        visit = seen(schedule, status=status)
        record = MedicalRecordFactory(visit=visit)
        assert doctor_client.get(record_url(record)).status_code == 200

    def test_a_doctor_cannot_open_records_of_patients_they_never_saw(
        self, doctor_client, doctor_user, schedule
    ):
        stranger = MedicalRecordFactory(visit__status=VisitStatus.LEFT, diagnosis="Private")
        # Waiting in the doctor's queue is not being seen yet.
        waiting(schedule, 1, patient=stranger.visit.patient)
        left_unseen = VisitFactory(schedule=schedule, queue_number=2, status=VisitStatus.CANCELLED)
        other = MedicalRecordFactory(visit__patient=left_unseen.patient)

        for record in (stranger, other):
            response = doctor_client.get(record_url(record))
            assert response.status_code == 404
            assert "Private" not in response.content.decode()
        assert not record_events().exists()
        assert not records_readable_by(doctor_user).filter(pk=stranger.pk).exists()
        assert not patient_history_for_doctor(doctor_user, stranger.visit.patient).exists()

    def test_selectors_scope_to_the_doctor(self, doctor_user, other_doctor_user, schedule):
        visit = seen(schedule)
        assert get_visit_for_doctor(doctor_user, visit.pk) == visit
        from django.http import Http404

        with pytest.raises(Http404):
            get_visit_for_doctor(other_doctor_user, visit.pk)
        assert list(patient_history_for_doctor(doctor_user, visit.patient)) == [visit]
        assert not patient_history_for_doctor(other_doctor_user, visit.patient).exists()

    def test_an_administrator_reads_any_record(self, client, admin_user):
        record = MedicalRecordFactory(diagnosis="Any")
        client.force_login(admin_user)
        assert client.get(record_url(record)).status_code == 200

    @pytest.mark.parametrize("persona", ["patient", "receptionist"])
    def test_patients_and_the_desk_are_refused(self, client, personas, persona):
        record = MedicalRecordFactory()
        client.force_login(personas[persona])
        assert client.get(record_url(record)).status_code == 403


# --- One audit event per view and per change --------------------------------------------------


class TestAuditOfRecords:
    def test_opening_the_consultation_with_a_record_is_one_view(
        self, doctor_client, doctor_user, schedule
    ):
        record = MedicalRecordFactory(visit=seen(schedule))
        doctor_client.get(consultation_url(record.visit), REMOTE_ADDR="10.0.0.7")
        event = record_events().get()
        assert (event.action, event.actor, event.patient) == (
            "medical_record.viewed",
            doctor_user,
            record.visit.patient,
        )
        assert (event.object_type, event.object_id) == ("visits.medicalrecord", str(record.pk))
        assert event.client_ip == "10.0.0.7"

    def test_opening_the_consultation_without_a_record_views_none(self, doctor_client, schedule):
        doctor_client.get(consultation_url(seen(schedule)))
        assert not record_events().exists()

    @pytest.mark.parametrize("htmx", [False, True])
    def test_reading_a_record_is_one_view(self, doctor_client, schedule, htmx):
        record = MedicalRecordFactory(visit=seen(schedule))
        doctor_client.get(record_url(record), **(HTMX if htmx else {}))
        assert record_events(record, "medical_record.viewed").count() == 1
        assert record_events().count() == 1

    def test_writing_a_new_record_is_one_event_with_the_new_values(
        self, doctor_client, doctor_user, schedule
    ):
        visit = seen(schedule)
        doctor_client.post(
            consultation_url(visit), {"diagnosis": "Flu", "physical_exam": "Fever 38.5"}
        )
        event = record_events().get()
        assert event.action == "medical_record.created"
        assert event.actor == doctor_user
        assert event.old_values == {}
        assert event.new_values == {"diagnosis": "Flu", "physical_exam": "Fever 38.5"}

    def test_changing_a_record_is_one_event_with_old_and_new_values_of_changed_fields(
        self, doctor_client, schedule
    ):
        record = MedicalRecordFactory(
            visit=seen(schedule), diagnosis="Flu", chief_complaint="Cough"
        )
        doctor_client.post(
            consultation_url(record.visit),
            {"diagnosis": "Pneumonia", "chief_complaint": "Cough", "plan": "Amoxicillin"},
        )
        event = record_events(record).get()
        assert event.action == "medical_record.updated"
        assert event.old_values == {"diagnosis": "Flu", "plan": ""}
        assert event.new_values == {"diagnosis": "Pneumonia", "plan": "Amoxicillin"}

    def test_saving_without_a_change_writes_no_event(self, doctor_client, schedule):
        record = MedicalRecordFactory(visit=seen(schedule), diagnosis="Flu")
        doctor_client.post(consultation_url(record.visit), {"diagnosis": "Flu"})
        assert not record_events().exists()

    def test_no_record_while_the_patient_still_waits(self, doctor_user, schedule):
        with pytest.raises(RecordNotEditable):
            save_medical_record(visit=waiting(schedule, 1), by=doctor_user, diagnosis="Too soon")

    def test_the_service_refuses_another_doctors_record(self, doctor_user, other_doctor_user):
        record = MedicalRecordFactory(
            visit__schedule__doctor=other_doctor_user.employee,
            visit__status=VisitStatus.IN_CONSULTATION,
            diagnosis="Theirs",
        )
        with pytest.raises(PermissionDenied):
            save_medical_record(visit=record.visit, by=doctor_user, diagnosis="Mine")
        record.refresh_from_db()
        assert record.diagnosis == "Theirs"
        assert not record_events().exists()


# --- Administrators -----------------------------------------------------------------------------


class TestAdministration:
    def test_opening_a_record_in_admin_is_one_audited_view(self, client, admin_user):
        record = MedicalRecordFactory(diagnosis="Seen in admin")
        client.force_login(admin_user)
        url = reverse("admin:visits_medicalrecord_change", args=[record.pk])
        response = client.get(url)
        assert response.status_code == 200
        html = response.content.decode()
        assert "Seen in admin" in html
        assert reverse("visits:record-correct", args=[record.pk]) in html
        event = record_events().get()
        assert (event.action, event.actor) == ("medical_record.viewed", admin_user)

    def test_the_admin_record_list_shows_no_record_content(self, client, admin_user):
        MedicalRecordFactory(diagnosis="Hidden in the list")
        client.force_login(admin_user)
        html = client.get(reverse("admin:visits_medicalrecord_changelist")).content.decode()
        assert "Hidden in the list" not in html
        assert not record_events().exists()

    def test_records_are_never_added_or_deleted_in_admin(self, client, admin_user):
        record = MedicalRecordFactory()
        client.force_login(admin_user)
        assert client.get(reverse("admin:visits_medicalrecord_add")).status_code == 403
        delete = reverse("admin:visits_medicalrecord_delete", args=[record.pk])
        assert client.post(delete, {"post": "yes"}).status_code == 403
        assert MedicalRecord.objects.filter(pk=record.pk).exists()

    def test_an_administrator_corrects_a_record_keeping_who_and_when(self, client, admin_user):
        record = MedicalRecordFactory(visit__status=VisitStatus.LEFT, diagnosis="Typo", plan="Rest")
        client.force_login(admin_user)
        url = reverse("visits:record-correct", args=[record.pk])

        assert client.get(url).status_code == 200
        assert record_events(record, "medical_record.viewed").count() == 1

        response = client.post(url, {"diagnosis": "Corrected", "plan": "Rest"})

        assert response.status_code == 302
        assert response["Location"] == reverse(
            "admin:visits_medicalrecord_change", args=[record.pk]
        )
        record.refresh_from_db()
        assert record.diagnosis == "Corrected"
        assert record.updated_by == admin_user
        event = record_events(record, "medical_record.corrected").get()
        assert event.actor == admin_user
        assert event.old_values == {"diagnosis": "Typo"}
        assert event.new_values == {"diagnosis": "Corrected"}
        assert record_events(record).count() == 2  # the view, then the change

    def test_the_record_page_in_admin_shows_its_audit_trail(self, client, admin_user, schedule):
        record = MedicalRecordFactory(visit=seen(schedule), diagnosis="")
        save_medical_record(visit=record.visit, by=admin_user, diagnosis="Filled in")
        client.force_login(admin_user)
        html = client.get(
            reverse("admin:visits_medicalrecord_change", args=[record.pk]),
            HTTP_ACCEPT_LANGUAGE="en",
        ).content.decode()
        # The action's label and the person's name (clinic.audit, clinic_format).
        assert "Medical record corrected" in html
        assert admin_user.display_name in html

    @pytest.mark.parametrize("persona", ["doctor", "receptionist", "patient"])
    def test_only_administrators_correct_records(self, client, personas, persona):
        record = MedicalRecordFactory(diagnosis="Untouched")
        client.force_login(personas[persona])
        url = reverse("visits:record-correct", args=[record.pk])
        assert client.get(url).status_code == 403
        assert client.post(url, {"diagnosis": "Changed"}).status_code == 403
        record.refresh_from_db()
        assert record.diagnosis == "Untouched"


class TestAuditTrailInAdmin:
    @pytest.fixture
    def events(self, doctor_user, receptionist, schedule):
        """A morning of the doctor's work: a call, a record, a finish; and a desk move."""
        first, second = waiting(schedule, 1), waiting(schedule, 2)
        set_places_taken(schedule, 2)
        call_next(by=doctor_user)
        save_medical_record(visit=Visit.objects.get(pk=first.pk), by=doctor_user, diagnosis="A")
        Visit.objects.get(pk=first.pk).finish_consultation(by=doctor_user)
        second.leave_unseen(by=receptionist)
        return {"first": first, "second": second}

    def changelist(self, client, admin_user, **params) -> str:
        client.force_login(admin_user)
        response = client.get(reverse("admin:clinic_auditevent_changelist"), params)
        assert response.status_code == 200
        return response

    def rows(self, response) -> list:
        return list(response.context["cl"].result_list)

    def test_filter_by_user(self, client, admin_user, doctor_user, events):
        response = self.changelist(client, admin_user, actor=doctor_user.pk)
        rows = self.rows(response)
        assert {event.actor_id for event in rows} == {doctor_user.pk}
        assert {event.action for event in rows} == {
            "visit.consultation_started",
            "medical_record.created",
            "visit.consultation_finished",
        }

    def test_filter_by_patient(self, client, admin_user, events):
        patient = events["second"].patient
        rows = self.rows(self.changelist(client, admin_user, patient=patient.pk))
        assert [event.action for event in rows] == ["visit.left_unseen"]
        # The chosen patient is named in the filter, so that it can be cleared.
        assert (
            patient.name in self.changelist(client, admin_user, patient=patient.pk).content.decode()
        )

    def test_filter_by_action_and_date(self, client, admin_user, events):
        rows = self.rows(self.changelist(client, admin_user, action="medical_record.created"))
        assert len(rows) == 1
        today = timezone.localdate()

        def midnight(day: dt.date) -> str:
            return timezone.make_aware(dt.datetime.combine(day, dt.time())).isoformat()

        # What the date filter's "Today" link sends.
        in_range = self.rows(
            self.changelist(
                client,
                admin_user,
                created_at__gte=midnight(today),
                created_at__lt=midnight(today + dt.timedelta(days=1)),
            )
        )
        assert len(in_range) == AuditEvent.objects.count()
        before = self.rows(self.changelist(client, admin_user, created_at__lt=midnight(today)))
        assert before == []

    def test_filter_by_one_records_trail(self, client, admin_user, events):
        record = MedicalRecord.objects.get()
        rows = self.rows(
            self.changelist(
                client, admin_user, object_type="visits.medicalrecord", object_id=record.pk
            )
        )
        assert [event.action for event in rows] == ["medical_record.created"]

    def test_search_by_patient_name(self, client, admin_user, events):
        patient = events["first"].patient
        rows = self.rows(self.changelist(client, admin_user, q=patient.name))
        assert rows and {event.patient_id for event in rows} == {patient.pk}

    def test_a_bad_filter_value_is_refused_not_a_server_error(self, client, admin_user, events):
        client.force_login(admin_user)
        url = reverse("admin:clinic_auditevent_changelist")
        for params in ({"actor": "x"}, {"patient": "x"}):
            assert client.get(url, params).status_code in (200, 302)

    def test_the_filtered_list_keeps_a_fixed_number_of_queries(
        self, client, admin_user, doctor_user, schedule
    ):
        client.force_login(admin_user)
        url = reverse("admin:clinic_auditevent_changelist")

        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert client.get(url, {"actor": doctor_user.pk}).status_code == 200
            return len(queries)

        def add(n: int, start: int) -> None:
            for number in range(start, start + n):
                visit = waiting(schedule, number)
                visit.start_consultation(by=doctor_user)
                diagnosed(visit).finish_consultation(by=doctor_user)

        add(3, 1)
        with_3 = count()
        add(20, 10)
        assert count() == with_3

    def test_events_cannot_be_changed_or_deleted_in_admin(self, client, admin_user, events):
        event = AuditEvent.objects.first()
        client.force_login(admin_user)
        change = reverse("admin:clinic_auditevent_change", args=[event.pk])
        delete = reverse("admin:clinic_auditevent_delete", args=[event.pk])
        assert client.get(change).status_code == 200
        assert client.post(change, {"action": "forged"}).status_code == 403
        assert client.post(delete, {"post": "yes"}).status_code == 403
        assert client.get(reverse("admin:clinic_auditevent_add")).status_code == 403
        changelist = reverse("admin:clinic_auditevent_changelist")
        response = client.post(
            changelist, {"action": "delete_selected", "_selected_action": [event.pk]}
        )
        assert AuditEvent.objects.filter(pk=event.pk, action=event.action).exists()
        assert response.status_code in (200, 302, 403)
