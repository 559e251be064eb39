"""Income by fee category: the summary kept by settlement, rebuilt and checked from the bill
lines, the invariants that tie bills to their lines."""

from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing.invariants import find_problems
from billing.models import BillLine, DailyCategoryIncome
from billing.services import settle_visit
from billing.tests.factories import ChargeFactory, FeeItemFactory, IncomeRecordFactory
from tests.support import WORK_DAY, clinic_time
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db


def settle_with_charges(receptionist, *prices_and_categories, now=None):
    visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
    for price, category in prices_and_categories:
        ChargeFactory(
            visit=visit, fee_item=FeeItemFactory(category=category, unit_price=Decimal(price))
        )
    return settle_visit(visit=visit, by=receptionist, now=now or clinic_time(10))


def test_rebuild_recomputes_the_category_rows_from_the_lines(receptionist):
    settle_with_charges(receptionist, ("10", "registration"), ("5.50", "drug"), ("4.50", "drug"))
    IncomeRecordFactory(record_date=WORK_DAY)  # an old bill: one consultation line
    kept = set(DailyCategoryIncome.objects.values_list("category", "lines", "total_amount"))
    DailyCategoryIncome.objects.all().delete()
    assert DailyCategoryIncome.rebuild() == 3
    rebuilt = set(DailyCategoryIncome.objects.values_list("category", "lines", "total_amount"))
    assert rebuilt == kept | {("consultation", 1, Decimal("100.00"))}
    assert ("drug", 2, Decimal("10.00")) in rebuilt


def test_the_command_checks_and_rebuilds_both_summaries(receptionist):
    settle_with_charges(receptionist, ("10", "registration"))
    out = StringIO()
    call_command("rebuild_income_summary", "--check", stdout=out)
    assert "category summary matches" in out.getvalue()
    DailyCategoryIncome.objects.update(lines=7)
    with pytest.raises(CommandError, match="category summary differs from the detail in 1 rows"):
        call_command("rebuild_income_summary", "--check", stdout=StringIO())
    call_command("rebuild_income_summary", stdout=StringIO())
    assert DailyCategoryIncome.objects.get().lines == 1
    call_command("rebuild_income_summary", "--check", stdout=StringIO())


def test_the_invariants_hold_after_settlements(receptionist):
    settle_with_charges(receptionist, ("10", "registration"), ("3.33", "drug"))
    # (Factories do not count schedule places: only the money invariants are in scope.)
    assert [p for p in find_problems() if not p.startswith(("schedule", "window"))] == []


def test_a_bill_that_is_not_the_sum_of_its_lines_is_a_problem(receptionist):
    bill = settle_with_charges(receptionist, ("10", "registration"), ("3.33", "drug"))
    BillLine.objects.filter(bill=bill, category="drug").update(
        unit_price=Decimal("3.00"), amount=Decimal("3.00"), self_pay_amount=Decimal("3.00")
    )
    problems = find_problems()
    assert any(f"bill {bill.pk}: total 13.33" in problem for problem in problems)
    # The category summary no longer agrees with the lines either.
    assert any("income by category" in problem for problem in problems)


def test_an_estimate_that_is_not_the_sum_of_insured_parts_is_a_problem(receptionist):
    bill = settle_with_charges(receptionist, ("10", "registration"))
    BillLine.objects.filter(bill=bill).update(
        insured_amount=Decimal("1.00"), self_pay_amount=Decimal("9.00")
    )
    assert any(f"bill {bill.pk}:" in problem for problem in find_problems())
