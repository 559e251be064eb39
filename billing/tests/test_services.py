"""Settlement: amounts, the bill identity, one settlement per visit, nothing half-written."""

from __future__ import annotations

from decimal import Decimal

import pytest

from billing.exceptions import AlreadySettled, InvalidAmounts
from billing.models import Bill, IncomeRecord, PayStatus
from billing.services import settle_visit, validate_amounts
from clinic.exceptions import InvalidTransition, PermissionDenied
from clinic.models import AuditEvent
from tests.support import clinic_time
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

PAID_AT = clinic_time(23, 30)  # late evening: the local date is still WORK_DAY


@pytest.fixture
def visit():
    return VisitFactory(status=VisitStatus.AWAITING_PAYMENT)


def written() -> tuple[int, int]:
    return Bill.objects.count(), IncomeRecord.objects.count()


def test_settlement_writes_bill_income_and_lets_the_patient_leave(visit, receptionist):
    bill = settle_visit(
        visit=visit, total_amount="86.50", insurance_amount="50", by=receptionist, now=PAID_AT
    )
    visit.refresh_from_db()
    assert visit.status == VisitStatus.LEFT
    assert (bill.total_amount, bill.insurance_amount, bill.self_pay_amount) == (
        Decimal("86.50"),
        Decimal("50.00"),
        Decimal("36.50"),
    )
    assert (bill.pay_status, bill.pay_time, bill.cashier) == (PayStatus.PAID, PAID_AT, receptionist)
    income = IncomeRecord.objects.get()
    assert (income.bill, income.amount, income.department, income.doctor) == (
        bill,
        Decimal("86.50"),
        visit.department,
        visit.schedule.doctor,
    )
    assert income.record_date == PAID_AT.date()  # the clinic-local payment date
    assert AuditEvent.objects.filter(action="bill.settled").count() == 1
    assert AuditEvent.objects.filter(action="visit.left").count() == 1


def test_a_zero_total_is_a_valid_settlement(visit, receptionist):
    bill = settle_visit(visit=visit, total_amount=0, insurance_amount=0, by=receptionist)
    assert bill.self_pay_amount == Decimal("0.00")


def test_a_second_settlement_fails_cleanly(visit, receptionist):
    settle_visit(visit=visit, total_amount=10, insurance_amount=0, by=receptionist)
    with pytest.raises(AlreadySettled):
        settle_visit(visit=visit, total_amount=10, insurance_amount=0, by=receptionist)
    assert written() == (1, 1)


@pytest.mark.parametrize(
    "status", [VisitStatus.WAITING, VisitStatus.IN_CONSULTATION, VisitStatus.CANCELLED]
)
def test_only_a_visit_awaiting_payment_is_settled(receptionist, status):
    visit = VisitFactory(status=status)
    with pytest.raises(InvalidTransition):
        settle_visit(visit=visit, total_amount=10, insurance_amount=0, by=receptionist)
    visit.refresh_from_db()
    assert visit.status == status
    assert written() == (0, 0)


@pytest.mark.parametrize("persona", ["patient", "doctor"])
def test_only_the_desk_settles(visit, personas, persona):
    with pytest.raises(PermissionDenied):
        settle_visit(visit=visit, total_amount=10, insurance_amount=0, by=personas[persona])
    assert written() == (0, 0)


@pytest.mark.parametrize(
    ("total", "insurance", "self_pay", "field"),
    [
        ("-1", "0", None, "total_amount"),
        ("10", "-1", None, "insurance_amount"),
        ("10", "11", None, "insurance_amount"),
        ("10", "4", "5", "self_pay_amount"),
        ("abc", "0", None, "total_amount"),
        ("NaN", "0", None, "total_amount"),
        ("Infinity", "0", None, "total_amount"),
        ("100000000", "0", None, "total_amount"),
        (None, "0", None, "total_amount"),
    ],
)
def test_inconsistent_amounts_are_refused_and_nothing_is_written(
    visit, receptionist, total, insurance, self_pay, field
):
    with pytest.raises(InvalidAmounts) as excinfo:
        settle_visit(
            visit=visit,
            total_amount=total,
            insurance_amount=insurance,
            self_pay_amount=self_pay,
            by=receptionist,
        )
    assert field in excinfo.value.details
    visit.refresh_from_db()
    assert visit.status == VisitStatus.AWAITING_PAYMENT
    assert written() == (0, 0)


def test_amounts_are_rounded_to_cents_half_up():
    amounts = validate_amounts("10.005", "3.334")
    assert (amounts.total, amounts.insurance, amounts.self_pay) == (
        Decimal("10.01"),
        Decimal("3.33"),
        Decimal("6.68"),
    )


def test_a_consistent_self_pay_is_accepted():
    assert validate_amounts(10, 4, "6.00").self_pay == Decimal("6.00")


@pytest.mark.parametrize("step", ["income", "leave"])
def test_a_failure_at_any_step_leaves_no_trace(visit, receptionist, monkeypatch, step):
    def explode(*args, **kwargs):
        raise RuntimeError("injected failure")

    if step == "income":
        monkeypatch.setattr("billing.services.IncomeRecord.objects.create", explode)
    else:
        monkeypatch.setattr("visits.models.Visit.leave_after_settlement", explode)
    with pytest.raises(RuntimeError):
        settle_visit(visit=visit, total_amount=10, insurance_amount=0, by=receptionist)
    visit.refresh_from_db()
    assert visit.status == VisitStatus.AWAITING_PAYMENT
    assert written() == (0, 0)
    assert not AuditEvent.objects.exists()
