"""Check-in and walk-in registration: verification, windows, queue numbers, atomicity."""

from __future__ import annotations

import pytest

from appointments.models import AppointmentStatus
from appointments.services import book_appointment
from appointments.tests.factories import AppointmentFactory
from clinic.exceptions import InvalidTransition, PatientConflict, PermissionDenied
from clinic.models import AuditEvent, Patient
from clinic.tests.factories import DoctorFactory, PatientFactory, RoomFactory, make_resident_id
from scheduling.exceptions import NoCapacity, NoSchedule, OutsideClinicHours
from scheduling.models import TimeSlot
from scheduling.tests.factories import ScheduleFactory, set_places_taken
from tests.support import WORK_DAY, clinic_time
from visits.exceptions import CheckInClosed, VerificationFailed
from visits.models import Visit, VisitStatus
from visits.services import check_in, register_walk_in

pytestmark = pytest.mark.django_db

OPEN = clinic_time(7, 30)  # check-in opens at 07:00, 60 minutes before the morning slot


@pytest.fixture
def schedule():
    return ScheduleFactory(work_date=WORK_DAY, max_patients=5)


@pytest.fixture
def booking(schedule, patient_user):
    return book_appointment(
        by=patient_user,
        department=schedule.department,
        expected_time=clinic_time(9),
        now=clinic_time(6),
    )


def state(schedule):
    schedule.refresh_from_db()
    return (
        schedule.current_patients,
        Visit.objects.count(),
        Patient.objects.count(),
        sorted(schedule.appointments.values_list("status", flat=True)),
    )


class TestCheckIn:
    def test_check_in_turns_the_booking_into_a_waiting_visit(self, booking, receptionist):
        patient = booking.patient
        visit = check_in(
            appointment_id=booking.pk,
            phone=patient.phone,
            id_card=patient.id_card.lower(),
            by=receptionist,
            now=OPEN,
        )
        booking.refresh_from_db()
        booking.schedule.refresh_from_db()
        assert booking.status == AppointmentStatus.COMPLETED
        assert (visit.status, visit.queue_number, visit.patient) == (
            VisitStatus.WAITING,
            1,
            patient,
        )
        assert (visit.schedule, visit.visit_date, visit.check_in_time) == (
            booking.schedule,
            WORK_DAY,
            OPEN,
        )
        assert booking.schedule.current_patients == 1  # the place moved to the visit
        assert AuditEvent.objects.filter(action="visit.checked_in").count() == 1
        assert AuditEvent.objects.filter(action="appointment.completed").count() == 1

    def test_queue_numbers_follow_arrival_order(self, schedule, receptionist):
        numbers = []
        for _ in range(3):
            patient = PatientFactory()
            appointment = AppointmentFactory(schedule=schedule, patient=patient)
            numbers.append(
                check_in(
                    appointment_id=appointment.pk,
                    phone=patient.phone,
                    id_card=patient.id_card,
                    by=receptionist,
                    now=OPEN,
                ).queue_number
            )
        assert numbers == [1, 2, 3]

    def test_wrong_phone_is_refused_and_changes_nothing(self, booking, receptionist):
        before = state(booking.schedule)
        with pytest.raises(VerificationFailed) as excinfo:
            check_in(
                appointment_id=booking.pk,
                phone="13000000000",
                id_card=booking.patient.id_card,
                by=receptionist,
                now=OPEN,
            )
        assert set(excinfo.value.details) == {"phone"}
        assert state(booking.schedule) == before

    def test_wrong_id_number_is_refused(self, booking, receptionist):
        with pytest.raises(VerificationFailed) as excinfo:
            check_in(
                appointment_id=booking.pk,
                phone=booking.phone,
                id_card=make_resident_id(seed=999),
                by=receptionist,
                now=OPEN,
            )
        assert set(excinfo.value.details) == {"id_card"}

    def test_a_second_check_in_fails_cleanly(self, booking, receptionist):
        args = {"phone": booking.phone, "id_card": booking.id_card, "by": receptionist}
        check_in(appointment_id=booking.pk, now=OPEN, **args)
        before = state(booking.schedule)
        with pytest.raises(InvalidTransition):
            check_in(appointment_id=booking.pk, now=OPEN, **args)
        assert state(booking.schedule) == before

    @pytest.mark.parametrize("when", [clinic_time(6, 59), clinic_time(12)])
    def test_check_in_outside_its_window_is_refused(self, booking, receptionist, when):
        with pytest.raises(CheckInClosed):
            check_in(
                appointment_id=booking.pk,
                phone=booking.phone,
                id_card=booking.id_card,
                by=receptionist,
                now=when,
            )

    def test_cancelled_booking_cannot_check_in(self, booking, receptionist):
        booking.cancel(by=receptionist)
        with pytest.raises(InvalidTransition):
            check_in(appointment_id=booking.pk, phone=booking.phone, by=receptionist, now=OPEN)

    def test_phone_booking_creates_the_patient_record(self, schedule, receptionist):
        appointment = book_appointment(
            by=receptionist,
            department=schedule.department,
            expected_time=clinic_time(9),
            patient_name="王五",
            phone="13900001111",
            now=clinic_time(6),
        )
        visit = check_in(
            appointment_id=appointment.pk, phone="13900001111", by=receptionist, now=OPEN
        )
        appointment.refresh_from_db()
        assert (visit.patient.name, visit.patient.phone) == ("王五", "13900001111")
        assert appointment.patient == visit.patient

    def test_phone_booking_finds_the_returning_patient(self, schedule, receptionist):
        returning = PatientFactory(name="王五", phone="13900001111", id_card=None)
        appointment = AppointmentFactory(
            schedule=schedule, patient=None, patient_name="王五", phone="13900001111"
        )
        visit = check_in(
            appointment_id=appointment.pk, phone="13900001111", by=receptionist, now=OPEN
        )
        assert visit.patient == returning

    def test_an_id_number_registered_to_another_name_is_a_conflict(self, schedule, receptionist):
        owner = PatientFactory(name="赵六")
        appointment = AppointmentFactory(
            schedule=schedule,
            patient=None,
            patient_name="王五",
            phone="13900001111",
            id_card=owner.id_card,
        )
        before = state(schedule)
        with pytest.raises(PatientConflict):
            check_in(
                appointment_id=appointment.pk,
                phone="13900001111",
                id_card=owner.id_card,
                by=receptionist,
                now=OPEN,
            )
        owner.refresh_from_db()
        assert owner.name == "赵六"
        assert state(schedule) == before

    def test_only_the_desk_checks_in(self, booking, doctor_user):
        with pytest.raises(PermissionDenied):
            check_in(appointment_id=booking.pk, phone=booking.phone, by=doctor_user, now=OPEN)

    def test_a_failure_after_the_first_write_leaves_no_trace(
        self, schedule, receptionist, monkeypatch
    ):
        appointment = AppointmentFactory(
            schedule=schedule, patient=None, patient_name="王五", phone="13900001111"
        )
        set_places_taken(schedule, 1)
        before = state(schedule)

        def explode(*args, **kwargs):
            raise RuntimeError("injected failure")

        # Fails after the patient was created, the booking linked and the visit inserted.
        monkeypatch.setattr("appointments.models.Appointment.complete_by_check_in", explode)
        with pytest.raises(RuntimeError):
            check_in(appointment_id=appointment.pk, phone="13900001111", by=receptionist, now=OPEN)
        assert state(schedule) == before
        appointment.refresh_from_db()
        assert (appointment.patient, appointment.status) == (None, AppointmentStatus.PENDING)
        assert not AuditEvent.objects.filter(action__startswith="visit.").exists()


class TestWalkIn:
    def walk_in(self, department, receptionist, **kwargs):
        kwargs.setdefault("name", "路人甲")
        kwargs.setdefault("phone", "13700000001")
        kwargs.setdefault("now", OPEN)
        return register_walk_in(by=receptionist, department=department, **kwargs)

    def test_walk_in_creates_patient_and_waiting_visit(self, schedule, receptionist):
        visit = self.walk_in(schedule.department, receptionist, gender="male")
        schedule.refresh_from_db()
        assert (visit.status, visit.queue_number, visit.appointment) == (
            VisitStatus.WAITING,
            1,
            None,
        )
        assert (visit.patient.name, visit.patient.gender) == ("路人甲", "male")
        assert schedule.current_patients == 1
        assert AuditEvent.objects.filter(action="visit.walked_in").count() == 1

    def test_walk_ins_and_check_ins_share_one_queue(self, booking, receptionist):
        first = self.walk_in(booking.department, receptionist)
        checked_in = check_in(
            appointment_id=booking.pk,
            phone=booking.phone,
            id_card=booking.id_card,
            by=receptionist,
            now=OPEN,
        )
        assert (first.queue_number, checked_in.queue_number) == (1, 2)

    def test_returning_patient_is_found_not_duplicated(self, schedule, receptionist):
        patient = PatientFactory()
        visit = self.walk_in(
            schedule.department,
            receptionist,
            name=patient.name,
            phone="13000000000",
            id_card=patient.id_card,
        )
        assert visit.patient == patient
        assert Patient.objects.count() == 1

    def test_the_chosen_doctor_is_used(self, schedule, receptionist):
        doctor = DoctorFactory(department=schedule.department)
        other = ScheduleFactory(
            doctor=doctor,
            department=schedule.department,
            room=RoomFactory(department=schedule.department),
            work_date=WORK_DAY,
            max_patients=1,
        )
        visit = self.walk_in(schedule.department, receptionist, doctor=doctor)
        assert visit.schedule == other

    def test_full_schedules_refuse_a_walk_in(self, receptionist):
        schedule = ScheduleFactory(work_date=WORK_DAY, max_patients=1, current_patients=1)
        before = state(schedule)
        with pytest.raises(NoCapacity):
            self.walk_in(schedule.department, receptionist)
        assert state(schedule) == before

    def test_no_schedule_running_now(self, schedule, receptionist):
        with pytest.raises(NoSchedule):
            self.walk_in(schedule.department, receptionist, now=clinic_time(14))

    @pytest.mark.parametrize("when", [clinic_time(6), clinic_time(12, 10), clinic_time(18)])
    def test_walk_in_outside_hours_is_refused(self, schedule, receptionist, when):
        with pytest.raises(OutsideClinicHours):
            self.walk_in(schedule.department, receptionist, now=when)

    def test_full_day_schedule_takes_afternoon_walk_ins(self, receptionist):
        schedule = ScheduleFactory(work_date=WORK_DAY, time_slot=TimeSlot.FULL_DAY)
        visit = self.walk_in(schedule.department, receptionist, now=clinic_time(13))
        assert visit.schedule == schedule

    def test_a_failure_after_the_first_write_leaves_no_trace(
        self, schedule, receptionist, monkeypatch
    ):
        before = state(schedule)

        def explode(*args, **kwargs):
            raise RuntimeError("injected failure")

        # The last step: the patient, the reservation and the visit are already written.
        monkeypatch.setattr("visits.services.record_events", explode)
        with pytest.raises(RuntimeError):
            self.walk_in(schedule.department, receptionist)
        assert state(schedule) == before


def test_walk_ins_are_refused_by_an_inactive_department(schedule, receptionist):
    schedule.department.is_active = False
    schedule.department.save()
    with pytest.raises(NoSchedule):
        register_walk_in(
            by=receptionist,
            department=schedule.department,
            name="甲",
            phone="13700000001",
            now=OPEN,
        )
