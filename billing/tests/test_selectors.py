"""Statistics against hand-computed fixtures: every grouping, empty days, range edges, and
one query per table whatever the range."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import translation

from billing.selectors import IncomeRow, income_by_group
from billing.services import settle_visit
from clinic.statistics import Grouping
from clinic.tests.factories import DepartmentFactory, DoctorFactory, PatientFactory
from scheduling.models import TimeSlot
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time
from visits.models import VisitStatus
from visits.statistics import visits_by_group
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

D1 = WORK_DAY
D2 = D1 + dt.timedelta(days=1)  # nothing happens on D2
D3 = D1 + dt.timedelta(days=2)
BEFORE = D1 - dt.timedelta(days=1)
AFTER = D3 + dt.timedelta(days=1)


def money(value: str) -> Decimal:
    return Decimal(value)


@pytest.fixture
def clinic():
    """Department A (doctors a1, a2) and B (doctor b1)."""
    department_a = DepartmentFactory(name="A Internal medicine")
    department_b = DepartmentFactory(name="B Surgery")
    return {
        "A": department_a,
        "B": department_b,
        "a1": DoctorFactory(department=department_a, emp_id="D0001", name="Doctor a1"),
        "a2": DoctorFactory(department=department_a, emp_id="D0002", name="Doctor a2"),
        "b1": DoctorFactory(department=department_b, emp_id="D0003", name="Doctor b1"),
    }


@pytest.fixture
def income(clinic, receptionist):
    """Payments settled through the settlement service, at clinic-local times.

    | day    | doctor | total  | insurance |
    | D1     | a1     | 100.00 | 60.00     |
    | D1     | a1     |  50.00 |  0.00     |
    | D1     | a2     |  30.50 | 10.50     |
    | D1     | b1     | 200.00 | 150.00    |
    | D3     | a2     |  20.00 |  5.00     | (23:30 local: still D3)
    | D3     | b1     |   0.00 |  0.00     |
    | BEFORE | b1     |  77.00 |  0.00     | outside the range
    | AFTER  | a1     | 999.00 |  0.00     | 00:10 local on the day after D3: outside
    """
    schedules = {}

    def pay(doctor: str, day: dt.date, total: str, insurance: str, hour=10, minute=0) -> None:
        key = (doctor, day)
        if key not in schedules:
            schedules[key] = ScheduleFactory(
                doctor=clinic[doctor], department=clinic[doctor].department, work_date=day
            )
        visit = VisitFactory(schedule=schedules[key], status=VisitStatus.AWAITING_PAYMENT)
        settle_visit(
            visit=visit,
            total_amount=total,
            insurance_amount=insurance,
            by=receptionist,
            now=clinic_time(hour, minute, day=day),
        )

    pay("a1", D1, "100.00", "60.00")
    pay("a1", D1, "50.00", "0")
    pay("a2", D1, "30.50", "10.50")
    pay("b1", D1, "200.00", "150.00")
    pay("a2", D3, "20.00", "5.00", hour=23, minute=30)
    pay("b1", D3, "0", "0")
    pay("b1", BEFORE, "77.00", "0", hour=23, minute=59)
    pay("a1", AFTER, "999.00", "0", hour=0, minute=10)


def figures(rows: list[IncomeRow]) -> list[tuple]:
    return [(row.label, row.payments, row.total, row.insurance, row.self_pay) for row in rows]


class TestIncome:
    def test_by_day_lists_every_day_including_days_without_income(self, income):
        rows = income_by_group(start_date=D1, end_date=D3, group_by=Grouping.DAY)
        assert figures(rows) == [
            (D1.isoformat(), 4, money("380.50"), money("220.50"), money("160.00")),
            (D2.isoformat(), 0, money("0"), money("0"), money("0")),
            (D3.isoformat(), 2, money("20.00"), money("5.00"), money("15.00")),
        ]
        assert [row.key for row in rows] == [D1, D2, D3]

    def test_by_department(self, income, clinic):
        rows = income_by_group(start_date=D1, end_date=D3, group_by=Grouping.DEPARTMENT)
        assert figures(rows) == [
            ("A Internal medicine", 4, money("200.50"), money("75.50"), money("125.00")),
            ("B Surgery", 2, money("200.00"), money("150.00"), money("50.00")),
        ]
        assert [row.key for row in rows] == [clinic["A"].pk, clinic["B"].pk]

    def test_by_doctor(self, income, clinic):
        rows = income_by_group(start_date=D1, end_date=D3, group_by=Grouping.DOCTOR)
        assert figures(rows) == [
            ("Doctor a1 (D0001)", 2, money("150.00"), money("60.00"), money("90.00")),
            ("Doctor a2 (D0002)", 2, money("50.50"), money("15.50"), money("35.00")),
            ("Doctor b1 (D0003)", 2, money("200.00"), money("150.00"), money("50.00")),
        ]
        assert (rows[0].key, rows[0].name, rows[0].code) == (
            clinic["a1"].pk,
            "Doctor a1",
            "D0001",
        )

    def test_the_end_date_is_included_in_clinic_local_time(self, income):
        """23:30 local on D3 counts on D3; 00:10 local on the next day (still D3 in UTC)
        does not."""
        rows = income_by_group(start_date=D3, end_date=D3, group_by=Grouping.DAY)
        assert figures(rows) == [(D3.isoformat(), 2, money("20.00"), money("5.00"), money("15.00"))]
        rows = income_by_group(start_date=AFTER, end_date=AFTER, group_by=Grouping.DAY)
        assert figures(rows) == [
            (AFTER.isoformat(), 1, money("999.00"), money("0"), money("999.00"))
        ]

    def test_the_start_date_is_included(self, income):
        rows = income_by_group(start_date=BEFORE, end_date=BEFORE, group_by=Grouping.DEPARTMENT)
        assert figures(rows) == [("B Surgery", 1, money("77.00"), money("0"), money("77.00"))]

    def test_a_range_without_income(self, income):
        assert income_by_group(start_date=D2, end_date=D2, group_by=Grouping.DOCTOR) == []
        rows = income_by_group(start_date=D2, end_date=D2, group_by=Grouping.DAY)
        assert figures(rows) == [(D2.isoformat(), 0, money("0"), money("0"), money("0"))]

    def test_income_without_a_doctor_has_its_own_row(self, clinic):
        from billing.models import DailyIncomeSummary

        DailyIncomeSummary.add_payment(
            record_date=D1,
            department_id=clinic["A"].pk,
            doctor_id=None,
            total=money("8.00"),
            insurance=money("0"),
            self_pay=money("8.00"),
        )
        with translation.override("en"):
            [row] = income_by_group(start_date=D1, end_date=D1, group_by=Grouping.DOCTOR)
            assert (row.key, str(row.label), row.total) == (
                None,
                "No doctor recorded",
                money("8.00"),
            )

    @pytest.mark.parametrize("group_by", Grouping.values)
    def test_one_query_whatever_the_range(self, income, group_by, django_assert_num_queries):
        for days in (3, 366, 3660):
            with django_assert_num_queries(1):
                income_by_group(
                    start_date=D1, end_date=D1 + dt.timedelta(days=days - 1), group_by=group_by
                )


@pytest.fixture
def visits(clinic):
    """Visits of patients P, Q, R (statuses as listed):

    | day    | doctor | slot      | patients                               |
    | D1     | a1     | morning   | P left, Q cancelled, R waiting         |
    | D1     | a2     | afternoon | P awaiting_payment                     |
    | D1     | b1     | morning   | Q in_consultation                      |
    | D3     | a1     | morning   | P left                                 |
    | BEFORE | b1     | morning   | Q left (outside)                       |
    | AFTER  | a1     | morning   | R left (outside)                       |
    """
    p, q, r = PatientFactory(), PatientFactory(), PatientFactory()

    def schedule(doctor: str, day: dt.date, slot=TimeSlot.MORNING):
        return ScheduleFactory(
            doctor=clinic[doctor],
            department=clinic[doctor].department,
            work_date=day,
            time_slot=slot,
        )

    def visit(sched, patient, status: str, queue: int) -> None:
        VisitFactory(schedule=sched, patient=patient, status=status, queue_number=queue)

    a1_d1 = schedule("a1", D1)
    visit(a1_d1, p, VisitStatus.LEFT, 1)
    visit(a1_d1, q, VisitStatus.CANCELLED, 2)
    visit(a1_d1, r, VisitStatus.WAITING, 3)
    visit(schedule("a2", D1, TimeSlot.AFTERNOON), p, VisitStatus.AWAITING_PAYMENT, 1)
    visit(schedule("b1", D1), q, VisitStatus.IN_CONSULTATION, 1)
    visit(schedule("a1", D3), p, VisitStatus.LEFT, 1)
    visit(schedule("b1", BEFORE), q, VisitStatus.LEFT, 1)
    visit(schedule("a1", AFTER), r, VisitStatus.LEFT, 1)


def visit_figures(rows) -> list[tuple]:
    # by status: waiting, in consultation, awaiting payment, left, left unseen
    return [(row.label, row.visits, row.patients, tuple(row.status_counts())) for row in rows]


class TestVisits:
    def test_by_day_lists_every_day(self, visits):
        rows = visits_by_group(start_date=D1, end_date=D3, group_by=Grouping.DAY)
        assert visit_figures(rows) == [
            (D1.isoformat(), 5, 3, (1, 1, 1, 1, 1)),
            (D2.isoformat(), 0, 0, (0, 0, 0, 0, 0)),
            (D3.isoformat(), 1, 1, (0, 0, 0, 1, 0)),
        ]

    def test_by_department_counts_each_patient_once(self, visits):
        rows = visits_by_group(start_date=D1, end_date=D3, group_by=Grouping.DEPARTMENT)
        assert visit_figures(rows) == [
            ("A Internal medicine", 5, 3, (1, 0, 1, 2, 1)),
            ("B Surgery", 1, 1, (0, 1, 0, 0, 0)),
        ]

    def test_by_doctor(self, visits):
        rows = visits_by_group(start_date=D1, end_date=D3, group_by=Grouping.DOCTOR)
        assert visit_figures(rows) == [
            ("Doctor a1 (D0001)", 4, 3, (1, 0, 0, 2, 1)),
            ("Doctor a2 (D0002)", 1, 1, (0, 0, 1, 0, 0)),
            ("Doctor b1 (D0003)", 1, 1, (0, 1, 0, 0, 0)),
        ]

    def test_distinct_patients_do_not_add_up_across_groups(self, visits):
        by_day = visits_by_group(start_date=D1, end_date=D3, group_by=Grouping.DAY)
        by_department = visits_by_group(start_date=D1, end_date=D3, group_by=Grouping.DEPARTMENT)
        # P came on D1 and D3: two patient-days, one patient of department A.
        assert sum(row.patients for row in by_day) == 4
        assert by_department[0].patients == 3

    def test_one_status_only(self, visits):
        rows = visits_by_group(
            start_date=D1, end_date=D3, group_by=Grouping.DEPARTMENT, status=VisitStatus.LEFT
        )
        assert visit_figures(rows) == [("A Internal medicine", 2, 1, (0, 0, 0, 2, 0))]

    def test_range_edges_are_inclusive(self, visits):
        rows = visits_by_group(start_date=BEFORE, end_date=BEFORE, group_by=Grouping.DOCTOR)
        assert visit_figures(rows) == [("Doctor b1 (D0003)", 1, 1, (0, 0, 0, 1, 0))]
        rows = visits_by_group(start_date=AFTER, end_date=AFTER, group_by=Grouping.DAY)
        assert visit_figures(rows) == [(AFTER.isoformat(), 1, 1, (0, 0, 0, 1, 0))]

    def test_one_status_only_by_day_and_by_doctor(self, visits):
        rows = visits_by_group(
            start_date=D1, end_date=D3, group_by=Grouping.DAY, status=VisitStatus.LEFT
        )
        assert visit_figures(rows) == [
            (D1.isoformat(), 1, 1, (0, 0, 0, 1, 0)),
            (D2.isoformat(), 0, 0, (0, 0, 0, 0, 0)),
            (D3.isoformat(), 1, 1, (0, 0, 0, 1, 0)),
        ]
        rows = visits_by_group(
            start_date=D1, end_date=D3, group_by=Grouping.DOCTOR, status=VisitStatus.WAITING
        )
        assert visit_figures(rows) == [("Doctor a1 (D0001)", 1, 1, (1, 0, 0, 0, 0))]

    def test_a_patient_seen_twice_a_day_is_one_patient_of_that_day(self, visits, clinic):
        """P's second visit on D1 (doctor a2) adds a visit, not a patient, to D1; it is
        still a patient of doctor a2."""
        rows = visits_by_group(start_date=D1, end_date=D1, group_by=Grouping.DAY)
        assert (rows[0].visits, rows[0].patients) == (5, 3)
        rows = visits_by_group(start_date=D1, end_date=D1, group_by=Grouping.DOCTOR)
        assert [(row.code, row.patients) for row in rows] == [
            ("D0001", 3),
            ("D0002", 1),
            ("D0003", 1),
        ]

    def test_counts_come_from_the_daily_summary(self, visits):
        from visits.models import VisitDailySummary

        VisitDailySummary.objects.filter(visit_date=D3).update(
            visits=F("visits") + 10, waiting_visits=F("waiting_visits") + 10
        )
        rows = visits_by_group(start_date=D3, end_date=D3, group_by=Grouping.DAY)
        assert visit_figures(rows) == [(D3.isoformat(), 11, 1, (10, 0, 0, 1, 0))]

    @pytest.mark.parametrize("group_by", Grouping.values)
    def test_one_query_whatever_the_range(self, visits, group_by, django_assert_num_queries):
        for days in (3, 366, 3660):
            with django_assert_num_queries(1):
                visits_by_group(
                    start_date=D1, end_date=D1 + dt.timedelta(days=days - 1), group_by=group_by
                )
