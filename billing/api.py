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
from billing.exceptions import AlreadySettled
from billing.models import Bill, IncomeRecord
from billing.search import bill_filter
from billing.selectors import income_by_category
from billing.serializers import (
    BILL_RELATIONS,
    BillFilterSerializer,
    BillListSerializer,
    BillPreviewSerializer,
    CategoryIncomeReportSerializer,
    CategoryQuerySerializer,
    IncomeFilterSerializer,
    IncomeRecordSerializer,
    IncomeReportSerializer,
    PatientVisitSerializer,
    PaymentSerializer,
)
from billing.services import bill_preview, settle_visit
from billing.statistics import income_statistics
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
        "the visit leaves. total = insurance + self-pay; a zero total is allowed.",
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
            by=request.user,
        )
        bill = (
            Bill.objects.select_related(*BILL_RELATIONS).prefetch_related("lines").get(pk=bill.pk)
        )
        return self.object_response(bill, BillListSerializer, status=201, reveal_id_card=True)


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
        .prefetch_related("lines")
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
    records = IncomeRecord.objects.select_related("bill", "department", "doctor").order_by(
        "-record_date", "-id"
    )
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
            .prefetch_related("bill__lines")
        )
        return self.page_response(visits, PatientVisitSerializer)
