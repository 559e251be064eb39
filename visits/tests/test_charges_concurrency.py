"""The doctor's orders against the end of the consultation, on MariaDB (real row locks).

Finishing the consultation freezes the orders: an order added at the same moment either
lands before the finish (and the visit then awaits payment with it) or is refused with
orders_frozen. Never an order written after the finish."""

from __future__ import annotations

import pytest

from clinic.models import FeeCategory
from scheduling.tests.factories import ScheduleFactory
from tests.support import run_at_once
from visits.charges import add_order
from visits.exceptions import OrdersFrozen
from visits.models import Charge, Visit, VisitStatus
from visits.tests.factories import FeeItemFactory, VisitFactory, diagnosed

pytestmark = [pytest.mark.mariadb, pytest.mark.django_db(transaction=True)]

ROUNDS = 6


def test_an_order_racing_the_finish_lands_before_it_or_is_refused(doctor_user):
    item = FeeItemFactory(category=FeeCategory.LABORATORY)
    schedule = ScheduleFactory(doctor=doctor_user.employee, max_patients=ROUNDS + 1)
    outcomes = set()
    for number in range(1, ROUNDS + 1):
        visit = diagnosed(
            VisitFactory(schedule=schedule, queue_number=number, status=VisitStatus.IN_CONSULTATION)
        )
        order, finish = run_at_once(
            [
                lambda visit=visit: add_order(
                    visit=visit, by=doctor_user, fee_item=item, quantity=1
                ),
                lambda visit=visit: Visit.objects.get(pk=visit.pk).finish_consultation(
                    by=doctor_user
                ),
            ]
        )
        assert finish is None, finish
        visit.refresh_from_db()
        assert visit.status == VisitStatus.AWAITING_PAYMENT
        charges = list(Charge.objects.filter(visit=visit))
        if isinstance(order, OrdersFrozen):
            assert charges == []
            outcomes.add("refused")
        else:
            assert not isinstance(order, Exception), order
            assert [charge.pk for charge in charges] == [order.charge.pk]
            # Written before the finish, in the consultation.
            assert charges[0].created_at <= visit.finished_at
            outcomes.add("ordered")
    assert outcomes <= {"refused", "ordered"}
