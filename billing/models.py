"""Bills (one per visit, split into insurance and self-pay) and the income they record."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Round
from django.db.models.lookups import Exact, LessThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from clinic.codes import random_code
from clinic.db import insert_or_add
from clinic.models import (
    MONEY,
    QUANTITY,
    Department,
    Employee,
    FeeCategory,
    InsuranceClass,
    english_page,
)
from clinic.summaries import DailySummary
from clinic.templatetags.clinic_format import format_number
from visits.models import Charge, Visit

# Sums of a day's payments: room for 1,000,000 payments of the largest bill.
SUMMARY_MONEY = {"max_digits": 16, "decimal_places": 2}


class PayStatus(models.TextChoices):
    UNPAID = "unpaid", _("Unpaid")
    PAID = "paid", _("Paid")
    PARTIALLY_REFUNDED = "partially_refunded", _("Partially refunded")
    REFUNDED = "refunded", _("Refunded")


def in_cents(field: str) -> Round:
    """A money column in whole cents, for CHECKs that compare sums: SQLite keeps decimals as
    binary floats, where 0.10 + 0.20 is not 0.30; exact on MariaDB either way."""
    return Round(F(field) * 100)


def new_bill_number(when: dt.datetime | None = None) -> str:
    """Readable and unique: the local payment date, then a random part (B20261128-7K3PQ9)."""
    return f"B{timezone.localdate(when):%Y%m%d}-{random_code(6)}"


class Bill(models.Model):
    PayStatus = PayStatus

    visit = models.OneToOneField(
        Visit, verbose_name=_("visit"), on_delete=models.PROTECT, related_name="bill"
    )
    number = models.CharField(
        _("bill number"), max_length=24, unique=True, default=new_bill_number, editable=False
    )
    total_amount = models.DecimalField(_("total"), **MONEY)
    # What insurance pays: the lines' estimate, or the bureau's figure that replaced it.
    insurance_amount = models.DecimalField(_("insurance"), **MONEY)
    self_pay_amount = models.DecimalField(_("self-pay"), **MONEY)
    # The sum of the lines' insured amounts, computed from the patient's plan.
    estimated_insurance_amount = models.DecimalField(
        _("estimated insurance"), default=Decimal(0), **MONEY
    )
    # Why insurance_amount is not the estimate (the bureau's figure); empty when it is.
    insurance_override_reason = models.CharField(
        _("reason for the bureau's figure"), max_length=200, blank=True
    )
    # The patient's plan when the bill was made (its name then): the split's basis.
    insurance_plan_name = models.CharField(_("insurance plan"), max_length=50, blank=True)
    pay_status = models.CharField(
        _("payment status"), max_length=20, choices=PayStatus.choices, default=PayStatus.UNPAID
    )
    pay_time = models.DateTimeField(_("paid at"), null=True, blank=True)
    cashier = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cashier"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    # The cashier's shift the bill was settled in; NULL for bills settled before shifts.
    shift = models.ForeignKey(
        "billing.CashierShift",
        verbose_name=_("shift"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bills",
    )
    # The sum of the bill's tenders: the self-pay amount (a CHECK). NULL for bills settled
    # before tenders were recorded.
    tendered_amount = models.DecimalField(_("tendered"), null=True, blank=True, **MONEY)
    # What its refunds gave back, in total and by who had paid it (kept by the refunds, in
    # their transaction; never above what was paid: CHECKs).
    refunded_amount = models.DecimalField(_("refunded"), default=Decimal(0), **MONEY)
    refunded_insurance_amount = models.DecimalField(
        _("refunded to insurance"), default=Decimal(0), **MONEY
    )
    refunded_self_pay_amount = models.DecimalField(
        _("refunded to the patient"), default=Decimal(0), **MONEY
    )
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("bill")
        verbose_name_plural = _("bills")
        indexes = [models.Index(fields=["pay_time"], name="bill_pay_time_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(total_amount__gte=0)
                & Q(insurance_amount__gte=0)
                & Q(self_pay_amount__gte=0),
                name="bill_amounts_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(insurance_amount__lte=F("total_amount")),
                name="bill_insurance_within_total",
            ),
            # In whole cents: SQLite keeps decimals as binary floats, where 0.10 + 0.20 is not
            # 0.30 and an exact comparison would refuse a correct bill. Exact on MariaDB.
            models.CheckConstraint(
                condition=Exact(
                    Round(F("total_amount") * 100),
                    Round(F("insurance_amount") * 100) + Round(F("self_pay_amount") * 100),
                ),
                name="bill_total_is_insurance_plus_self_pay",
            ),
            models.CheckConstraint(
                condition=Q(estimated_insurance_amount__gte=0)
                & Q(estimated_insurance_amount__lte=F("total_amount")),
                name="bill_estimate_within_total",
            ),
            # The bureau's figure replaces the estimate only with a reason.
            models.CheckConstraint(
                condition=~Q(insurance_override_reason="")
                | Exact(
                    Round(F("insurance_amount") * 100),
                    Round(F("estimated_insurance_amount") * 100),
                ),
                name="bill_insurance_is_estimate_unless_overridden",
            ),
            models.CheckConstraint(
                condition=Q(pay_status__in=PayStatus.values), name="bill_pay_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(pay_status=PayStatus.UNPAID) | Q(pay_time__isnull=False),
                name="bill_paid_has_pay_time",
            ),
            models.CheckConstraint(
                condition=Q(tendered_amount__isnull=True)
                | Exact(in_cents("tendered_amount"), in_cents("self_pay_amount")),
                name="bill_tenders_are_self_pay",
            ),
            models.CheckConstraint(
                condition=Q(refunded_insurance_amount__gte=0)
                & Q(refunded_self_pay_amount__gte=0)
                & Q(refunded_insurance_amount__lte=F("insurance_amount"))
                & Q(refunded_self_pay_amount__lte=F("self_pay_amount"))
                & Exact(
                    in_cents("refunded_amount"),
                    in_cents("refunded_insurance_amount") + in_cents("refunded_self_pay_amount"),
                ),
                name="bill_refunds_within_paid",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def refundable(self) -> bool:
        return self.pay_status in (PayStatus.PAID, PayStatus.PARTIALLY_REFUNDED)


# A line's amount is its quantity times its unit price, rounded to cents: within half a cent
# of the product. The millionth on top is below the product's resolution (3 + 2 decimals)
# and only absorbs SQLite's binary floats at an exact half cent; exact on MariaDB.
HALF_CENT = Decimal("0.005001")


class BillLine(models.Model):
    """One line of an itemised bill: a visit's charge (or, for a bill without charges, one
    manual line with its reason), with what it costs and who pays it. Description, code,
    unit price and insurance class are the charge's copies: never re-read from the catalogue.
    Written only by the settlement (billing.services), all lines of a bill in its
    transaction, their sums checked against the bill before commit."""

    bill = models.ForeignKey(
        Bill, verbose_name=_("bill"), on_delete=models.PROTECT, related_name="lines"
    )
    # One line per charge; NULL for a manual line.
    charge = models.OneToOneField(
        Charge,
        verbose_name=_("charge"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="bill_line",
    )
    code = models.CharField(_("item code"), max_length=32, blank=True)
    description = models.CharField(_("description"), max_length=100)
    category = models.CharField(_("category"), max_length=16, choices=FeeCategory.choices)
    unit = models.CharField(_("unit"), max_length=16, blank=True)
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    amount = models.DecimalField(_("amount"), **MONEY)
    insurance_class = models.CharField(
        _("insurance class"), max_length=1, choices=InsuranceClass.choices
    )
    insured_amount = models.DecimalField(_("insured"), **MONEY)
    self_pay_amount = models.DecimalField(_("self-pay"), **MONEY)
    manual_reason = models.CharField(_("reason for a manual line"), max_length=200, blank=True)
    # What refunds gave back of this line (kept by the refunds under the line's lock).
    refunded_quantity = models.DecimalField(_("refunded quantity"), default=Decimal(0), **QUANTITY)
    refunded_amount = models.DecimalField(_("refunded"), default=Decimal(0), **MONEY)
    refunded_insured_amount = models.DecimalField(
        _("refunded to insurance"), default=Decimal(0), **MONEY
    )

    class Meta:
        ordering = ["bill_id", "id"]
        verbose_name = _("bill line")
        verbose_name_plural = _("bill lines")
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0)
                & Q(unit_price__gte=0)
                & Q(amount__gte=0)
                & Q(insured_amount__gte=0)
                & Q(self_pay_amount__gte=0),
                name="bill_line_figures_in_range",
            ),
            models.CheckConstraint(
                condition=Q(amount__gte=F("quantity") * F("unit_price") - HALF_CENT)
                & Q(amount__lte=F("quantity") * F("unit_price") + HALF_CENT),
                name="bill_line_amount_is_quantity_times_price",
            ),
            models.CheckConstraint(
                condition=Exact(
                    Round(F("amount") * 100),
                    Round(F("insured_amount") * 100) + Round(F("self_pay_amount") * 100),
                ),
                name="bill_line_amount_is_insured_plus_self_pay",
            ),
            models.CheckConstraint(
                condition=Q(category__in=FeeCategory.values), name="bill_line_category_valid"
            ),
            models.CheckConstraint(
                condition=Q(insurance_class__in=InsuranceClass.values),
                name="bill_line_insurance_class_valid",
            ),
            models.CheckConstraint(
                condition=Q(charge__isnull=False) | ~Q(manual_reason=""),
                name="bill_line_manual_has_reason",
            ),
            # Never more given back than was paid for the line.
            models.CheckConstraint(
                condition=Q(refunded_quantity__gte=0)
                & Q(refunded_quantity__lte=F("quantity"))
                & Q(refunded_amount__gte=0)
                & Q(refunded_amount__lte=F("amount"))
                & Q(refunded_insured_amount__gte=0)
                & Q(refunded_insured_amount__lte=F("insured_amount")),
                name="bill_line_refunds_within_paid",
            ),
            # ... and of the patient's part: refunded amount less its insured part.
            models.CheckConstraint(
                condition=LessThanOrEqual(
                    in_cents("refunded_amount"),
                    in_cents("self_pay_amount") + in_cents("refunded_insured_amount"),
                ),
                name="bill_line_self_pay_refunds_within_paid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.description} × {self.quantity_display} = {self.amount}"

    @property
    def quantity_display(self) -> str:
        """The quantity without trailing zeros: 2, 1.5, 0.125."""
        return format_number(self.quantity)

    @property
    def refundable_quantity(self) -> Decimal:
        return self.quantity - self.refunded_quantity


class IncomeRecord(models.Model):
    """Income booked by a settlement, dated the clinic-local day of payment; or given back by
    a refund (`refund` set), negative and dated the refund's day, so that sums are net.
    Carries its own insurance and self-pay parts: statistics never join the bill."""

    bill = models.ForeignKey(
        Bill, verbose_name=_("bill"), on_delete=models.PROTECT, related_name="income_records"
    )
    refund = models.OneToOneField(
        "billing.Refund",
        verbose_name=_("refund"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="income_record",
    )
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+"
    )
    doctor = models.ForeignKey(
        Employee,
        verbose_name=_("doctor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    insurance_amount = models.DecimalField(_("insurance"), default=Decimal(0), **MONEY)
    self_pay_amount = models.DecimalField(_("self-pay"), default=Decimal(0), **MONEY)
    record_date = models.DateField(_("record date"), db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-record_date", "-id"]
        verbose_name = _("income record")
        verbose_name_plural = _("income records")
        constraints = [
            # A payment's figures are positive, a refund's negative.
            models.CheckConstraint(
                condition=(
                    Q(refund__isnull=True)
                    & Q(amount__gte=0)
                    & Q(insurance_amount__gte=0)
                    & Q(self_pay_amount__gte=0)
                )
                | (
                    Q(refund__isnull=False)
                    & Q(amount__lte=0)
                    & Q(insurance_amount__lte=0)
                    & Q(self_pay_amount__lte=0)
                ),
                name="income_sign_follows_kind",
            ),
            models.CheckConstraint(
                condition=Exact(
                    in_cents("amount"), in_cents("insurance_amount") + in_cents("self_pay_amount")
                ),
                name="income_amount_is_insurance_plus_self_pay",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.record_date} {self.amount}"


class DailyDoctorIncome(DailySummary):
    """The key columns the income summaries share: the clinic-local day, the department and
    the doctor. Income without a doctor (allowed by IncomeRecord) is kept under `doctor_key`
    0. The key, never NULL, is what the unique constraints and the upserts rely on: MariaDB
    and MySQL let NULLs repeat in a unique index, so a nullable doctor column alone would
    let two concurrent first payments of a day create two rows."""

    NO_DOCTOR_KEY = 0

    record_date = models.DateField(_("record date"))
    department = models.ForeignKey(
        Department, verbose_name=_("department"), on_delete=models.PROTECT, related_name="+"
    )
    doctor = models.ForeignKey(
        Employee,
        verbose_name=_("doctor"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    doctor_key = models.BigIntegerField(
        _("doctor key"),
        default=NO_DOCTOR_KEY,
        editable=False,
        help_text=_("The doctor's id, or 0 for income without a doctor."),
    )

    class Meta:
        abstract = True

    @classmethod
    def _add(
        cls,
        *,
        record_date: dt.date,
        department_id: int,
        doctor_id: int | None,
        figures: dict[str, Any],
        **key: Any,
    ) -> None:
        """Add `figures` (the FIGURES) to the row of a day, department, doctor (and `key`'s
        further columns), creating it with them first: one atomic upsert
        (clinic.db.insert_or_add), inside the settlement's transaction."""
        insert_or_add(
            cls,
            key={
                "record_date": record_date,
                "department_id": department_id,
                "doctor_key": doctor_id or cls.NO_DOCTOR_KEY,
                **key,
            },
            values={"doctor_id": doctor_id, **figures},
            add=list(cls.FIGURES),
        )

    @staticmethod
    def summary_checks(prefix: str, *, count: str, insured: str) -> list[models.CheckConstraint]:
        """The summaries' checks, named `<prefix>_…`: no negative counter, the
        total is the insured part (the `<insured>_amount` field) plus self-pay, and the
        doctor key is the doctor's id (0 without one)."""
        return [
            # Amounts are net of refunds: a day may give back more than it took.
            models.CheckConstraint(
                condition=Q(**{f"{count}__gte": 0}), name=f"{prefix}_count_not_negative"
            ),
            # In whole cents: SQLite keeps decimals as binary floats, where sums of cents
            # need not compare equal (0.1 + 0.2 != 0.3); exact on MariaDB either way.
            models.CheckConstraint(
                condition=Exact(
                    Round(F("total_amount") * 100),
                    Round(F(f"{insured}_amount") * 100) + Round(F("self_pay_amount") * 100),
                ),
                name=f"{prefix}_total_is_{insured}_plus_self_pay",
            ),
            models.CheckConstraint(
                condition=Q(doctor__isnull=True, doctor_key=0) | Q(doctor_key=F("doctor")),
                name=f"{prefix}_doctor_key_matches_doctor",
            ),
        ]


class DailyIncomeSummary(DailyDoctorIncome):
    """Income per clinic-local day, department and doctor: what the statistics read.

    One row per (record_date, department, doctor), kept in step with the detail rows
    (IncomeRecord and its Bill) inside the settlement's transaction by `add_payment()`, and
    recomputed from them by `rebuild()` (`manage.py rebuild_income_summary`). A year of
    statistics then reads a few thousand rows instead of every income record.

    Income without a doctor is kept under `doctor_key` 0 (DailyDoctorIncome).
    """

    KEY = ("record_date", "department_id", "doctor_key")
    FIGURES = ("payments", "refunds", "total_amount", "insurance_amount", "self_pay_amount")

    payments = models.IntegerField(_("payments"), default=0)
    refunds = models.IntegerField(_("refunds"), default=0)
    total_amount = models.DecimalField(_("total"), **SUMMARY_MONEY)
    insurance_amount = models.DecimalField(_("insurance"), **SUMMARY_MONEY)
    self_pay_amount = models.DecimalField(_("self-pay"), **SUMMARY_MONEY)

    class Meta:
        ordering = ["record_date", "department_id", "doctor_key"]
        verbose_name = _("daily income summary")
        verbose_name_plural = _("daily income summaries")
        # Covering: a year of statistics, by day, department or doctor, is one range of
        # this index, never the table's rows (bench/statistics.py: "Using index").
        indexes = [
            models.Index(
                fields=[
                    "record_date",
                    "department",
                    "doctor_key",
                    "doctor",
                    "payments",
                    "refunds",
                    "total_amount",
                    "insurance_amount",
                    "self_pay_amount",
                ],
                name="income_summary_by_date_idx",
            ),
        ]
        constraints = [
            # One row per day, department and doctor: what the upsert relies on.
            models.UniqueConstraint(
                fields=["record_date", "department", "doctor_key"],
                name="income_summary_unique_day_department_doctor",
            ),
            *DailyDoctorIncome.summary_checks(
                "income_summary", count="payments", insured="insurance"
            ),
            models.CheckConstraint(
                condition=Q(refunds__gte=0), name="income_summary_refunds_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.record_date} {self.department_id}/{self.doctor_key} {self.total_amount}"

    @classmethod
    def add_payment(
        cls,
        *,
        record_date: dt.date,
        department_id: int,
        doctor_id: int | None,
        total: Decimal,
        insurance: Decimal,
        self_pay: Decimal,
        refund: bool = False,
    ) -> None:
        """Add one settlement (or, with `refund`, one refund: negative amounts) to its day's
        row, creating the row on the day's first one.

        Runs inside the settlement's (refund's) transaction, as its last write (lock order:
        ... Visit, Bill, summary row), so that the hot row of a busy doctor is held only
        until commit. One atomic upsert (clinic.db.insert_or_add): concurrent first payments
        of a day queue on the new row's exclusive lock and then add to it.
        """
        cls._add(
            record_date=record_date,
            department_id=department_id,
            doctor_id=doctor_id,
            figures={
                "payments": 0 if refund else 1,
                "refunds": 1 if refund else 0,
                "total_amount": total,
                "insurance_amount": insurance,
                "self_pay_amount": self_pay,
            },
        )

    add_payment.alters_data = True

    @classmethod
    def detail_totals(
        cls, *, start_date: dt.date | None = None, end_date: dt.date | None = None
    ) -> models.QuerySet:
        """The summary's rows as computed from the detail: income records (payments and
        refunds, each with its own parts), grouped in SQL by day, department and doctor."""
        records = cls._in_range(IncomeRecord.objects.all(), start_date, end_date)
        return (
            records.values("record_date", "department_id", "doctor_id")
            .annotate(
                payments=Count("id", filter=Q(refund__isnull=True)),
                refunds=Count("id", filter=Q(refund__isnull=False)),
                total_amount=Sum("amount"),
                insurance_amount=Sum("insurance_amount"),
                self_pay_amount=Sum("self_pay_amount"),
            )
            .order_by()
        )

    @classmethod
    def _from_detail(cls, row: dict) -> dict:
        """Income without a doctor is kept under doctor_key 0."""
        return {**row, "doctor_key": row["doctor_id"] or cls.NO_DOCTOR_KEY}


class DailyCategoryIncome(DailyDoctorIncome):
    """Income per clinic-local day, department, doctor and fee category: the bill lines of
    the day's settlements (amount, insured and self-pay parts as the lines estimate them),
    less the refunded parts of lines on the refunds' days.

    Kept in step by the settlement and the refund (`add_lines()`, in their transaction,
    after the income summary's row) and recomputed from the detail — the lines of each
    income record: a payment's bill lines, a refund's refund lines — by `rebuild()`
    (`manage.py rebuild_income_summary`). Its amounts add up to the income summary's
    totals; its insured parts are the lines' estimates (a bureau's figure replaces the
    estimate for a whole bill, not per category). `lines` counts the lines paid.
    """

    KEY = ("record_date", "department_id", "doctor_key", "category")
    FIGURES = ("lines", "total_amount", "insured_amount", "self_pay_amount")

    category = models.CharField(_("category"), max_length=16, choices=FeeCategory.choices)
    lines = models.IntegerField(_("lines"), default=0)
    total_amount = models.DecimalField(_("amount"), **SUMMARY_MONEY)
    insured_amount = models.DecimalField(_("insured"), **SUMMARY_MONEY)
    self_pay_amount = models.DecimalField(_("self-pay"), **SUMMARY_MONEY)

    class Meta:
        ordering = ["record_date", "department_id", "doctor_key", "category"]
        verbose_name = _("daily income by category")
        verbose_name_plural = _("daily income by category")
        indexes = [
            models.Index(
                fields=["record_date", "category", "total_amount", "insured_amount"],
                name="category_income_by_date_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["record_date", "department", "doctor_key", "category"],
                name="category_income_unique_key",
            ),
            *DailyDoctorIncome.summary_checks("category_income", count="lines", insured="insured"),
            models.CheckConstraint(
                condition=Q(category__in=FeeCategory.values), name="category_income_category_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.record_date} {self.department_id}/{self.doctor_key} {self.category}"

    @classmethod
    def add_lines(
        cls,
        *,
        record_date: dt.date,
        department_id: int,
        doctor_id: int | None,
        lines: Any,
        refund: bool = False,
    ) -> None:
        """Add one settlement's lines (or subtract, with `refund`, one refund's lines) to
        their day's category rows: one upsert per category, in category order so that
        concurrent transactions lock rows in the same order. A line has `category`,
        `amount`, `insured_amount` and `self_pay_amount`."""
        sign = -1 if refund else 1
        sums: dict[str, list] = {}
        for line in lines:
            figures = sums.setdefault(line.category, [0, Decimal(0), Decimal(0), Decimal(0)])
            figures[0] += 0 if refund else 1
            figures[1] += sign * line.amount
            figures[2] += sign * line.insured_amount
            figures[3] += sign * line.self_pay_amount
        for category in sorted(sums):
            count, amount, insured, self_pay = sums[category]
            cls._add(
                record_date=record_date,
                department_id=department_id,
                doctor_id=doctor_id,
                category=category,
                figures={
                    "lines": count,
                    "total_amount": amount,
                    "insured_amount": insured,
                    "self_pay_amount": self_pay,
                },
            )

    add_lines.alters_data = True

    @classmethod
    def detail_totals(
        cls, *, start_date: dt.date | None = None, end_date: dt.date | None = None
    ) -> list[dict]:
        """The rows as computed from the detail: each income record's lines (a payment's
        bill lines, a refund's refund lines, negative) on the record's day, department and
        doctor, grouped in SQL by those and the category; the two merged by key."""
        records = cls._in_range(IncomeRecord.objects.order_by(), start_date, end_date)
        key = ("record_date", "department_id", "doctor_id")
        rows: dict[tuple, dict] = {}
        for path, refunds in (("bill__lines", False), ("refund__lines", True)):
            grouped = (
                records.filter(refund__isnull=not refunds, **{f"{path}__isnull": False})
                .values(*key, category=F(f"{path}__category"))
                .annotate(
                    line_count=Count(f"{path}__id"),
                    amount_sum=Sum(f"{path}__amount"),
                    insured_sum=Sum(f"{path}__insured_amount"),
                    self_pay_sum=Sum(f"{path}__self_pay_amount"),
                )
            )
            sign = -1 if refunds else 1
            for row in grouped:
                merged = rows.setdefault(
                    (*(row[name] for name in key), row["category"]),
                    {**{name: row[name] for name in key}, "category": row["category"],
                     "line_count": 0, "amount_sum": Decimal(0), "insured_sum": Decimal(0),
                     "self_pay_sum": Decimal(0)},
                )  # fmt: skip
                merged["line_count"] += 0 if refunds else row["line_count"]
                for name in ("amount_sum", "insured_sum", "self_pay_sum"):
                    merged[name] += sign * row[name]
        return list(rows.values())

    @classmethod
    def _from_detail(cls, row: dict) -> dict:
        return {
            "record_date": row["record_date"],
            "department_id": row["department_id"],
            "doctor_id": row["doctor_id"],
            "doctor_key": row["doctor_id"] or cls.NO_DOCTOR_KEY,
            "category": row["category"],
            "lines": row["line_count"],
            "total_amount": row["amount_sum"],
            "insured_amount": row["insured_sum"],
            "self_pay_amount": row["self_pay_sum"],
        }


# The cashier's day: how bills are paid (tenders), what is given back (refunds), and the
# shifts that own both. Written only by billing.cashier and billing.refunds.


class PaymentMethod(models.Model):
    """A way a patient pays: cash, bank card, WeChat Pay, Alipay, the insurance personal
    account (data, maintained in Django Admin). Cash records what was handed over and the
    change, and is what the drawer holds; the others a reference number."""

    code = models.SlugField(_("code"), max_length=24, unique=True)
    name = models.CharField(_("name"), max_length=50)
    name_en = models.CharField(_("English name"), max_length=80, blank=True)
    is_cash = models.BooleanField(
        _("cash"), default=False, help_text=_("Counted in the drawer; records the change.")
    )
    requires_reference = models.BooleanField(
        _("reference required"),
        default=False,
        help_text=_("A transaction or voucher number must be typed or scanned."),
    )
    sort_order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["sort_order", "id"]
        verbose_name = _("payment method")
        verbose_name_plural = _("payment methods")

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.name_en if self.name_en and english_page() else self.name


class ShiftStatus(models.TextChoices):
    OPEN = "open", pgettext_lazy("cashier shift", "Open")
    CLOSED = "closed", pgettext_lazy("cashier shift", "Closed")


class CashierShift(models.Model):
    """A cashier's shift at the counter: opened with the cash float, owning every tender and
    refund taken in it, closed with the drawer counted. One open shift per cashier (the
    unique `open_cashier`, set only while open: MariaDB has no conditional unique index).
    Closed, nothing in it changes; a manager may reopen it with a reason."""

    Status = ShiftStatus

    cashier = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("cashier"),
        on_delete=models.PROTECT,
        related_name="cashier_shifts",
    )
    status = models.CharField(
        _("status"), max_length=8, choices=ShiftStatus.choices, default=ShiftStatus.OPEN
    )
    # The cashier's id while the shift is open, NULL once closed: one open shift each.
    open_cashier = models.BigIntegerField(null=True, blank=True, unique=True, editable=False)
    opened_at = models.DateTimeField(_("opened at"))
    opening_float = models.DecimalField(_("cash float"), **MONEY)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("closed by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    expected_cash = models.DecimalField(_("expected cash"), null=True, blank=True, **MONEY)
    counted_cash = models.DecimalField(_("counted cash"), null=True, blank=True, **MONEY)
    # Counted minus expected: over when positive, short when negative.
    cash_difference = models.DecimalField(
        _("over (+) / short (−)"), null=True, blank=True, max_digits=11, decimal_places=2
    )
    close_note = models.CharField(_("note"), max_length=200, blank=True)
    reopen_count = models.PositiveSmallIntegerField(_("times reopened"), default=0)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("cashier shift")
        verbose_name_plural = _("cashier shifts")
        indexes = [models.Index(fields=["opened_at"], name="shift_opened_at_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ShiftStatus.values), name="shift_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(opening_float__gte=0), name="shift_float_not_negative"
            ),
            # Open: held by its cashier, nothing of a close. Closed: released, counted.
            models.CheckConstraint(
                condition=(
                    Q(status=ShiftStatus.OPEN)
                    & Q(open_cashier=F("cashier"))
                    & Q(closed_at__isnull=True)
                )
                | (
                    Q(status=ShiftStatus.CLOSED)
                    & Q(open_cashier__isnull=True)
                    & Q(closed_at__isnull=False)
                    & Q(expected_cash__isnull=False)
                    & Q(counted_cash__gte=0)
                    & Exact(
                        in_cents("cash_difference"),
                        in_cents("counted_cash") - in_cents("expected_cash"),
                    )
                ),
                name="shift_open_or_counted",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.cashier} {timezone.localtime(self.opened_at):%Y-%m-%d %H:%M}"

    @property
    def is_open(self) -> bool:
        return self.status == ShiftStatus.OPEN


class Tender(models.Model):
    """One way part of a bill's self-pay amount was paid, in the cashier's open shift.
    Cash keeps what was handed over and the change; the others a reference."""

    bill = models.ForeignKey(
        Bill, verbose_name=_("bill"), on_delete=models.PROTECT, related_name="tenders"
    )
    shift = models.ForeignKey(
        CashierShift, verbose_name=_("shift"), on_delete=models.PROTECT, related_name="tenders"
    )
    method = models.ForeignKey(
        PaymentMethod, verbose_name=_("method"), on_delete=models.PROTECT, related_name="+"
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    handed_over = models.DecimalField(_("handed over"), default=Decimal(0), **MONEY)
    change_given = models.DecimalField(
        pgettext_lazy("money handed back", "change"), default=Decimal(0), **MONEY
    )
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    record_date = models.DateField(_("record date"))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["bill_id", "id"]
        verbose_name = _("tender")
        verbose_name_plural = _("tenders")
        indexes = [
            models.Index(fields=["record_date", "method"], name="tender_date_method_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gt=0) & Q(handed_over__gte=0) & Q(change_given__gte=0),
                name="tender_figures_in_range",
            ),
            # Cash: handed over = amount + change. Otherwise nothing handed over, no change.
            models.CheckConstraint(
                condition=(Q(handed_over=0) & Q(change_given=0))
                | Exact(in_cents("handed_over"), in_cents("amount") + in_cents("change_given")),
                name="tender_change_is_handed_over_less_amount",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.amount}"


def new_refund_number(when: dt.datetime | None = None) -> str:
    """Readable and unique, like a bill's: R20261206-7K3PQ9."""
    return f"R{timezone.localdate(when):%Y%m%d}-{random_code(6)}"


class Refund(models.Model):
    """Money given back for some lines of a paid bill (whole lines or part of a quantity),
    with its reason, in the refunding cashier's open shift. The patient's part
    (`self_pay_amount`) is paid back by `method`; the insured part goes back to the
    insurance. Never edits the bill's figures: it adds a negative income record on its own
    date, and the bill's and lines' refunded counters (CHECKed against what was paid)."""

    number = models.CharField(
        _("refund number"), max_length=24, unique=True, default=new_refund_number, editable=False
    )
    bill = models.ForeignKey(
        Bill, verbose_name=_("bill"), on_delete=models.PROTECT, related_name="refunds"
    )
    shift = models.ForeignKey(
        CashierShift, verbose_name=_("shift"), on_delete=models.PROTECT, related_name="refunds"
    )
    # NULL when nothing crosses the counter (the lines were insured in full).
    method = models.ForeignKey(
        PaymentMethod,
        verbose_name=_("paid back by"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    amount = models.DecimalField(_("amount"), **MONEY)
    insurance_amount = models.DecimalField(_("insurance"), **MONEY)
    self_pay_amount = models.DecimalField(_("paid back"), **MONEY)
    reason = models.CharField(_("reason"), max_length=200)
    reference = models.CharField(_("reference"), max_length=64, blank=True)
    record_date = models.DateField(_("record date"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("refunded by"),
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created at"))

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")
        indexes = [models.Index(fields=["record_date", "method"], name="refund_date_method_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__gte=0)
                & Q(insurance_amount__gte=0)
                & Q(self_pay_amount__gte=0)
                & Exact(
                    in_cents("amount"),
                    in_cents("insurance_amount") + in_cents("self_pay_amount"),
                ),
                name="refund_amount_is_insurance_plus_self_pay",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="refund_has_reason"),
            models.CheckConstraint(
                condition=Q(self_pay_amount=0) | Q(method__isnull=False),
                name="refund_paid_back_by_a_method",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class RefundLine(models.Model):
    """The part of one bill line a refund gives back: a quantity and its amount, split as
    the line was (insured, self-pay). The category is the line's, kept for the summaries."""

    refund = models.ForeignKey(
        Refund, verbose_name=_("refund"), on_delete=models.PROTECT, related_name="lines"
    )
    bill_line = models.ForeignKey(
        BillLine, verbose_name=_("bill line"), on_delete=models.PROTECT, related_name="refunds"
    )
    category = models.CharField(_("category"), max_length=16, choices=FeeCategory.choices)
    quantity = models.DecimalField(_("quantity"), **QUANTITY)
    amount = models.DecimalField(_("amount"), **MONEY)
    insured_amount = models.DecimalField(_("insured"), **MONEY)
    self_pay_amount = models.DecimalField(_("self-pay"), **MONEY)

    class Meta:
        ordering = ["refund_id", "id"]
        verbose_name = _("refund line")
        verbose_name_plural = _("refund lines")
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0)
                & Q(amount__gte=0)
                & Q(insured_amount__gte=0)
                & Q(self_pay_amount__gte=0)
                & Exact(
                    in_cents("amount"), in_cents("insured_amount") + in_cents("self_pay_amount")
                ),
                name="refund_line_figures_in_range",
            ),
            models.UniqueConstraint(
                fields=["refund", "bill_line"], name="refund_line_once_per_refund"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.bill_line} −{self.quantity}"
