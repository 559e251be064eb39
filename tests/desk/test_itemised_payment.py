"""The cashier's page for itemised bills: lines by category with subtotals, the plan, the
bureau's figure with its reason, field errors; the receipt's lines."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation

from billing.models import Bill
from billing.services import settle_visit
from billing.tests.factories import ChargeFactory, FeeItemFactory, InsurancePlanFactory
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


@pytest.fixture
def desk_client(client, receptionist):
    client.force_login(receptionist)
    # English pages: the assertions below read English labels.
    client.cookies["django_language"] = "en"
    return client


@pytest.fixture
def visit():
    """Registration 10 (A); a drug 2 × 12.35 (B) and another 1 × 5 (C); plan A 90 %, B 70 %:
    total 39.70, insured 9.00 + 17.29 = 26.29, self-pay 13.41."""
    visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
    visit.patient.insurance_plan = InsurancePlanFactory(name="城镇职工")
    visit.patient.save(update_fields=["insurance_plan"])
    for code, category, price, cls, quantity in (
        ("R1", "registration", "10", "A", 1),
        ("D1", "drug", "12.35", "B", 2),
        ("D2", "drug", "5", "C", 1),
    ):
        ChargeFactory(
            visit=visit,
            quantity=Decimal(quantity),
            fee_item=FeeItemFactory(
                code=code,
                name=f"Item {code}",
                category=category,
                unit_price=Decimal(price),
                insurance_class=cls,
            ),
        )
    return visit


def url(visit):
    return reverse("billing:pay", args=[visit.pk])


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_the_page_shows_lines_by_category_with_subtotals_and_the_plan(desk_client, visit):
    response = desk_client.get(url(visit))
    assert response.status_code == 200
    html = response.content.decode()
    page = text(html)
    assert "城镇职工" in page
    assert html.index('data-category="registration"') < html.index('data-category="drug"')
    assert "Item D1" in page and "2 test" in page and "¥12.35" in page and "¥24.70" in page
    assert "Subtotal, Drugs ¥29.70" in page
    for figure in ("¥39.70", "¥26.29", "¥13.41"):
        assert figure in page
    # No typed total for an itemised bill: only the bureau's optional figure.
    assert 'name="total_amount"' not in html
    assert 'name="insurance_amount"' in html and 'name="override_reason"' in html
    # Cash first: the cursor waits in "handed over" (empty: the exact amount); Enter settles.
    assert re.search(r'<input[^>]*name="handed_over"[^>]*autofocus', html)


def test_a_self_pay_patient_is_named_so(desk_client, visit):
    visit.patient.insurance_plan = None
    visit.patient.save(update_fields=["insurance_plan"])
    response = desk_client.get(url(visit))
    with translation.override(response.wsgi_request.LANGUAGE_CODE):
        label = translation.gettext("Self-pay")
    assert re.search(rf'id="pay-plan">\s*{label}', response.content.decode())


def test_settling_bills_the_lines_and_the_receipt_lists_them(desk_client, visit):
    response = desk_client.post(url(visit), {"expected_total": "39.70"})
    bill = Bill.objects.get()
    assert response["Location"] == reverse("billing:receipt", args=[bill.pk])
    assert (bill.total_amount, bill.insurance_amount) == (Decimal("39.70"), Decimal("26.29"))
    receipt = text(desk_client.get(response["Location"]).content.decode())
    for expected in ("Registration fee", "Drugs", "Item D1", "Subtotal, Drugs ¥29.70", "城镇职工"):
        assert expected in receipt
    assert "¥13.41" in receipt
    assert "bureau" not in receipt


def test_the_live_self_pay_follows_the_bureaus_figure(desk_client, visit):
    html = desk_client.get(url(visit), {"insurance_amount": "20"}, headers=HTMX).content.decode()
    assert "¥19.70" in html
    html = desk_client.get(url(visit), {"insurance_amount": ""}, headers=HTMX).content.decode()
    assert "¥13.41" in html
    html = desk_client.get(url(visit), {"insurance_amount": "50"}, headers=HTMX).content.decode()
    assert "errorlist" in html


def test_the_bureaus_figure_with_a_reason_is_kept_beside_the_estimate(desk_client, visit):
    response = desk_client.post(
        url(visit),
        {"expected_total": "39.70", "insurance_amount": "20.00", "override_reason": "Slip 7"},
    )
    assert response.status_code == 302
    bill = Bill.objects.get()
    assert (bill.insurance_amount, bill.estimated_insurance_amount) == (
        Decimal("20.00"),
        Decimal("26.29"),
    )
    receipt = text(desk_client.get(response["Location"]).content.decode())
    assert "Estimated insurance ¥26.29" in receipt
    assert "Insurance (bureau's figure) ¥20.00" in receipt and "Slip 7" in receipt


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"insurance_amount": "20"}, "override_reason"),
        ({"override_reason": "Slip"}, "insurance_amount"),
        ({"insurance_amount": "40", "override_reason": "Slip"}, "insurance_amount"),
        ({"insurance_amount": "abc", "override_reason": "Slip"}, "insurance_amount"),
        ({"insurance_amount": "1", "override_reason": "x" * 201}, "override_reason"),
    ],
)
def test_bad_bureau_input_is_a_field_error_never_a_500(desk_client, visit, data, field):
    response = desk_client.post(url(visit), {"expected_total": "39.70", **data})
    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert Bill.objects.count() == 0


def test_a_bill_that_changed_since_the_page_was_shown_is_refused(desk_client, visit):
    response = desk_client.post(url(visit), {"expected_total": "29.70"})
    assert response.status_code == 409
    assert "39.70" in " ".join(response.context["form"].non_field_errors())
    assert Bill.objects.count() == 0


def test_a_visit_without_charges_keeps_the_typed_form_with_an_optional_reason(desk_client):
    visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
    html = desk_client.get(url(visit)).content.decode()
    assert 'name="total_amount"' in html and 'name="manual_reason"' in html
    response = desk_client.post(
        url(visit), {"total_amount": "30", "insurance_amount": "0", "manual_reason": "Dressing"}
    )
    assert response.status_code == 302
    line = Bill.objects.get().lines.get()
    assert (line.manual_reason, line.amount) == ("Dressing", Decimal("30.00"))


def test_an_old_bill_reads_the_same_on_the_receipt(desk_client, receptionist):
    visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
    bill = settle_visit(visit=visit, total_amount="86.50", insurance_amount="50", by=receptionist)
    receipt = text(desk_client.get(reverse("billing:receipt", args=[bill.pk])).content.decode())
    assert "Consultation fee" in receipt
    for figure in ("¥86.50", "¥50.00", "¥36.50"):
        assert figure in receipt


class TestTheFiguresShownAreTheFiguresPaid:
    """The page posts the figures it showed; a bill whose split changed since is refused,
    and the page then shows (and expects) the bill as it is now."""

    def shown(self, desk_client, visit) -> dict[str, str]:
        page = desk_client.get(url(visit)).content.decode()
        return {
            name: re.search(rf'name="{name}" value="([^"]*)"', page).group(1)
            for name in ("expected_total", "expected_self_pay")
        }

    def test_a_plan_removed_after_the_page_was_shown_is_refused(self, desk_client, visit):
        shown = self.shown(desk_client, visit)
        assert shown == {"expected_total": "39.70", "expected_self_pay": "13.41"}
        visit.patient.insurance_plan = None  # another tab: the patient pays everything
        visit.patient.save(update_fields=["insurance_plan"])
        response = desk_client.post(url(visit), shown)
        assert response.status_code == 409
        assert not Bill.objects.filter(visit=visit).exists()
        # The page now shows and expects the new split; settling again pays it.
        again = response.content.decode()
        assert 'name="expected_self_pay" value="39.70"' in again
        retry = {
            name: re.search(rf'name="{name}" value="([^"]*)"', again).group(1)
            for name in ("expected_total", "expected_self_pay")
        }
        assert desk_client.post(url(visit), retry).status_code == 302
        bill = Bill.objects.get(visit=visit)
        assert (bill.insurance_amount, bill.self_pay_amount) == (Decimal("0.00"), Decimal("39.70"))


class TestFieldsASettlementDoesNotUse:
    def test_a_manual_reason_for_a_visit_with_charges_is_refused(self, visit, receptionist):
        from billing.exceptions import InvalidAmounts

        with pytest.raises(InvalidAmounts) as caught:
            settle_visit(visit=visit, manual_reason="typed", by=receptionist)
        assert "manual_reason" in caught.value.details
        assert not Bill.objects.filter(visit=visit).exists()

    def test_a_bureau_reason_for_a_visit_without_charges_is_refused(self, receptionist):
        from billing.exceptions import InvalidAmounts

        bare = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
        with pytest.raises(InvalidAmounts) as caught:
            settle_visit(
                visit=bare,
                total_amount="50",
                insurance_amount="10",
                override_reason="bureau",
                by=receptionist,
            )
        assert "override_reason" in caught.value.details
        assert not Bill.objects.filter(visit=bare).exists()
