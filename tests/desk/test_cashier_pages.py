"""The cashier's pages: tenders on the payment page, the shift panel and its close report,
the manager's day end with the reopening of a shift, and the receipt's tenders."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.cashier import close_shift, open_shift
from billing.cashier_forms import RefundForm, TenderForm, open_row_amount, tender_summary
from billing.exceptions import InvalidTenders
from billing.models import (
    Bill,
    CashierShift,
    IncomeRecord,
    PayStatus,
    Refund,
    ShiftStatus,
    Tender,
)
from billing.refunds import REASON_LENGTH
from billing.services import settle_visit
from billing.tests.factories import (
    BillFactory,
    ChargeFactory,
    FeeItemFactory,
    IncomeRecordFactory,
)
from clinic.models import AuditEvent
from clinic.tests.factories import AdminUserFactory, ReceptionistFactory
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
SHIFT = reverse("billing:shift")
DAY_END = reverse("billing:day-end")


def text(html: bytes | str) -> str:
    if isinstance(html, bytes):
        html = html.decode()
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture
def client(client):
    """Pages in English: the tests compare text."""
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def cashier(db):
    return ReceptionistFactory(shift=False)


@pytest.fixture
def desk(client, cashier):
    client.force_login(cashier)
    return client


@pytest.fixture
def visit():
    return VisitFactory(status=VisitStatus.AWAITING_PAYMENT)


def pay_url(visit) -> str:
    return reverse("billing:pay", args=[visit.pk])


def typed(total="86.50", insurance="50.00", **extra) -> dict:
    """A visit without charges: the desk types the total and insurance (self-pay 36.50)."""
    return {"total_amount": total, "insurance_amount": insurance, **extra}


def nothing_written(visit) -> None:
    visit.refresh_from_db()
    assert visit.status == VisitStatus.AWAITING_PAYMENT
    assert not Bill.objects.exists() and not Tender.objects.exists()
    assert not IncomeRecord.objects.exists()


# --- The shift panel --------------------------------------------------------------------


class TestShiftPanel:
    def test_without_a_shift_the_panel_offers_to_open_one(self, desk):
        html = desk.get(SHIFT).content.decode()
        assert 'name="opening_float"' in html and reverse("billing:shift-open") in html
        assert 'for="id_opening_float"' in html

    def test_opening_the_shift_with_its_float(self, desk, cashier):
        response = desk.post(reverse("billing:shift-open"), {"opening_float": "200.00"})
        assert response.status_code == 302 and response["Location"] == SHIFT
        shift = CashierShift.objects.get(cashier=cashier)
        assert shift.is_open and shift.opening_float == Decimal("200.00")
        page = text(desk.get(SHIFT).content)
        assert "¥200.00" in page and "Close the shift" in page

    def test_a_bad_float_is_a_field_error_and_opens_nothing(self, desk, cashier):
        response = desk.post(reverse("billing:shift-open"), {"opening_float": "-5"})
        assert response.status_code == 400
        assert "errorlist" in response.content.decode()
        assert not CashierShift.objects.exists()

    def test_a_second_open_is_refused_with_409(self, desk, cashier):
        open_shift(by=cashier, opening_float="10")
        response = desk.post(reverse("billing:shift-open"), {"opening_float": "20"})
        assert response.status_code == 409
        assert CashierShift.objects.count() == 1

    def test_opening_from_the_payment_page_goes_back_to_it(self, desk, visit):
        response = desk.post(
            reverse("billing:shift-open"), {"opening_float": "0", "next": pay_url(visit)}
        )
        assert response["Location"] == pay_url(visit)
        outside = desk.post(
            reverse("billing:shift-open"), {"opening_float": "0", "next": "https://evil.example/"}
        )
        assert outside.status_code == 409  # already open; and never sent elsewhere

    def test_running_totals_per_method_and_the_live_difference(self, desk, cashier, visit):
        open_shift(by=cashier, opening_float="100.00")
        desk.post(pay_url(visit), typed(handed_over="50"))
        page = desk.get(SHIFT)
        html = page.content.decode()
        assert re.search(r'id="shift-bills">1<', html)
        assert re.search(r'id="shift-expected">¥136.50<', html)
        assert 'data-method="cash"' in html and "¥36.50" in text(html)
        live = desk.get(SHIFT, {"counted_cash": "136"}, headers=HTMX).content.decode()
        assert "Short" in live and "-¥0.50" in live and "<html" not in live
        assert (
            "matches" in desk.get(SHIFT, {"counted_cash": "136.50"}, headers=HTMX).content.decode()
        )

    def test_close_with_a_shortage_needs_a_note(self, desk, cashier, visit):
        shift = open_shift(by=cashier, opening_float="100.00")
        desk.post(pay_url(visit), typed())
        close = reverse("billing:shift-close", args=[shift.pk])
        refused = desk.post(close, {"counted_cash": "136.00", "note": ""})
        assert refused.status_code == 400
        assert "errorlist" in refused.content.decode()
        shift.refresh_from_db()
        assert shift.is_open and shift.counted_cash is None
        response = desk.post(close, {"counted_cash": "136.00", "note": "Coin dropped"})
        assert response["Location"] == reverse("billing:shift-report", args=[shift.pk])
        shift.refresh_from_db()
        assert shift.status == ShiftStatus.CLOSED
        assert shift.cash_difference == Decimal("-0.50") and shift.close_note == "Coin dropped"

    def test_another_cashiers_shift_cannot_be_closed_or_read(self, desk):
        other = ReceptionistFactory()
        shift = CashierShift.objects.get(cashier=other)
        close = reverse("billing:shift-close", args=[shift.pk])
        assert desk.post(close, {"counted_cash": "0"}).status_code == 404
        assert desk.get(reverse("billing:shift-report", args=[shift.pk])).status_code == 404
        shift.refresh_from_db()
        assert shift.is_open

    def test_close_is_post_only(self, desk, cashier):
        shift = open_shift(by=cashier, opening_float="0")
        assert desk.get(reverse("billing:shift-close", args=[shift.pk])).status_code == 405


class TestCloseReport:
    def test_the_report_has_methods_categories_counts_and_the_drawer(self, desk, cashier):
        shift = open_shift(by=cashier, opening_float="100.00")
        first, second = (VisitFactory(status=VisitStatus.AWAITING_PAYMENT) for _ in range(2))
        desk.post(pay_url(first), typed(handed_over="100"))
        desk.post(
            pay_url(second),
            typed(handed_over="", method_1="wechat", amount_1="36.50", reference_1="WX42"),
        )
        close_shift(shift=shift, counted_cash="136.00", note="Short by a coin", by=cashier)
        response = desk.get(reverse("billing:shift-report", args=[shift.pk]))
        html = response.content.decode()
        page = text(html)
        assert response.status_code == 200
        assert "print-report.css" in html and "data-print" in html
        assert "Shift close report" in page
        assert 'data-method="cash"' in html and 'data-method="wechat"' in html
        assert 'data-category="consultation"' in html
        for figure in ("¥100.00", "¥136.50", "¥136.00", "-¥0.50", "¥73.00", "Short by a coin"):
            assert figure in page, figure
        assert re.search(r'id="report-bills">2<', html)
        assert re.search(r'id="report-refunds">0<', html)
        assert cashier.display_name in page


# --- Paying with tenders ----------------------------------------------------------------


class TestTenders:
    def test_without_a_shift_the_page_says_so_and_offers_to_open_it(self, desk, visit):
        html = desk.get(pay_url(visit)).content.decode()
        assert "Your cashier shift is not open" in text(html)
        assert reverse("billing:shift-open") in html
        assert "Settle and print the receipt" not in html

    def test_without_a_shift_payment_is_refused_and_nothing_written(self, desk, visit):
        response = desk.post(pay_url(visit), typed())
        assert response.status_code == 409
        assert "Open your cashier shift" in text(response.content)
        nothing_written(visit)

    def test_cash_with_change(self, desk, cashier, visit):
        open_shift(by=cashier, opening_float="0")
        html = desk.get(pay_url(visit)).content.decode()
        assert 'name="handed_over"' in html and 'for="id_handed_over"' in html
        live = desk.get(
            pay_url(visit), {**typed(), "handed_over": "50"}, headers=HTMX
        ).content.decode()
        assert "¥36.50" in live and re.search(r'id="change">¥13.50<', live)
        short = desk.get(pay_url(visit), {**typed(), "handed_over": "30"}, headers=HTMX)
        assert "¥6.50 short" in text(short.content)
        response = desk.post(pay_url(visit), typed(handed_over="50"))
        bill = Bill.objects.get()
        assert response["Location"] == reverse("billing:receipt", args=[bill.pk])
        tender = Tender.objects.get()
        assert (tender.method.code, tender.amount, tender.handed_over, tender.change_given) == (
            "cash",
            Decimal("36.50"),
            Decimal("50.00"),
            Decimal("13.50"),
        )
        receipt = text(desk.get(response["Location"]).content)
        assert "Cash ¥36.50" in receipt
        assert "Cash handed over ¥50.00" in receipt and "Change ¥13.50" in receipt

    def test_nothing_handed_over_pays_the_exact_cash(self, desk, cashier, visit):
        open_shift(by=cashier, opening_float="0")
        desk.post(pay_url(visit), typed())
        tender = Tender.objects.get()
        assert tender.amount == tender.handed_over == Decimal("36.50")
        assert tender.change_given == 0

    def test_two_tenders_cash_for_the_rest(self, desk, cashier, visit):
        open_shift(by=cashier, opening_float="0")
        response = desk.post(
            pay_url(visit),
            typed(handed_over="20", method_1="wechat", amount_1="20.00", reference_1="WX 1234"),
        )
        assert response.status_code == 302
        tenders = {t.method.code: t for t in Tender.objects.select_related("method")}
        assert tenders["wechat"].amount == Decimal("20.00")
        assert tenders["wechat"].reference == "WX 1234"
        assert tenders["cash"].amount == Decimal("16.50")
        assert tenders["cash"].change_given == Decimal("3.50")
        receipt = text(desk.get(response["Location"]).content)
        assert "WeChat Pay ¥20.00 Ref. WX 1234" in receipt and "Change ¥3.50" in receipt

    def test_one_method_without_an_amount_pays_all_the_rest(self, desk, cashier, visit):
        open_shift(by=cashier, opening_float="0")
        desk.post(pay_url(visit), typed(method_1="alipay", reference_1="ALI9"))
        tender = Tender.objects.select_related("method").get()
        assert (tender.method.code, tender.amount, tender.reference) == (
            "alipay",
            Decimal("36.50"),
            "ALI9",
        )

    @pytest.mark.parametrize(
        "tenders, field",
        [
            ({"method_1": "wechat", "amount_1": "20.00"}, "reference_1"),
            ({"handed_over": "10"}, "handed_over"),
            ({"amount_1": "5", "reference_1": "X"}, "method_1"),
            ({"method_1": "card", "amount_1": "40", "reference_1": "C1"}, None),
            ({"method_1": "card", "amount_1": "36.50", "reference_1": "C", "handed_over": "5"},
             "handed_over"),
        ],
    )  # fmt: skip
    def test_a_refused_tender_is_a_400_and_writes_nothing(
        self, desk, cashier, visit, tenders, field
    ):
        open_shift(by=cashier, opening_float="0")
        response = desk.post(pay_url(visit), typed(**tenders))
        assert response.status_code == 400
        html = response.content.decode()
        if field:
            assert re.search(rf'<[^>]*aria-invalid="true"[^>]*id="id_{field}"', html), field
        else:
            assert "form-errors" in html
        nothing_written(visit)

    def test_a_typed_bill_starts_in_its_total(self, desk, cashier, visit):
        open_shift(by=cashier, opening_float="0")
        html = desk.get(pay_url(visit)).content.decode()
        # A typed bill starts in its total; the cash field follows.
        assert re.search(r'name="total_amount"[^>]*autofocus', html)


# Amounts the services refuse: not a number, not finite, negative, too large to round.
REFUSED_AMOUNTS = ["1e30", "NaN", "sNaN", "Infinity", "-5", "-1e30", "abc", "9" * 29]


class TestRefusedAmountsWhileTyping:
    """The live figures take a refused amount as nothing typed; a POST with one is a field
    error. Never a 500."""

    @pytest.mark.parametrize("amount", REFUSED_AMOUNTS)
    def test_the_live_figures_ignore_a_refused_cash_amount(self, desk, cashier, visit, amount):
        open_shift(by=cashier, opening_float="0")
        response = desk.get(pay_url(visit), {**typed(), "handed_over": amount}, headers=HTMX)
        assert response.status_code == 200
        live = response.content.decode()
        assert re.search(r'id="cash-due">¥36.50<', live) and 'id="change"' not in live

    @pytest.mark.parametrize("amount", REFUSED_AMOUNTS)
    def test_the_live_figures_ignore_a_refused_method_amount(self, desk, cashier, visit, amount):
        open_shift(by=cashier, opening_float="0")
        response = desk.get(
            pay_url(visit), {**typed(), "method_1": "wechat", "amount_1": amount}, headers=HTMX
        )
        assert response.status_code == 200
        # Nothing typed for the method: it takes all the rest, as it would on the POST.
        assert "Other methods: ¥36.50" in text(response.content)

    @pytest.mark.parametrize("amount", REFUSED_AMOUNTS)
    def test_the_live_figures_of_an_itemised_bill_ignore_a_refused_amount(
        self, desk, cashier, amount
    ):
        open_shift(by=cashier, opening_float="0")
        visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
        ChargeFactory(visit=visit, fee_item=FeeItemFactory(unit_price=Decimal("20")))
        for data in ({"handed_over": amount}, {"insurance_amount": amount}):
            response = desk.get(pay_url(visit), data, headers=HTMX)
            assert response.status_code == 200, data

    @pytest.mark.parametrize("amount", REFUSED_AMOUNTS)
    def test_a_refused_cash_amount_is_a_field_error_and_writes_nothing(
        self, desk, cashier, visit, amount
    ):
        open_shift(by=cashier, opening_float="0")
        response = desk.post(pay_url(visit), typed(handed_over=amount))
        assert response.status_code == 400
        html = response.content.decode()
        assert re.search(r'<[^>]*aria-invalid="true"[^>]*id="id_handed_over"', html)
        nothing_written(visit)

    @pytest.mark.parametrize("amount", REFUSED_AMOUNTS)
    def test_a_refused_method_amount_is_a_field_error_and_writes_nothing(
        self, desk, cashier, visit, amount
    ):
        open_shift(by=cashier, opening_float="0")
        response = desk.post(
            pay_url(visit),
            typed(handed_over="1e30", method_1="wechat", amount_1=amount, reference_1="W1"),
        )
        assert response.status_code == 400
        html = response.content.decode()
        assert re.search(r'<[^>]*aria-invalid="true"[^>]*id="id_amount_1"', html)
        nothing_written(visit)

    def test_a_refused_amount_on_an_itemised_bill_writes_nothing(self, desk, cashier):
        open_shift(by=cashier, opening_float="0")
        visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
        ChargeFactory(visit=visit, fee_item=FeeItemFactory(unit_price=Decimal("20")))
        for amount in REFUSED_AMOUNTS:
            response = desk.post(pay_url(visit), {"handed_over": amount})
            assert response.status_code == 400, amount
        nothing_written(visit)


class TestOneRuleForAnOpenMethodRow:
    """A method row without an amount takes what cash does not pay: the same figure in the
    live summary and in the tenders sent."""

    @pytest.mark.parametrize(
        "typed_row, handed, open_amount",
        [
            ("", "", Decimal("36.50")),
            ("", "10", Decimal("26.50")),
            ("6.50", "10", Decimal("20.00")),
            ("", "50", Decimal("0.00")),  # cash pays it all: nothing is left for the method
            ("40", "", Decimal("0.00")),  # the other row pays more than the self-pay part
        ],
    )
    def test_the_live_figures_and_the_tenders_sent_agree(self, db, typed_row, handed, open_amount):
        self_pay = Decimal("36.50")
        data = {"handed_over": handed, "method_1": "wechat", "reference_1": "W1"}
        if typed_row:
            data.update(method_2="alipay", amount_2=typed_row, reference_2="A1")
        typed_total = Decimal(typed_row or "0")
        left = open_row_amount(self_pay, typed_total, Decimal(handed) if handed else None)
        assert max(left, Decimal(0)) == open_amount
        assert tender_summary(self_pay, data).other == typed_total + open_amount
        form = TenderForm(data)
        assert form.is_valid(), form.errors
        if open_amount:
            tenders = {t["method"]: Decimal(t["amount"]) for t in form.plan(self_pay).tenders}
            assert tenders["wechat"] == open_amount
        else:
            with pytest.raises(InvalidTenders) as refused:
                form.plan(self_pay)
            assert "amount_1" in refused.value.details


# --- The manager's day end --------------------------------------------------------------


class TestDayEnd:
    def test_only_a_manager_sees_the_day(self, desk, client):
        assert desk.get(DAY_END).status_code == 403
        client.force_login(AdminUserFactory())
        assert client.get(DAY_END).status_code == 200

    def test_the_day_lists_shifts_totals_and_the_shifts_left_open(self, client, cashier):
        manager = AdminUserFactory()
        shift = open_shift(by=cashier, opening_float="100.00")
        client.force_login(cashier)
        client.post(pay_url(VisitFactory(status=VisitStatus.AWAITING_PAYMENT)), typed())
        close_shift(shift=shift, counted_cash="136.00", note="coin", by=cashier)
        late = ReceptionistFactory()  # a shift still open
        yesterday = timezone.now() - timezone.timedelta(days=1)
        old = open_shift(by=ReceptionistFactory(shift=False), opening_float="0", now=yesterday)
        client.force_login(manager)
        response = client.get(DAY_END, {"date": timezone.localdate().isoformat()})
        html = response.content.decode()
        page = text(html)
        assert cashier.display_name in page and late.display_name in page
        assert f'id="shift-{shift.pk}"' in html
        assert re.search(r'id="day-bills">1<', html)
        assert re.search(r'id="day-difference">-¥0.50<', html)
        assert "¥136.50" in page and "¥36.50" in page
        left_open = html[html.index('id="left-open"') :]
        left_open = left_open[: left_open.index("</ul>")]
        assert old.cashier.display_name in text(left_open) and "from an earlier day" in left_open
        assert late.display_name in text(left_open)
        assert cashier.display_name not in text(left_open)

    def test_the_title_is_only_the_title_and_the_reopen_form_appears_once(self, client, cashier):
        shift = open_shift(by=cashier, opening_float="0")
        close_shift(shift=shift, counted_cash="0", by=cashier)
        client.force_login(AdminUserFactory())
        html = client.get(DAY_END).content.decode()
        title = re.search(r"<title>(.*?)</title>", html, re.S).group(1)
        assert "<form" not in title and "csrfmiddlewaretoken" not in title
        assert len(text(title)) < 60 and "Day end" in title
        reopen = reverse("billing:shift-reopen", args=[shift.pk])
        assert html.count(f'action="{reopen}"') == 1
        assert html.count('id="reopen-title"') == 1 and html.count(f'id="reopen-{shift.pk}"') == 1

    def test_the_page_does_not_query_per_shift(self, client, django_assert_max_num_queries):
        def shift_with_a_payment(*, close: bool = True) -> None:
            cashier = ReceptionistFactory(shift=False)
            shift = open_shift(by=cashier, opening_float="10.00")
            settle_visit(
                visit=VisitFactory(status=VisitStatus.AWAITING_PAYMENT),
                total_amount="30.00",
                insurance_amount="10.00",
                tenders=[{"method": "cash", "amount": "20.00", "handed_over": "20.00"}],
                by=cashier,
            )
            if close:
                close_shift(shift=shift, counted_cash="30.00", by=cashier)

        client.force_login(AdminUserFactory())
        shift_with_a_payment()
        client.get(DAY_END)  # the session and the caches: not the page's own queries
        with CaptureQueriesContext(connection) as one_shift:
            assert len(client.get(DAY_END).context["rows"]) == 1
        for close in (True, True, False):
            shift_with_a_payment(close=close)
        with django_assert_max_num_queries(len(one_shift)):
            response = client.get(DAY_END)
        assert len(response.context["rows"]) == 4 and len(response.context["left_open"]) == 1

    def test_a_bad_date_is_a_field_error_not_a_500(self, client):
        client.force_login(AdminUserFactory())
        response = client.get(DAY_END, {"date": "2026-13-45"})
        assert response.status_code == 200 and "errorlist" in response.content.decode()

    def test_a_manager_reopens_a_closed_shift_with_a_reason(self, client, cashier):
        manager = AdminUserFactory()
        shift = open_shift(by=cashier, opening_float="0")
        close_shift(shift=shift, counted_cash="0", by=cashier)
        client.force_login(manager)
        url = reverse("billing:shift-reopen", args=[shift.pk])
        day = timezone.localdate().isoformat()
        refused = client.post(url, {f"shift-{shift.pk}-reason": "", f"shift-{shift.pk}-date": day})
        assert refused.status_code == 400 and "errorlist" in refused.content.decode()
        shift.refresh_from_db()
        assert shift.status == ShiftStatus.CLOSED
        response = client.post(
            url,
            {f"shift-{shift.pk}-reason": "A payment was forgotten", f"shift-{shift.pk}-date": day},
        )
        assert response["Location"] == f"{DAY_END}?date={day}"
        shift.refresh_from_db()
        assert shift.is_open and shift.reopen_count == 1
        event = AuditEvent.objects.filter(action="shift.reopened").get()
        assert "A payment was forgotten" in str(event.new_values)

    def test_reopening_is_refused_to_a_receptionist_and_while_another_is_open(
        self, client, cashier
    ):
        shift = open_shift(by=cashier, opening_float="0")
        close_shift(shift=shift, counted_cash="0", by=cashier)
        url = reverse("billing:shift-reopen", args=[shift.pk])
        client.force_login(cashier)
        assert client.post(url, {f"shift-{shift.pk}-reason": "x"}).status_code == 403
        open_shift(by=cashier, opening_float="0")
        client.force_login(AdminUserFactory())
        refused = client.post(url, {f"shift-{shift.pk}-reason": "recount"})
        assert refused.status_code == 409
        assert "another shift open" in text(refused.content)
        shift.refresh_from_db()
        assert shift.status == ShiftStatus.CLOSED

    def test_a_manager_closes_a_shift_left_open_from_the_day_end(self, client, cashier):
        shift = open_shift(by=cashier, opening_float="20.00")
        client.force_login(AdminUserFactory())
        day = timezone.localdate().isoformat()
        page = client.get(DAY_END).content.decode()
        assert f'name="close-{shift.pk}-counted_cash"' in page
        url = reverse("billing:shift-close", args=[shift.pk])
        refused = client.post(
            url, {f"close-{shift.pk}-counted_cash": "19.00", f"close-{shift.pk}-date": day}
        )
        assert refused.status_code == 400
        html = refused.content.decode()
        assert "Day end" in text(html)
        assert re.search(rf'<[^>]*aria-invalid="true"[^>]*id="id_close-{shift.pk}-note"', html)
        shift.refresh_from_db()
        assert shift.is_open
        response = client.post(
            url,
            {
                f"close-{shift.pk}-counted_cash": "19.00",
                f"close-{shift.pk}-note": "Counted by the manager",
                f"close-{shift.pk}-date": day,
            },
        )
        assert response["Location"] == reverse("billing:shift-report", args=[shift.pk])
        shift.refresh_from_db()
        assert not shift.is_open and shift.cash_difference == Decimal("-1.00")


# --- Money on the takings page ----------------------------------------------------------


def test_the_takings_page_writes_money_with_two_decimals(desk):
    IncomeRecordFactory(
        bill=BillFactory(total_amount=Decimal("206.5"), insurance_amount=Decimal("100"))
    )
    html = desk.get(reverse("billing:reports"), {"kind": "income"}).content.decode()
    assert "¥206.50" in html and "¥206.5<" not in html


def test_the_desk_navigation_links_the_shift_panel(desk):
    html = desk.get(SHIFT).content.decode()
    assert f'href="{SHIFT}"' in html
    assert "not open" in text(html)


# --- Refunds ----------------------------------------------------------------------------


@pytest.fixture
def drugs_bill(cashier):
    """A bill paid in the cashier's shift: a drug 4 × 5.00 (self-pay, no plan) and a
    registration 10.00; 30.00 paid, 10.00 of it by WeChat Pay."""
    open_shift(by=cashier, opening_float="50.00")
    visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
    for code, category, price, quantity in (
        ("D1", "drug", "5", 4),
        ("R1", "registration", "10", 1),
    ):
        ChargeFactory(
            visit=visit,
            quantity=Decimal(quantity),
            fee_item=FeeItemFactory(
                code=code, name=f"Item {code}", category=category, unit_price=Decimal(price)
            ),
        )
    return settle_visit(
        visit=visit,
        tenders=[
            {"method": "cash", "amount": "20.00", "handed_over": "20.00"},
            {"method": "wechat", "amount": "10.00", "reference": "WX7"},
        ],
        by=cashier,
    )


def refund_url(bill) -> str:
    return reverse("billing:refund", args=[bill.pk])


class TestRefunds:
    def test_the_receipt_offers_a_refund_to_its_cashier_only(self, desk, client, drugs_bill):
        receipt = reverse("billing:receipt", args=[drugs_bill.pk])
        assert refund_url(drugs_bill) in desk.get(receipt).content.decode()
        client.force_login(ReceptionistFactory())
        assert refund_url(drugs_bill) not in client.get(receipt).content.decode()
        assert client.get(refund_url(drugs_bill)).status_code == 403

    def test_the_page_lists_lines_with_what_is_left_and_the_methods(self, desk, drugs_bill):
        html = desk.get(refund_url(drugs_bill)).content.decode()
        drug = drugs_bill.lines.get(code="D1")
        assert f'name="quantity_{drug.pk}"' in html
        assert f'for="id_quantity_{drug.pk}"' in html and 'for="id_reason"' in html
        assert re.search(r'<option value="cash"[^>]*selected', html)
        assert '<option value="wechat"' in html and '<option value="card"' not in html

    def test_a_partial_refund_and_its_receipt(self, desk, drugs_bill):
        drug = drugs_bill.lines.get(code="D1")
        response = desk.post(
            refund_url(drugs_bill),
            {f"quantity_{drug.pk}": "1", "reason": "Wrong drug", "method": "cash"},
        )
        refund = Refund.objects.get()
        assert response["Location"] == reverse("billing:refund-receipt", args=[refund.pk])
        assert (refund.amount, refund.self_pay_amount, refund.method.code) == (
            Decimal("5.00"),
            Decimal("5.00"),
            "cash",
        )
        drug.refresh_from_db()
        drugs_bill.refresh_from_db()
        assert drug.refunded_quantity == 1 and drugs_bill.pay_status == PayStatus.PARTIALLY_REFUNDED
        html = desk.get(response["Location"]).content.decode()
        page = text(html)
        assert refund.number in page and "Wrong drug" in page and "Item D1" in page
        assert "Refunded ¥5.00" in page and "Insurance ¥0.00" in page
        assert "Paid back to the patient ¥5.00" in page and "Paid back by Cash" in page
        # Per line only what was refunded: the split is the refund's, in its totals.
        lines = html[html.index('id="refund-receipt-lines"') :]
        lines = lines[: lines.index("</table>")]
        assert text(lines[lines.index("<thead") : lines.index("</thead>")]) == "Item Qty Amount"
        assert "Item D1 1 ¥5.00" in text(lines)
        receipt = text(desk.get(reverse("billing:receipt", args=[drugs_bill.pk])).content)
        assert refund.number in receipt and "Partially refunded" in receipt
        shift = text(desk.get(SHIFT).content)
        assert "¥65.00" in shift  # expected cash: 50 + 20 − 5

    def test_refusals_are_field_errors_and_write_nothing(self, desk, drugs_bill):
        drug = drugs_bill.lines.get(code="D1")
        cases = [
            ({f"quantity_{drug.pk}": "1", "reason": ""}, 400, "reason"),
            ({f"quantity_{drug.pk}": "5", "reason": "x"}, 400, f"quantity_{drug.pk}"),
            ({"reason": "nothing chosen", "method": "cash"}, 400, None),
            (
                {f"quantity_{drug.pk}": "4", "reason": "x", "method": "wechat"},
                400,
                "method",
            ),  # 20.00 cannot go back by a method that paid 10.00
        ]
        for data, status, field in cases:
            response = desk.post(refund_url(drugs_bill), data)
            assert response.status_code == status, data
            html = response.content.decode()
            if field:
                assert re.search(rf'<[^>]*aria-invalid="true"[^>]*id="id_{field}"', html), field
            else:
                assert "form-errors" in html
        assert not Refund.objects.exists()
        drug.refresh_from_db()
        assert drug.refunded_quantity == 0

    def test_the_reason_is_as_long_as_the_service_takes(self, desk, drugs_bill):
        assert RefundForm.base_fields["reason"].max_length == REASON_LENGTH
        drug = drugs_bill.lines.get(code="D1")
        data = {f"quantity_{drug.pk}": "1", "method": "cash"}
        refused = desk.post(refund_url(drugs_bill), {**data, "reason": "x" * (REASON_LENGTH + 1)})
        assert refused.status_code == 400 and not Refund.objects.exists()
        response = desk.post(refund_url(drugs_bill), {**data, "reason": "x" * REASON_LENGTH})
        assert response.status_code == 302 and Refund.objects.get().reason == "x" * REASON_LENGTH

    def test_a_refund_needs_the_refunders_open_shift(self, desk, cashier, drugs_bill):
        shift = CashierShift.objects.get(cashier=cashier)
        close_shift(shift=shift, counted_cash="70.00", by=cashier)
        html = desk.get(refund_url(drugs_bill)).content.decode()
        assert "Your cashier shift is not open" in text(html)
        drug = drugs_bill.lines.get(code="D1")
        response = desk.post(
            refund_url(drugs_bill), {f"quantity_{drug.pk}": "1", "reason": "x", "method": "cash"}
        )
        assert response.status_code == 409
        assert "Open your cashier shift" in text(response.content)
        assert not Refund.objects.exists()

    def test_a_fully_refunded_bill_has_nothing_left(self, desk, drugs_bill):
        data = {"reason": "All wrong", "method": "cash"}
        for line in drugs_bill.lines.all():
            data[f"quantity_{line.pk}"] = f"{line.quantity.normalize():f}"
        response = desk.post(refund_url(drugs_bill), data)
        assert response.status_code == 302
        drugs_bill.refresh_from_db()
        assert drugs_bill.pay_status == PayStatus.REFUNDED
        again = desk.get(refund_url(drugs_bill))
        assert again["Location"] == reverse("billing:receipt", args=[drugs_bill.pk])


def test_the_takings_are_net_of_refunds(desk, drugs_bill):
    drug = drugs_bill.lines.get(code="D1")
    desk.post(refund_url(drugs_bill), {f"quantity_{drug.pk}": "2", "reason": "x", "method": "cash"})
    response = desk.get(reverse("billing:reports"), {"kind": "income"})
    totals = response.context["totals"]
    assert (totals["payments"], totals["refunds"]) == (1, 1)
    assert (totals["total"], totals["self_pay"]) == (Decimal("20.00"), Decimal("20.00"))
    page = text(response.content)
    assert Refund.objects.get().number in page and "-¥10.00" in page
    export = desk.get(reverse("billing:reports-export"), {"kind": "income"})
    body = export.content.decode("utf-8-sig")
    assert Refund.objects.get().number in body and "-10.00" in body


def test_the_live_figures_follow_a_method_that_takes_the_rest(desk, cashier, visit):
    open_shift(by=cashier, opening_float="0")
    live = desk.get(
        pay_url(visit), {**typed(), "method_1": "wechat", "handed_over": "10"}, headers=HTMX
    ).content.decode()
    # 10.00 in cash (no change), the rest (26.50) by WeChat Pay.
    assert "Other methods: ¥26.50" in text(live)
    assert re.search(r'id="cash-due">¥10.00<', live) and re.search(r'id="change">¥0.00<', live)
    desk.post(pay_url(visit), typed(method_1="wechat", reference_1="W1", handed_over="10"))
    amounts = {t.method.code: t.amount for t in Tender.objects.select_related("method")}
    assert amounts == {"cash": Decimal("10.00"), "wechat": Decimal("26.50")}
