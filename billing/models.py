"""Bills (one per visit, split into insurance and self-pay) and the income they record."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from clinic.codes import random_code
from clinic.models import Department, Employee
from visits.models import Visit

MONEY = {"max_digits": 10, "decimal_places": 2}


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
    insurance_amount = models.DecimalField(_("insurance"), **MONEY)
    self_pay_amount = models.DecimalField(_("self-pay"), **MONEY)
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
            models.CheckConstraint(
                condition=Q(total_amount=F("insurance_amount") + F("self_pay_amount")),
                name="bill_total_is_insurance_plus_self_pay",
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
