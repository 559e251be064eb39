"""The clinic's usual ways to pay, made when it has none: after every migrate (a
post_migrate receiver, as clinic.groups makes the groups), so that a new clinic, and a
test database flushed between transactional tests, can take money at once. From then on
they are data: administrators add, rename or retire methods in Django Admin."""

from __future__ import annotations

from typing import Any

# code, name, English name, cash, reference required
DEFAULT_METHODS = [
    ("cash", "现金", "Cash", True, False),
    ("card", "银行卡", "Bank card", False, True),
    ("wechat", "微信支付", "WeChat Pay", False, True),
    ("alipay", "支付宝", "Alipay", False, True),
    ("insurance_account", "医保个人账户", "Insurance personal account", False, True),
]


def ensure_payment_methods(using: str = "default", **kwargs: Any) -> None:
    from billing.models import PaymentMethod

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
