"""The desk's takings reports: filtered bills and income records, and the day's totals.

Every total is aggregated in SQL; lists are filtered on indexed columns and paginated.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import Count, DecimalField, Q, QuerySet, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.models import Bill, IncomeRecord, PayStatus
from billing.search import bill_filter
from clinic.forms import DateField
from clinic.models import Department, Employee, Position
from clinic.search import field_terms, validate_phone_search

ZERO = Value(Decimal("0.00"), output_field=DecimalField(max_digits=12, decimal_places=2))


class ReportFilterForm(forms.Form):
    start_date = DateField(label=_("From"), required=False)
    end_date = DateField(label=_("To (inclusive)"), required=False)
    department = forms.ModelChoiceField(
        label=_("Department"),
        queryset=Department.objects.order_by("name"),
        required=False,
        empty_label=_("All departments"),
    )
    doctor = forms.ModelChoiceField(
        label=_("Doctor"),
        queryset=Employee.objects.filter(position=Position.DOCTOR).order_by("emp_id"),
        required=False,
        empty_label=_("All doctors"),
    )
    pay_status = forms.ChoiceField(
        label=_("Payment status"),
        choices=[("", _("All")), *PayStatus.choices],
        required=False,
    )
    # The patient fields read as the API's do (clinic.search.field_terms).
    name = forms.CharField(label=_("Patient name"), required=False, max_length=50)
    phone = forms.CharField(
        label=_("Phone"), required=False, max_length=20, validators=[validate_phone_search]
    )
    id_card = forms.CharField(label=_("ID number"), required=False, max_length=32)
    room = forms.CharField(label=_("Room"), required=False, max_length=20)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        start, end = cleaned.get("start_date"), cleaned.get("end_date")
        if start and end and start > end:
            self.add_error("end_date", _("The end date is before the start date."))
        return cleaned

    def date_range(self) -> tuple[dt.date, dt.date]:
        """The chosen range; today when nothing is chosen."""
        today = timezone.localdate()
        data = self.cleaned_data if self.is_bound and self.is_valid() else {}
        start = data.get("start_date") or data.get("end_date") or today
        return start, data.get("end_date") or max(start, today)


def _local_day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def filtered_bills(form: ReportFilterForm) -> QuerySet[Bill]:
    """Bills paid in the range (on the indexed payment time), with the form's filters; none
    when a filter was refused (the form says why), rather than more than was asked for."""
    if form.is_bound and not form.is_valid():
        return Bill.objects.none()
    start, end = form.date_range()
    data = form.cleaned_data if form.is_valid() else {}
    bills = Bill.objects.select_related(
        "visit__patient",
        "visit__department",
        "visit__schedule__doctor",
        "visit__schedule__room",
        "cashier",
    ).filter(
        pay_time__gte=_local_day_start(start),
        pay_time__lt=_local_day_start(end + dt.timedelta(days=1)),
    )
    if data.get("department"):
        bills = bills.filter(visit__department=data["department"])
    if data.get("doctor"):
        bills = bills.filter(visit__schedule__doctor=data["doctor"])
    if data.get("pay_status"):
        bills = bills.filter(pay_status=data["pay_status"])
    terms = field_terms(name=data.get("name"), phone=data.get("phone"), id_card=data.get("id_card"))
    bills = bills.filter(bill_filter(*terms))
    if data.get("room"):
        bills = bills.filter(visit__schedule__room__room_number=data["room"].strip())
    return bills.order_by("-pay_time", "-id")


def filtered_income(form: ReportFilterForm) -> QuerySet[IncomeRecord]:
    start, end = form.date_range()
    data = form.cleaned_data if form.is_valid() else {}
    records = IncomeRecord.objects.select_related("department", "doctor", "bill", "refund").filter(
        record_date__gte=start, record_date__lte=end
    )
    if data.get("department"):
        records = records.filter(department=data["department"])
    if data.get("doctor"):
        records = records.filter(doctor=data["doctor"])
    return records.order_by("-record_date", "-id")


def takings(
    records: QuerySet[IncomeRecord], *, group_by: str | None = None, key: str | None = None
) -> Any:
    """Count, total, insurance and self-pay of income records, optionally grouped by the
    label `group_by` within the `key` (a department's id: two departments of one name stay
    two rows), in the label's order."""
    # Each record carries its own parts (a refund's are negative): the sums are net of
    # refunds, and a refund is counted as one, not as another payment.
    sums = {
        "payments": Count("id", filter=Q(refund__isnull=True)),
        "refunds": Count("id", filter=Q(refund__isnull=False)),
        "total": Coalesce(Sum("amount"), ZERO),
        "insurance": Coalesce(Sum("insurance_amount"), ZERO),
        "self_pay": Coalesce(Sum("self_pay_amount"), ZERO),
    }
    records = records.order_by()
    if group_by is None:
        return records.aggregate(**sums)
    groups = (key, group_by) if key else (group_by,)
    return list(records.values(*groups).annotate(**sums).order_by(group_by, *groups))
