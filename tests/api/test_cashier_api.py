"""The cashier's day through the API: tenders in the payment body and on the bills, the
shifts (open, running report, close with the drawer counted, reopen by a manager), the
day-end report, and income by payment method. Every refusal is the unified error and
changes nothing."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.cashier import close_shift, current_shift, open_shift
from billing.models import Bill, BillLine, CashierShift, IncomeRecord, Refund, Tender
from billing.tests.factories import ChargeFactory, FeeItemFactory, InsurancePlanFactory
from clinic.models import AuditEvent, InsurancePlan, Patient
from clinic.tests.factories import AdminUserFactory, PatientUserFactory, ReceptionistFactory
from tests.api.conftest import bearer_client
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

PAYMENT = "/api/receptionist/payment/{}"
SHIFT = "/api/receptionist/shift"


def english(user: Any) -> Any:
    client = bearer_client(user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def desk(receptionist):
    return english(receptionist)


@pytest.fixture
def manager(admin_user):
    return english(admin_user)


def with_float(amount: str = "100.00") -> None:
    """Cash in the open drawers to give back (a refund pays cash only from what it holds)."""
    CashierShift.objects.filter(open_cashier__isnull=False).update(opening_float=Decimal(amount))


def awaiting_visit(**fields: Any) -> Any:
    """Registration 10 (A) and a drug 2 × 12.35 (B), the plan paying A 90 %, B 70 %: total
    34.70, insured 26.29, self-pay 8.41."""
    visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT, **fields)
    visit.patient.insurance_plan = InsurancePlan.objects.filter(
        name="城镇职工"
    ).first() or InsurancePlanFactory(name="城镇职工")
    visit.patient.save(update_fields=["insurance_plan"])
    ChargeFactory(
        visit=visit,
        kind="registration",
        fee_item=FeeItemFactory(
            code=f"R{visit.pk}",
            category="registration",
            unit_price=Decimal(10),
            insurance_class="A",
        ),
    )
    ChargeFactory(
        visit=visit,
        quantity=Decimal(2),
        fee_item=FeeItemFactory(
            code=f"D{visit.pk}", category="drug", unit_price=Decimal("12.35"), insurance_class="B"
        ),
    )
    return visit


@pytest.fixture
def visit():
    return awaiting_visit()


def pay(client: Any, visit: Any, body: dict[str, Any]) -> Any:
    return client.post(PAYMENT.format(visit.pk), body, format="json")


def money_state() -> dict[str, Any]:
    """What a refused request must leave as it was."""
    return {
        "bills": Bill.objects.count(),
        "income": IncomeRecord.objects.count(),
        "tenders": Tender.objects.count(),
        "shifts": list(
            CashierShift.objects.order_by("pk").values_list(
                "pk", "status", "counted_cash", "close_note", "reopen_count"
            )
        ),
        "audit": AuditEvent.objects.count(),
    }


def assert_error(response: Any, status: int, code: str, *fields: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert error["code"] == code, error
    assert set(fields) <= set(error["details"]), error
    return error


# --- Tenders ----------------------------------------------------------------------------


def test_the_desk_reads_the_payment_methods_codes(desk):
    response = desk.get("/api/receptionist/payment-methods")
    assert response.status_code == 200
    methods = {row["code"]: row for row in response.json()["results"]}
    assert methods["cash"] == {
        "code": "cash",
        "label": "Cash",
        "is_cash": True,
        "requires_reference": False,
    }
    assert methods["wechat"]["requires_reference"] is True


def test_a_bill_is_paid_by_cash_with_change_and_wechat(desk, receptionist, visit):
    response = pay(
        desk,
        visit,
        {
            "tenders": [
                {"method": "cash", "amount": "5.00", "handed_over": "10"},
                {"method": "wechat", "amount": 3.41, "reference": "4200001234"},
            ]
        },
    )
    assert response.status_code == 201, response.content
    bill = response.json()
    assert bill["self_pay_amount"] == "8.41"
    assert bill["shift_id"] == current_shift(receptionist).pk
    assert bill["tenders"] == [
        {
            "method": "cash",
            "method_label": "Cash",
            "amount": "5.00",
            "handed_over": "10.00",
            "change_given": "5.00",
            "reference": "",
        },
        {
            "method": "wechat",
            "method_label": "WeChat Pay",
            "amount": "3.41",
            "handed_over": "0.00",
            "change_given": "0.00",
            "reference": "4200001234",
        },
    ]
    assert (bill["refunded_amount"], bill["pay_status"]) == ("0.00", "paid")
    assert Tender.objects.filter(bill_id=bill["id"]).count() == 2


def test_without_tenders_the_seed_body_pays_one_exact_cash_tender(desk, visit):
    response = pay(desk, visit, {})
    assert response.status_code == 201, response.content
    assert [(t["method"], t["amount"], t["change_given"]) for t in response.json()["tenders"]] == [
        ("cash", "8.41", "0.00")
    ]


def test_paying_without_an_open_shift_is_a_409_and_writes_nothing(visit):
    cashier = ReceptionistFactory(shift=False)
    before = money_state()
    response = pay(english(cashier), visit, {})
    assert_error(response, 409, "no_open_shift")
    assert money_state() == before
    visit.refresh_from_db()
    assert visit.status == VisitStatus.AWAITING_PAYMENT


CASH, CARD, WECHAT = "cash", "card", "wechat"
INVALID, REFUSED = "validation_error", "invalid_tenders"


def tender(method: Any = CASH, amount: Any = "8.41", **more: Any) -> dict[str, Any]:
    return {"method": method, "amount": amount, **more}


BAD_TENDERS = {
    "an object for the list": (tender(), INVALID, "tenders"),
    "a string for the list": ("cash", INVALID, "tenders"),
    "null": (None, INVALID, "tenders"),
    "a list of strings": (["cash"], INVALID, "tenders.0"),
    "no amount": ([{"method": CASH}], INVALID, "tenders.0.amount"),
    "a number for the method": ([tender(1)], INVALID, "tenders.0.method"),
    "a number for the reference": ([tender(CARD, reference=12)], INVALID, "tenders.0.reference"),
    "an amount in words": ([tender(amount="eight")], INVALID, "tenders.0.amount"),
    "an unknown method": ([tender("bitcoin")], REFUSED, "tenders.0.method"),
    "a negative amount": ([tender(amount="-8.41")], REFUSED, "tenders.0.amount"),
    "too little cash": ([tender(handed_over="5")], REFUSED, "tenders.0.handed_over"),
    "change on a card": (
        [tender(CARD, handed_over="10", reference="1")],
        REFUSED,
        "tenders.0.handed_over",
    ),
    "no reference for WeChat Pay": ([tender(WECHAT)], REFUSED, "tenders.0.reference"),
    "not the self-pay amount": ([tender(amount="8.40")], REFUSED, "tenders"),
    "nothing for a self-pay amount": ([], REFUSED, "tenders"),
    "seven tenders": ([tender(amount="1.00")] * 7, INVALID, "tenders"),
}


@pytest.mark.parametrize("case", list(BAD_TENDERS))
def test_bad_tenders_are_refused_by_field_and_change_nothing(desk, visit, case):
    tenders, code, field = BAD_TENDERS[case]
    before = money_state()
    assert_error(pay(desk, visit, {"tenders": tenders}), 400, code, field)
    assert money_state() == before
    visit.refresh_from_db()
    assert visit.status == VisitStatus.AWAITING_PAYMENT


def test_the_patient_sees_how_their_bill_was_paid_but_not_the_references(desk):
    user = PatientUserFactory()
    visit = awaiting_visit(patient=Patient.objects.get(user=user))
    assert (
        pay(
            desk, visit, {"tenders": [{"method": "alipay", "amount": "8.41", "reference": "A1"}]}
        ).status_code
        == 201
    )
    response = english(user).get("/api/patient/visits")
    assert response.status_code == 200
    bill = response.json()["results"][0]["bill"]
    assert bill["tenders"] == [{"method": "alipay", "method_label": "Alipay", "amount": "8.41"}]
    assert "shift_id" not in bill


def test_the_bills_and_income_records_lists_carry_tenders_and_kinds(desk, visit):
    pay(desk, visit, {})
    bills = desk.get("/api/receptionist/bills").json()["results"]
    assert bills[0]["tenders"][0]["method"] == "cash"
    records = desk.get("/api/receptionist/income-records").json()["results"]
    assert records[0]["kind"] == "payment"
    assert (records[0]["refund_id"], records[0]["refund_number"]) == (None, None)
    assert (records[0]["insurance_amount"], records[0]["self_pay_amount"]) == ("26.29", "8.41")


# --- Shifts -----------------------------------------------------------------------------


def test_without_an_open_shift_my_shift_is_a_404(manager):
    assert_error(manager.get(SHIFT), 404, "no_open_shift")


def test_a_cashier_opens_a_shift_once(manager, admin_user):
    before = money_state()
    assert_error(
        manager.post(SHIFT, {"opening_float": "-1"}, format="json"),
        400,
        "invalid_amounts",
        "opening_float",
    )
    assert_error(manager.post(SHIFT, {}, format="json"), 400, "validation_error", "opening_float")
    assert_error(
        manager.post(SHIFT, {"opening_float": True}, format="json"),
        400,
        "validation_error",
        "opening_float",
    )
    assert money_state() == before
    response = manager.post(SHIFT, {"opening_float": "200"}, format="json")
    assert response.status_code == 201, response.content
    report = response.json()
    assert report["shift"]["status"] == "open"
    assert report["shift"]["cashier"] == admin_user.username
    assert (report["shift"]["opening_float"], report["expected_cash"]) == ("200.00", "200.00")
    before = money_state()
    assert_error(
        manager.post(SHIFT, {"opening_float": "0"}, format="json"), 409, "shift_already_open"
    )
    assert money_state() == before  # fmt: skip


def test_the_running_report_and_the_close_with_a_shortage(desk, receptionist, visit):
    pay(
        desk,
        visit,
        {
            "tenders": [
                {"method": "cash", "amount": "5.00", "handed_over": "20"},
                {"method": "wechat", "amount": "3.41", "reference": "W1"},
            ]
        },
    )
    running = desk.get(SHIFT).json()
    methods = {row["method"]: row for row in running["methods"]}
    assert (methods["cash"]["taken"], methods["wechat"]["taken"]) == ("5.00", "3.41")
    assert (running["bill_count"], running["taken"], running["expected_cash"]) == (
        1,
        "8.41",
        "5.00",
    )
    assert {row["category"]: row["paid"] for row in running["categories"]} == {
        "registration": "10.00",
        "drug": "24.70",
    }
    shift_id = running["shift"]["id"]
    close = f"/api/receptionist/shifts/{shift_id}/close"
    before = money_state()
    error = assert_error(
        desk.post(close, {"counted_cash": "4.50"}, format="json"), 400, "invalid_amounts", "note"
    )
    assert "-¥0.50" in error["details"]["note"][0]
    assert_error(
        desk.post(close, {"counted_cash": []}, format="json"),
        400,
        "validation_error",
        "counted_cash",
    )
    assert_error(
        desk.post(close, {"counted_cash": "4.50", "note": "x" * 201}, format="json"),
        400,
        "validation_error",
        "note",
    )
    assert money_state() == before
    response = desk.post(close, {"counted_cash": "4.50", "note": "Fifty fen short"}, format="json")
    assert response.status_code == 200, response.content
    shift = response.json()["shift"]
    assert (
        shift["status"],
        shift["expected_cash"],
        shift["counted_cash"],
        shift["cash_difference"],
    ) == ("closed", "5.00", "4.50", "-0.50")
    assert shift["closed_by"] == receptionist.username
    before = money_state()
    assert_error(
        desk.post(close, {"counted_cash": "4.50", "note": "again"}, format="json"),
        409,
        "shift_closed",
    )
    assert desk.get(SHIFT).status_code == 404
    assert_error(pay(desk, awaiting_visit(), {}), 409, "no_open_shift")
    assert money_state() == before
    report = desk.get(f"/api/receptionist/shifts/{shift_id}/report").json()
    assert report["shift"]["cash_difference"] == "-0.50"  # fmt: skip


def test_a_cashier_sees_and_closes_only_their_own_shifts(desk, receptionist, manager):
    other = ReceptionistFactory()
    theirs = current_shift(other).pk
    before = money_state()
    assert_error(desk.get(f"/api/receptionist/shifts/{theirs}/report"), 404, "not_found")
    assert_error(
        desk.post(f"/api/receptionist/shifts/{theirs}/close", {"counted_cash": "0"}, format="json"),
        404,
        "not_found",
    )
    assert_error(desk.get("/api/receptionist/shifts/999999/report"), 404, "not_found")
    assert money_state() == before
    # A manager sees and closes anyone's.
    assert manager.get(f"/api/receptionist/shifts/{theirs}/report").status_code == 200
    response = manager.post(
        f"/api/receptionist/shifts/{theirs}/close", {"counted_cash": "0.00"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["shift"]["status"] == "closed"


def test_a_manager_reopens_a_closed_shift_with_a_reason(desk, receptionist, manager):
    shift = close_shift(shift=current_shift(receptionist), counted_cash="0", by=receptionist)
    reopen = f"/api/admin/shifts/{shift.pk}/reopen"
    before = money_state()
    assert_error(desk.post(reopen, {"reason": "x"}, format="json"), 403, "permission_denied")
    assert_error(manager.post(reopen, {}, format="json"), 400, "validation_error", "reason")
    assert_error(
        manager.post(reopen, {"reason": "   "}, format="json"), 400, "validation_error", "reason"
    )
    assert_error(
        manager.post(reopen, {"reason": ["x"]}, format="json"), 400, "validation_error", "reason"
    )
    assert money_state() == before
    response = manager.post(reopen, {"reason": "A card payment was forgotten"}, format="json")
    assert response.status_code == 200, response.content
    assert (response.json()["shift"]["status"], response.json()["shift"]["reopen_count"]) == (
        "open",
        1,
    )
    assert AuditEvent.objects.filter(action="shift.reopened").count() == 1
    before = money_state()
    assert_error(
        manager.post(reopen, {"reason": "again"}, format="json"), 409, "shift_already_open"
    )
    assert money_state() == before  # fmt: skip


def test_the_day_end_report_sums_the_shifts_and_flags_those_left_open(
    desk, receptionist, manager, visit
):
    pay(desk, visit, {})
    other = ReceptionistFactory()
    close_shift(shift=current_shift(other), counted_cash="0", by=other)
    response = manager.get("/api/admin/day-end")
    assert response.status_code == 200, response.content
    day = response.json()
    assert len(day["shifts"]) == 2
    assert [shift["id"] for shift in day["left_open"]] == [current_shift(receptionist).pk]
    assert (day["bill_count"], day["net"], day["cash_difference"]) == (1, "8.41", "0.00")
    assert {row["method"]: row["net"] for row in day["methods"]}["cash"] == "8.41"
    for query in ({"date": "yesterday"}, {"date": "1999-12-31"}, {"date": ""}):
        assert_error(manager.get("/api/admin/day-end", query), 400, "validation_error", "date")
    assert manager.get("/api/admin/day-end", {"date": "2030-01-01"}).json()["shifts"] == []


# --- Income by payment method -----------------------------------------------------------


def test_income_by_method_sums_the_tenders_of_the_range(desk, manager, admin_user):
    pay(
        desk,
        awaiting_visit(),
        {
            "tenders": [
                {"method": "cash", "amount": "5.00", "handed_over": "20"},
                {"method": "card", "amount": "3.41", "reference": "C1"},
            ]
        },
    )
    pay(desk, awaiting_visit(), {})
    response = manager.get("/api/admin/statistics/income-by-method")
    assert response.status_code == 200, response.content
    report = response.json()
    assert {
        row["method"]: (row["tenders"], row["taken"], row["net"]) for row in report["results"]
    } == {
        "cash": (2, "13.41", "13.41"),
        "card": (1, "3.41", "3.41"),
    }
    assert (report["taken"], report["given_back"], report["net"]) == ("16.82", "0.00", "16.82")
    assert_error(
        manager.get(
            "/api/admin/statistics/income-by-method",
            {"start_date": "2030-02-01", "end_date": "2030-01-01"},
        ),
        400,
        "validation_error",
    )
    empty = manager.get(
        "/api/admin/statistics/income-by-method",
        {"start_date": "2030-01-01", "end_date": "2030-01-31"},
    ).json()
    assert (empty["results"], empty["net"]) == ([], "0.00")  # fmt: skip


def test_the_statistics_page_and_its_csv_show_income_by_payment_method(desk, client, visit):
    pay(desk, visit, {"tenders": [{"method": "alipay", "amount": "8.41", "reference": "A1"}]})
    admin = AdminUserFactory()
    client.force_login(admin)
    response = client.get(reverse("billing:statistics"))
    assert response.status_code == 200
    tables = {table.name: table for table in response.context["tables"]}
    assert tables["methods"].rows[0][0] in ("支付宝", "Alipay")
    assert tables["methods"].footer[-1] == Decimal("8.41")
    today = visit.visit_date.isoformat()
    export = client.get(
        reverse("billing:statistics-export"),
        {"table": "methods", "start_date": today, "end_date": today, "group_by": "day"},
    )
    assert export.status_code == 200
    assert "8.41" in export.content.decode("utf-8-sig")


def test_opening_a_shift_elsewhere_does_not_count_in_another_cashiers_report(manager, admin_user):
    open_shift(by=admin_user, opening_float="50")
    report = manager.get(SHIFT).json()
    assert (report["bill_count"], report["taken"], report["expected_cash"]) == (0, "0.00", "50.00")


# --- Refunds ----------------------------------------------------------------------------


def refunds_url(bill_id: int) -> str:
    return f"/api/receptionist/bills/{bill_id}/refunds"


@pytest.fixture
def paid(desk, visit) -> dict[str, Any]:
    """The visit paid 5.00 cash (20 handed over) and 3.41 by WeChat Pay: its bill as the API
    answered, with its lines by code."""
    response = pay(
        desk,
        visit,
        {
            "tenders": [
                {"method": "cash", "amount": "5.00", "handed_over": "20"},
                {"method": "wechat", "amount": "3.41", "reference": "W1"},
            ]
        },
    )
    assert response.status_code == 201, response.content
    bill = response.json()
    bill["by_code"] = {line["code"][0]: line["id"] for line in bill["lines"]}
    return bill


def refund_state() -> dict[str, Any]:
    return {
        **money_state(),
        "refunds": list(Refund.objects.values_list("pk", flat=True)),
        "lines": list(BillLine.objects.order_by("pk").values_list("pk", "refunded_quantity")),
        "bills": list(Bill.objects.order_by("pk").values_list("pk", "pay_status")),
    }


def test_a_partial_refund_of_a_line_is_paid_back_in_cash_and_is_net_everywhere(
    desk, manager, receptionist, paid
):
    drug = paid["by_code"]["D"]
    response = desk.post(
        refunds_url(paid["id"]),
        {"lines": [{"line": drug, "quantity": 1}], "reason": "One box returned", "method": "cash"},
        format="json",
    )
    assert response.status_code == 201, response.content
    refund = response.json()
    assert refund["number"].startswith("R")
    assert (refund["amount"], refund["bill_pay_status"], refund["method"]) == (
        "12.35",
        "partially_refunded",
        "cash",
    )
    assert Decimal(refund["insurance_amount"]) + Decimal(refund["self_pay_amount"]) == Decimal(
        "12.35"
    )
    assert [(line["line"], line["quantity"]) for line in refund["lines"]] == [(drug, "1.000")]
    assert refund["shift_id"] == current_shift(receptionist).pk
    given_back = Decimal(refund["self_pay_amount"])
    # The list of the bill's refunds, the bill itself, the income records, the shift.
    listed = desk.get(refunds_url(paid["id"])).json()
    assert [row["number"] for row in listed["results"]] == [refund["number"]]
    bill = desk.get("/api/receptionist/bills").json()["results"][0]
    assert (bill["pay_status"], bill["refunded_amount"]) == ("partially_refunded", "12.35")
    records = desk.get("/api/receptionist/income-records").json()["results"]
    assert [(r["kind"], r["amount"], r["refund_number"]) for r in records] == [
        ("refund", "-12.35", refund["number"]),
        ("payment", "34.70", None),
    ]
    shift = desk.get(SHIFT).json()
    assert (shift["refund_count"], shift["refunded"]) == (1, "12.35")
    assert Decimal(shift["expected_cash"]) == Decimal("5.00") - given_back
    by_method = manager.get("/api/admin/statistics/income-by-method").json()
    cash = next(row for row in by_method["results"] if row["method"] == "cash")
    assert (cash["refunds"], Decimal(cash["given_back"])) == (1, given_back)
    assert Decimal(by_method["net"]) == Decimal("8.41") - given_back
    from billing.reports import takings

    assert takings(IncomeRecord.objects.all()) == {
        "payments": 1,
        "refunds": 1,
        "total": Decimal("22.35"),
        "insurance": Decimal("26.29") - Decimal(refund["insurance_amount"]),
        "self_pay": Decimal("8.41") - given_back,
    }
    totals = manager.get("/api/admin/statistics/income", {"group_by": "day"}).json()
    assert (totals["total_income"], totals["record_count"]) == ("22.35", 1)


def test_refunding_the_rest_refunds_the_bill_and_a_line_refunded_in_full_is_a_409(desk, paid):
    with_float()
    drug, registration = paid["by_code"]["D"], paid["by_code"]["R"]
    first = desk.post(
        refunds_url(paid["id"]),
        {"lines": [{"line": drug}], "reason": "Not dispensed", "method": "cash"},
        format="json",
    )
    assert first.status_code == 201, first.content
    before = refund_state()
    assert_error(
        desk.post(
            refunds_url(paid["id"]),
            {"lines": [{"line": drug}], "reason": "Again", "method": "cash"},
            format="json",
        ),
        409,
        "already_refunded",
        "lines.0.line",
    )
    assert refund_state() == before
    last = desk.post(
        refunds_url(paid["id"]),
        {"lines": [{"line": registration}], "reason": "Visit cancelled", "method": "wechat"},
        format="json",
    )
    assert last.status_code == 201, last.content
    assert last.json()["bill_pay_status"] == "refunded"
    assert Bill.objects.get().pay_status == "refunded"
    before = refund_state()
    assert_error(
        desk.post(
            refunds_url(paid["id"]),
            {"lines": [{"line": registration}], "reason": "Again", "method": "cash"},
            format="json",
        ),
        409,
        "already_refunded",
    )
    assert refund_state() == before


def _refund_body(paid: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {
        "lines": [{"line": paid["by_code"]["D"], "quantity": "1"}],
        "reason": "Returned",
        "method": "cash",
        **changes,
    }


BAD_REFUNDS = {
    "an object for the lines": (
        lambda p: _refund_body(p, lines={"line": 1}), 400, INVALID, "lines"
    ),
    "no lines": (lambda p: _refund_body(p, lines=[]), 400, INVALID, "lines"),
    "a string for a line": (
        lambda p: _refund_body(p, lines=[{"line": str(p["by_code"]["D"])}]), 400, INVALID,
        "lines.0.line",
    ),
    "a quantity in words": (
        lambda p: _refund_body(p, lines=[{"line": p["by_code"]["D"], "quantity": "one"}]), 400,
        INVALID, "lines.0.quantity",
    ),
    "a zero quantity": (
        lambda p: _refund_body(p, lines=[{"line": p["by_code"]["D"], "quantity": 0}]), 400,
        "invalid_refund", "lines.0.quantity",
    ),
    "no reason": (lambda p: {**_refund_body(p), "reason": ""}, 400, INVALID, "reason"),
    "a list for the reason": (lambda p: _refund_body(p, reason=["x"]), 400, INVALID, "reason"),
    "a line of another bill": (
        lambda p: _refund_body(p, lines=[{"line": 999_999}]), 400, "invalid_refund", "lines.0.line"
    ),
    "the same line twice": (
        lambda p: _refund_body(p, lines=[{"line": p["by_code"]["D"]}] * 2), 400,
        "invalid_refund", "lines.1.line",
    ),
    "an unknown method": (
        lambda p: _refund_body(p, method="bitcoin"), 400, "invalid_refund", "method"
    ),
    "a method the bill was not paid with": (
        lambda p: _refund_body(p, method="alipay"), 400, "invalid_refund", "method"
    ),
    "no method for money back": (
        lambda p: _refund_body(p, method=None), 400, "invalid_refund", "method"
    ),
    "more than was paid for": (
        lambda p: _refund_body(p, lines=[{"line": p["by_code"]["D"], "quantity": 3}]), 409,
        "refund_exceeds_paid", "lines.0.quantity",
    ),
}  # fmt: skip


@pytest.mark.parametrize("case", list(BAD_REFUNDS))
def test_bad_refunds_are_refused_and_change_nothing(desk, paid, case):
    body, status, code, field = BAD_REFUNDS[case]
    before = refund_state()
    assert_error(desk.post(refunds_url(paid["id"]), body(paid), format="json"), status, code, field)
    assert refund_state() == before


def test_refunds_of_another_cashiers_shift_are_for_a_manager(paid, manager, admin_user):
    other = english(ReceptionistFactory())
    before = refund_state()
    assert_error(
        other.post(refunds_url(paid["id"]), _refund_body(paid), format="json"),
        403,
        "permission_denied",
    )
    # The manager needs an open shift too: refunds are recorded in it.
    assert_error(
        manager.post(refunds_url(paid["id"]), _refund_body(paid), format="json"),
        409,
        "no_open_shift",
    )
    assert_error(
        manager.post(refunds_url(999_999), _refund_body(paid), format="json"), 404, "not_found"
    )
    assert refund_state() == before
    open_shift(by=admin_user, opening_float="100")
    response = manager.post(refunds_url(paid["id"]), _refund_body(paid), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["shift_id"] == current_shift(admin_user).pk


def test_a_bills_refunds_list_costs_the_same_queries_whatever_its_length(desk, paid):
    with_float()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    drug, registration = paid["by_code"]["D"], paid["by_code"]["R"]

    def refund(line: int, quantity: Any = None) -> None:
        body = {"lines": [{"line": line, "quantity": quantity}], "reason": "r", "method": "cash"}
        assert desk.post(refunds_url(paid["id"]), body, format="json").status_code == 201

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert desk.get(refunds_url(paid["id"])).status_code == 200
        return len(captured)

    refund(drug, "1")
    one = queries()
    refund(drug, "1")
    refund(registration)
    assert queries() == one


def test_income_by_method_is_three_grouped_queries(desk, django_assert_num_queries):
    import datetime as dt

    from billing.selectors import income_by_method

    for _ in range(3):
        pay(desk, awaiting_visit(), {})
    today = timezone.localdate()
    with django_assert_num_queries(3):
        rows = income_by_method(
            start_date=today - dt.timedelta(days=1), end_date=today + dt.timedelta(days=1)
        )
    assert [(row.method.code, row.tenders, row.taken) for row in rows] == [
        ("cash", 3, Decimal("25.23"))
    ]


@pytest.mark.mariadb
def test_income_by_method_reads_the_date_and_method_indexes(desk, paid):
    """The range of days is read on Tender's and Refund's (record_date, method) indexes."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from billing.selectors import income_by_method

    today = timezone.localdate()
    with CaptureQueriesContext(connection) as captured:
        income_by_method(start_date=today, end_date=today)
    plans: dict[str, list[dict[str, Any]]] = {}
    with connection.cursor() as cursor:
        for query in captured:
            if "GROUP BY" not in query["sql"]:
                continue
            cursor.execute("EXPLAIN " + query["sql"])
            columns = [column[0] for column in cursor.description]
            for row in cursor.fetchall():
                plan = dict(zip(columns, row, strict=True))
                plans.setdefault(plan["table"], []).append(plan)
    for table, index in (
        ("billing_tender", "tender_date_method_idx"),
        ("billing_refund", "refund_date_method_idx"),
    ):
        assert any(index in (plan["possible_keys"] or "") for plan in plans[table]), plans
