"""The clinic's usual ways to pay, made when it has none: after every migrate (a
post_migrate receiver, as clinic.groups makes the groups), so that a new clinic, and a
test database flushed between transactional tests, can take money at once. From then on
they are data: administrators add, rename or retire methods in Django Admin."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from billing.models import PaymentMethod, Refund, Tender
from clinic.catalogue import delete_reference, ensure_catalogue_writer, save_reference
from clinic.db import atomic_with_retry
from clinic.exceptions import InvalidInput
from clinic.models import User

# code, name, English name, cash, reference required
DEFAULT_METHODS = [
    ("cash", "现金", "Cash", True, False),
    ("card", "银行卡", "Bank card", False, True),
    ("wechat", "微信支付", "WeChat Pay", False, True),
    ("alipay", "支付宝", "Alipay", False, True),
    ("insurance_account", "医保个人账户", "Insurance personal account", False, True),
]


def ensure_payment_methods(using: str = "default", **kwargs: Any) -> None:
    methods = PaymentMethod.objects.using(using)
    if methods.exists():
        return
    methods.bulk_create(
        PaymentMethod(
            code=code,
            name=name,
            name_en=name_en,
            is_cash=is_cash,
            requires_reference=reference,
            sort_order=order * 10,
        )
        for order, (code, name, name_en, is_cash, reference) in enumerate(DEFAULT_METHODS)
    )


PAYMENT_METHOD_FIELDS = (
    "code", "name", "name_en", "is_cash", "requires_reference", "sort_order", "is_active",
)  # fmt: skip


# Fixed once a tender or refund used the method: the shifts' expected cash and the closed
# shifts' counts read them.
FIXED_ONCE_USED = ("is_cash",)


def is_used(method: PaymentMethod) -> bool:
    return (
        Tender.objects.filter(method=method).exists()
        or Refund.objects.filter(method=method).exists()
    )


@atomic_with_retry
def save_payment_method(*, method: PaymentMethod, by: User) -> PaymentMethod:
    """Create a payment method, or save the changes made to it (administrators, audited).
    Its code is fixed once made (tenders and the API name it), and whether it is cash once
    it took money (the drawers' counts depend on it); retire one by deactivating it."""
    ensure_catalogue_writer(by, PaymentMethod)
    method.code = (method.code or "").strip()
    if method.pk is not None:
        current = PaymentMethod.objects.select_for_update().get(pk=method.pk)
        if current.code != method.code:
            raise InvalidInput(
                details={"code": [_("A method's code is fixed once made; add a new method.")]}
            )
        if current.is_cash != method.is_cash and is_used(current):
            raise InvalidInput(
                details={
                    "is_cash": [_("This method has taken money: whether it is cash cannot change.")]
                }
            )
    save_reference(method, by=by, fields=PAYMENT_METHOD_FIELDS, kind="payment_method")
    return method


@atomic_with_retry
def delete_payment_method(*, method: PaymentMethod, by: User) -> None:
    """Delete a method never used (a mistake); RecordInUse otherwise: deactivate it."""
    delete_reference(method, by=by, fields=PAYMENT_METHOD_FIELDS, action="payment_method.deleted")
