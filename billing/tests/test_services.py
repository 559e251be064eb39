"""Settlement: amounts, the bill identity, one settlement per visit, nothing half-written."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import translation

from billing import services
from billing.exceptions import AlreadySettled, AmountsDiffer, BillOutOfBalance, InvalidAmounts
from billing.models import (
    Bill,
    BillLine,
    DailyCategoryIncome,
    DailyIncomeSummary,
    IncomeRecord,
    PayStatus,
)
from billing.services import bill_preview, default_manual_reason, settle_visit, validate_amounts
from billing.tests.factories import ChargeFactory, FeeItemFactory, InsurancePlanFactory
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


# --- Itemised bills: charges, the patient's plan, the bureau's figure ----------------------


def itemised_visit(plan=True):
    """A visit awaiting payment with three charges: registration 10 (A), a drug 2 × 12.35
    (B) and a test 30 (C); the patient's plan pays A 90 %, B 70 %, C 0 %."""
    visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
    if plan:
        visit.patient.insurance_plan = InsurancePlanFactory(name="城镇职工")
        visit.patient.save(update_fields=["insurance_plan"])
    ChargeFactory(
        visit=visit,
        kind="registration",
        fee_item=FeeItemFactory(
            code="R1", category="registration", unit_price=Decimal("10"), insurance_class="A"
        ),
    )
    ChargeFactory(
        visit=visit,
        quantity=Decimal(2),
        fee_item=FeeItemFactory(
            code="D1", category="drug", unit_price=Decimal("12.35"), insurance_class="B"
        ),
    )
    ChargeFactory(
        visit=visit,
        fee_item=FeeItemFactory(
            code="L1", category="laboratory", unit_price=Decimal("30"), insurance_class="C"
        ),
    )
    return visit


# 10 + 24.70 + 30 = 64.70; insured 9.00 + 17.29 (24.70 × 70 % = 17.29) + 0 = 26.29
TOTAL, ESTIMATE = Decimal("64.70"), Decimal("26.29")


def test_a_visit_with_charges_is_billed_its_lines_with_the_plan(receptionist):
    visit = itemised_visit()
    bill = settle_visit(visit=visit, by=receptionist, now=PAID_AT)
    assert (bill.total_amount, bill.insurance_amount, bill.self_pay_amount) == (
        TOTAL,
        ESTIMATE,
        TOTAL - ESTIMATE,
    )
    assert bill.estimated_insurance_amount == ESTIMATE
    assert (bill.insurance_plan_name, bill.insurance_override_reason) == ("城镇职工", "")
    lines = list(bill.lines.order_by("id"))
    assert [(line.code, line.amount, line.insured_amount) for line in lines] == [
        ("R1", Decimal("10.00"), Decimal("9.00")),
        ("D1", Decimal("24.70"), Decimal("17.29")),
        ("L1", Decimal("30.00"), Decimal("0.00")),
    ]
    assert all(line.charge_id for line in lines)
    assert IncomeRecord.objects.get().amount == TOTAL
    event = AuditEvent.objects.get(action="bill.settled")
    assert (
        event.new_values["lines"] == 3 and event.new_values["estimated_insurance_amount"] == "26.29"
    )


def test_a_self_pay_patient_pays_everything(receptionist):
    bill = settle_visit(visit=itemised_visit(plan=False), by=receptionist)
    assert (bill.insurance_amount, bill.self_pay_amount, bill.insurance_plan_name) == (
        0,
        TOTAL,
        "",
    )


def test_the_plan_is_read_at_settlement(receptionist):
    visit = itemised_visit(plan=False)
    visit.patient.insurance_plan = InsurancePlanFactory(
        name="城乡居民", coverage_a=Decimal(80), coverage_b=Decimal(60)
    )
    visit.patient.save(update_fields=["insurance_plan"])
    bill = settle_visit(visit=visit, by=receptionist)
    assert bill.insurance_plan_name == "城乡居民"
    assert bill.estimated_insurance_amount == Decimal("8.00") + Decimal("14.82")


def test_the_same_figures_sent_are_accepted(receptionist):
    bill = settle_visit(
        visit=itemised_visit(),
        total_amount="64.70",
        insurance_amount="26.29",
        self_pay_amount="38.41",
        by=receptionist,
    )
    assert bill.total_amount == TOTAL


@pytest.mark.parametrize(
    ("body", "field", "expected"),
    [
        ({"total_amount": "86.50"}, "total_amount", "Expected 64.70."),
        ({"insurance_amount": "20"}, "insurance_amount", "Expected 26.29."),
        ({"self_pay_amount": "1"}, "self_pay_amount", "Expected 38.41."),
    ],
)
def test_amounts_that_differ_from_the_lines_are_refused_naming_the_figures(
    receptionist, body, field, expected
):
    visit = itemised_visit()
    with translation.override("en"), pytest.raises(AmountsDiffer) as caught:
        settle_visit(visit=visit, by=receptionist, **body)
    assert caught.value.details[field][0] == expected
    assert "64.70" in caught.value.message
    assert written() == (0, 0)
    assert BillLine.objects.count() == 0


def test_the_bureaus_figure_with_a_reason_replaces_the_estimate(receptionist):
    bill = settle_visit(
        visit=itemised_visit(),
        insurance_amount="20.00",
        override_reason="Bureau settlement slip 123",
        by=receptionist,
    )
    assert (bill.insurance_amount, bill.self_pay_amount) == (Decimal("20.00"), Decimal("44.70"))
    assert bill.estimated_insurance_amount == ESTIMATE
    assert bill.insurance_override_reason == "Bureau settlement slip 123"
    event = AuditEvent.objects.get(action="bill.insurance_overridden")
    assert event.old_values == {"insurance_amount": "26.29"}
    assert event.new_values == {"insurance_amount": "20.00", "reason": "Bureau settlement slip 123"}
    summary = DailyIncomeSummary.objects.get()
    assert (summary.insurance_amount, summary.self_pay_amount) == (
        Decimal("20.00"),
        Decimal("44.70"),
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"override_reason": "slip"}, "insurance_amount"),  # a reason without a figure
        ({"insurance_amount": "64.71", "override_reason": "slip"}, "insurance_amount"),
        ({"insurance_amount": "-1", "override_reason": "slip"}, "insurance_amount"),
        ({"insurance_amount": "1", "override_reason": "x" * 201}, "override_reason"),
    ],
)
def test_a_bad_bureau_figure_is_a_field_error(receptionist, body, field):
    with pytest.raises(InvalidAmounts) as caught:
        settle_visit(visit=itemised_visit(), by=receptionist, **body)
    assert field in caught.value.details
    assert written() == (0, 0)


def test_a_visit_without_charges_gets_one_manual_line(visit, receptionist):
    bill = settle_visit(visit=visit, total_amount="86.50", insurance_amount="50", by=receptionist)
    (line,) = bill.lines.all()
    assert (line.category, line.amount, line.insured_amount, line.self_pay_amount) == (
        "consultation",
        Decimal("86.50"),
        Decimal("50.00"),
        Decimal("36.50"),
    )
    assert line.charge is None and line.manual_reason == default_manual_reason()
    assert bill.estimated_insurance_amount == Decimal("50.00")


def test_a_manual_line_keeps_the_reason_given(visit, receptionist):
    bill = settle_visit(
        visit=visit, total_amount=5, insurance_amount=0, manual_reason="Dressing", by=receptionist
    )
    assert bill.lines.get().manual_reason == "Dressing"


def test_a_visit_without_charges_needs_the_amounts(visit, receptionist):
    with pytest.raises(InvalidAmounts) as caught:
        settle_visit(visit=visit, by=receptionist)
    assert set(caught.value.details) == {"total_amount", "insurance_amount"}


def test_the_category_summary_is_kept_in_step(receptionist):
    settle_visit(visit=itemised_visit(), by=receptionist, now=PAID_AT)
    rows = {row.category: row for row in DailyCategoryIncome.objects.all()}
    assert set(rows) == {"registration", "drug", "laboratory"}
    assert rows["drug"].total_amount == Decimal("24.70")
    assert rows["drug"].insured_amount == Decimal("17.29")
    assert DailyCategoryIncome.differences() == []
    assert DailyIncomeSummary.differences() == []


def test_a_bill_that_does_not_add_up_to_its_lines_is_undone(receptionist, monkeypatch):
    def drop_last_line(bill, draft):
        BillLine.objects.bulk_create([line.as_bill_line(bill) for line in draft.lines[:-1]])

    monkeypatch.setattr(services, "_write_lines", drop_last_line)
    visit = itemised_visit()
    with pytest.raises(BillOutOfBalance):
        settle_visit(visit=visit, by=receptionist)
    assert written() == (0, 0)
    assert BillLine.objects.count() == 0
    visit.refresh_from_db()
    assert visit.status == VisitStatus.AWAITING_PAYMENT


def test_the_preview_is_what_the_settlement_bills(receptionist):
    visit = itemised_visit()
    draft = bill_preview(visit)
    bill = settle_visit(visit=visit, by=receptionist)
    assert (draft.total, draft.insured, draft.plan_name) == (
        bill.total_amount,
        bill.estimated_insurance_amount,
        bill.insurance_plan_name,
    )
    assert [line.amount for line in draft.lines] == [line.amount for line in bill.lines.all()]
