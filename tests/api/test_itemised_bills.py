"""The API of itemised bills: the preview, the payment with lines, the bureau's figure, the
legacy body for a visit without charges, and the unified error naming the expected figures."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from billing.models import Bill
from billing.tests.factories import ChargeFactory, FeeItemFactory, InsurancePlanFactory
from tests.api.conftest import bearer_client
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def desk(receptionist):
    """The desk's client, reading answers in English (the tests compare the messages)."""
    client = bearer_client(receptionist)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def visit():
    """Registration 10 (A) and a drug 2 × 12.35 (B) for a patient whose plan pays A 90 %,
    B 70 %: total 34.70, insured 9.00 + 17.29 = 26.29."""
    visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
    visit.patient.insurance_plan = InsurancePlanFactory(name="城镇职工")
    visit.patient.save(update_fields=["insurance_plan"])
    ChargeFactory(
        visit=visit,
        kind="registration",
        fee_item=FeeItemFactory(
            code="R1", category="registration", unit_price=Decimal(10), insurance_class="A"
        ),
    )
    ChargeFactory(
        visit=visit,
        quantity=Decimal(2),
        fee_item=FeeItemFactory(
            code="D1", category="drug", unit_price=Decimal("12.35"), insurance_class="B"
        ),
    )
    return visit


def pay(client, visit, body):
    return client.post(f"/api/receptionist/payment/{visit.pk}", body, format="json")


def test_the_preview_shows_the_lines_before_paying(desk, visit):
    response = desk.get(f"/api/receptionist/visits/{visit.pk}/bill-preview")
    assert response.status_code == 200
    data = response.json()
    assert (data["manual_entry"], data["insurance_plan_name"]) == (False, "城镇职工")
    assert (data["total_amount"], data["estimated_insurance_amount"]) == ("34.70", "26.29")
    assert [line["code"] for line in data["lines"]] == ["R1", "D1"]
    assert data["lines"][1]["amount"] == "24.70"
    assert data["lines"][1]["category_label"] == "Drugs"
    assert Bill.objects.count() == 0


def test_a_visit_without_charges_previews_as_manual_entry(desk):
    visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
    data = desk.get(f"/api/receptionist/visits/{visit.pk}/bill-preview").json()
    assert (data["manual_entry"], data["lines"], data["total_amount"]) == (True, [], "0.00")


def test_an_empty_body_settles_the_lines(desk, visit):
    response = pay(desk, visit, {})
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["total_amount"], data["insurance_amount"], data["self_pay_amount"]) == (
        "34.70",
        "26.29",
        "8.41",
    )
    assert data["estimated_insurance_amount"] == "26.29"
    assert (data["insurance_plan_name"], data["insurance_override_reason"]) == ("城镇职工", "")
    assert [(line["code"], line["insured_amount"]) for line in data["lines"]] == [
        ("R1", "9.00"),
        ("D1", "17.29"),
    ]


def test_amounts_that_differ_are_the_unified_error_naming_the_figures(desk, visit):
    response = pay(desk, visit, {"total_amount": "86.50", "insurance_amount": "26.29"})
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "amounts_differ"
    assert error["details"] == {"total_amount": ["Expected 34.70."]}
    assert "34.70" in error["message"]
    assert Bill.objects.count() == 0


def test_the_bureaus_figure_needs_a_reason(desk, visit):
    response = pay(desk, visit, {"insurance_amount": "20.00"})
    assert response.status_code == 409
    assert response.json()["error"]["details"]["insurance_amount"][0] == "Expected 26.29."
    response = pay(desk, visit, {"insurance_amount": "20.00", "override_reason": "Slip 42"})
    assert response.status_code == 201, response.json()
    data = response.json()
    assert (data["insurance_amount"], data["estimated_insurance_amount"]) == ("20.00", "26.29")
    assert (data["self_pay_amount"], data["insurance_override_reason"]) == ("14.70", "Slip 42")


@pytest.mark.parametrize(
    "body",
    [
        {"insurance_amount": "34.71", "override_reason": "Slip"},
        {"insurance_amount": "abc", "override_reason": "Slip"},
        {"override_reason": "Slip"},
        {"override_reason": 5},
        {"insurance_amount": "1", "override_reason": "x" * 201},
    ],
)
def test_a_bad_bureau_figure_is_a_400_field_error(desk, visit, body):
    response = pay(desk, visit, body)
    assert response.status_code == 400
    assert response.json()["error"]["details"]
    assert Bill.objects.count() == 0


def test_the_legacy_body_still_settles_a_visit_without_charges(desk):
    visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
    response = pay(desk, visit, {"total_amount": "86.50", "insurance_amount": 50})
    assert response.status_code == 201, response.json()
    (line,) = response.json()["lines"]
    assert (line["category"], line["amount"], line["insured_amount"], line["charge_id"]) == (
        "consultation",
        "86.50",
        "50.00",
        None,
    )
    assert line["manual_reason"]


def test_a_visit_without_charges_needs_the_amounts(desk):
    visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
    response = pay(desk, visit, {})
    assert response.status_code == 400
    assert set(response.json()["error"]["details"]) == {"total_amount", "insurance_amount"}


def test_bill_lists_carry_the_lines(desk, visit, admin_user):
    assert pay(desk, visit, {}).status_code == 201
    for client, url in (
        (desk, "/api/receptionist/bills"),
        (bearer_client(admin_user), "/api/admin/bills"),
    ):
        (bill,) = client.get(url).json()["results"]
        assert len(bill["lines"]) == 2


def test_income_by_category_totals_the_income_statistics(desk, visit, admin_user):
    assert pay(desk, visit, {}).status_code == 201
    admin = bearer_client(admin_user)
    day = timezone.localdate(Bill.objects.get().pay_time).isoformat()
    query = f"?start_date={day}&end_date={day}"
    report = admin.get(f"/api/admin/statistics/income-by-category{query}").json()
    assert [row["category"] for row in report["results"]] == ["registration", "drug"]
    assert report["results"][1]["total_amount"] == "24.70"
    income = admin.get(f"/api/admin/statistics/income{query}").json()
    assert Decimal(report["total_amount"]) == Decimal(income["total_income"]) == Decimal("34.70")
    bad = admin.get("/api/admin/statistics/income-by-category?start_date=x")
    assert bad.status_code == 400 and bad.json()["error"]["details"]


def test_a_settled_visit_has_no_preview_but_its_bill(desk, visit):
    assert desk.post(f"/api/receptionist/payment/{visit.pk}", {}, format="json").status_code in (
        200,
        201,
    )
    response = desk.get(f"/api/receptionist/visits/{visit.pk}/bill-preview")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_settled"
