"""The daily visit summary: kept by every write of a visit, equal to the visits, rebuildable."""

from __future__ import annotations

import datetime as dt
import importlib
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from appointments.services import book_appointment
from billing.invariants import find_problems
from billing.services import settle_visit
from clinic.tests.factories import PatientFactory, ReceptionistFactory
from scheduling.models import TimeSlot
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, assert_db_rejects, clinic_time
from visits.models import STATUS_COUNTERS, SummaryOutOfStep, Visit, VisitDailySummary, VisitStatus
from visits.services import call_next, check_in, register_walk_in
from visits.tests.factories import VisitFactory, diagnosed

pytestmark = pytest.mark.django_db

OPEN = clinic_time(7, 30)
NEXT_DAY = WORK_DAY + dt.timedelta(days=1)


def counters(schedule) -> dict[str, int]:
    """The summary row of a schedule's day, department and doctor (zeros when absent)."""
    row = (
        VisitDailySummary.objects.filter(
            visit_date=schedule.work_date,
            department_id=schedule.department_id,
            doctor_id=schedule.doctor_id,
        )
        .values(*VisitDailySummary.FIGURES)
        .first()
    )
    return {key: value for key, value in (row or {}).items() if value}


def assert_in_step() -> None:
    assert VisitDailySummary.differences() == []


@pytest.fixture
def schedule():
    return ScheduleFactory(work_date=WORK_DAY, max_patients=10)


def walk_in(schedule, receptionist, patient=None, now=OPEN) -> Visit:
    return register_walk_in(
        by=receptionist,
        department=schedule.department,
        patient=patient or PatientFactory(),
        doctor=schedule.doctor,
        now=now,
    )


class TestEveryWriteKeepsTheSummary:
    def test_check_in_counts_a_waiting_visit_and_its_patient(self, schedule, patient_user):
        booking = book_appointment(
            by=patient_user,
            department=schedule.department,
            expected_time=clinic_time(9),
            now=clinic_time(6),
        )

        check_in(
            appointment_id=booking.pk,
            phone=booking.phone,
            id_card=booking.id_card,
            by=ReceptionistFactory(),
            now=OPEN,
        )
        assert counters(schedule) == {"visits": 1, "day_patients": 1, "waiting_visits": 1}
        assert_in_step()

    def test_a_walk_in_counts_and_a_second_visit_of_the_day_is_not_a_new_patient(
        self, schedule, receptionist
    ):
        patient = PatientFactory()
        walk_in(schedule, receptionist, patient)
        # In another department: a second walk-in in the same one, while the morning visit
        # is still open, is refused (AlreadyInQueue).
        afternoon = ScheduleFactory(work_date=WORK_DAY, time_slot=TimeSlot.AFTERNOON)
        walk_in(afternoon, receptionist, patient, now=clinic_time(13))
        walk_in(afternoon, receptionist, now=clinic_time(13))
        assert counters(schedule) == {"visits": 1, "day_patients": 1, "waiting_visits": 1}
        # The patient's second visit that day is counted, not the patient again.
        assert counters(afternoon) == {"visits": 2, "day_patients": 1, "waiting_visits": 2}
        assert_in_step()

    def test_every_transition_moves_the_visit_between_counters(
        self, schedule, receptionist, doctor_user
    ):
        first = walk_in(schedule, receptionist)
        second = walk_in(schedule, receptionist)
        third = walk_in(schedule, receptionist)

        first.start_consultation(by=receptionist)
        assert counters(schedule) == {
            "visits": 3,
            "day_patients": 3,
            "waiting_visits": 2,
            "in_consultation_visits": 1,
        }
        diagnosed(first).finish_consultation(by=receptionist)
        second.leave_unseen(by=receptionist)
        assert counters(schedule) == {
            "visits": 3,
            "day_patients": 3,
            "waiting_visits": 1,
            "awaiting_payment_visits": 1,
            "cancelled_visits": 1,
        }
        settle_visit(visit=first, total_amount="30", insurance_amount="10", by=receptionist)
        third.advance(by=receptionist)
        diagnosed(third).advance(by=receptionist)
        assert counters(schedule) == {
            "visits": 3,
            "day_patients": 3,
            "awaiting_payment_visits": 1,
            "left_visits": 1,
            "cancelled_visits": 1,
        }
        assert_in_step()

    def test_the_doctor_calling_the_next_patient_counts(self, receptionist, doctor_user):
        schedule = ScheduleFactory(
            work_date=WORK_DAY,
            doctor=doctor_user.employee,
            department=doctor_user.employee.department,
        )
        walk_in(schedule, receptionist)
        call_next(by=doctor_user, now=clinic_time(8))
        assert counters(schedule)["in_consultation_visits"] == 1
        assert_in_step()

    def test_visits_created_directly_count_themselves(self):
        visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
        assert counters(visit.schedule) == {
            "visits": 1,
            "day_patients": 1,
            "awaiting_payment_visits": 1,
        }
        assert_in_step()


class TestFailuresLeaveNothingHalfWritten:
    def test_a_failed_walk_in_counts_nothing(self, schedule, receptionist, monkeypatch):
        def explode(*args, **kwargs):
            raise RuntimeError("injected failure")

        # The last step: the visit and its summary row are already written.
        monkeypatch.setattr("visits.services.record_events", explode)
        with pytest.raises(RuntimeError):
            walk_in(schedule, receptionist)
        assert not Visit.objects.exists()
        assert not VisitDailySummary.objects.exists()

    def test_a_failed_transition_moves_nothing(self, schedule, receptionist, monkeypatch):
        visit = walk_in(schedule, receptionist)
        before = counters(schedule)
        original = VisitDailySummary.count_move

        def move_then_fail(*args, **kwargs):
            original(*args, **kwargs)
            raise RuntimeError("injected failure after the summary write")

        monkeypatch.setattr(VisitDailySummary, "count_move", move_then_fail)
        with pytest.raises(RuntimeError):
            visit.start_consultation(by=receptionist)
        visit.refresh_from_db()
        assert visit.status == VisitStatus.WAITING
        assert counters(schedule) == before

    def test_a_failed_settlement_leaves_the_visit_counted_as_awaiting_payment(
        self, schedule, receptionist, monkeypatch
    ):
        visit = VisitFactory(schedule=schedule, status=VisitStatus.AWAITING_PAYMENT)

        def explode(**kwargs):
            raise RuntimeError("injected failure")

        # The settlement's last write, after the visit has moved to left.
        monkeypatch.setattr("billing.models.DailyIncomeSummary.add_payment", explode)
        with pytest.raises(RuntimeError):
            settle_visit(visit=visit, total_amount="10", insurance_amount="0", by=receptionist)
        assert counters(schedule) == {
            "visits": 1,
            "day_patients": 1,
            "awaiting_payment_visits": 1,
        }
        assert_in_step()

    def test_a_transition_the_summary_does_not_count_is_refused_and_undone(
        self, schedule, receptionist
    ):
        visit = walk_in(schedule, receptionist)
        VisitDailySummary.objects.all().delete()  # e.g. rows bulk-loaded without a rebuild
        with pytest.raises(SummaryOutOfStep):
            visit.start_consultation(by=receptionist)
        visit.refresh_from_db()
        assert visit.status == VisitStatus.WAITING


class TestRebuild:
    def test_rebuild_repairs_a_corrupted_summary(self, schedule, receptionist):
        patient = PatientFactory()
        # The visit left unseen first: a second one in the department while it is open is
        # refused (AlreadyInQueue).
        walk_in(schedule, receptionist, patient).leave_unseen(by=receptionist)
        walk_in(schedule, receptionist, patient)
        expected = counters(schedule)
        VisitDailySummary.objects.update(visits=9, waiting_visits=8)
        VisitDailySummary.objects.create(
            visit_date=NEXT_DAY,
            department=schedule.department,
            doctor=schedule.doctor,
            visits=1,
            waiting_visits=1,
        )
        assert len(VisitDailySummary.differences()) == 2
        assert any("visit summary" in problem for problem in find_problems())
        assert VisitDailySummary.rebuild() == 1
        assert (
            counters(schedule)
            == expected
            == {
                "visits": 2,
                "day_patients": 1,
                "waiting_visits": 1,
                "cancelled_visits": 1,
            }
        )
        assert_in_step()
        assert find_problems() == []

    def test_rebuilding_a_range_leaves_other_dates_alone(self):
        VisitFactory(schedule=ScheduleFactory(work_date=WORK_DAY))
        VisitFactory(schedule=ScheduleFactory(work_date=NEXT_DAY))
        VisitDailySummary.objects.update(visits=5, waiting_visits=5)
        VisitDailySummary.rebuild(start_date=NEXT_DAY, end_date=NEXT_DAY)
        assert dict(VisitDailySummary.objects.values_list("visit_date", "visits")) == {
            WORK_DAY: 5,
            NEXT_DAY: 1,
        }

    def test_the_command_checks_and_rebuilds(self):
        VisitFactory(schedule=ScheduleFactory(work_date=WORK_DAY))
        VisitDailySummary.objects.all().delete()
        with pytest.raises(CommandError, match="differs from the visits in 1 rows"):
            call_command("rebuild_visit_summary", "--check", stdout=StringIO())
        out = StringIO()
        call_command("rebuild_visit_summary", "--start", WORK_DAY.isoformat(), stdout=out)
        assert "1 rows" in out.getvalue()
        out = StringIO()
        call_command("rebuild_visit_summary", "--check", stdout=out)
        assert "matches" in out.getvalue()
        with pytest.raises(CommandError):
            call_command("rebuild_visit_summary", "--start", "2030-03-05", "--end", "2030-03-04")

    def test_the_data_migration_builds_the_summary_of_existing_visits(self, schedule):
        patient = PatientFactory()
        VisitFactory(schedule=schedule, patient=patient, status=VisitStatus.LEFT)
        VisitFactory(schedule=schedule, patient=patient)
        VisitDailySummary.objects.all().delete()
        migration = importlib.import_module("visits.migrations.0004_build_visit_daily_summary")
        from django.apps import apps

        migration.build_summary(apps, SimpleNamespace(connection=connection))
        assert_in_step()
        assert counters(schedule) == {
            "visits": 2,
            "day_patients": 1,
            "waiting_visits": 1,
            "left_visits": 1,
        }


class TestDatabaseRefuses:
    @pytest.fixture
    def row(self):
        VisitFactory()
        return VisitDailySummary.objects.get()

    @pytest.mark.parametrize("column", VisitDailySummary.FIGURES)
    def test_negative_counters(self, row, column):
        assert_db_rejects(lambda: VisitDailySummary.objects.update(**{column: -1}))

    def test_statuses_that_do_not_add_up_to_the_visits(self, row):
        assert_db_rejects(lambda: VisitDailySummary.objects.update(visits=2))
        assert_db_rejects(
            lambda: VisitDailySummary.objects.update(
                **{STATUS_COUNTERS[VisitStatus.LEFT]: 1}  # waiting 1 + left 1 = 2 visits
            )
        )

    def test_more_patients_than_visits(self, row):
        assert_db_rejects(lambda: VisitDailySummary.objects.update(day_patients=2))

    def test_a_second_row_for_the_same_day_department_and_doctor(self, row):
        assert_db_rejects(
            lambda: VisitDailySummary.objects.create(
                visit_date=row.visit_date,
                department_id=row.department_id,
                doctor_id=row.doctor_id,
            )
        )
