"""Fee items under concurrent writes, on MariaDB (real row locks): administrators changing
one item's price at once each see the price the other left, so that the price history is a
chain (each event's old price is the previous event's new one); two imports adding the same
codes at once leave one item per code and nothing half-written."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from clinic.catalogue import HEADER, import_fee_catalogue, price_history, save_fee_item
from clinic.exceptions import ClinicError
from clinic.models import FeeItem
from clinic.tests.factories import AdminUserFactory, FeeItemFactory
from tests.support import run_at_once

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]


def change_price(item_id: int, price: str, by):
    def run():
        item = FeeItem.objects.get(pk=item_id)
        item.unit_price = Decimal(price)
        return save_fee_item(item=item, by=by)

    return run


def test_concurrent_price_changes_make_a_chained_history():
    admins = [AdminUserFactory() for _ in range(4)]
    item = FeeItemFactory(unit_price=Decimal("10.00"))
    prices = ["11.00", "12.00", "13.00", "14.00"]
    results = run_at_once(
        [change_price(item.pk, price, by) for price, by in zip(prices, admins, strict=True)]
    )
    assert [r for r in results if isinstance(r, Exception)] == []
    events = list(reversed(price_history(item)))
    chain = [(e.old_values["unit_price"], e.new_values["unit_price"]) for e in events]
    assert len(chain) == 4
    assert chain[0][0] == "10.00"
    for (_old, new), (next_old, _next_new) in itertools.pairwise(chain):
        assert new == next_old
    item.refresh_from_db()
    assert str(item.unit_price) == chain[-1][1]


def test_two_imports_adding_the_same_codes_leave_one_item_per_code():
    admins = [AdminUserFactory(), AdminUserFactory()]
    lines = [",".join(HEADER)] + [
        f"N{index:03d},Item {index},laboratory,次,{index}.00,A,,,,,,0,,1" for index in range(20)
    ]
    data = ("\n".join(lines) + "\n").encode()
    results = run_at_once([lambda by=by: import_fee_catalogue(data=data, by=by) for by in admins])
    failures = [r for r in results if isinstance(r, Exception)]
    assert all(isinstance(failure, ClinicError) for failure in failures)
    assert FeeItem.objects.filter(code__startswith="N").count() == 20
    # Each item was created once; a second import that got through changed nothing.
    for item in FeeItem.objects.filter(code__startswith="N"):
        assert [e.action for e in price_history(item)] == ["fee_item.created"]
