"""Check-in's verification: the last 4 characters of the ID number, and the proof the desk's
search carries of the checks it made (visits.arrival), verified by the one check-in service."""

from __future__ import annotations

import datetime as dt
from unittest import mock

import pytest
from django.core import signing

from appointments.models import AppointmentStatus
from appointments.tests.factories import AppointmentFactory
from clinic.exceptions import InvalidTransition
from clinic.models import AuditEvent, Patient
from clinic.search import parse_term
from clinic.tests.factories import PatientFactory, ReceptionistFactory, make_resident_id
from scheduling.tests.factories import ScheduleFactory
from tests.api.conftest import bearer_client
from tests.support import WORK_DAY, clinic_time
from visits import arrival
from visits.exceptions import VerificationFailed
from visits.models import Visit, VisitStatus
from visits.services import check_in, id_number_matches

pytestmark = pytest.mark.django_db

OPEN = clinic_time(7, 30)


def _resident_id_ending_in_x() -> str:
    for seed in range(1000):
        number = make_resident_id(dt.date(1985, 5, 17), seed=seed)
        if number.endswith("X"):
            return number
    raise AssertionError("no seed below 1000 gives a check character X")


ID_X = _resident_id_ending_in_x()


@pytest.fixture
def schedule():
    return ScheduleFactory(work_date=WORK_DAY, max_patients=5, current_patients=1)


@pytest.fixture
def id_booking(schedule):
    """A returning patient who booked with their ID number (one ending in X)."""
    patient = PatientFactory(phone="13812345678", id_card=ID_X)
    return AppointmentFactory(schedule=schedule, patient=patient, id_card=ID_X)


def state(appointment):
    """Everything a check-in writes."""
    appointment.refresh_from_db()
    appointment.schedule.refresh_from_db()
    return (
        appointment.status,
        appointment.schedule.current_patients,
        Visit.objects.count(),
        Patient.objects.count(),
        AuditEvent.objects.count(),
    )


def proof_for(appointment, by, text: str) -> str:
    """The proof the desk's search gives for `appointment` after `text` was typed."""
    term = parse_term(text)
    holders = set(Patient.objects.filter(id_card=term.value).values_list("pk", flat=True))
    checks = arrival.checks_found_by_search(appointment, term, id_holder_ids=holders)
    return arrival.make_proof(appointment_id=appointment.pk, by=by, checks=checks)


class TestIdNumberMatches:
    @pytest.mark.parametrize("given", [ID_X, ID_X.lower(), ID_X[-4:], ID_X[-4:].lower()])
    def test_the_whole_number_or_its_last_4_in_any_case(self, given):
        assert id_number_matches(given, ID_X)

    @pytest.mark.parametrize("given", ["", "X", ID_X[-3:], ID_X[-5:], ID_X[:4], "000X"])
    def test_anything_else_does_not(self, given):
        assert not id_number_matches(given, ID_X)

    def test_a_booking_without_a_number_matches_nothing(self):
        assert not id_number_matches("1234", "")


class TestLastFourCharacters:
    def test_check_in_with_the_last_4_characters(self, id_booking, receptionist):
        visit = check_in(
            appointment_id=id_booking.pk,
            phone=id_booking.phone,
            id_card=ID_X[-4:].lower(),
            by=receptionist,
            now=OPEN,
        )
        id_booking.refresh_from_db()
        assert (visit.status, id_booking.status) == (
            VisitStatus.WAITING,
            AppointmentStatus.COMPLETED,
        )
        event = AuditEvent.objects.get(action="visit.checked_in")
        assert event.new_values["verified"] == {"phone": "typed", "id_card": "last_4"}

    @pytest.mark.parametrize("given", ["", "123", "0000", ID_X[:4], make_resident_id(seed=7)])
    def test_a_wrong_id_check_is_refused_and_changes_nothing(self, id_booking, receptionist, given):
        before = state(id_booking)
        with pytest.raises(VerificationFailed) as excinfo:
            check_in(
                appointment_id=id_booking.pk,
                phone=id_booking.phone,
                id_card=given,
                by=receptionist,
                now=OPEN,
            )
        assert set(excinfo.value.details) == {"id_card"}
        assert state(id_booking) == before

    def test_last_4_on_a_phone_booking_is_no_number_to_keep(self, schedule, receptionist):
        booking = AppointmentFactory(
            schedule=schedule, patient=None, patient_name="来电者", phone="13700002222"
        )
        visit = check_in(
            appointment_id=booking.pk,
            phone=booking.phone,
            id_card="1234",
            by=receptionist,
            now=OPEN,
        )
        assert visit.patient.id_card is None


class TestSearchProof:
    def test_a_search_by_the_whole_phone_stands_for_the_phone_check(self, id_booking, receptionist):
        proof = proof_for(id_booking, receptionist, "138 1234 5678")
        visit = check_in(
            appointment_id=id_booking.pk,
            id_card=ID_X[-4:],
            proof=proof,
            by=receptionist,
            now=OPEN,
        )
        assert visit.status == VisitStatus.WAITING
        event = AuditEvent.objects.get(action="visit.checked_in")
        assert event.new_values["verified"] == {"phone": "search", "id_card": "last_4"}

    def test_the_phone_check_from_the_search_still_asks_the_id_check(
        self, id_booking, receptionist
    ):
        proof = proof_for(id_booking, receptionist, id_booking.phone)
        before = state(id_booking)
        with pytest.raises(VerificationFailed) as excinfo:
            check_in(appointment_id=id_booking.pk, proof=proof, by=receptionist, now=OPEN)
        assert set(excinfo.value.details) == {"id_card"}
        assert state(id_booking) == before

    def test_a_search_by_the_bookings_whole_id_number_stands_for_both_checks(
        self, id_booking, receptionist
    ):
        proof = proof_for(id_booking, receptionist, ID_X.lower())
        check_in(appointment_id=id_booking.pk, proof=proof, by=receptionist, now=OPEN)
        event = AuditEvent.objects.get(action="visit.checked_in")
        assert event.new_values["verified"] == {"phone": "search", "id_card": "search"}

    def test_the_patients_id_number_on_a_booking_without_one_is_the_phone_check(
        self, schedule, receptionist
    ):
        patient = PatientFactory()
        booking = AppointmentFactory(schedule=schedule, patient=patient, id_card="")
        proof = proof_for(booking, receptionist, patient.id_card)
        check_in(appointment_id=booking.pk, proof=proof, by=receptionist, now=OPEN)
        assert AuditEvent.objects.get(action="visit.checked_in").new_values["verified"] == {
            "phone": "search"
        }

    @pytest.mark.parametrize("typed", ["1381234", "Wang", "张", ""])
    def test_a_phone_beginning_or_a_name_proves_nothing(self, id_booking, typed):
        term = parse_term(typed)
        assert arrival.checks_found_by_search(id_booking, term, id_holder_ids=set()) == set()

    def test_another_bookings_phone_proves_nothing(self, id_booking):
        term = parse_term("13900000000")
        assert arrival.checks_found_by_search(id_booking, term, id_holder_ids=set()) == set()

    def _refused(self, booking, by, proof):
        before = state(booking)
        with pytest.raises(VerificationFailed) as excinfo:
            check_in(appointment_id=booking.pk, id_card=ID_X[-4:], proof=proof, by=by, now=OPEN)
        assert set(excinfo.value.details) == {"phone"}
        assert state(booking) == before

    def test_another_desk_users_proof_is_no_proof(self, id_booking, receptionist):
        proof = proof_for(id_booking, ReceptionistFactory(), id_booking.phone)
        self._refused(id_booking, receptionist, proof)

    def test_another_bookings_proof_is_no_proof(self, id_booking, schedule, receptionist):
        other = AppointmentFactory(schedule=schedule, phone=id_booking.phone)
        self._refused(id_booking, receptionist, proof_for(other, receptionist, other.phone))

    def test_an_old_proof_is_no_proof(self, id_booking, receptionist, monkeypatch):
        proof = proof_for(id_booking, receptionist, id_booking.phone)
        monkeypatch.setattr(arrival, "MAX_AGE_SECONDS", -1)
        self._refused(id_booking, receptionist, proof)

    @pytest.mark.parametrize("forged", ["phone", "1", "other key", "unsigned"])
    def test_a_proof_the_browser_makes_is_no_proof(self, id_booking, receptionist, forged):
        data = {"appointment": id_booking.pk, "user": receptionist.pk, "checks": ["phone"]}
        proof = {
            # The right shape, signed with another key.
            "other key": signing.dumps(data, key="not-the-server-key", salt=arrival.SALT),
            # The right shape, with the signature cut off.
            "unsigned": signing.dumps(data, salt=arrival.SALT).rsplit(":", 1)[0],
        }.get(forged, forged)
        self._refused(id_booking, receptionist, proof)

    def test_a_proof_for_a_visit_already_checked_in_changes_nothing(self, id_booking, receptionist):
        proof = proof_for(id_booking, receptionist, ID_X)
        check_in(appointment_id=id_booking.pk, proof=proof, by=receptionist, now=OPEN)
        before = state(id_booking)
        with pytest.raises(InvalidTransition):
            check_in(appointment_id=id_booking.pk, proof=proof, by=receptionist, now=OPEN)
        assert state(id_booking) == before


class TestTheApiFollowsTheSameRule:
    """The API's check-in calls the same service: the last 4 characters are accepted there
    too, a wrong one is a field error, and the API has no search proof to skip the phone."""

    URL = "/api/receptionist/checkin/{}"

    @pytest.fixture
    def api(self, receptionist):
        return bearer_client(receptionist)

    @pytest.fixture
    def open_now(self, id_booking):
        """The booking, at a time its check-in is open (the service reads Django's clock)."""
        with mock.patch("django.utils.timezone.now", return_value=OPEN):
            yield id_booking

    def test_the_last_4_characters_check_in(self, api, open_now):
        response = api.post(
            self.URL.format(open_now.pk),
            {"phone": open_now.phone, "id_card": ID_X[-4:].lower()},
            format="json",
        )
        assert response.status_code == 201, response.content
        assert Visit.objects.get().appointment == open_now

    def test_a_wrong_id_check_is_a_field_error_and_changes_nothing(self, api, open_now):
        before = state(open_now)
        response = api.post(
            self.URL.format(open_now.pk),
            {"phone": open_now.phone, "id_card": "0000"},
            format="json",
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert (error["code"], list(error["details"])) == ("verification_failed", ["id_card"])
        assert state(open_now) == before

    def test_the_api_still_needs_the_phone(self, api, open_now, receptionist):
        proof = proof_for(open_now, receptionist, ID_X)
        response = api.post(
            self.URL.format(open_now.pk), {"id_card": ID_X[-4:], "proof": proof}, format="json"
        )
        assert response.status_code == 400
        assert "phone" in response.json()["error"]["details"]
        assert not Visit.objects.exists()
