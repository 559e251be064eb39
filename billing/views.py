"""Administrators' statistics page: income and visits as charts and tables, and CSV exports.

The page and the exports build their tables with the same functions, so that a CSV file
holds exactly what the table shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_GET

from billing.cashier import MethodTotal
from billing.forms import StatisticsExportForm, StatisticsForm, StatisticsTable
from billing.selectors import (
    CategoryRow,
    IncomeRow,
    WindowLoadRow,
    income_by_category,
    income_by_group,
    income_by_method,
    visits_by_window,
)
from clinic.exports import csv_response
from clinic.models import Role
from clinic.roles import role_required
from clinic.statistics import Grouping
from visits.models import VisitStatus
from visits.statistics import VisitRow, visits_by_group

CENT = Decimal("0.01")


def total_label() -> str:
    """The label of both tables' total row (合计). Its own context: the bare "Total" is the
    bills' total amount (总费用), which is not what a row of sums is called."""
    return pgettext("statistics table row of sums", "Total")


@dataclass
class Table:
    """A statistics table as the page shows it: every cell a string, except money, a Decimal
    that the page writes as money (clinic_format's `cell` filter) and the CSV as a number."""

    name: str
    caption: str
    headers: list[str]
    rows: list[list[str | Decimal]]
    footer: list[str | Decimal]
    chart: dict[str, Any] = field(default_factory=dict)
    note: str = ""

    @property
    def chart_id(self) -> str:
        """The id of the json_script element that holds the chart's data."""
        return f"stats-{self.name}-data"


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT)


def _group_header(group_by: str) -> str:
    return str(Grouping(group_by).label)


def _counted_amounts(
    rows: Sequence[Any], count: str, amounts: Sequence[str]
) -> tuple[list[list[Any]], list[Any]]:
    """The rows as [label, count, amounts in cents], and the footer of their totals."""
    body = [
        [row.label, str(getattr(row, count)), *(_money(getattr(row, name)) for name in amounts)]
        for row in rows
    ]
    footer = [
        total_label(),
        str(sum(getattr(row, count) for row in rows)),
        *(_money(sum((getattr(row, name) for row in rows), Decimal(0))) for name in amounts),
    ]
    return body, footer


def _income_chart(rows: Sequence[Any], parts: Sequence[tuple[Any, str]]) -> dict[str, Any]:
    """Stacked bars of the rows' income: one dataset per (label, amount) part."""
    return {
        "type": "bar",
        "stacked": True,
        "labels": [row.label for row in rows],
        "yTitle": _("Income (¥)"),
        "datasets": [
            {"label": label, "data": [float(getattr(row, name)) for row in rows]}
            for label, name in parts
        ],
    }


def income_table(rows: list[IncomeRow], *, group_by: str) -> Table:
    body, footer = _counted_amounts(rows, "payments", ("total", "insurance", "self_pay"))
    return Table(
        name=StatisticsTable.INCOME,
        caption=_("Income"),
        headers=[
            _group_header(group_by),
            _("Payments"),
            _("Total (¥)"),
            _("Insurance (¥)"),
            _("Self-pay (¥)"),
        ],
        rows=body,
        footer=footer,
        chart=_income_chart(rows, [(_("Insurance"), "insurance"), (_("Self-pay"), "self_pay")]),
    )


def visits_table(rows: list[VisitRow], *, group_by: str) -> Table:
    status_labels = [str(label) for label in VisitStatus.labels]
    status_totals = [
        sum(row.by_status.get(status, 0) for row in rows) for status in VisitStatus.values
    ]
    return Table(
        name=StatisticsTable.VISITS,
        caption=_("Visits"),
        headers=[_group_header(group_by), _("Visits"), _("Distinct patients"), *status_labels],
        rows=[
            [row.label, str(row.visits), str(row.patients), *map(str, row.status_counts())]
            for row in rows
        ],
        # Distinct patients do not add up across rows: no total for them.
        footer=[
            total_label(),
            str(sum(row.visits for row in rows)),
            "",
            *map(str, status_totals),
        ],
        note=_("Distinct patients are counted within each row; they do not add up."),
        chart={
            "type": "bar",
            "stacked": True,
            "labels": [row.label for row in rows],
            "yTitle": _("Visits"),
            "datasets": [
                *(
                    {"label": label, "data": [row.by_status.get(status, 0) for row in rows]}
                    for status, label in zip(VisitStatus.values, status_labels, strict=True)
                ),
                {
                    "label": _("Distinct patients"),
                    "type": "line",
                    "data": [row.patients for row in rows],
                },
            ],
        },
    )


def category_table(rows: list[CategoryRow]) -> Table:
    """Income by fee category over the range (not grouped by day, department or doctor): its
    total is the income table's total."""
    body, footer = _counted_amounts(rows, "lines", ("total", "insured", "self_pay"))
    return Table(
        name=StatisticsTable.CATEGORIES,
        caption=_("Income by category"),
        headers=[
            _("Category"),
            _("Lines"),
            _("Amount (¥)"),
            _("Insured, estimated (¥)"),
            _("Self-pay, estimated (¥)"),
        ],
        rows=body,
        footer=footer,
        note=_(
            "Insured and self-pay parts are the bill lines' estimates; where the insurance "
            "bureau's figure replaced a bill's estimate, the income table shows that figure."
        ),
        chart=_income_chart(rows, [(_("Insured"), "insured"), (_("Self-pay"), "self_pay")]),
    )


def method_table(rows: list[MethodTotal]) -> Table:
    """Money per payment method over the range (not grouped): the tenders taken, the
    refunds paid back by the method on their own dates, and the net."""
    body = [
        [
            row.label,
            str(row.tenders),
            _money(row.taken),
            str(row.refunds),
            _money(row.given_back),
            _money(row.net),
        ]
        for row in rows
    ]
    footer = [
        total_label(),
        str(sum(row.tenders for row in rows)),
        _money(sum((row.taken for row in rows), Decimal(0))),
        str(sum(row.refunds for row in rows)),
        _money(sum((row.given_back for row in rows), Decimal(0))),
        _money(sum((row.net for row in rows), Decimal(0))),
    ]
    return Table(
        name=StatisticsTable.METHODS,
        caption=_("Income by payment method"),
        headers=[
            _("Payment method"),
            _("Tenders"),
            _("Taken (¥)"),
            _("Refunds"),
            _("Paid back (¥)"),
            _("Net (¥)"),
        ],
        rows=body,
        footer=footer,
        note=_(
            "The self-pay money only: the insurance part of each bill is settled with the "
            "insurance bureau. A refund counts on the day it was paid back."
        ),
        chart={
            "type": "bar",
            "stacked": False,
            "labels": [row.label for row in rows],
            "yTitle": _("Income (¥)"),
            "datasets": [
                {"label": _("Taken"), "data": [float(row.taken) for row in rows]},
                {"label": _("Paid back"), "data": [float(row.given_back) for row in rows]},
                {
                    "label": _("Net"),
                    "type": "line",
                    "data": [float(row.net) for row in rows],
                },
            ],
        },
    )


def window_table(rows: list[WindowLoadRow]) -> Table:
    """The load curve: visits by the start time of their window, over the range (and the
    department chosen)."""
    return Table(
        name=StatisticsTable.WINDOWS,
        caption=_("Visits by window"),
        headers=[_("Window starts"), _("Visits"), _("Arrived late"), _("Left unseen")],
        rows=[[row.label, str(row.visits), str(row.late), str(row.left_unseen)] for row in rows],
        footer=[
            total_label(),
            str(sum(row.visits for row in rows)),
            str(sum(row.late for row in rows)),
            str(sum(row.left_unseen for row in rows)),
        ],
        note=_(
            "Every visit counts in the window it was booked or registered in (a late arrival "
            "too), whatever its status."
        ),
        chart={
            "type": "bar",
            "stacked": False,
            "labels": [row.label for row in rows],
            "yTitle": _("Visits"),
            "datasets": [
                {"label": _("Visits"), "data": [row.visits for row in rows]},
                {"label": _("Arrived late"), "type": "line", "data": [row.late for row in rows]},
            ],
        },
    )


def build_table(name: str, cleaned: dict[str, Any]) -> Table:
    params = {
        "start_date": cleaned["start_date"],
        "end_date": cleaned["end_date"],
        "group_by": cleaned["group_by"],
    }
    if name == StatisticsTable.INCOME:
        return income_table(income_by_group(**params), group_by=params["group_by"])
    if name == StatisticsTable.CATEGORIES:
        return category_table(
            income_by_category(start_date=params["start_date"], end_date=params["end_date"])
        )
    if name == StatisticsTable.WINDOWS:
        return window_table(
            visits_by_window(
                start_date=params["start_date"],
                end_date=params["end_date"],
                department=cleaned.get("department"),
            )
        )
    if name == StatisticsTable.METHODS:
        return method_table(
            income_by_method(start_date=params["start_date"], end_date=params["end_date"])
        )
    return visits_table(visits_by_group(**params), group_by=params["group_by"])


@role_required(Role.ADMIN)
@require_GET
def statistics(request: HttpRequest) -> HttpResponse:
    form = StatisticsForm.from_query(request.GET)
    context: dict[str, Any] = {"form": form, "tables": []}
    status = 200
    if form.is_valid():
        context["tables"] = [
            build_table(StatisticsTable.INCOME, form.cleaned_data),
            build_table(StatisticsTable.CATEGORIES, form.cleaned_data),
            build_table(StatisticsTable.METHODS, form.cleaned_data),
            build_table(StatisticsTable.VISITS, form.cleaned_data),
            build_table(StatisticsTable.WINDOWS, form.cleaned_data),
        ]
        department = form.cleaned_data.get("department")
        context["query"] = {
            "start_date": form.cleaned_data["start_date"].isoformat(),
            "end_date": form.cleaned_data["end_date"].isoformat(),
            "group_by": form.cleaned_data["group_by"],
            "department": department.pk if department else "",
        }
        context["department"] = department
    else:
        status = 400
    template = "billing/statistics.html"
    if request.htmx:
        template += "#statistics-results"
    return render(request, template, context, status=status)


@role_required(Role.ADMIN)
@require_GET
def statistics_export(request: HttpRequest) -> HttpResponse:
    """One table as CSV (UTF-8 with a byte-order mark, so that spreadsheets read Chinese)."""
    form = StatisticsExportForm.from_query(request.GET)
    if not form.is_valid():
        return HttpResponse(
            "\n".join(f"{name}: {' '.join(errors)}" for name, errors in form.errors.items()),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    data = form.cleaned_data
    table = build_table(data["table"], data)
    filename = (
        f"{table.name}-{data['start_date']:%Y%m%d}-{data['end_date']:%Y%m%d}-{data['group_by']}.csv"
    )
    if table.name == StatisticsTable.WINDOWS and data.get("department"):
        filename = filename.replace(".csv", f"-dept{data['department'].pk}.csv")
    return csv_response(filename, (table.headers, *table.rows, table.footer))
