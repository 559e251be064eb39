"""Django Admin shows a bill's lines on its page, read-only."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing.tests.factories import BillFactory

pytestmark = pytest.mark.django_db


def test_a_bills_page_lists_its_lines_read_only(client, admin_user):
    client.force_login(admin_user)
    bill = BillFactory()
    response = client.get(reverse("admin:billing_bill_change", args=[bill.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "诊查费" in html
    assert 'name="lines-0-amount"' not in html  # nothing editable
    assert 'name="lines-TOTAL_FORMS"' in html or "lines-group" in html
