"""Bills (one per visit, split into insurance and self-pay) and the income they record."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Count, F, Q, Sum
from django.db.models.functions import Round
from django.db.models.lookups import Exact
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.codes import random_code
from clinic.db import insert_or_add
from clinic.models import MONEY, QUANTITY, Department, Employee, FeeCategory, InsuranceClass
from clinic.summaries import DailySummary
from clinic.templatetags.clinic_format import format_number
from visits.models import Charge, Visit

# Sums of a day's payments: room for 1,000,000 payments of the largest bill.
SUMMARY_MONEY = {"max_digits": 16, "decimal_places": 2}


class PayStatus(models.TextChoices):
    UNPAID = "unpaid", _("Unpaid")
    PAID = "paid", _("Paid")


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
        _("payment status"), max_length=8, choices=PayStatus.choices, default=PayStatus.UNPAID
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
        ]

    def __str__(self) -> str:
        return self.number


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
        ]

    def __str__(self) -> str:
        return f"{self.description} × {self.quantity_display} = {self.amount}"

    @property
    def quantity_display(self) -> str:
        """The quantity without trailing zeros: 2, 1.5, 0.125."""
        return format_number(self.quantity)


class IncomeRecord(models.Model):
    """Income booked by a settlement, dated the clinic-local day of payment."""

    bill = models.ForeignKey(
        Bill, verbose_name=_("bill"), on_delete=models.PROTECT, related_name="income_records"
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
    record_date = models.DateField(_("record date"), db_index=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-record_date", "-id"]
        verbose_name = _("income record")
        verbose_name_plural = _("income records")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="income_amount_not_negative"),
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
        """The summaries' checks, named `<prefix>_…`: no negative counter or amount, the
        total is the insured part (the `<insured>_amount` field) plus self-pay, and the
        doctor key is the doctor's id (0 without one)."""
        return [
            models.CheckConstraint(
                condition=Q(**{f"{count}__gte": 0})
                & Q(total_amount__gte=0)
                & Q(**{f"{insured}_amount__gte": 0})
                & Q(self_pay_amount__gte=0),
                name=f"{prefix}_not_negative",
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
    FIGURES = ("payments", "total_amount", "insurance_amount", "self_pay_amount")

    payments = models.IntegerField(_("payments"), default=0)
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
    ) -> None:
        """Add one settlement to its day's row, creating the row on the day's first payment.

        Runs inside the settlement's transaction, as its last write (lock order: ... Visit,
        Bill, summary row), so that the hot row of a busy doctor is held only until commit.
        One atomic upsert (clinic.db.insert_or_add): concurrent first payments of a day queue
        on the new row's exclusive lock and then add to it.
        """
        cls._add(
            record_date=record_date,
            department_id=department_id,
            doctor_id=doctor_id,
            figures={
                "payments": 1,
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
        """The summary's rows as computed from the detail: income records and their bills,
        grouped in SQL by day, department and doctor."""
        records = cls._in_range(IncomeRecord.objects.all(), start_date, end_date)
        return (
            records.values("record_date", "department_id", "doctor_id")
            .annotate(
                payments=Count("id"),
                total_amount=Sum("amount"),
                insurance_amount=Sum("bill__insurance_amount"),
                self_pay_amount=Sum("bill__self_pay_amount"),
            )
            .order_by()
        )

    @classmethod
    def _from_detail(cls, row: dict) -> dict:
        """Income without a doctor is kept under doctor_key 0."""
        return {**row, "doctor_key": row["doctor_id"] or cls.NO_DOCTOR_KEY}


class DailyCategoryIncome(DailyDoctorIncome):
    """Income per clinic-local day, department, doctor and fee category: the bill lines of
    the day's settlements (amount, insured and self-pay parts as the lines estimate them).

    Kept in step by the settlement (`add_lines()`, in its transaction, after the income
    summary's row) and recomputed from the detail — bill lines joined to their bill's
    income record, whose date, department and doctor they take — by `rebuild()`
    (`manage.py rebuild_income_summary`). Its amounts add up to the income summary's
    totals; its insured parts are the lines' estimates (a bureau's figure replaces the
    estimate for a whole bill, not per category).
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
    ) -> None:
        """Add one settlement's lines to their day's category rows (one upsert per category,
        in category order so that concurrent settlements lock rows in the same order)."""
        sums: dict[str, list] = {}
        for line in lines:
            figures = sums.setdefault(line.category, [0, Decimal(0), Decimal(0), Decimal(0)])
            figures[0] += 1
            figures[1] += line.amount
            figures[2] += line.insured_amount
            figures[3] += line.self_pay_amount
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
    ) -> models.QuerySet:
        """The rows as computed from the detail: bill lines with their bill's income record
        (date, department, doctor), grouped in SQL by those and the line's category."""
        lines = BillLine.objects.annotate(
            record_date=F("bill__income_records__record_date"),
            record_department=F("bill__income_records__department_id"),
            record_doctor=F("bill__income_records__doctor_id"),
        ).filter(record_date__isnull=False)
        lines = cls._in_range(lines, start_date, end_date)
        return (
            lines.values("record_date", "record_department", "record_doctor", "category")
            .annotate(
                line_count=Count("id"),
                amount_sum=Sum("amount"),
                insured_sum=Sum("insured_amount"),
                self_pay_sum=Sum("self_pay_amount"),
            )
            .order_by()
        )

    @classmethod
    def _from_detail(cls, row: dict) -> dict:
        return {
            "record_date": row["record_date"],
            "department_id": row["record_department"],
            "doctor_id": row["record_doctor"],
            "doctor_key": row["record_doctor"] or cls.NO_DOCTOR_KEY,
            "category": row["category"],
            "lines": row["line_count"],
            "total_amount": row["amount_sum"],
            "insured_amount": row["insured_sum"],
            "self_pay_amount": row["self_pay_sum"],
        }
