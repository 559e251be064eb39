from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.options import ShowFacets
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from billing.models import (
    Bill,
    BillLine,
    CashierShift,
    IncomeRecord,
    PaymentMethod,
    Refund,
    RefundLine,
    Tender,
)
from billing.payment_methods import (
    FIXED_ONCE_USED,
    delete_payment_method,
    is_used,
    save_payment_method,
)
from billing.search import BILL_SEARCH_HELP, bill_search_filter
from clinic.admin_utils import ReadOnlyAdminMixin, ReadOnlyModelAdmin, ServiceAdminMixin
from clinic.templatetags.clinic_format import format_money, person_name
from visits.admin import (
    DateRangeFilter,
    DoctorFilter,
    LocalDateRangeFilter,
    RoomFilter,
)


class BillDoctorFilter(DoctorFilter):
    doctor_path = "visit__schedule__doctor_id"


class BillRoomFilter(RoomFilter):
    room_path = "visit__schedule__room_id"


class IncomeDoctorFilter(DoctorFilter):
    doctor_path = "doctor_id"


class IncomeRoomFilter(RoomFilter):
    room_path = "bill__visit__schedule__room_id"


class BillLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    """A bill's lines on its page, as the settlement wrote them (read-only)."""

    model = BillLine
    extra = 0
    can_delete = False
    fields = (
        "category",
        "code",
        "description",
        "quantity",
        "unit",
        "unit_price",
        "amount",
        "insurance_class",
        "insured_amount",
        "self_pay_amount",
        "manual_reason",
    )
    readonly_fields = fields
    ordering = ("id",)


class TenderInline(ReadOnlyAdminMixin, admin.TabularInline):
    """How the bill's self-pay part was paid (read-only)."""

    model = Tender
    extra = 0
    can_delete = False
    fields = ("method", "amount", "handed_over", "change_given", "reference", "shift")
    readonly_fields = fields
    ordering = ("id",)


class RefundInline(ReadOnlyAdminMixin, admin.TabularInline):
    """What was given back of the bill, and why (read-only)."""

    model = Refund
    fk_name = "bill"
    extra = 0
    can_delete = False
    fields = ("number", "created_at", "amount", "self_pay_amount", "method", "reason", "shift")
    readonly_fields = fields
    ordering = ("id",)
    show_change_link = True


@admin.register(Bill)
class BillAdmin(ReadOnlyModelAdmin):
    inlines = (BillLineInline, TenderInline, RefundInline)
    list_display = (
        "number",
        "patient",
        "department",
        "doctor",
        "total",
        "insurance",
        "self_pay",
        "pay_status",
        "pay_time",
        "cashier_name",
    )
    list_filter = (
        "pay_status",
        "visit__department",
        BillDoctorFilter,
        BillRoomFilter,
        # Paid between two clinic-local days, on the indexed payment time.
        ("pay_time", LocalDateRangeFilter),
    )
    # As for visits (visits.admin.VisitAdmin): the page's rows alone, newest payments
    # first along bill_pay_time_idx, then their relations by id, one query each.
    list_select_related = ()
    list_prefetch_related = (
        "visit__patient",
        "visit__department",
        "visit__schedule__doctor",
        # The cashier by name (clinic_format.person_name): their staff record too.
        "cashier__employee",
        "cashier__patient",
    )
    # The box shows because search_fields is set; what it finds is billing.search's rule.
    search_fields = ("number", "visit__patient__name", "visit__patient__phone")
    search_help_text = BILL_SEARCH_HELP
    ordering = ("-pay_time", "-id")
    show_facets = ShowFacets.NEVER
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(*self.list_prefetch_related)

    def get_search_results(self, request, queryset, search_term):
        return queryset.filter(bill_search_filter(search_term)), False

    @admin.display(description=_("patient"))
    def patient(self, obj: Bill) -> str:
        return obj.visit.patient.name

    @admin.display(description=_("department"))
    def department(self, obj: Bill) -> str:
        return obj.visit.department.display_name

    @admin.display(description=_("doctor"))
    def doctor(self, obj: Bill) -> str:
        return obj.visit.schedule.doctor.name

    # Money as everywhere else (clinic_format): ¥1,234.50.
    @admin.display(description=_("total"), ordering="total_amount")
    def total(self, obj: Bill) -> str:
        return format_money(obj.total_amount)

    @admin.display(description=_("insurance"), ordering="insurance_amount")
    def insurance(self, obj: Bill) -> str:
        return format_money(obj.insurance_amount)

    @admin.display(description=_("self-pay"), ordering="self_pay_amount")
    def self_pay(self, obj: Bill) -> str:
        return format_money(obj.self_pay_amount)

    @admin.display(description=_("cashier"), ordering="cashier__username")
    def cashier_name(self, obj: Bill) -> str:
        return person_name(obj.cashier) or "—"


@admin.register(IncomeRecord)
class IncomeRecordAdmin(ReadOnlyModelAdmin):
    list_display = ("record_date", "money", "department", "doctor", "bill", "patient")
    list_filter = (
        "department",
        IncomeDoctorFilter,
        IncomeRoomFilter,
        ("record_date", DateRangeFilter),
    )
    # Newest first along the record_date index, relations by id afterwards.
    list_select_related = ()
    list_prefetch_related = ("department", "doctor", "bill__visit__patient")
    ordering = ("-record_date", "-id")
    # As for bills, through the record's bill.
    search_fields = ("bill__number", "bill__visit__patient__name", "bill__visit__patient__phone")
    search_help_text = BILL_SEARCH_HELP
    show_facets = ShowFacets.NEVER
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related(*self.list_prefetch_related)

    def get_search_results(self, request, queryset, search_term):
        return queryset.filter(bill_search_filter(search_term, prefix="bill__")), False

    @admin.display(description=_("patient"))
    def patient(self, obj: IncomeRecord) -> str:
        return obj.bill.visit.patient.name

    @admin.display(description=_("amount"), ordering="amount")
    def money(self, obj: IncomeRecord) -> str:
        return format_money(obj.amount)


@admin.register(PaymentMethod)
class PaymentMethodAdmin(ServiceAdminMixin, admin.ModelAdmin):
    """The ways patients pay (data): every change through the service, audited. A method
    that paid something is deactivated, not deleted."""

    list_display = (
        "code", "method_name", "is_cash", "requires_reference", "sort_order", "is_active",
    )  # fmt: skip
    list_filter = ("is_active", "is_cash")
    search_fields = ("code", "name", "name_en")
    ordering = ("sort_order", "id")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return ("code", *FIXED_ONCE_USED) if is_used(obj) else ("code",)

    @admin.display(description=_("name"), ordering="name")
    def method_name(self, obj: PaymentMethod) -> str:
        """In the page's language (the English name on English pages, when there is one)."""
        return obj.display_name

    def save_model(self, request: HttpRequest, obj: PaymentMethod, form, change) -> None:
        save_payment_method(method=obj, by=request.user)

    def delete_model(self, request: HttpRequest, obj: PaymentMethod) -> None:
        delete_payment_method(method=obj, by=request.user)


@admin.register(CashierShift)
class CashierShiftAdmin(ReadOnlyModelAdmin):
    """The cashiers' shifts (read-only: they open, close and reopen through the desk's and
    the manager's pages, each audited)."""

    list_display = (
        "pk", "cashier_name", "status", "opened_at", "closed_at", "float_", "expected",
        "counted", "difference", "reopen_count",
    )  # fmt: skip
    list_filter = ("status", ("opened_at", LocalDateRangeFilter))
    list_select_related = ("cashier__employee",)
    ordering = ("-opened_at", "-id")
    show_facets = ShowFacets.NEVER

    @admin.display(description=_("cashier"), ordering="cashier__username")
    def cashier_name(self, obj: CashierShift) -> str:
        return person_name(obj.cashier)

    @admin.display(description=_("cash float"))
    def float_(self, obj: CashierShift) -> str:
        return format_money(obj.opening_float)

    @admin.display(description=_("expected cash"))
    def expected(self, obj: CashierShift) -> str:
        return format_money(obj.expected_cash) if obj.expected_cash is not None else "—"

    @admin.display(description=_("counted cash"))
    def counted(self, obj: CashierShift) -> str:
        return format_money(obj.counted_cash) if obj.counted_cash is not None else "—"

    @admin.display(description=_("over (+) / short (−)"))
    def difference(self, obj: CashierShift) -> str:
        return format_money(obj.cash_difference) if obj.cash_difference is not None else "—"


class RefundLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = RefundLine
    extra = 0
    can_delete = False
    fields = ("bill_line", "category", "quantity", "amount", "insured_amount", "self_pay_amount")
    readonly_fields = fields
    ordering = ("id",)


@admin.register(Refund)
class RefundAdmin(ReadOnlyModelAdmin):
    inlines = (RefundLineInline,)
    list_display = (
        "number", "bill", "created_at", "money", "paid_back", "method", "reason", "created_by",
    )  # fmt: skip
    list_filter = ("method", ("record_date", DateRangeFilter))
    list_select_related = ("bill", "method", "created_by")
    search_fields = ("number", "bill__number")
    ordering = ("-created_at", "-id")
    show_facets = ShowFacets.NEVER

    @admin.display(description=_("amount"), ordering="amount")
    def money(self, obj: Refund) -> str:
        return format_money(obj.amount)

    @admin.display(description=_("paid back"), ordering="self_pay_amount")
    def paid_back(self, obj: Refund) -> str:
        return format_money(obj.self_pay_amount)
