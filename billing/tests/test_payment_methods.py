"""Payment methods are data: made after migrate when a clinic has none, maintained in Django
Admin through the service (audited), never deleted once they paid something."""

from __future__ import annotations

import pytest
from django.urls import reverse

from billing.models import PaymentMethod
from billing.payment_methods import DEFAULT_METHODS, ensure_payment_methods, save_payment_method
from billing.services import settle_visit
from billing.tests.test_services import itemised_visit
from clinic.exceptions import InvalidInput
from clinic.models import AuditEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def test_a_new_clinic_has_the_usual_methods_and_a_second_run_adds_none():
    assert list(PaymentMethod.objects.values_list("code", flat=True)) == [
        row[0] for row in DEFAULT_METHODS
    ]
    PaymentMethod.objects.filter(code="alipay").update(is_active=False, name="支付宝（停用）")
    ensure_payment_methods()
    assert PaymentMethod.objects.count() == len(DEFAULT_METHODS)
    assert PaymentMethod.objects.get(code="alipay").name == "支付宝（停用）"


def test_an_administrator_adds_and_renames_a_method_audited(admin_client):
    response = admin_client.post(
        reverse("admin:billing_paymentmethod_add"),
        {"code": "unionpay", "name": "云闪付", "name_en": "UnionPay QuickPass",
         "requires_reference": "on", "sort_order": "45", "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    method = PaymentMethod.objects.get(code="unionpay")
    assert AuditEvent.objects.filter(
        action="payment_method.created", object_id=str(method.pk)
    ).exists()
    response = admin_client.post(
        reverse("admin:billing_paymentmethod_change", args=[method.pk]),
        {"name": "云闪付", "name_en": "UnionPay", "requires_reference": "on",
         "sort_order": "45", "is_active": "on"},
    )  # fmt: skip
    assert response.status_code == 302
    event = AuditEvent.objects.get(action="payment_method.changed")
    assert event.new_values == {"name_en": "UnionPay"}


def test_a_method_that_paid_is_not_deleted(admin_client, receptionist):
    settle_visit(visit=itemised_visit(), by=receptionist)
    cash = PaymentMethod.objects.get(code="cash")
    response = admin_client.post(
        reverse("admin:billing_paymentmethod_delete", args=[cash.pk]), {"post": "yes"}
    )
    # Django Admin names what still refers to it instead of deleting (or the service refuses).
    assert response.status_code in (200, 302)
    assert PaymentMethod.objects.filter(pk=cash.pk).exists()
    assert not AuditEvent.objects.filter(action="payment_method.deleted").exists()


def test_the_desk_cannot_change_methods(client, receptionist):
    client.force_login(receptionist)
    response = client.get(reverse("admin:billing_paymentmethod_changelist"))
    assert response.status_code in (302, 403)


def test_whether_a_method_is_cash_is_fixed_once_it_took_money(admin_user, receptionist):
    cash = PaymentMethod.objects.get(code="cash")
    cash.is_cash = False
    save_payment_method(method=cash, by=admin_user)  # unused yet: allowed
    cash.is_cash = True
    save_payment_method(method=cash, by=admin_user)
    settle_visit(visit=itemised_visit(), by=receptionist)
    cash.is_cash = False
    with pytest.raises(InvalidInput) as caught:
        save_payment_method(method=cash, by=admin_user)
    assert "is_cash" in caught.value.details
    assert PaymentMethod.objects.get(code="cash").is_cash
