"""The load curve: visits by the start time of their window, for a range and a department, on
the statistics page (table, chart, CSV) and in the API; one grouped query."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.selectors import WindowLoadRow, visits_by_window
from billing.tests.test_statistics_views import csv_rows, table_cells
from clinic.tests.factories import DepartmentFactory, DoctorFactory
from scheduling.tests.factories import ScheduleFactory
from tests.api.conftest import bearer_client
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

STATISTICS = reverse("billing:statistics")
EXPORT = reverse("billing:statistics-export")
API = "/api/admin/statistics/visits-by-window"
DAY = dt.date(2030, 3, 4)
RANGE = {"start_date": "2030-03-01", "end_date": "2030-03-31", "group_by": "day"}


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def visits_in(schedule, *counts: int, **fields) -> None:
    """`counts[i]` visits in the schedule's i-th window."""
    windows = list(schedule.windows.order_by("start_time"))
    for window, count in zip(windows, counts, strict=False):
        for _ in range(count):
            VisitFactory(schedule=schedule, window=window, **fields)


@pytest.fixture
def known_visits():
    """Medicine: 09:00 ×2 (one late), 09:30 ×1 (left unseen) on DAY and 09:00 ×1 a day later;
    surgery: 09:00 ×1 and 14:00 ×3; one visit outside the range (February)."""
    medicine = DepartmentFactory(name="Medicine")
    surgery = DepartmentFactory(name="Surgery")

    def schedule(department, day, start, end):
        return ScheduleFactory(
            doctor=DoctorFactory(department=department),
            work_date=day,
            start_time=start,
            end_time=end,
            window_minutes=30,
            max_patients=20,
        )

    monday = schedule(medicine, DAY, dt.time(9), dt.time(10))
    visits_in(monday, 1, 0)
    visits_in(monday, 1, 0, arrived_late=True)
    visits_in(monday, 0, 1, status=VisitStatus.CANCELLED)
    visits_in(schedule(medicine, DAY + dt.timedelta(days=1), dt.time(9), dt.time(10)), 1)
    visits_in(schedule(surgery, DAY, dt.time(9), dt.time(10)), 1)
    visits_in(schedule(surgery, DAY, dt.time(14), dt.time(15)), 3)
    visits_in(schedule(medicine, dt.date(2030, 2, 20), dt.time(9), dt.time(10)), 5)
    return {"medicine": medicine, "surgery": surgery}


class TestSelector:
    def test_visits_grouped_by_window_start(self, known_visits):
        rows = visits_by_window(start_date=DAY, end_date=dt.date(2030, 3, 31))
        assert rows == [
            WindowLoadRow(start_time=dt.time(9), visits=4, late=1, left_unseen=0),
            WindowLoadRow(start_time=dt.time(9, 30), visits=1, late=0, left_unseen=1),
            WindowLoadRow(start_time=dt.time(14), visits=3, late=0, left_unseen=0),
        ]

    def test_one_department(self, known_visits):
        rows = visits_by_window(start_date=DAY, end_date=DAY, department=known_visits["surgery"])
        assert [(row.label, row.visits) for row in rows] == [("09:00", 1), ("14:00", 3)]

    def test_one_grouped_query(self, known_visits, django_assert_num_queries):
        with django_assert_num_queries(1):
            visits_by_window(start_date=dt.date(2030, 1, 1), end_date=dt.date(2030, 12, 31))


class TestPage:
    def test_the_table_and_chart(self, admin_client, known_visits):
        response = admin_client.get(STATISTICS, RANGE)
        assert response.status_code == 200
        html = response.content.decode()
        assert table_cells(html, "windows") == [
            ["Window starts", "Visits", "Arrived late", "Left unseen"],
            ["09:00", "4", "1", "0"],
            ["09:30", "1", "0", "1"],
            ["14:00", "3", "0", "0"],
            ["Total", "8", "1", "1"],
        ]
        assert 'id="stats-windows-data"' in html
        (table,) = [t for t in response.context["tables"] if t.name == "windows"]
        assert table.chart["labels"] == ["09:00", "09:30", "14:00"]
        assert table.chart["datasets"][0]["data"] == [4, 1, 3]

    def test_the_department_filter(self, admin_client, known_visits):
        medicine = known_visits["medicine"]
        response = admin_client.get(STATISTICS, {**RANGE, "department": medicine.pk})
        html = response.content.decode()
        assert table_cells(html, "windows")[1:] == [
            ["09:00", "3", "1", "0"],
            ["09:30", "1", "0", "1"],
            ["Total", "4", "1", "1"],
        ]
        assert "table=windows&amp;start_date=2030-03-01&amp;end_date=2030-03-31" in html
        assert f"&amp;department={medicine.pk}" in html

    def test_an_unknown_department_is_a_field_error(self, admin_client):
        response = admin_client.get(STATISTICS, {**RANGE, "department": "987654"})
        assert response.status_code == 400
        assert "department" in response.context["form"].errors

    def test_the_csv_holds_exactly_the_table(self, admin_client, known_visits):
        params = {**RANGE, "department": known_visits["surgery"].pk}
        page = admin_client.get(STATISTICS, params).content.decode()
        export = admin_client.get(EXPORT, {**params, "table": "windows"})
        assert export.status_code == 200
        assert csv_rows(export) == table_cells(page, "windows")
        assert "windows-20300301-20300331-day-dept" in export["Content-Disposition"]

    def test_the_page_reads_the_curve_in_one_query(self, admin_client, known_visits):
        def count(**extra) -> int:
            with CaptureQueriesContext(connection) as queries:
                assert admin_client.get(STATISTICS, {**RANGE, **extra}).status_code == 200
            return sum("GROUP BY" in q["sql"] and "window" in q["sql"] for q in queries)

        assert count() == 1
        assert count(department=known_visits["medicine"].pk) == 1


class TestAPI:
    def test_the_curve(self, admin_user, known_visits):
        api = bearer_client(admin_user)
        response = api.get(API, {"start_date": "2030-03-01", "end_date": "2030-03-31"})
        assert response.status_code == 200
        assert response.json() == {
            "start_date": "2030-03-01",
            "end_date": "2030-03-31",
            "dept_id": None,
            "visit_count": 8,
            "results": [
                {
                    "window_start": "09:00:00",
                    "visit_count": 4,
                    "late_count": 1,
                    "left_unseen_count": 0,
                },
                {
                    "window_start": "09:30:00",
                    "visit_count": 1,
                    "late_count": 0,
                    "left_unseen_count": 1,
                },
                {
                    "window_start": "14:00:00",
                    "visit_count": 3,
                    "late_count": 0,
                    "left_unseen_count": 0,
                },
            ],
        }

    def test_one_department(self, admin_user, known_visits):
        api = bearer_client(admin_user)
        surgery = known_visits["surgery"].pk
        response = api.get(API, {**RANGE, "dept_id": surgery})
        assert response.json()["dept_id"] == surgery
        assert response.json()["visit_count"] == 4

    @pytest.mark.parametrize(
        "query,field",
        [
            ({"start_date": "2030-03-31", "end_date": "2030-03-01"}, "end_date"),
            ({"start_date": "yesterday"}, "start_date"),
            ({"dept_id": "surgery"}, "dept_id"),
            ({"dept_id": ""}, "dept_id"),
        ],
    )
    def test_bad_input_is_the_unified_error(self, admin_user, query, field):
        response = bearer_client(admin_user).get(API, query)
        assert response.status_code == 400
        assert field in response.json()["error"]["details"]

    @pytest.mark.parametrize("persona", ["patient", "receptionist", "doctor"])
    def test_administrators_only(self, personas, persona):
        assert bearer_client(personas[persona]).get(API).status_code == 403
