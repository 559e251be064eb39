"""The daily income summary under concurrent settlements, on MariaDB (real row locks).

Settlements of one day, department and doctor all write the same summary row; the day's
first ones race to create it. Every thread connects before a shared barrier, settles one
visit through the settlement service, and closes its connection in `finally`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

import clinic.db
from billing.models import DailyIncomeSummary, IncomeRecord
from billing.services import settle_visit
from clinic.tests.factories import DoctorFactory, ReceptionistFactory
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time, run_at_once
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def lock_errors(monkeypatch) -> list[Exception]:
    """The deadlocks and lock-wait timeouts the entry point retried (it should be none)."""
    seen: list[Exception] = []
    original = clinic.db.is_retryable

    def counting(error: Exception) -> bool:
        retryable = original(error)
        if retryable:
            seen.append(error)
        return retryable

    monkeypatch.setattr(clinic.db, "is_retryable", counting)
    return seen


def settle(visit, total: str, insurance: str, by) -> Callable[[], Any]:
    return lambda: settle_visit(
        visit=visit,
        total_amount=total,
        insurance_amount=insurance,
        by=by,
        now=clinic_time(10),
    )


def test_the_days_first_settlements_racing_for_one_row_all_count(lock_errors):
    schedule = ScheduleFactory(work_date=WORK_DAY, max_patients=40)
    cashier = ReceptionistFactory()
    visits = VisitFactory.create_batch(16, schedule=schedule, status=VisitStatus.AWAITING_PAYMENT)
    amounts = [(f"{10 + index}.25", f"{index}.10") for index in range(16)]

    results = run_at_once(
        [
            settle(visit, total, insurance, cashier)
            for visit, (total, insurance) in zip(visits, amounts, strict=True)
        ]
    )

    assert [type(result).__name__ for result in results if isinstance(result, Exception)] == []
    row = DailyIncomeSummary.objects.get()
    total = sum(Decimal(total) for total, _ in amounts)
    insurance = sum(Decimal(insurance) for _, insurance in amounts)
    assert (row.record_date, row.department_id, row.doctor_id) == (
        WORK_DAY,
        schedule.department_id,
        schedule.doctor_id,
    )
    assert (row.payments, row.total_amount, row.insurance_amount, row.self_pay_amount) == (
        16,
        total,
        insurance,
        total - insurance,
    )
    assert IncomeRecord.objects.count() == 16
    assert DailyIncomeSummary.differences() == []
    # One atomic upsert per settlement: no deadlock to retry, even on the day's first row.
    assert lock_errors == []


def test_settlements_of_two_doctors_and_a_repeat_stay_exact():
    """Two doctors of one department at once, while a second settlement of a visit that is
    already being paid fails cleanly and adds nothing."""
    first = ScheduleFactory(work_date=WORK_DAY, max_patients=40)
    second = ScheduleFactory(
        work_date=WORK_DAY,
        doctor=DoctorFactory(department=first.department),
        department=first.department,
        max_patients=40,
    )
    cashier = ReceptionistFactory()
    visits = [
        VisitFactory(schedule=schedule, status=VisitStatus.AWAITING_PAYMENT)
        for schedule in (first, second)
        for _ in range(8)
    ]
    calls = [settle(visit, "30.00", "12.50", cashier) for visit in visits]
    calls += [settle(visits[0], "30.00", "12.50", cashier)]  # the same visit twice

    results = run_at_once(calls)

    failures = [result for result in results if isinstance(result, Exception)]
    assert [type(error).__name__ for error in failures] == ["AlreadySettled"]
    rows = {row.doctor_id: row for row in DailyIncomeSummary.objects.all()}
    assert set(rows) == {first.doctor_id, second.doctor_id}
    for row in rows.values():
        assert (row.payments, row.total_amount, row.insurance_amount) == (
            8,
            Decimal("240.00"),
            Decimal("100.00"),
        )
    assert DailyIncomeSummary.differences() == []
