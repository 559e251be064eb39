"""Every CSV export of the project writes names typed by people so that no spreadsheet runs
them as formulas (clinic.exports.safe_cell), in the takings and the statistics exports."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

from billing.models import DailyIncomeSummary
from billing.tests.factories import IncomeRecordFactory
from clinic.exports import safe_cell
from clinic.tests.factories import DepartmentFactory, DoctorFactory, PatientFactory, RoomFactory
from scheduling.tests.factories import ScheduleFactory
from visits.models import VisitDailySummary

FORMULAS = [
    '=HYPERLINK("http://evil.example","x")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\tTAB",
    "\rCR",
    "＝1+1",
    "＋1",
    "－1",
    "＠SUM(A1)",
]


@pytest.mark.parametrize("value", FORMULAS)
def test_text_that_starts_a_formula_is_written_as_text(value):
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["-12.50", "+3", "张三", "A-1", "", 12, None])
def test_numbers_and_plain_text_are_left_alone(value):
    assert safe_cell(value) == ("" if value is None else value)


def _rows(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _no_cell_runs(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not cell.startswith(("=", "+", "@", "\t", "\r", "＝", "＋", "－", "＠")), cell
            if cell.startswith("-"):
                float(cell)  # only a number may start with a minus


@pytest.fixture
def hostile_payment(db):
    """A paid visit whose patient, department, doctor and room are named like formulas."""
    department = DepartmentFactory(name="=HYPERLINK(1)", code="EVIL")
    doctor = DoctorFactory(name="@SUM(1)", department=department)
    room = RoomFactory(room_number="-1+1", department=department)
    schedule = ScheduleFactory(department=department, doctor=doctor, room=room)
    patient = PatientFactory(name="＝cmd")
    income = IncomeRecordFactory(
        bill__visit__schedule=schedule,
        bill__visit__department=department,
        bill__visit__patient=patient,
        department=department,
        doctor=doctor,
    )
    # The statistics read the daily summaries, which the factories do not keep in step.
    DailyIncomeSummary.rebuild()
    VisitDailySummary.rebuild()
    return income


@pytest.mark.parametrize("kind", ["bills", "income"])
def test_the_takings_export(client, receptionist, hostile_payment, kind):
    client.force_login(receptionist)
    rows = _rows(client.get(reverse("billing:reports-export"), {"kind": kind}))
    assert len(rows) == 2
    _no_cell_runs(rows)
    assert "'=HYPERLINK(1)" in rows[1]
    assert "'@SUM(1)" in rows[1]
    if kind == "bills":
        assert "'＝cmd" in rows[1]
        assert "'-1+1" in rows[1]


@pytest.mark.parametrize("table", ["income", "visits"])
@pytest.mark.parametrize("group_by", ["department", "doctor"])
def test_the_statistics_exports(admin_client, hostile_payment, table, group_by):
    day = hostile_payment.record_date.isoformat()
    visit_day = hostile_payment.bill.visit.visit_date.isoformat()
    start, end = min(day, visit_day), max(day, visit_day)
    rows = _rows(
        admin_client.get(
            reverse("billing:statistics-export"),
            {"table": table, "group_by": group_by, "start_date": start, "end_date": end},
        )
    )
    _no_cell_runs(rows)
    expected = "'=HYPERLINK(1)" if group_by == "department" else "'@SUM(1)"
    assert any(expected in cell for row in rows for cell in row)
