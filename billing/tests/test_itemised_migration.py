"""billing 0005 turns each bill made before itemised bills into one consultation line of its
figures, and 0006 builds the category summary from them: receipts, statistics and the
invariants read the same as before (the data functions run on today's tables, as in
tests/test_migrations.py)."""

from __future__ import annotations

import importlib
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.urls import reverse

from billing.invariants import find_problems
from billing.models import BillLine, DailyCategoryIncome, DailyIncomeSummary
from billing.selectors import income_by_category, income_by_group
from billing.tests.factories import IncomeRecordFactory
from tests.support import WORK_DAY

pytestmark = pytest.mark.django_db

itemise = importlib.import_module("billing.migrations.0005_itemised_bills").itemise_old_bills
fill = importlib.import_module("billing.migrations.0006_daily_category_income").fill_category_income


@pytest.fixture
def old_bills():
    """Two bills as the seed made them: no lines."""
    records = [
        IncomeRecordFactory(
            record_date=WORK_DAY,
            bill__total_amount=Decimal(total),
            bill__insurance_amount=Decimal(insurance),
            bill__lines=False,
        )
        for total, insurance in (("86.50", "50.00"), ("20.00", "0.00"))
    ]
    DailyIncomeSummary.rebuild()
    return [record.bill for record in records]


def test_an_old_bill_gets_exactly_one_line_of_its_figures(old_bills):
    itemise(apps, None)
    for bill in old_bills:
        (line,) = BillLine.objects.filter(bill=bill)
        assert (line.category, line.quantity, line.charge_id) == ("consultation", 1, None)
        assert (line.amount, line.insured_amount, line.self_pay_amount) == (
            bill.total_amount,
            bill.insurance_amount,
            bill.self_pay_amount,
        )
        assert line.unit_price == bill.total_amount and line.manual_reason
        bill.refresh_from_db()
        assert bill.estimated_insurance_amount == bill.insurance_amount
    assert {line.insurance_class for line in BillLine.objects.all()} == {"A", "C"}


def test_statistics_and_invariants_read_the_same(old_bills):
    before = income_by_group(start_date=WORK_DAY, end_date=WORK_DAY, group_by="day")
    itemise(apps, None)
    fill(apps, None)
    assert income_by_group(start_date=WORK_DAY, end_date=WORK_DAY, group_by="day") == before
    (consultation,) = income_by_category(start_date=WORK_DAY, end_date=WORK_DAY)
    assert (consultation.category, consultation.lines, consultation.total) == (
        "consultation",
        2,
        before[0].total,
    )
    assert consultation.insured == before[0].insurance
    assert DailyCategoryIncome.differences() == []
    assert [p for p in find_problems() if not p.startswith(("schedule", "window", "visit "))] == []


def test_the_receipt_reads_the_same(old_bills, client, receptionist):
    itemise(apps, None)
    client.force_login(receptionist)
    client.cookies["django_language"] = "en"
    html = client.get(reverse("billing:receipt", args=[old_bills[0].pk])).content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "Items total ¥86.50" in text
    assert "Insurance ¥50.00" in text and "Self-pay ¥36.50" in text
    assert "Subtotal, Consultation fee ¥86.50 ¥36.50" in text
