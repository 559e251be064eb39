"""The statistics page and its CSV exports: who reaches them, defaults, tables, files."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from billing.models import DailyIncomeSummary
from billing.services import settle_visit
from billing.tests.factories import ChargeFactory, FeeItemFactory
from clinic.tests.factories import DepartmentFactory, DoctorFactory
from scheduling.tests.factories import ScheduleFactory
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

STATISTICS = reverse("billing:statistics")
EXPORT = reverse("billing:statistics-export")


class TableParser(HTMLParser):
    """The text of every cell of one table (by id), row by row: header, body, footer."""

    def __init__(self, table_id: str) -> None:
        super().__init__()
        self.table_id = table_id
        self.inside = False
        self.rows: list[list[str]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table" and dict(attrs).get("id") == self.table_id:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag in ("td", "th") and self.rows:
            self.cell = []

    def handle_endtag(self, tag):
        if tag == "table" and self.inside:
            self.inside = False
        elif self.inside and tag in ("td", "th") and self.cell is not None:
            self.rows[-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):
        if self.cell is not None:
            self.cell.append(data)


def table_cells(html: str, table: str) -> list[list[str]]:
    parser = TableParser(f"stats-{table}-table")
    parser.feed(html)
    return parser.rows


def csv_rows(response) -> list[list[str]]:
    content = response.content
    assert content.startswith(b"\xef\xbb\xbf"), "UTF-8 with a byte-order mark"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


@pytest.fixture
def paid_today(receptionist):
    """Payments today and 29 days ago (inside the default range) and 30 days ago (outside)."""
    department = DepartmentFactory(name="内科")
    doctor = DoctorFactory(department=department, name="王建国", emp_id="D001")
    today = timezone.localdate()
    now = timezone.localtime()
    for days_ago, total in ((0, "86.50"), (29, "20.00"), (30, "1000.00")):
        day = today - dt.timedelta(days=days_ago)
        schedule = ScheduleFactory(doctor=doctor, department=department, work_date=day)
        visit = VisitFactory(schedule=schedule, status=VisitStatus.AWAITING_PAYMENT)
        settle_visit(
            visit=visit,
            total_amount=total,
            insurance_amount="10.00",
            by=receptionist,
            now=now - dt.timedelta(days=days_ago),
        )
    return {"department": department, "doctor": doctor, "today": today}


@pytest.mark.parametrize("url", [STATISTICS, f"{EXPORT}?table=income"])
@pytest.mark.parametrize("persona", ["patient", "receptionist", "doctor"])
def test_only_administrators_see_the_statistics(client, personas, persona, url):
    client.force_login(personas[persona])
    assert client.get(url).status_code == 403


@pytest.mark.parametrize("url", [STATISTICS, f"{EXPORT}?table=income"])
def test_anonymous_visitors_are_sent_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_default_is_the_last_30_days_by_day(admin_client, paid_today):
    response = admin_client.get(STATISTICS)
    assert response.status_code == 200
    today = paid_today["today"]
    income = response.context["tables"][0]
    assert len(income.rows) == 30
    assert income.rows[0][0] == (today - dt.timedelta(days=29)).isoformat()
    assert income.rows[-1][0] == today.isoformat()
    # 30 days ago is outside: 86.50 + 20.00 only.
    assert income.footer[1:] == ["2", Decimal("106.50"), Decimal("20.00"), Decimal("86.50")]
    # The page writes money the clinic's one way; the CSV keeps plain numbers.
    assert '<td class="num">¥106.50</td>' in response.content.decode()


def test_grouping_by_doctor_shows_names(admin_client, paid_today):
    response = admin_client.get(STATISTICS, {"group_by": "doctor"})
    income = response.context["tables"][0]
    assert income.rows == [
        ["王建国 (D001)", "2", Decimal("106.50"), Decimal("20.00"), Decimal("86.50")]
    ]
    assert "王建国 (D001)" in response.content.decode()


@pytest.mark.parametrize("group_by", ["day", "department", "doctor"])
@pytest.mark.parametrize("table", ["income", "categories", "visits"])
def test_the_csv_holds_exactly_the_table(admin_client, paid_today, group_by, table):
    params = {
        "start_date": (paid_today["today"] - dt.timedelta(days=40)).isoformat(),
        "end_date": paid_today["today"].isoformat(),
        "group_by": group_by,
    }
    page = admin_client.get(STATISTICS, params).content.decode()
    export = admin_client.get(EXPORT, {**params, "table": table})
    assert export.status_code == 200
    assert export["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment;" in export["Content-Disposition"]
    cells = table_cells(page, table)
    assert len(cells) > 2
    # The same figures; the page writes money as ¥1,234.50, the CSV as 1234.50.
    assert csv_rows(export) == [[plain_money(cell) for cell in row] for row in cells]


def plain_money(cell: str) -> str:
    if re.fullmatch(r"-?¥[\d,]+\.\d\d", cell):
        return cell.replace("¥", "").replace(",", "")
    return cell


def test_the_export_link_carries_the_chosen_range(admin_client, paid_today):
    params = {"start_date": "2030-01-01", "end_date": "2030-01-31", "group_by": "department"}
    html = admin_client.get(STATISTICS, params).content.decode()
    assert (
        f"{EXPORT}?table=income&amp;start_date=2030-01-01&amp;end_date=2030-01-31"
        "&amp;group_by=department"
    ) in html


def test_a_name_that_looks_like_a_formula_is_not_run_by_a_spreadsheet(admin_client):
    department = DepartmentFactory(name="=HYPERLINK(1)")
    DailyIncomeSummary.add_payment(
        record_date=timezone.localdate(),
        department_id=department.pk,
        doctor_id=None,
        total=Decimal("5.00"),
        insurance=Decimal("0.00"),
        self_pay=Decimal("5.00"),
    )
    export = admin_client.get(EXPORT, {"table": "income", "group_by": "department"})
    assert csv_rows(export)[1][0] == "'=HYPERLINK(1)"


def test_the_page_runs_the_same_queries_for_a_month_and_for_a_year(admin_client, paid_today):
    def count(days: int) -> int:
        params = {
            "start_date": (paid_today["today"] - dt.timedelta(days=days - 1)).isoformat(),
            "end_date": paid_today["today"].isoformat(),
        }
        with CaptureQueriesContext(connection) as queries:
            assert admin_client.get(STATISTICS, params).status_code == 200
        return len(queries)

    assert count(30) == count(366)


def test_htmx_gets_only_the_results(admin_client, paid_today):
    response = admin_client.get(STATISTICS, {"group_by": "department"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="statistics-results"')
    assert "<form" not in html


def test_charts_get_their_data_from_the_page_not_a_cdn(admin_client, paid_today):
    html = admin_client.get(STATISTICS).content.decode()
    assert 'id="stats-income-data" type="application/json"' in html
    assert "/static/js/chart-4.6.1.umd.min.js" in html
    assert "/static/js/statistics.js" in html
    assert "https://" not in html.split("<main", 1)[1]


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "2030-03-05", "end_date": "2030-03-04"},
        {"start_date": "not a date"},
        {"group_by": "patient"},
        {"start_date": "2000-01-01", "end_date": "2030-01-01"},
    ],
)
def test_a_bad_range_or_grouping_is_a_400_not_a_500(admin_client, params):
    assert admin_client.get(STATISTICS, params).status_code == 400
    assert admin_client.get(EXPORT, {**params, "table": "income"}).status_code == 400


def test_an_export_needs_a_known_table(admin_client):
    assert admin_client.get(EXPORT).status_code == 400
    assert admin_client.get(EXPORT, {"table": "patients"}).status_code == 400


def test_a_post_is_not_allowed(admin_client):
    assert admin_client.post(STATISTICS).status_code == 405


def test_the_admin_index_links_to_statistics_and_planning(admin_client):
    html = admin_client.get(reverse("admin:index")).content.decode()
    for name in ("billing:statistics", "scheduling:planner", "scheduling:copy-week"):
        assert f'href="{reverse(name)}"' in html


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_both_total_rows_carry_the_same_label_for_a_row_of_sums(admin_client, paid_today, language):
    from billing.views import total_label

    admin_client.cookies["django_language"] = language
    response = admin_client.get(STATISTICS, HTTP_ACCEPT_LANGUAGE=language)
    html = response.content.decode()
    with translation.override(language):
        label = total_label()
    assert table_cells(html, "income")[-1][0] == label
    assert table_cells(html, "visits")[-1][0] == label
    # Not the bare "Total", which the bills' pages use for an amount (总费用 in Chinese).
    assert label != "总费用"
    with translation.override("en"):
        assert total_label() == "Total"


def test_income_by_category_totals_the_income_table(admin_client, paid_today, receptionist):
    # An itemised bill today beside the typed ones: registration 10 and a drug 2 × 3.25.
    visit = VisitFactory(
        schedule=ScheduleFactory(work_date=paid_today["today"]),
        status=VisitStatus.AWAITING_PAYMENT,
    )
    ChargeFactory(
        visit=visit, fee_item=FeeItemFactory(category="registration", unit_price=Decimal(10))
    )
    ChargeFactory(
        visit=visit,
        quantity=Decimal(2),
        fee_item=FeeItemFactory(category="drug", unit_price=Decimal("3.25")),
    )
    settle_visit(visit=visit, by=receptionist)
    admin_client.cookies["django_language"] = "en"
    response = admin_client.get(STATISTICS)
    income, categories = response.context["tables"][:2]
    assert categories.name == "categories"
    assert [row[0] for row in categories.rows] == [
        "Registration fee",
        "Consultation fee",
        "Drugs",
    ]
    assert categories.rows[2][1:3] == ["1", Decimal("6.50")]
    # Typed bills are one consultation line each: 86.50 + 20.00.
    assert categories.rows[1][2] == Decimal("106.50")
    assert categories.footer[2] == income.footer[2] == Decimal("123.00")
    assert table_cells(response.content.decode(), "categories")[-1][2] == "¥123.00"
