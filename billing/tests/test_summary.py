"""The daily income summary: kept by settlement, equal to the detail rows, rebuildable."""

from __future__ import annotations

import datetime as dt
import importlib
import random
from decimal import Decimal
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from billing.models import Bill, DailyIncomeSummary, IncomeRecord
from billing.services import settle_visit
from billing.tests.factories import IncomeRecordFactory
from clinic.tests.factories import DepartmentFactory, DoctorFactory
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, assert_db_rejects, clinic_time
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

NEXT_DAY = WORK_DAY + dt.timedelta(days=1)


def awaiting(schedule):
    return VisitFactory(schedule=schedule, status=VisitStatus.AWAITING_PAYMENT)


def summary_rows() -> list[tuple]:
    return list(
        DailyIncomeSummary.objects.order_by(
            "record_date", "department_id", "doctor_key"
        ).values_list(
            "record_date",
            "department_id",
            "doctor_id",
            "payments",
            "total_amount",
            "insurance_amount",
            "self_pay_amount",
        )
    )


def test_a_settlement_adds_to_its_days_row(receptionist):
    schedule = ScheduleFactory()
    settle_visit(
        visit=awaiting(schedule),
        total_amount="86.50",
        insurance_amount="50",
        by=receptionist,
        now=clinic_time(9),
    )
    settle_visit(
        visit=awaiting(schedule),
        total_amount="20",
        insurance_amount="0",
        by=receptionist,
        now=clinic_time(10),
    )
    assert summary_rows() == [
        (
            WORK_DAY,
            schedule.department_id,
            schedule.doctor_id,
            2,
            Decimal("106.50"),
            Decimal("50.00"),
            Decimal("56.50"),
        )
    ]


def test_settlements_keep_the_summary_equal_to_the_detail(receptionist):
    """Many settlements over days, departments and doctors (through the settlement service)."""
    rng = random.Random(7)
    schedules = [
        ScheduleFactory(doctor=doctor, department=doctor.department)
        for department in DepartmentFactory.create_batch(2)
        for doctor in DoctorFactory.create_batch(2, department=department)
    ]
    for index in range(40):
        total = Decimal(rng.randrange(0, 50000)) / 100
        insurance = (total * Decimal(rng.choice(["0", "0.3", "0.55", "1"]))).quantize(
            Decimal("0.01")
        )
        day = WORK_DAY + dt.timedelta(days=index % 3)
        settle_visit(
            visit=awaiting(rng.choice(schedules)),
            total_amount=total,
            insurance_amount=insurance,
            by=receptionist,
            now=clinic_time(rng.choice([8, 12, 23]), day=day),
        )
    assert IncomeRecord.objects.count() == 40
    assert DailyIncomeSummary.differences() == []
    assert DailyIncomeSummary.objects.count() <= 3 * 4


def test_cents_that_do_not_add_up_in_binary_still_add_up_in_the_summary(receptionist):
    """0.10 + 0.20 is not 0.30 in floating point (SQLite's decimals): the summary's
    identity check compares whole cents."""
    schedule = ScheduleFactory()
    for total, insurance in (("0.10", "0.00"), ("0.20", "0.10"), ("0.30", "0.20")):
        settle_visit(
            visit=awaiting(schedule),
            total_amount=total,
            insurance_amount=insurance,
            by=receptionist,
            now=clinic_time(9),
        )
    row = DailyIncomeSummary.objects.get()
    assert (row.payments, row.total_amount, row.insurance_amount, row.self_pay_amount) == (
        3,
        Decimal("0.60"),
        Decimal("0.30"),
        Decimal("0.30"),
    )


def test_the_local_payment_date_decides_the_row(receptionist):
    schedule = ScheduleFactory()
    # 23:59 and 00:01 clinic time are on two dates, although both are the same UTC day.
    settle_visit(
        visit=awaiting(schedule),
        total_amount=10,
        insurance_amount=0,
        by=receptionist,
        now=clinic_time(23, 59),
    )
    settle_visit(
        visit=awaiting(schedule),
        total_amount=20,
        insurance_amount=0,
        by=receptionist,
        now=clinic_time(0, 1, day=NEXT_DAY),
    )
    assert [(row[0], row[4]) for row in summary_rows()] == [
        (WORK_DAY, Decimal("10.00")),
        (NEXT_DAY, Decimal("20.00")),
    ]


def test_a_failed_settlement_leaves_the_summary_untouched(receptionist, monkeypatch):
    visit = awaiting(ScheduleFactory())
    original = DailyIncomeSummary.add_payment

    def add_then_fail(**kwargs):
        original(**kwargs)
        raise RuntimeError("injected failure after the summary write")

    monkeypatch.setattr(DailyIncomeSummary, "add_payment", add_then_fail)
    with pytest.raises(RuntimeError):
        settle_visit(visit=visit, total_amount=10, insurance_amount=0, by=receptionist)
    assert not DailyIncomeSummary.objects.exists()
    assert not Bill.objects.exists()


def test_income_without_a_doctor_has_one_row_a_day_under_key_zero():
    department = DepartmentFactory()
    for amount in ("5.00", "7.00"):
        DailyIncomeSummary.add_payment(
            record_date=WORK_DAY,
            department_id=department.pk,
            doctor_id=None,
            total=Decimal(amount),
            insurance=Decimal("0.00"),
            self_pay=Decimal(amount),
        )
    row = DailyIncomeSummary.objects.get()
    assert (row.doctor_id, row.doctor_key, row.payments, row.total_amount) == (
        None,
        0,
        2,
        Decimal("12.00"),
    )


def test_rebuild_recomputes_from_the_detail_including_income_without_a_doctor():
    with_doctor = IncomeRecordFactory(record_date=WORK_DAY)
    IncomeRecordFactory(
        record_date=WORK_DAY,
        doctor=None,
        bill__total_amount=Decimal("40.00"),
        bill__insurance_amount=Decimal("0.00"),
    )
    IncomeRecordFactory(record_date=NEXT_DAY)
    # Factories write detail rows only: the summary knows nothing yet.
    assert len(DailyIncomeSummary.differences()) == 3
    assert DailyIncomeSummary.rebuild() == 3
    assert DailyIncomeSummary.differences() == []
    row = DailyIncomeSummary.objects.get(doctor=with_doctor.doctor)
    assert (row.payments, row.total_amount, row.insurance_amount, row.self_pay_amount) == (
        1,
        Decimal("100.00"),
        Decimal("60.00"),
        Decimal("40.00"),
    )


def test_rebuilding_a_range_leaves_other_dates_alone():
    IncomeRecordFactory(record_date=WORK_DAY)
    IncomeRecordFactory(record_date=NEXT_DAY)
    DailyIncomeSummary.rebuild()
    DailyIncomeSummary.objects.filter(record_date=WORK_DAY).update(payments=99)
    DailyIncomeSummary.objects.filter(record_date=NEXT_DAY).update(payments=42)
    DailyIncomeSummary.rebuild(start_date=NEXT_DAY, end_date=NEXT_DAY)
    assert dict(DailyIncomeSummary.objects.values_list("record_date", "payments")) == {
        WORK_DAY: 99,
        NEXT_DAY: 1,
    }


def test_the_command_checks_and_rebuilds():
    IncomeRecordFactory(record_date=WORK_DAY)
    with pytest.raises(CommandError, match="differs from the detail in 1 rows"):
        call_command("rebuild_income_summary", "--check", stdout=StringIO())
    out = StringIO()
    call_command(
        "rebuild_income_summary", "--start", WORK_DAY.isoformat(), "--end", "2030-03-31", stdout=out
    )
    assert "1 rows" in out.getvalue()
    out = StringIO()
    call_command("rebuild_income_summary", "--check", stdout=out)
    assert "matches" in out.getvalue()


def test_the_command_refuses_a_reversed_range():
    with pytest.raises(CommandError):
        call_command("rebuild_income_summary", "--start", "2030-03-05", "--end", "2030-03-04")


def test_the_data_migration_builds_the_summary_of_existing_income():
    schedule = ScheduleFactory()
    IncomeRecordFactory(record_date=WORK_DAY, bill__visit__schedule=schedule)
    IncomeRecordFactory(record_date=WORK_DAY, bill__visit__schedule=schedule)
    migration = importlib.import_module("billing.migrations.0003_build_daily_income_summary")
    from django.apps import apps

    migration.build_summary(apps, SimpleNamespace(connection=connection))
    assert DailyIncomeSummary.differences() == []
    assert DailyIncomeSummary.objects.get().payments == 2


class TestDatabaseRefuses:
    @pytest.fixture
    def row(self):
        IncomeRecordFactory(record_date=WORK_DAY)
        DailyIncomeSummary.rebuild()
        return DailyIncomeSummary.objects.get()

    def test_a_total_that_is_not_insurance_plus_self_pay(self, row):
        assert_db_rejects(lambda: DailyIncomeSummary.objects.update(total_amount=Decimal("1.00")))

    def test_negative_figures(self, row):
        assert_db_rejects(lambda: DailyIncomeSummary.objects.update(payments=-1))

    def test_a_doctor_key_that_is_not_the_doctor(self, row):
        assert_db_rejects(lambda: DailyIncomeSummary.objects.update(doctor_key=row.doctor_id + 1))

    def test_a_second_row_for_the_same_day_department_and_doctor(self, row):
        assert_db_rejects(
            lambda: DailyIncomeSummary.objects.create(
                record_date=row.record_date,
                department_id=row.department_id,
                doctor_id=row.doctor_id,
                doctor_key=row.doctor_key,
                total_amount=0,
                insurance_amount=0,
                self_pay_amount=0,
            )
        )

    def test_a_second_row_without_a_doctor(self, row):
        DailyIncomeSummary.objects.create(
            record_date=row.record_date,
            department_id=row.department_id,
            total_amount=0,
            insurance_amount=0,
            self_pay_amount=0,
        )
        assert_db_rejects(
            lambda: DailyIncomeSummary.objects.create(
                record_date=row.record_date,
                department_id=row.department_id,
                total_amount=0,
                insurance_amount=0,
                self_pay_amount=0,
            )
        )


def test_the_summary_equals_sums_that_sqlite_adds_in_floating_point(monkeypatch):
    """SQLite sums DECIMAL columns in binary floating point: a payment of 1.15 and a refund
    of 1.05 came back as 0.0999999999999999 (the cashier's stateful test drew such a day).
    The comparison takes the detail's sums as the summary's columns hold them, to the cent."""
    schedule = ScheduleFactory()
    record = IncomeRecordFactory(
        bill__visit__schedule=schedule,
        amount=Decimal("0.10"),
        insurance_amount=0,
        self_pay_amount=Decimal("0.10"),
    )
    DailyIncomeSummary.rebuild()
    as_sqlite_sums = [
        {
            "record_date": record.record_date,
            "department_id": record.department_id,
            "doctor_id": record.doctor_id,
            "payments": 1,
            "refunds": 1,
            "total_amount": Decimal("0.0999999999999999"),
            "insurance_amount": Decimal("0"),
            "self_pay_amount": Decimal("0.0999999999999999"),
        }
    ]
    DailyIncomeSummary.objects.update(payments=1, refunds=1)
    monkeypatch.setattr(
        DailyIncomeSummary, "detail_totals", classmethod(lambda cls, **_dates: as_sqlite_sums)
    )
    assert DailyIncomeSummary.differences() == []
    as_sqlite_sums[0]["total_amount"] = Decimal("0.11")
    assert len(DailyIncomeSummary.differences()) == 1
