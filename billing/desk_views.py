"""The front desk's billing pages: payment with a receipt, and the takings reports."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
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

from billing.amounts import Amounts, to_cents, validate_amounts
from billing.cashier import current_shift
from billing.cashier_forms import OpenShiftForm, TenderForm, add_tender_errors, tender_summary
from billing.exceptions import InvalidAmounts, InvalidTenders
from billing.models import Bill
from billing.pricing import BillDraft, group_by_category
from billing.refunds import can_refund
from billing.reports import ReportFilterForm, filtered_bills, filtered_income, takings
from billing.services import bill_preview, settle_visit
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
    """A visit without charges: the desk types the total and the insurance part (one manual
    line, with a reason)."""

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
    manual_reason = forms.CharField(
        label=gettext_lazy("Reason (optional)"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("What the amount is for; a standard text when left empty."),
    )

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for name in ("total_amount", "insurance_amount"):
            self.fields[name].widget.attrs.update(
                {"inputmode": "decimal", "step": "0.01", "min": "0"}
            )
        # The desk comes here to type the total: the cursor is already there.
        self.fields["total_amount"].widget.attrs["autofocus"] = True


class ItemisedPaymentForm(forms.Form):
    """A visit with charges: the lines decide the amounts; the desk may replace the
    estimated insurance with the insurance bureau's figure, giving the reason."""

    insurance_amount = forms.DecimalField(
        label=gettext_lazy("Bureau's figure for insurance (¥, optional)"),
        min_value=0,
        max_digits=10,
        decimal_places=2,
        required=False,
        help_text=gettext_lazy("Leave empty to use the estimate."),
    )
    override_reason = forms.CharField(
        label=gettext_lazy("Reason for the bureau's figure"),
        max_length=200,
        required=False,
    )
    # The figures the page showed: a bill that changed since (another line, another plan)
    # is refused, not paid blind.
    expected_total = forms.DecimalField(
        max_digits=10, decimal_places=2, required=False, widget=forms.HiddenInput
    )
    expected_self_pay = forms.DecimalField(
        max_digits=10, decimal_places=2, required=False, widget=forms.HiddenInput
    )

    @staticmethod
    def expected(draft: BillDraft) -> dict[str, Decimal]:
        """The figures a page showing `draft` expects to settle."""
        return {"expected_total": draft.total, "expected_self_pay": draft.self_pay}

    @classmethod
    def showing(cls, draft: BillDraft, data: Any = None) -> ItemisedPaymentForm:
        """The form for a page that shows `draft`: its figures are the ones to expect,
        whatever an earlier page (refused since) expected."""
        shown = cls.expected(draft)
        if data is not None:
            data = data.copy()
            data.update({name: str(value) for name, value in shown.items()})
        return cls(data, initial=shown)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["insurance_amount"].widget.attrs.update(
            {"inputmode": "decimal", "step": "0.01", "min": "0"}
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        figure = cleaned.get("insurance_amount")
        reason = (cleaned.get("override_reason") or "").strip()
        if figure is not None and not reason:
            self.add_error("override_reason", _("Give the reason for the bureau's figure."))
        if reason and figure is None and "insurance_amount" not in self.errors:
            self.add_error("insurance_amount", _("Enter the bureau's figure for insurance."))
        return cleaned


def _settlement_amounts(draft: BillDraft, data: Any) -> Amounts:
    """The split the settlement will make, by its own rules: the lines' for an itemised
    bill (the page's figures, or total − the bureau's figure when one is typed), total −
    insurance for a typed one. `data` is a payment form's cleaned data or the live page's
    query. InvalidAmounts when the figures break a rule."""
    if not draft.lines:
        return validate_amounts(
            data.get("total_amount") or "0", data.get("insurance_amount") or "0"
        )
    total = _shown(data, "expected_total", draft.total)
    figure = data.get("insurance_amount")
    if figure is not None and str(figure).strip():
        return validate_amounts(total, figure)
    self_pay = _shown(data, "expected_self_pay", draft.self_pay)
    # The figures the page showed, as shown: a bill changed since is the settlement's to
    # refuse (it says why), not a rule of amounts.
    return Amounts(total=total, insurance=total - self_pay, self_pay=self_pay)


def _shown(data: Any, name: str, default: Decimal) -> Decimal:
    """A figure the page showed (a hidden field), or the bill's own when none was sent."""
    value = data.get(name)
    if value is None or not str(value).strip():
        return default
    errors: dict[str, list[str]] = {}
    amount = to_cents(value, name, errors)
    if amount is None:
        raise InvalidAmounts(details=errors)
    return amount


def _live_self_pay(request: HttpRequest, draft: BillDraft) -> HttpResponse:
    """The self-pay part, the cash left to pay and the change as the desk types (HTMX):
    the settlement's own rules."""
    preview = None
    error = None
    summary = None
    try:
        preview = _settlement_amounts(draft, request.GET)
        summary = tender_summary(preview.self_pay, request.GET)
    except InvalidAmounts as caught:
        error = caught
    return render(
        request,
        "billing/pay.html#self-pay",
        {"preview": preview, "preview_error": error, "summary": summary},
    )


@role_required(*DESK_ROLES)
@require_http_methods(["GET", "POST"])
def pay(request: HttpRequest, visit_pk: int) -> HttpResponse:
    """Settle a visit awaiting payment. With charges: its lines by category, priced with
    the patient's plan, and an optional bureau's figure for insurance; without: the total
    and insurance typed. Self-pay is computed (and shown live) by the settlement's rules,
    and paid by tenders: cash first (handed over, the change shown), then other methods
    with their reference. Money is taken only in the cashier's open shift."""
    visit = get_object_or_404(
        Visit.objects.select_related("patient__insurance_plan", "department", "schedule__doctor"),
        pk=visit_pk,
    )
    draft = bill_preview(visit)
    if request.htmx and request.method == "GET":
        return _live_self_pay(request, draft)
    data = request.POST if request.method == "POST" else None
    if draft.lines:
        form: forms.Form = ItemisedPaymentForm(data, initial=ItemisedPaymentForm.expected(draft))
    else:
        form = PaymentForm(data)
    tender_form = TenderForm(data)
    if draft.lines:
        # Cash first: the cursor waits in "handed over"; Enter with it empty pays exactly.
        tender_form.fields["handed_over"].widget.attrs["autofocus"] = True
    status = 200
    if request.method == "POST":
        forms_valid = form.is_valid()
        if tender_form.is_valid() and forms_valid:
            plan = None
            try:
                plan = tender_form.plan(_settlement_amounts(draft, form.cleaned_data).self_pay)
                bill = _settle(
                    visit, form, itemised=bool(draft.lines), tenders=plan.tenders, by=request.user
                )
            except InvalidTenders as error:
                add_tender_errors(tender_form, error, plan)
                status = error.status
            except ClinicError as error:
                draft = bill_preview(visit)
                if draft.lines:
                    # The page shows the bill as it is now; settling again pays that.
                    form = ItemisedPaymentForm.showing(draft, request.POST)
                    form.is_valid()
                apply_clinic_error(form, error)
                status = error.status
            else:
                messages.success(request, _("Paid. The patient may leave."))
                return redirect("billing:receipt", pk=bill.pk)
        else:
            status = 400
    shift = current_shift(request.user)
    live_fields = ["handed_over", *(f"amount_{row}" for row in tender_form.rows)]
    methods = [f"method_{row}" for row in tender_form.rows]
    return render(
        request,
        "billing/pay.html",
        {
            "summary": _page_summary(draft, form, data),
            "tender_params": ",".join([*live_fields, *methods]),
            "tender_triggers": ", ".join(
                [
                    *(f"input changed delay:200ms from:#id_{name}" for name in live_fields),
                    *(f"change from:#id_{name}" for name in methods),
                ]
            ),
            "visit": visit,
            "form": form,
            "tender_form": tender_form,
            "draft": draft,
            "itemised": bool(draft.lines),
            "plan": visit.patient.insurance_plan,
            "cashier_shift": shift,
            "shift_status": "open" if shift else "none",
            "open_shift_form": None if shift else OpenShiftForm(initial={"next": request.path}),
        },
        status=status,
    )


def _page_summary(draft: BillDraft, form: forms.Form, data: Any) -> Any:
    """The cash left to pay (and the change) as the page first shows it: known for an
    itemised bill, or once the typed amounts are valid."""
    if not draft.lines and not (form.is_bound and form.is_valid()):
        return None
    try:
        figures = form.cleaned_data if form.is_bound and form.is_valid() else {}
        return tender_summary(_settlement_amounts(draft, figures).self_pay, data or {})
    except InvalidAmounts:
        return None


def _settle(
    visit: Visit, form: forms.Form, *, itemised: bool, tenders: list[dict[str, Any]], by: Any
) -> Bill:
    data = form.cleaned_data
    if itemised:
        bureau_figure = data.get("insurance_amount")
        return settle_visit(
            visit=visit,
            total_amount=data.get("expected_total"),
            insurance_amount=bureau_figure,
            # Without the bureau's figure the split is the estimate: the one shown.
            self_pay_amount=data.get("expected_self_pay") if bureau_figure is None else None,
            override_reason=data.get("override_reason") or "",
            tenders=tenders,
            by=by,
        )
    return settle_visit(
        visit=visit,
        total_amount=data["total_amount"],
        insurance_amount=data["insurance_amount"],
        manual_reason=data.get("manual_reason") or "",
        tenders=tenders,
        by=by,
    )


@role_required(*DESK_ROLES)
def receipt(request: HttpRequest, pk: int) -> HttpResponse:
    bill = get_object_or_404(Bill.objects.select_related(*BILL_RELATIONS, "shift"), pk=pk)
    lines = list(bill.lines.order_by("id"))
    tenders = list(bill.tenders.select_related("method").order_by("id"))
    cash = [tender for tender in tenders if tender.method.is_cash]
    handed_over = sum((tender.handed_over for tender in cash), Decimal(0)) if cash else None
    change = sum((tender.change_given for tender in cash), Decimal(0)) if cash else None
    return render(
        request,
        "billing/receipt.html",
        {
            "bill": bill,
            "groups": group_by_category(lines),
            "overridden": bool(bill.insurance_override_reason),
            "tenders": tenders,
            "handed_over": handed_over,
            "change": change,
            "refunds": list(bill.refunds.select_related("method").order_by("created_at", "id")),
            "can_refund": can_refund(bill, request.user),
        },
    )


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
        _("Payment status"), _("Cashier"), _("Refunded amount"),
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
            bill.refunded_amount,
        ]


def _income_rows(form: ReportFilterForm) -> Iterator[list[Any]]:
    # A refund's record is a row of its own, its amounts negative, its refund's number last.
    yield [
        _("Date"), _("Bill number"), _("Department"), _("Doctor"), _("Amount"),
        _("Insurance"), _("Self-pay"), _("Refund number"),
    ]  # fmt: skip
    for record in filtered_income(form).iterator(chunk_size=500):
        yield [
            record.record_date.isoformat(),
            record.bill.number,
            record.department.name,
            record.doctor.name if record.doctor else "",
            record.amount,
            record.insurance_amount,
            record.self_pay_amount,
            record.refund.number if record.refund else "",
        ]
