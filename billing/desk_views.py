"""The front desk's billing pages: payment with a receipt, and the takings reports."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from billing.exceptions import InvalidAmounts
from billing.models import Bill
from billing.reports import ReportFilterForm, filtered_bills, filtered_income, takings
from billing.services import settle_visit, validate_amounts
from clinic.exceptions import ClinicError
from clinic.exports import csv_response
from clinic.forms import apply_clinic_error
from clinic.models import department_name_in_language
from clinic.privacy import mask_id_card
from clinic.roles import DESK_ROLES, role_required
from visits.models import Visit

BILL_RELATIONS = (
    "visit__patient",
    "visit__department",
    "visit__schedule__doctor",
    "visit__schedule__room",
    "cashier",
)


class PaymentForm(forms.Form):
    total_amount = forms.DecimalField(
        label=gettext_lazy("Total (¥)"), min_value=0, max_digits=10, decimal_places=2
    )
    insurance_amount = forms.DecimalField(
        label=gettext_lazy("Paid by insurance (¥)"),
        min_value=0,
        max_digits=10,
        decimal_places=2,
        initial=0,
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.update({"inputmode": "decimal", "step": "0.01", "min": "0"})
        # The desk comes here to type the total: the cursor is already there.
        self.fields["total_amount"].widget.attrs["autofocus"] = True


@role_required(*DESK_ROLES)
@require_http_methods(["GET", "POST"])
def pay(request: HttpRequest, visit_pk: int) -> HttpResponse:
    """Settle a visit awaiting payment: self-pay is computed (and shown live) by the
    settlement's own rules."""
    visit = get_object_or_404(
        Visit.objects.select_related("patient", "department", "schedule__doctor"), pk=visit_pk
    )
    if request.htmx and request.method == "GET":
        preview = None
        try:
            preview = validate_amounts(
                request.GET.get("total_amount") or "0", request.GET.get("insurance_amount") or "0"
            )
            error = None
        except InvalidAmounts as caught:
            error = caught
        return render(
            request, "billing/pay.html#self-pay", {"preview": preview, "preview_error": error}
        )
    form = PaymentForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                bill = settle_visit(
                    visit=visit,
                    total_amount=form.cleaned_data["total_amount"],
                    insurance_amount=form.cleaned_data["insurance_amount"],
                    by=request.user,
                )
            except ClinicError as error:
                apply_clinic_error(form, error)
                status = error.status
            else:
                messages.success(request, _("Paid. The patient may leave."))
                return redirect("billing:receipt", pk=bill.pk)
        else:
            status = 400
    return render(request, "billing/pay.html", {"visit": visit, "form": form}, status=status)


@role_required(*DESK_ROLES)
def receipt(request: HttpRequest, pk: int) -> HttpResponse:
    bill = get_object_or_404(Bill.objects.select_related(*BILL_RELATIONS), pk=pk)
    return render(request, "billing/receipt.html", {"bill": bill})


@role_required(*DESK_ROLES)
def reports(request: HttpRequest) -> HttpResponse:
    """Today's (or the chosen range's) takings, and the bills or income records behind them."""
    form = ReportFilterForm(request.GET or None)
    kind = "income" if request.GET.get("kind") == "income" else "bills"
    income = filtered_income(form)
    rows = filtered_bills(form) if kind == "bills" else income
    start, end = form.date_range()
    return render(
        request,
        "billing/reports.html",
        {
            "form": form,
            "kind": kind,
            "start": start,
            "end": end,
            "totals": takings(income),
            "by_department": takings(
                income.annotate(department_name=department_name_in_language("department__")),
                group_by="department_name",
                key="department_id",
            ),
            "by_doctor": takings(income, group_by="doctor__name", key="doctor_id"),
            "page": Paginator(rows, 50).get_page(request.GET.get("page")),
        },
    )


@role_required(*DESK_ROLES)
def reports_export(request: HttpRequest) -> HttpResponse:
    """CSV of exactly the filtered rows (bills, or income records with ?kind=income)."""
    form = ReportFilterForm(request.GET or None)
    kind = "income" if request.GET.get("kind") == "income" else "bills"
    start, end = form.date_range()
    rows = _bill_rows(form) if kind == "bills" else _income_rows(form)
    return csv_response(f"{kind}-{start}-{end}.csv", rows)


def _bill_rows(form: ReportFilterForm) -> Iterator[list[Any]]:
    yield [
        _("Bill number"), _("Paid at"), _("Patient"), _("ID number"), _("Department"),
        _("Doctor"), _("Room"), _("Total"), _("Insurance"), _("Self-pay"),
        _("Payment status"), _("Cashier"),
    ]  # fmt: skip
    for bill in filtered_bills(form).iterator(chunk_size=500):
        visit = bill.visit
        yield [
            bill.number,
            timezone.localtime(bill.pay_time).strftime("%Y-%m-%d %H:%M") if bill.pay_time else "",
            visit.patient.name,
            mask_id_card(visit.patient.id_card),
            visit.department.name,
            visit.schedule.doctor.name,
            visit.schedule.room.room_number,
            bill.total_amount,
            bill.insurance_amount,
            bill.self_pay_amount,
            bill.get_pay_status_display(),
            bill.cashier.username if bill.cashier else "",
        ]


def _income_rows(form: ReportFilterForm) -> Iterator[list[Any]]:
    yield [_("Date"), _("Bill number"), _("Department"), _("Doctor"), _("Amount")]
    for record in filtered_income(form).iterator(chunk_size=500):
        yield [
            record.record_date.isoformat(),
            record.bill.number,
            record.department.name,
            record.doctor.name if record.doctor else "",
            record.amount,
        ]
