"""API shapes of bills, payments, income records and statistics."""

from __future__ import annotations

from typing import Any

from django.core.validators import validate_slug
from django.db.models import Prefetch
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.settings import api_settings

from api.fields import AmountField, BoundedDateField, IdField, LabelField, TextField
from api.serializers import ModelSerializer
from billing.cashier import MAX_TENDERS, NOTE_LENGTH, REFERENCE_LENGTH
from billing.models import (
    Bill,
    BillLine,
    CashierShift,
    IncomeRecord,
    PaymentMethod,
    PayStatus,
    Refund,
    RefundLine,
    Tender,
)
from billing.refunds import REASON_LENGTH
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


def bill_prefetches(prefix: str = "") -> tuple[Prefetch, ...]:
    """A bill's lines and tenders (each tender with its method) in two statements, whatever
    the number of bills; `prefix` is the path to the bill (`"bill__"` from a visit)."""
    return (
        Prefetch(f"{prefix}lines"),
        Prefetch(f"{prefix}tenders", queryset=Tender.objects.select_related("method")),
    )


# Sums of money in reports: as the summaries hold them, two places.
SUMS = {"max_digits": 16, "decimal_places": 2}

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


class PaidWithSerializer(ModelSerializer):
    """How part of a bill was paid, as the patient sees it: the method and the amount."""

    method = serializers.SlugField(source="method.code", read_only=True)
    method_label = serializers.CharField(source="method.display_name", read_only=True)

    class Meta:
        model = Tender
        fields = ["method", "method_label", "amount"]
        read_only_fields = fields


class TenderSerializer(PaidWithSerializer):
    """One tender as the desk sees it: cash with what was handed over and the change, the
    other methods with their reference."""

    class Meta(PaidWithSerializer.Meta):
        fields = [*PaidWithSerializer.Meta.fields, "handed_over", "change_given", "reference"]
        read_only_fields = fields


class BillSerializer(ModelSerializer):
    visit_id = serializers.IntegerField(read_only=True)
    pay_status_label = LabelField(source="pay_status")
    cashier = TextField(source="cashier.username", read_only=True, default=None, allow_null=True)
    lines = BillLineSerializer(many=True, read_only=True)
    tenders = PaidWithSerializer(
        many=True,
        read_only=True,
        help_text=_("How the self-pay amount was paid (empty for bills settled before tenders)."),
    )

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
            "refunded_amount",
            "refunded_insurance_amount",
            "refunded_self_pay_amount",
            "pay_status",
            "pay_status_label",
            "pay_time",
            "cashier",
            "created_at",
            "lines",
            "tenders",
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
    shift_id = serializers.IntegerField(
        read_only=True,
        allow_null=True,
        help_text=_("The cashier's shift it was paid in (null for bills settled before shifts)."),
    )
    tenders = TenderSerializer(many=True, read_only=True)

    class Meta(BillSerializer.Meta):
        fields = [
            *BillSerializer.Meta.fields,
            "shift_id",
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


NON_FIELD = api_settings.NON_FIELD_ERRORS_KEY


def flat_details(detail: Any, prefix: str = "") -> Any:
    """Nested field errors as flat keys (`tenders.0.amount`); lists of messages as they are."""
    if isinstance(detail, dict):
        flat: dict[str, Any] = {}
        for key, value in detail.items():
            # A list's or an item's own fault is the list's or the item's (`tenders`).
            name = prefix.rstrip(".") if key == NON_FIELD and prefix else f"{prefix}{key}"
            if isinstance(value, dict) or (
                isinstance(value, list) and value and isinstance(value[0], dict)
            ):
                flat.update(flat_details(value, f"{name}."))
            else:
                flat[name] = value
        return flat
    if isinstance(detail, list) and detail and all(isinstance(item, dict) for item in detail):
        flat = {}
        for index, item in enumerate(detail):
            flat.update(flat_details(item, f"{prefix}{index}."))
        return flat
    return {prefix.rstrip(".") or NON_FIELD: detail}


class PaymentMethodSerializer(ModelSerializer):
    """A way to pay (data, maintained by administrators): `code` is what a tender names."""

    label = serializers.CharField(source="display_name", read_only=True)

    class Meta:
        model = PaymentMethod
        fields = ["code", "label", "is_cash", "requires_reference"]
        read_only_fields = fields


class TenderInputSerializer(serializers.Serializer):
    """One tender of a payment: checked here for its form only; the payment's rules (an
    active method, cash not less than the amount, a reference where the method needs one,
    the sum) are the settlement's, reported as `tenders.<n>.<field>`."""

    method = TextField(
        max_length=24,
        validators=[validate_slug],
        help_text=_("A payment method's code: cash, card, wechat, alipay, …"),
    )
    amount = AmountField(help_text=_("What this tender pays of the self-pay amount."))
    handed_over = AmountField(
        required=False,
        allow_null=True,
        help_text=_("Cash only: what the patient handed over (the change is the rest)."),
    )
    reference = TextField(
        required=False,
        allow_blank=True,
        max_length=REFERENCE_LENGTH,
        help_text=_("The transaction or voucher number (card, WeChat Pay, Alipay, …)."),
    )


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
    tenders = TenderInputSerializer(
        many=True,
        required=False,
        max_length=MAX_TENDERS,
        help_text=_(
            "How the self-pay amount is paid; the amounts add up to it. Left out: one cash "
            "tender of the exact amount. Either way in the caller's open shift (409 "
            "no_open_shift without one)."
        ),
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # A tender's faults are named as the settlement names them: `tenders.<n>.<field>`.
        try:
            return super().to_internal_value(data)
        except ValidationError as exc:
            raise ValidationError(flat_details(exc.detail)) from exc

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "tenders" in attrs:
            attrs["tenders"] = [dict(tender) for tender in attrs["tenders"]]
        return attrs


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
    """A payment's income (positive, the day it was paid) or a refund's (negative, the day
    of the refund): the figures add up to the net income."""

    kind = serializers.SerializerMethodField(help_text=_("payment or refund"))
    bill_id = serializers.IntegerField(read_only=True)
    bill_number = TextField(source="bill.number", read_only=True)
    refund_id = serializers.IntegerField(read_only=True, allow_null=True)
    refund_number = TextField(source="refund.number", read_only=True, default=None, allow_null=True)
    dept_id = serializers.IntegerField(source="department_id", read_only=True)
    dept_name = TextField(source="department.name", read_only=True)
    doctor_id = TextField(source="doctor.emp_id", read_only=True, default=None, allow_null=True)
    doctor_name = TextField(source="doctor.name", read_only=True, default=None, allow_null=True)

    class Meta:
        model = IncomeRecord
        fields = [
            "id",
            "kind",
            "bill_id",
            "bill_number",
            "refund_id",
            "refund_number",
            "dept_id",
            "dept_name",
            "doctor_id",
            "doctor_name",
            "amount",
            "insurance_amount",
            "self_pay_amount",
            "record_date",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field({"type": "string", "enum": ["payment", "refund"]})
    def get_kind(self, record: IncomeRecord) -> str:
        return "refund" if record.refund_id else "payment"


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


# --- The cashier's day: shifts, their reports, the day's end, income by method ------------


class ShiftSerializer(ModelSerializer):
    """A cashier's shift: opened with the float; once closed, the cash expected, counted and
    the difference (over when positive, short when negative) with its note."""

    cashier = TextField(source="cashier.username", read_only=True)
    status_label = LabelField(source="status")
    closed_by = TextField(
        source="closed_by.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = CashierShift
        fields = [
            "id",
            "cashier",
            "status",
            "status_label",
            "opened_at",
            "opening_float",
            "closed_at",
            "closed_by",
            "expected_cash",
            "counted_cash",
            "cash_difference",
            "close_note",
            "reopen_count",
        ]
        read_only_fields = fields


class MethodTotalSerializer(serializers.Serializer):
    """One payment method's money: tenders taken, refunds paid back, the net."""

    method = serializers.CharField(source="method.code")
    method_label = serializers.CharField(source="method.display_name")
    is_cash = serializers.BooleanField(source="method.is_cash")
    tenders = serializers.IntegerField()
    taken = serializers.DecimalField(**SUMS)
    refunds = serializers.IntegerField()
    given_back = serializers.DecimalField(**SUMS)
    net = serializers.DecimalField(**SUMS)


class CategoryTotalSerializer(serializers.Serializer):
    category = serializers.CharField()
    category_label = serializers.CharField(source="label")
    paid = serializers.DecimalField(**SUMS)
    refunded = serializers.DecimalField(**SUMS)
    net = serializers.DecimalField(**SUMS)


class ShiftReportSerializer(serializers.Serializer):
    """A shift with its figures so far (open) or at its close: per method, per fee category,
    the counts of bills and refunds; expected cash = float + the cash methods' net."""

    shift = ShiftSerializer()
    methods = MethodTotalSerializer(many=True)
    categories = CategoryTotalSerializer(many=True)
    bill_count = serializers.IntegerField()
    billed = serializers.DecimalField(**SUMS)
    insurance = serializers.DecimalField(**SUMS)
    self_pay = serializers.DecimalField(**SUMS)
    refund_count = serializers.IntegerField()
    refunded = serializers.DecimalField(**SUMS)
    refunded_self_pay = serializers.DecimalField(**SUMS)
    taken = serializers.DecimalField(**SUMS)
    given_back = serializers.DecimalField(**SUMS)
    net = serializers.DecimalField(**SUMS)
    cash_net = serializers.DecimalField(**SUMS)
    expected_cash = serializers.DecimalField(**SUMS)


class DayReportSerializer(serializers.Serializer):
    """The day's shifts (opened that day) with their reports and the day's totals per
    method; `left_open` flags every shift still open (of that day or before)."""

    date = serializers.DateField(source="day")
    shifts = ShiftReportSerializer(many=True)
    left_open = ShiftSerializer(many=True)
    methods = MethodTotalSerializer(many=True)
    bill_count = serializers.IntegerField()
    refund_count = serializers.IntegerField()
    net = serializers.DecimalField(**SUMS)
    cash_difference = serializers.DecimalField(
        **SUMS, help_text=_("The closed shifts' over (+) / short (−), summed.")
    )


class OpenShiftSerializer(serializers.Serializer):
    opening_float = AmountField(help_text=_("The cash in the drawer at the start (0 or more)."))


class CloseShiftSerializer(serializers.Serializer):
    counted_cash = AmountField(help_text=_("The cash counted in the drawer."))
    note = TextField(
        required=False,
        allow_blank=True,
        max_length=NOTE_LENGTH,
        help_text=_("Required when the drawer is over or short."),
    )


class ReopenShiftSerializer(serializers.Serializer):
    reason = TextField(max_length=NOTE_LENGTH, help_text=_("Why the closed shift is reopened."))


class DayEndQuerySerializer(serializers.Serializer):
    date = BoundedDateField(required=False, help_text=_("Default: today."))


class MethodIncomeRowSerializer(serializers.Serializer):
    method = serializers.CharField()
    method_label = serializers.CharField()
    is_cash = serializers.BooleanField()
    tenders = serializers.IntegerField()
    taken = serializers.DecimalField(**SUMS)
    refunds = serializers.IntegerField()
    given_back = serializers.DecimalField(**SUMS)
    net = serializers.DecimalField(**SUMS)


class MethodIncomeReportSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    taken = serializers.DecimalField(**SUMS)
    given_back = serializers.DecimalField(**SUMS)
    net = serializers.DecimalField(
        **SUMS,
        help_text=_("Self-pay money only: the insurance part is settled with the bureau."),
    )
    results = MethodIncomeRowSerializer(many=True)


class WindowStatisticsQuerySerializer(CategoryQuerySerializer):
    """The statistics range, of one department or all (group_by is ignored)."""

    dept_id = IdField(required=False, help_text=_("One department's visits; all otherwise."))


class WindowStatisticsRowSerializer(serializers.Serializer):
    window_start = serializers.TimeField(help_text=_("The start time of the visits' window."))
    visit_count = serializers.IntegerField()
    late_count = serializers.IntegerField(help_text=_("Arrived after their window."))
    left_unseen_count = serializers.IntegerField()


class WindowStatisticsReportSerializer(serializers.Serializer):
    start_date = serializers.DateField()
    end_date = serializers.DateField()
    dept_id = serializers.IntegerField(allow_null=True)
    visit_count = serializers.IntegerField()
    results = WindowStatisticsRowSerializer(many=True)


# --- Refunds ----------------------------------------------------------------------------


class StrictIdField(IdField):
    """A row's id in a body: a JSON integer, not a string of digits or a boolean."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class RefundLineInputSerializer(serializers.Serializer):
    line = StrictIdField(help_text=_("The bill line's id (the bill's `lines`)."))
    quantity = AmountField(
        required=False,
        allow_null=True,
        help_text=_("Part of the line's quantity; left out or null: all that is left."),
    )


class RefundInputSerializer(serializers.Serializer):
    """A refund of some lines of a paid bill. Checked here for its form only; the rules
    (lines of this bill, not more than is left, the method) are the refund's, reported as
    `lines.<n>.<field>` or by field."""

    lines = RefundLineInputSerializer(many=True, min_length=1, max_length=200)
    reason = TextField(max_length=REASON_LENGTH, help_text=_("Why the money is given back."))
    method = TextField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=24,
        validators=[validate_slug],
        help_text=_(
            "How the patient's part goes back: cash, or a method the bill was paid with. "
            "Required when the patient gets money back."
        ),
    )
    reference = TextField(
        required=False,
        allow_blank=True,
        max_length=REFERENCE_LENGTH,
        help_text=_("The electronic refund's transaction number."),
    )

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        try:
            return super().to_internal_value(data)
        except ValidationError as exc:
            raise ValidationError(flat_details(exc.detail)) from exc

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["lines"] = [dict(line) for line in attrs["lines"]]
        return attrs


class RefundLineSerializer(ModelSerializer):
    line = serializers.IntegerField(source="bill_line_id", read_only=True)
    code = TextField(source="bill_line.code", read_only=True)
    description = TextField(source="bill_line.description", read_only=True)
    category_label = LabelField(source="category")

    class Meta:
        model = RefundLine
        fields = [
            "id",
            "line",
            "code",
            "description",
            "category",
            "category_label",
            "quantity",
            "amount",
            "insured_amount",
            "self_pay_amount",
        ]
        read_only_fields = fields


class RefundSerializer(ModelSerializer):
    """A refund: what it gave back (insurance's part and the patient's, paid back by
    `method`; null when the patient gets nothing back), its lines, the shift it is in."""

    bill_id = serializers.IntegerField(read_only=True)
    bill_number = TextField(source="bill.number", read_only=True)
    bill_pay_status = TextField(
        source="bill.pay_status",
        read_only=True,
        help_text=_("The bill's state after it: partially_refunded or refunded."),
    )
    shift_id = serializers.IntegerField(read_only=True)
    method = TextField(source="method.code", read_only=True, default=None, allow_null=True)
    method_label = TextField(
        source="method.display_name", read_only=True, default=None, allow_null=True
    )
    created_by = TextField(source="created_by.username", read_only=True)
    lines = RefundLineSerializer(many=True, read_only=True)

    class Meta:
        model = Refund
        fields = [
            "id",
            "number",
            "bill_id",
            "bill_number",
            "bill_pay_status",
            "shift_id",
            "method",
            "method_label",
            "amount",
            "insurance_amount",
            "self_pay_amount",
            "reason",
            "reference",
            "record_date",
            "created_by",
            "created_at",
            "lines",
        ]
        read_only_fields = fields
