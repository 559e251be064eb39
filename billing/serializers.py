"""API shapes of bills, payments, income records and statistics."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api.fields import AmountField, BoundedDateField, IdField, LabelField, TextField
from api.serializers import ModelSerializer
from billing.models import Bill, BillLine, IncomeRecord, PayStatus
from clinic.fields import IdCardField
from clinic.serializers import (
    PatientSearchSerializer,
    StatisticsGroupSerializer,
    StatisticsQuerySerializer,
    check_date_range,
)
from clinic.statistics import GROUP_BY_CHOICES
from visits.serializers import VisitSerializer

BILL_RELATIONS = (
    "visit__patient",
    "visit__department",
    "visit__schedule__doctor",
    "visit__schedule__room",
    "cashier",
)

# The longest range a statistics request may span (a few years of daily rows at most).


class BillLineSerializer(ModelSerializer):
    """One line of an itemised bill: the charge's copied item, what it costs and who pays."""

    charge_id = serializers.IntegerField(read_only=True, allow_null=True)
    category_label = LabelField(source="category")
    insurance_class_label = LabelField(source="insurance_class")

    class Meta:
        model = BillLine
        fields = [
            "id",
            "charge_id",
            "code",
            "description",
            "category",
            "category_label",
            "unit",
            "quantity",
            "unit_price",
            "amount",
            "insurance_class",
            "insurance_class_label",
            "insured_amount",
            "self_pay_amount",
            "manual_reason",
        ]
        read_only_fields = fields


class BillLinePreviewSerializer(serializers.Serializer):
    """A line as it would be billed (no id yet)."""

    charge_id = serializers.IntegerField(source="charge.pk", allow_null=True, default=None)
    code = serializers.CharField()
    description = serializers.CharField()
    category = serializers.CharField()
    category_label = serializers.CharField(source="get_category_display")
    unit = serializers.CharField(allow_blank=True)
    quantity = serializers.DecimalField(max_digits=9, decimal_places=3)
    unit_price = serializers.DecimalField(max_digits=10, decimal_places=2)
    amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    insurance_class = serializers.CharField()
    insured_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    self_pay_amount = serializers.DecimalField(max_digits=10, decimal_places=2)


class BillSerializer(ModelSerializer):
    visit_id = serializers.IntegerField(read_only=True)
    pay_status_label = LabelField(source="pay_status")
    cashier = TextField(source="cashier.username", read_only=True, default=None, allow_null=True)
    lines = BillLineSerializer(many=True, read_only=True)

    class Meta:
        model = Bill
        fields = [
            "id",
            "number",
            "visit_id",
            "total_amount",
            "insurance_amount",
            "self_pay_amount",
            "estimated_insurance_amount",
            "insurance_override_reason",
            "insurance_plan_name",
            "pay_status",
            "pay_status_label",
            "pay_time",
            "cashier",
            "created_at",
            "lines",
        ]
        read_only_fields = fields


class BillListSerializer(BillSerializer):
    """A bill with the visit it settles: who, where, with whom."""

    patient_id = serializers.IntegerField(source="visit.patient_id", read_only=True)
    patient_name = TextField(source="visit.patient.name", read_only=True)
    phone = TextField(source="visit.patient.phone", read_only=True)
    id_card = IdCardField(source="visit.patient.id_card")
    dept_id = serializers.IntegerField(source="visit.department_id", read_only=True)
    dept_name = TextField(source="visit.department.name", read_only=True)
    doctor_id = TextField(source="visit.schedule.doctor.emp_id", read_only=True)
    doctor_name = TextField(source="visit.schedule.doctor.name", read_only=True)
    room_number = TextField(source="visit.schedule.room.room_number", read_only=True)
    visit_date = serializers.DateField(source="visit.visit_date", read_only=True)

    class Meta(BillSerializer.Meta):
        fields = [
            *BillSerializer.Meta.fields,
            "patient_id",
            "patient_name",
            "phone",
            "id_card",
            "dept_id",
            "dept_name",
            "doctor_id",
            "doctor_name",
            "room_number",
            "visit_date",
        ]
        read_only_fields = fields


class PaymentSerializer(serializers.Serializer):
    """For a visit with charges every amount is optional (the lines decide them; amounts sent
    must be theirs), except `insurance_amount` with `override_reason`: the insurance bureau's
    figure for the whole bill. For a visit without charges, `total_amount` and
    `insurance_amount` are required (one manual line, with `manual_reason`)."""

    total_amount = AmountField(
        required=False,
        allow_null=True,
        help_text=_("Required for a visit without charges; otherwise the lines' total."),
    )
    insurance_amount = AmountField(
        required=False,
        allow_null=True,
        help_text=_(
            "Required for a visit without charges; otherwise the estimate, or the bureau's "
            "figure with override_reason."
        ),
    )
    self_pay_amount = AmountField(
        required=False, allow_null=True, help_text=_("Total minus insurance when left out.")
    )
    override_reason = TextField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text=_("Why insurance_amount is the bureau's figure rather than the estimate."),
    )
    manual_reason = TextField(
        required=False,
        allow_blank=True,
        max_length=200,
        help_text=_("A visit without charges: the reason its manual line records."),
    )


class BillPreviewSerializer(serializers.Serializer):
    """What settling the visit now would bill (nothing saved)."""

    visit_id = serializers.IntegerField()
    manual_entry = serializers.BooleanField(
        help_text=_("No charges: the desk types the total and insurance.")
    )
    insurance_plan_name = serializers.CharField(allow_blank=True)
    total_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    estimated_insurance_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    self_pay_amount = serializers.DecimalField(max_digits=10, decimal_places=2)
    lines = BillLinePreviewSerializer(many=True)


class BillFilterSerializer(PatientSearchSerializer):
    start_date = BoundedDateField(required=False, help_text=_("Paid on or after (local date)."))
    end_date = BoundedDateField(required=False, help_text=_("Paid on or before (local date)."))
    dept_id = IdField(required=False)
    doctor_id = TextField(required=False, max_length=20, help_text=_("Staff code."))
    pay_status = serializers.ChoiceField(choices=PayStatus.choices, required=False)
    room = TextField(required=False, max_length=20, help_text=_("Room number."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return check_date_range(attrs)


class IncomeRecordSerializer(ModelSerializer):
    bill_id = serializers.IntegerField(read_only=True)
    bill_number = TextField(source="bill.number", read_only=True)
    dept_id = serializers.IntegerField(source="department_id", read_only=True)
    dept_name = TextField(source="department.name", read_only=True)
    doctor_id = TextField(source="doctor.emp_id", read_only=True, default=None, allow_null=True)
    doctor_name = TextField(source="doctor.name", read_only=True, default=None, allow_null=True)

    class Meta:
        model = IncomeRecord
        fields = [
            "id",
            "bill_id",
            "bill_number",
            "dept_id",
            "dept_name",
            "doctor_id",
            "doctor_name",
            "amount",
            "record_date",
            "created_at",
        ]
        read_only_fields = fields


class IncomeFilterSerializer(serializers.Serializer):
    start_date = BoundedDateField(required=False)
    end_date = BoundedDateField(required=False)
    dept_id = IdField(required=False)
    doctor_id = TextField(required=False, max_length=20, help_text=_("Staff code."))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        return check_date_range(attrs)


class IncomeRowSerializer(StatisticsGroupSerializer):
    total_income = serializers.DecimalField(max_digits=14, decimal_places=2)
    record_count = serializers.IntegerField()


class IncomeReportSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    group_by = serializers.ChoiceField(choices=GROUP_BY_CHOICES)
    total_income = serializers.DecimalField(max_digits=14, decimal_places=2)
    record_count = serializers.IntegerField()
    results = IncomeRowSerializer(many=True)


class PatientVisitSerializer(VisitSerializer):
    """A patient's own visit with its bill (null until paid)."""

    bill = serializers.SerializerMethodField()

    class Meta(VisitSerializer.Meta):
        fields = [*VisitSerializer.Meta.fields, "bill"]
        read_only_fields = fields

    @extend_schema_field(BillSerializer(allow_null=True))
    def get_bill(self, visit: Any) -> dict[str, Any] | None:
        # A missing reverse one-to-one raises a subclass of AttributeError.
        bill = getattr(visit, "bill", None)
        return BillSerializer(bill, context=self.context).data if bill is not None else None


class CategoryQuerySerializer(StatisticsQuerySerializer):
    """The statistics range; income by category is not grouped by day, department or
    doctor (group_by is ignored)."""


class CategoryIncomeRowSerializer(serializers.Serializer):
    category = serializers.CharField()
    category_label = serializers.CharField()
    lines = serializers.IntegerField()
    total_amount = serializers.DecimalField(max_digits=16, decimal_places=2)
    insured_amount = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text=_("The lines' estimates.")
    )
    self_pay_amount = serializers.DecimalField(max_digits=16, decimal_places=2)


class CategoryIncomeReportSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    total_amount = serializers.DecimalField(
        max_digits=16, decimal_places=2, help_text=_("Equals the income statistics' total.")
    )
    results = CategoryIncomeRowSerializer(many=True)
