"""The cashier's pages: the shift panel (open with the float, running totals, close with the
drawer counted), the printable close report, and the manager's day-end page with the
reopening of a closed shift. Every change is one call to billing.cashier; its refusals come
back as field errors with their 4xx status."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from billing.amounts import to_cents
from billing.cashier import (
    MethodTotal,
    ShiftReport,
    close_shift,
    current_shift,
    day_report,
    open_shift,
    reopen_shift,
    shift_report,
    visible_shifts,
)
from billing.cashier_forms import (
    CloseShiftForm,
    DayEndForm,
    OpenShiftForm,
    RefundForm,
    ReopenShiftForm,
    add_refund_errors,
)
from billing.models import Bill, CashierShift, Refund, ShiftStatus
from billing.refunds import can_refund, refund_bill, refund_methods
from clinic.exceptions import ClinicError
from clinic.forms import apply_clinic_error
from clinic.models import Role, User
from clinic.roles import DESK_ROLES, role_required

BILL_RELATIONS = (
    "visit__patient",
    "visit__department",
    "visit__schedule__doctor",
    "cashier",
)
# Shifts a cashier finds on the panel after closing them (their close reports).
RECENT_SHIFTS = 5


def get_shift_for(user: User, pk: int) -> CashierShift:
    """A shift the user may see (billing.cashier.visible_shifts), or 404."""
    return get_object_or_404(visible_shifts(user), pk=pk)


def _safe_next(request: HttpRequest, target: str | None) -> str | None:
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return None


def _difference(report: ShiftReport, counted: str) -> Decimal | None:
    errors: dict[str, list[str]] = {}
    amount = to_cents(counted, "counted_cash", errors) if counted.strip() else None
    if amount is None or amount < 0:
        return None
    return amount - report.expected_cash


def _render_panel(
    request: HttpRequest,
    *,
    open_form: OpenShiftForm | None = None,
    close_form: CloseShiftForm | None = None,
    status: int = 200,
) -> HttpResponse:
    shift = current_shift(request.user)
    report = shift_report(shift) if shift else None
    recent = (
        CashierShift.objects.select_related("cashier", "closed_by")
        .filter(cashier=request.user, status=ShiftStatus.CLOSED)
        .order_by("-closed_at", "-id")[:RECENT_SHIFTS]
    )
    difference = None
    if report and close_form is not None and close_form.is_bound:
        difference = _difference(report, close_form.data.get("counted_cash") or "")
    return render(
        request,
        "billing/shift.html",
        {
            "shift": shift,
            "report": report,
            "open_form": open_form or OpenShiftForm(),
            "close_form": close_form or CloseShiftForm(),
            "difference": difference,
            "recent": list(recent),
            "shift_status": "open" if shift else "none",
        },
        status=status,
    )


@role_required(*DESK_ROLES)
@require_GET
def shift_panel(request: HttpRequest) -> HttpResponse:
    """The cashier's own shift: open it with the float, or see its running totals and
    close it with the cash counted (the difference shown as it is typed)."""
    if request.htmx and "counted_cash" in request.GET:
        shift = current_shift(request.user)
        report = shift_report(shift) if shift else None
        difference = _difference(report, request.GET["counted_cash"]) if report else None
        return render(
            request, "billing/shift.html#difference", {"difference": difference, "report": report}
        )
    return _render_panel(request)


@role_required(*DESK_ROLES)
@require_POST
def shift_open(request: HttpRequest) -> HttpResponse:
    form = OpenShiftForm(request.POST)
    if not form.is_valid():
        return _render_panel(request, open_form=form, status=400)
    try:
        open_shift(by=request.user, opening_float=form.cleaned_data["opening_float"])
    except ClinicError as error:
        apply_clinic_error(form, error)
        return _render_panel(request, open_form=form, status=error.status)
    messages.success(request, _("Your shift is open. You may take money."))
    return redirect(_safe_next(request, form.cleaned_data.get("next")) or "billing:shift")


@role_required(*DESK_ROLES)
@require_POST
def shift_close(request: HttpRequest, pk: int) -> HttpResponse:
    """Close a shift with the cash counted: the cashier's own from the panel, or (a manager)
    a shift left open from the day end, whose form names its fields after the shift."""
    shift = get_shift_for(request.user, pk)
    prefix = f"close-{shift.pk}"
    from_day_end = f"{prefix}-counted_cash" in request.POST
    form = CloseShiftForm(request.POST, prefix=prefix if from_day_end else None)

    def refused(status: int) -> HttpResponse:
        if from_day_end:
            day_form = DayEndForm({"date": (form.data.get(f"{prefix}-date") or "").strip()})
            return _render_day_end(
                request, form=day_form, failed_close=(shift.pk, form), status=status
            )
        return _render_panel(request, close_form=form, status=status)

    if not form.is_valid():
        return refused(400)
    try:
        close_shift(
            shift=shift,
            counted_cash=form.cleaned_data["counted_cash"],
            note=form.cleaned_data.get("note") or "",
            by=request.user,
        )
    except ClinicError as error:
        apply_clinic_error(form, error)
        return refused(error.status)
    messages.success(request, _("The shift is closed. Print the close report."))
    return redirect("billing:shift-report", pk=shift.pk)


@role_required(*DESK_ROLES)
@require_GET
def shift_report_page(request: HttpRequest, pk: int) -> HttpResponse:
    """The shift's report on one A4 sheet: per method, per category, the counts, and (once
    closed) the drawer's count and its difference."""
    shift = get_shift_for(request.user, pk)
    return render(
        request,
        "billing/shift_report.html",
        {"shift": shift, "report": shift_report(shift)},
    )


# --- The manager's day end ------------------------------------------------------------


@dataclass
class ShiftRow:
    report: ShiftReport
    nets: list[Decimal | None]
    reopen_form: ReopenShiftForm | None


def _render_day_end(
    request: HttpRequest,
    *,
    form: DayEndForm | None = None,
    failed: tuple[int, ReopenShiftForm] | None = None,
    failed_close: tuple[int, CloseShiftForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    if form is None:
        # The field shows the day the page shows: today when none was asked for.
        asked = request.GET if "date" in request.GET else None
        form = DayEndForm(asked or {"date": timezone.localdate().isoformat()})
    day = form.day()
    report = day_report(day)
    columns: list[MethodTotal] = report.methods
    rows = []
    for shift_rep in report.shifts:
        by_method = {row.method.pk: row for row in shift_rep.methods}
        nets = [
            by_method[total.method.pk].net if total.method.pk in by_method else None
            for total in columns
        ]
        reopen_form = None
        if not shift_rep.shift.is_open:
            if failed is not None and failed[0] == shift_rep.shift.pk:
                reopen_form = failed[1]
            else:
                reopen_form = ReopenShiftForm(
                    initial={"date": day.isoformat()}, prefix=f"shift-{shift_rep.shift.pk}"
                )
        rows.append(ShiftRow(shift_rep, nets, reopen_form))
    shown = failed is not None and any(row.reopen_form is failed[1] for row in rows)
    # A shift left open can be closed by a manager here (its cashier has gone home).
    left_open = [
        (
            open_shift_row,
            failed_close[1]
            if failed_close is not None and failed_close[0] == open_shift_row.pk
            else CloseShiftForm(prefix=f"close-{open_shift_row.pk}", initial={"date": day}),
        )
        for open_shift_row in report.left_open
    ]
    return render(
        request,
        "billing/day_end.html",
        {
            "form": form,
            "day": day,
            "report": report,
            "columns": columns,
            "rows": rows,
            "reopenable": any(row.reopen_form is not None for row in rows),
            "left_open": left_open,
            # A refusal for a shift the page no longer lists (another day): said on top.
            "failed_form": failed[1] if failed is not None and not shown else None,
        },
        status=status,
    )


@role_required(Role.ADMIN)
@require_GET
def day_end(request: HttpRequest) -> HttpResponse:
    """The manager's day: each shift opened that day with its net per method and its
    drawer, the day's totals, and every shift still open (of any day) flagged."""
    return _render_day_end(request)


@role_required(Role.ADMIN)
@require_POST
def shift_reopen(request: HttpRequest, pk: int) -> HttpResponse:
    shift = get_shift_for(request.user, pk)
    form = ReopenShiftForm(request.POST, prefix=f"shift-{shift.pk}")
    # The page the form came from: its day, not today.
    day_form = DayEndForm({"date": (request.POST.get(f"shift-{shift.pk}-date") or "").strip()})
    day = day_form.day()
    if not form.is_valid():
        return _render_day_end(request, form=day_form, failed=(shift.pk, form), status=400)
    try:
        reopen_shift(shift=shift, reason=form.cleaned_data["reason"], by=request.user)
    except ClinicError as error:
        apply_clinic_error(form, error)
        return _render_day_end(request, form=day_form, failed=(shift.pk, form), status=error.status)
    messages.success(request, _("The shift is open again; its cashier closes it once more."))
    return redirect(reverse("billing:day-end") + f"?date={day.isoformat()}")


# --- Refunds --------------------------------------------------------------------------


def _refund_page(
    request: HttpRequest, bill: Bill, form: RefundForm, *, status: int = 200
) -> HttpResponse:
    shift = current_shift(request.user)
    return render(
        request,
        "billing/refund.html",
        {
            "bill": bill,
            "form": form,
            "cashier_shift": shift,
            "shift_status": "open" if shift else "none",
            "open_shift_form": None if shift else OpenShiftForm(initial={"next": request.path}),
        },
        status=status,
    )


@role_required(*DESK_ROLES)
@require_http_methods(["GET", "POST"])
def refund(request: HttpRequest, pk: int) -> HttpResponse:
    """Refund lines of a paid bill (each whole or part of its quantity), with a reason, paid
    back by cash or the bill's own method. By the bill's cashier on the day, otherwise by a
    manager (billing.refunds.can_refund); in the refunder's open shift."""
    bill = get_object_or_404(Bill.objects.select_related(*BILL_RELATIONS, "shift"), pk=pk)
    if not bill.refundable:
        messages.info(request, _("This bill has nothing left to refund."))
        return redirect("billing:receipt", pk=bill.pk)
    if not can_refund(bill, request.user):
        raise PermissionDenied
    lines = list(bill.lines.order_by("id"))
    methods = refund_methods(bill)
    data = request.POST if request.method == "POST" else None
    form = RefundForm(data, lines=lines, methods=methods)
    if request.method == "GET":
        return _refund_page(request, bill, form)
    if not form.is_valid():
        return _refund_page(request, bill, form, status=400)
    sent, names = form.requested()
    try:
        made = refund_bill(
            bill=bill,
            lines=sent,
            reason=form.cleaned_data["reason"],
            method=form.cleaned_data.get("method") or None,
            reference=form.cleaned_data.get("reference") or "",
            by=request.user,
        )
    except ClinicError as error:
        add_refund_errors(form, error, names)
        return _refund_page(request, bill, form, status=error.status)
    messages.success(request, _("Refunded. Give the patient the refund receipt."))
    return redirect("billing:refund-receipt", pk=made.pk)


@role_required(*DESK_ROLES)
@require_GET
def refund_receipt(request: HttpRequest, pk: int) -> HttpResponse:
    refund_row = get_object_or_404(
        Refund.objects.select_related(
            "method", "created_by", "bill__visit__patient", "bill__visit__department"
        ),
        pk=pk,
    )
    return render(
        request,
        "billing/refund_receipt.html",
        {
            "refund": refund_row,
            "bill": refund_row.bill,
            "lines": list(refund_row.lines.select_related("bill_line").order_by("id")),
        },
    )
