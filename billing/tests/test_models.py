from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import F

from billing.models import Bill, IncomeRecord, PayStatus
from billing.tests.factories import BillFactory, IncomeRecordFactory
from tests.support import assert_db_rejects

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("field", ["total_amount", "insurance_amount", "self_pay_amount"])
def test_amounts_cannot_be_negative(field):
    bill = BillFactory(total_amount=Decimal("0.00"), insurance_amount=Decimal("0.00"))
    # Keep the identity true so only the sign rule can fail.
    changes = {
        "total_amount": {"total_amount": Decimal("-1.00"), "self_pay_amount": Decimal("-1.00")},
        "insurance_amount": {"insurance_amount": Decimal("-1.00"), "self_pay_amount": 1},
        "self_pay_amount": {"self_pay_amount": Decimal("-1.00"), "total_amount": -1},
    }[field]
    assert_db_rejects(lambda: Bill.objects.filter(pk=bill.pk).update(**changes))


def test_insurance_cannot_exceed_total():
    bill = BillFactory(total_amount=Decimal("100.00"), insurance_amount=Decimal("60.00"))
    assert_db_rejects(
        lambda: Bill.objects.filter(pk=bill.pk).update(
            insurance_amount=Decimal("120.00"), self_pay_amount=Decimal("-20.00")
        )
    )


def test_total_must_equal_insurance_plus_self_pay():
    bill = BillFactory()
    assert_db_rejects(
        lambda: Bill.objects.filter(pk=bill.pk).update(self_pay_amount=F("self_pay_amount") + 1)
    )


def test_identity_is_checked_on_raw_inserts_too():
    bill = BillFactory()
    table = Bill._meta.db_table
    with connection.cursor() as cursor:
        assert_db_rejects(
            lambda: cursor.execute(
                f"UPDATE {table} SET total_amount = 10, insurance_amount = 3, "  # noqa: S608
                "self_pay_amount = 3 WHERE id = %s",
                [bill.pk],
            )
        )


def test_zero_total_is_a_valid_bill():
    bill = BillFactory(total_amount=Decimal("0"), insurance_amount=Decimal("0"))
    bill.refresh_from_db()
    assert bill.self_pay_amount == Decimal("0.00")


def test_a_paid_bill_has_a_payment_time():
    bill = BillFactory(pay_status=PayStatus.PAID)
    assert_db_rejects(lambda: Bill.objects.filter(pk=bill.pk).update(pay_time=None))


def test_one_bill_per_visit():
    first, second = BillFactory(), BillFactory()
    assert_db_rejects(lambda: Bill.objects.filter(pk=second.pk).update(visit=first.visit))


def test_bill_number_is_unique_and_readable():
    first, second = BillFactory(), BillFactory()
    assert re.fullmatch(r"B\d{8}-[2-9A-Z]{6}", first.number)
    assert_db_rejects(lambda: Bill.objects.filter(pk=second.pk).update(number=first.number))


def test_income_amount_cannot_be_negative():
    record = IncomeRecordFactory()
    assert_db_rejects(lambda: IncomeRecord.objects.filter(pk=record.pk).update(amount=-1))
