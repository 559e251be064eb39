from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from billing.models import Bill, IncomeRecord
from clinic.admin_utils import ReadOnlyModelAdmin


@admin.register(Bill)
class BillAdmin(ReadOnlyModelAdmin):
    list_display = (
        "number",
        "patient",
        "total_amount",
        "insurance_amount",
        "self_pay_amount",
        "pay_status",
        "pay_time",
        "cashier",
    )
    list_filter = ("pay_status", "visit__department")
    list_select_related = ("visit__patient", "cashier")
    search_fields = ("=number", "visit__patient__name", "=visit__patient__phone")
    date_hierarchy = "visit__visit_date"

    @admin.display(description=_("patient"))
    def patient(self, obj: Bill) -> str:
        return obj.visit.patient.name


@admin.register(IncomeRecord)
class IncomeRecordAdmin(ReadOnlyModelAdmin):
    list_display = ("record_date", "amount", "department", "doctor", "bill")
    list_filter = ("department", "record_date")
    list_select_related = ("department", "doctor", "bill")
    search_fields = ("=bill__number", "doctor__name", "doctor__emp_id")
    date_hierarchy = "record_date"
