"""scheduling 0002, appointments 0004 and visits 0011 turn every schedule made before
time-sliced booking into its preset's hours with one window holding its places, and name that
window on its bookings and visits: nothing moves, the queue reads the same, every invariant
holds."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from appointments.models import Appointment
from billing.invariants import find_problems
from clinic.tests.factories import DoctorFactory, PatientFactory, RoomFactory
from scheduling.models import Schedule
from visits.models import Visit, VisitDailySummary

BEFORE = [
    ("scheduling", "0001_initial"),
    ("appointments", "0003_search_indexes_with_expected_time"),
    ("visits", "0010_charge_dose_only_for_drugs"),
]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _latest():
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    return executor.loader.graph.leaf_nodes()


@pytest.mark.django_db(transaction=True)
def test_old_schedules_keep_their_places_in_one_window_of_their_preset_hours(settings):
    settings.CLINIC_MORNING_HOURS = (dt.time(8), dt.time(12))
    settings.CLINIC_AFTERNOON_HOURS = (dt.time(13, 30), dt.time(17, 30))
    doctor = DoctorFactory()
    room = RoomFactory(department=doctor.department)
    patients = [PatientFactory(), PatientFactory()]
    work_date = dt.date(2030, 1, 7)
    try:
        apps = _migrate(BEFORE)
        OldSchedule = apps.get_model("scheduling", "Schedule")
        OldAppointment = apps.get_model("appointments", "Appointment")
        OldVisit = apps.get_model("visits", "Visit")
        full_day = OldSchedule.objects.create(
            department_id=doctor.department_id,
            room_id=room.pk,
            doctor_id=doctor.pk,
            work_date=work_date,
            time_slot="full_day",
            max_patients=12,
            current_patients=2,
        )
        OldAppointment.objects.create(
            reference="OLD0001",
            patient_name=patients[0].name,
            phone=patients[0].phone,
            department_id=doctor.department_id,
            schedule_id=full_day.pk,
            expected_time=dt.datetime(2030, 1, 7, 1, 0, tzinfo=dt.UTC),
            patient_id=patients[0].pk,
        )
        OldVisit.objects.create(
            patient_id=patients[1].pk,
            department_id=doctor.department_id,
            schedule_id=full_day.pk,
            queue_number=1,
            visit_date=work_date,
            check_in_time=dt.datetime(2030, 1, 7, 0, 30, tzinfo=dt.UTC),
        )

        _migrate(_latest())
        schedule = Schedule.objects.get(pk=full_day.pk)
        assert (schedule.start_time, schedule.end_time) == (dt.time(8), dt.time(17, 30))
        assert schedule.window_minutes is None
        (window,) = schedule.windows.all()
        assert (window.start_time, window.end_time, window.quota, window.used) == (
            dt.time(8),
            dt.time(17, 30),
            12,
            2,
        )
        appointment = Appointment.objects.get(reference="OLD0001")
        visit = Visit.objects.get(schedule=schedule)
        assert appointment.window_id == visit.window_id == window.pk
        assert visit.queued_from == dt.time(8)
        VisitDailySummary.rebuild()  # the visit was inserted bypassing its summary
        assert find_problems() == []
    finally:
        _migrate(_latest())
