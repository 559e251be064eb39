"""API of money: settling a visit at the desk, bills and income records (desk and
administrators), statistics (administrators), and a patient's own visits with their bills."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from api.views import ClinicAPIView
from billing.cashier import (
    close_shift,
    current_shift,
    day_report,
    open_shift,
    reopen_shift,
    visible_shifts,
)
from billing.cashier import shift_report as build_shift_report
from billing.exceptions import AlreadySettled, NoOpenShift
from billing.models import Bill, CashierShift, IncomeRecord, PaymentMethod, Refund
from billing.refunds import refund_bill
from billing.search import bill_filter
from billing.selectors import income_by_category, income_by_method, visits_by_window
from billing.serializers import (
    BILL_RELATIONS,
    BillFilterSerializer,
    BillListSerializer,
    BillPreviewSerializer,
    CategoryIncomeReportSerializer,
    CategoryQuerySerializer,
    CloseShiftSerializer,
    DayEndQuerySerializer,
    DayReportSerializer,
    IncomeFilterSerializer,
    IncomeRecordSerializer,
    IncomeReportSerializer,
    MethodIncomeReportSerializer,
    OpenShiftSerializer,
    PatientVisitSerializer,
    PaymentMethodSerializer,
    PaymentSerializer,
    RefundInputSerializer,
    RefundSerializer,
    ReopenShiftSerializer,
    ShiftReportSerializer,
    WindowStatisticsQuerySerializer,
    WindowStatisticsReportSerializer,
    bill_prefetches,
)
from billing.services import bill_preview, settle_visit
from billing.statistics import income_statistics
from clinic.models import User
from clinic.roles import IsAdmin, IsDesk, IsPatient
from clinic.serializers import StatisticsQuerySerializer
from visits.models import Visit
from visits.selectors import visits_of_patient_account


def _day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class PaymentView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_payment",
        request=PaymentSerializer,
        responses={201: BillListSerializer},
        description="Settles a visit awaiting payment: a paid bill, its income record, and "
        "the visit leaves. total = insurance + self-pay; a zero total is allowed. The "
        "self-pay amount is paid by `tenders` (adding up to it), or without them by one "
        "cash tender of the exact amount; in the caller's open cashier shift (409 "
        "no_open_shift without one). A tender's fault is named `tenders.<n>.<field>` "
        "(400 invalid_tenders).",
    )
    def post(self, request: Request, visit_id: int) -> Response:
        visit = get_object_or_404(Visit.objects.select_related("schedule"), pk=visit_id)
        body = self.validated_body(PaymentSerializer)
        bill = settle_visit(
            visit=visit,
            total_amount=body.get("total_amount"),
            insurance_amount=body.get("insurance_amount"),
            self_pay_amount=body.get("self_pay_amount"),
            override_reason=body.get("override_reason", ""),
            manual_reason=body.get("manual_reason", ""),
            tenders=body.get("tenders"),
            by=request.user,
        )
        bill = (
            Bill.objects.select_related(*BILL_RELATIONS)
            .prefetch_related(*bill_prefetches())
            .get(pk=bill.pk)
        )
        return self.object_response(bill, BillListSerializer, status=201, reveal_id_card=True)


class PaymentMethodsView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_payment_methods",
        responses={200: PaymentMethodSerializer(many=True)},
        description="The active payment methods, in the desk's order: the codes a "
        "payment's tenders and a refund's method name.",
    )
    def get(self, request: Request) -> Response:
        return self.page_response(
            PaymentMethod.objects.filter(is_active=True).order_by("sort_order", "id"),
            PaymentMethodSerializer,
        )


class BillPreviewView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_bill_preview",
        responses={200: BillPreviewSerializer},
        description="What settling the visit now would bill: its charges priced with the "
        "patient's plan (nothing saved). `manual_entry` when it has no charges. 409 "
        "already_settled once the visit has its bill (the bill is what was charged).",
    )
    def get(self, request: Request, visit_id: int) -> Response:
        visit = get_object_or_404(Visit, pk=visit_id)
        if Bill.objects.filter(visit=visit).exists():
            raise AlreadySettled()
        draft = bill_preview(visit)
        preview = {
            "visit_id": visit.pk,
            "manual_entry": not draft.lines,
            "insurance_plan_name": draft.plan_name,
            "total_amount": draft.total,
            "estimated_insurance_amount": draft.insured,
            "self_pay_amount": draft.self_pay,
            "lines": draft.lines,
        }
        return self.object_response(preview, BillPreviewSerializer)


def search_bills(filters: dict[str, Any]) -> QuerySet[Bill]:
    bills = (
        Bill.objects.select_related(*BILL_RELATIONS)
        .prefetch_related(*bill_prefetches())
        .order_by("-pay_time", "-id")
    )
    if "start_date" in filters:
        bills = bills.filter(pay_time__gte=_day_start(filters["start_date"]))
    if "end_date" in filters:
        bills = bills.filter(pay_time__lt=_day_start(filters["end_date"] + dt.timedelta(days=1)))
    if "dept_id" in filters:
        bills = bills.filter(visit__department_id=filters["dept_id"])
    if filters.get("doctor_id"):
        bills = bills.filter(visit__schedule__doctor__emp_id=filters["doctor_id"].strip())
    if "pay_status" in filters:
        bills = bills.filter(pay_status=filters["pay_status"])
    bills = bills.filter(bill_filter(*BillFilterSerializer.terms(filters)))
    if filters.get("room"):
        bills = bills.filter(visit__schedule__room__room_number=filters["room"].strip())
    return bills


def search_income(filters: dict[str, Any]) -> QuerySet[IncomeRecord]:
    records = IncomeRecord.objects.select_related(
        "bill", "refund", "department", "doctor"
    ).order_by("-record_date", "-id")
    if "start_date" in filters:
        records = records.filter(record_date__gte=filters["start_date"])
    if "end_date" in filters:
        records = records.filter(record_date__lte=filters["end_date"])
    if "dept_id" in filters:
        records = records.filter(department_id=filters["dept_id"])
    if filters.get("doctor_id"):
        records = records.filter(doctor__emp_id=filters["doctor_id"].strip())
    return records


class DeskBillsView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_bills",
        parameters=[BillFilterSerializer],
        responses={200: BillListSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return self.page_response(
            search_bills(self.validated_query(BillFilterSerializer)), BillListSerializer
        )


class AdminBillsView(DeskBillsView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="admin_bills",
        parameters=[BillFilterSerializer],
        responses={200: BillListSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return super().get(request)


class DeskIncomeRecordsView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_income_records",
        parameters=[IncomeFilterSerializer],
        responses={200: IncomeRecordSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return self.page_response(
            search_income(self.validated_query(IncomeFilterSerializer)), IncomeRecordSerializer
        )


class AdminIncomeRecordsView(DeskIncomeRecordsView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="admin_income_records",
        parameters=[IncomeFilterSerializer],
        responses={200: IncomeRecordSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        return super().get(request)


class IncomeStatisticsView(ClinicAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="admin_statistics_income",
        parameters=[StatisticsQuerySerializer],
        responses={200: IncomeReportSerializer},
    )
    def get(self, request: Request) -> Response:
        query = self.validated_query(StatisticsQuerySerializer)
        rows = income_statistics(**query)
        report = {
            **query,
            "total_income": sum((row["total_income"] for row in rows), Decimal("0.00")),
            "record_count": sum(row["record_count"] for row in rows),
            "results": rows,
        }
        return self.object_response(report, IncomeReportSerializer)


class CategoryIncomeStatisticsView(ClinicAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="admin_statistics_income_by_category",
        parameters=[CategoryQuerySerializer],
        responses={200: CategoryIncomeReportSerializer},
        description="Income by fee category over a range (bill lines; insured and self-pay "
        "are the lines' estimates). Its total equals the income statistics' total.",
    )
    def get(self, request: Request) -> Response:
        query = self.validated_query(CategoryQuerySerializer)
        rows = income_by_category(start_date=query["start_date"], end_date=query["end_date"])
        report = {
            "start_date": query["start_date"],
            "end_date": query["end_date"],
            "total_amount": sum((row.total for row in rows), Decimal("0.00")),
            "results": [
                {
                    "category": row.category,
                    "category_label": row.label,
                    "lines": row.lines,
                    "total_amount": row.total,
                    "insured_amount": row.insured,
                    "self_pay_amount": row.self_pay,
                }
                for row in rows
            ],
        }
        return self.object_response(report, CategoryIncomeReportSerializer)


class MethodIncomeStatisticsView(ClinicAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="admin_statistics_income_by_method",
        parameters=[CategoryQuerySerializer],
        responses={200: MethodIncomeReportSerializer},
        description="Money taken per payment method over a range: the tenders, minus the "
        "refunds paid back by that method (a refund counts on its own date). Self-pay "
        "money only: the insurance part is settled with the bureau. group_by is ignored.",
    )
    def get(self, request: Request) -> Response:
        query = self.validated_query(CategoryQuerySerializer)
        rows = income_by_method(start_date=query["start_date"], end_date=query["end_date"])
        report = {
            "start_date": query["start_date"],
            "end_date": query["end_date"],
            "taken": sum((row.taken for row in rows), Decimal("0.00")),
            "given_back": sum((row.given_back for row in rows), Decimal("0.00")),
            "net": sum((row.net for row in rows), Decimal("0.00")),
            "results": [
                {
                    "method": row.method.code,
                    "method_label": row.label,
                    "is_cash": row.method.is_cash,
                    "tenders": row.tenders,
                    "taken": row.taken,
                    "refunds": row.refunds,
                    "given_back": row.given_back,
                    "net": row.net,
                }
                for row in rows
            ],
        }
        return self.object_response(report, MethodIncomeReportSerializer)


class WindowVisitStatisticsView(ClinicAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="admin_statistics_visits_by_window",
        parameters=[WindowStatisticsQuerySerializer],
        responses={200: WindowStatisticsReportSerializer},
        description="The load curve: visits over a range (of one department, or all) by the "
        "start time of their window, with those that arrived late and those that left "
        "unseen. group_by is ignored.",
    )
    def get(self, request: Request) -> Response:
        query = self.validated_query(WindowStatisticsQuerySerializer)
        rows = visits_by_window(
            start_date=query["start_date"],
            end_date=query["end_date"],
            department=query.get("dept_id"),
        )
        report = {
            "start_date": query["start_date"],
            "end_date": query["end_date"],
            "dept_id": query.get("dept_id"),
            "visit_count": sum(row.visits for row in rows),
            "results": [
                {
                    "window_start": row.start_time,
                    "visit_count": row.visits,
                    "late_count": row.late,
                    "left_unseen_count": row.left_unseen,
                }
                for row in rows
            ],
        }
        return self.object_response(report, WindowStatisticsReportSerializer)


# --- The cashier's shifts ---------------------------------------------------------------


class NoShiftOpen(NoOpenShift):
    """Asked for one's open shift without one: there is nothing to show (404), not a
    conflict."""

    status = 404


def get_shift_for(user: User, pk: int) -> CashierShift:
    """A shift the user may see (billing.cashier.visible_shifts), or 404."""
    return get_object_or_404(visible_shifts(user), pk=pk)


def _report(shift: CashierShift) -> Any:
    shift = CashierShift.objects.select_related("cashier", "closed_by").get(pk=shift.pk)
    return build_shift_report(shift)


class MyShiftView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_shift",
        responses={200: ShiftReportSerializer},
        description="The caller's open cashier shift with its running figures; 404 "
        "no_open_shift when none is open.",
    )
    def get(self, request: Request) -> Response:
        shift = current_shift(request.user)
        if shift is None:
            raise NoShiftOpen()
        return self.object_response(_report(shift), ShiftReportSerializer)

    @extend_schema(
        operation_id="receptionist_shift_open",
        request=OpenShiftSerializer,
        responses={201: ShiftReportSerializer},
        description="Opens the caller's cashier shift with the cash float. 409 "
        "shift_already_open when one is open.",
    )
    def post(self, request: Request) -> Response:
        body = self.validated_body(OpenShiftSerializer)
        shift = open_shift(by=request.user, opening_float=body["opening_float"])
        return self.object_response(_report(shift), ShiftReportSerializer, status=201)


class ShiftCloseView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_shift_close",
        request=CloseShiftSerializer,
        responses={200: ShiftReportSerializer},
        description="Closes a shift (one's own; any for an administrator): the cash "
        "counted against the cash expected, the difference recorded (a note is required "
        "when it is not zero). 409 shift_closed when it is already closed.",
    )
    def post(self, request: Request, id: int) -> Response:
        shift = get_shift_for(request.user, id)
        body = self.validated_body(CloseShiftSerializer)
        shift = close_shift(
            shift=shift,
            counted_cash=body["counted_cash"],
            note=body.get("note", ""),
            by=request.user,
        )
        return self.object_response(_report(shift), ShiftReportSerializer)


class ShiftReportView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_shift_report",
        responses={200: ShiftReportSerializer},
        description="A shift's report (one's own; any for an administrator): per method, "
        "per fee category, counts of bills and refunds, the cash expected and, once "
        "closed, counted.",
    )
    def get(self, request: Request, id: int) -> Response:
        return self.object_response(
            build_shift_report(get_shift_for(request.user, id)), ShiftReportSerializer
        )


class ShiftReopenView(ClinicAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="admin_shift_reopen",
        request=ReopenShiftSerializer,
        responses={200: ShiftReportSerializer},
        description="Reopens a closed shift, with the reason (audited with the close's "
        "figures). 409 shift_already_open when it is open or its cashier has another "
        "shift open.",
    )
    def post(self, request: Request, id: int) -> Response:
        shift = get_shift_for(request.user, id)
        body = self.validated_body(ReopenShiftSerializer)
        shift = reopen_shift(shift=shift, reason=body["reason"], by=request.user)
        return self.object_response(_report(shift), ShiftReportSerializer)


class DayEndView(ClinicAPIView):
    permission_classes = [IsAdmin]

    @extend_schema(
        operation_id="admin_day_end",
        parameters=[DayEndQuerySerializer],
        responses={200: DayReportSerializer},
        description="The day-end report: the shifts opened that day (clinic-local) with "
        "their reports, the day's totals per method, and every shift still open.",
    )
    def get(self, request: Request) -> Response:
        query = self.validated_query(DayEndQuerySerializer)
        report = day_report(query.get("date") or timezone.localdate())
        return self.object_response(report, DayReportSerializer)


# --- Refunds ----------------------------------------------------------------------------


def refunds_of(bill: Bill) -> Any:
    return (
        Refund.objects.filter(bill=bill)
        .select_related("bill", "method", "created_by")
        .prefetch_related("lines__bill_line")
        .order_by("created_at", "id")
    )


class BillRefundsView(ClinicAPIView):
    permission_classes = [IsDesk]

    @extend_schema(
        operation_id="receptionist_bill_refunds",
        responses={200: RefundSerializer(many=True)},
        description="The bill's refunds, oldest first.",
    )
    def get(self, request: Request, id: int) -> Response:
        bill = get_object_or_404(Bill, pk=id)
        return self.page_response(refunds_of(bill), RefundSerializer)

    @extend_schema(
        operation_id="receptionist_bill_refund",
        request=RefundInputSerializer,
        responses={201: RefundSerializer},
        description="Refunds whole lines, or part of a line's quantity, of a paid bill, "
        "with a reason; in the caller's open shift (409 no_open_shift). A cashier refunds "
        "the bills of their own shift paid today; an administrator any (403 "
        "permission_denied otherwise). The patient's part goes back by `method` (cash, or "
        "a method the bill was paid with). 409 already_refunded for a line (or bill) "
        "refunded in full, 409 refund_exceeds_paid for more than is left; input faults "
        "are 400 (invalid_refund, `lines.<n>.<field>`).",
    )
    def post(self, request: Request, id: int) -> Response:
        bill = get_object_or_404(Bill, pk=id)
        body = self.validated_body(RefundInputSerializer)
        refund = refund_bill(
            bill=bill,
            lines=body["lines"],
            reason=body["reason"],
            method=body.get("method") or None,
            reference=body.get("reference", ""),
            by=request.user,
        )
        return self.object_response(
            refunds_of(bill).get(pk=refund.pk), RefundSerializer, status=201
        )


class MyVisitsView(ClinicAPIView):
    permission_classes = [IsPatient]

    @extend_schema(
        operation_id="patient_visits",
        responses={200: PatientVisitSerializer(many=True)},
    )
    def get(self, request: Request) -> Response:
        visits = (
            visits_of_patient_account(request.user)
            .select_related("patient")
            .prefetch_related(*bill_prefetches("bill__"))
        )
        return self.page_response(visits, PatientVisitSerializer)
