"""The doctor's orders in the API: the answer's shape, the unified errors, the schema."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from clinic.models import FeeCategory
from tests.api.conftest import bearer_client
from visits.models import Charge, ChargeKind
from visits.tests.factories import (
    ChargeFactory,
    FeeItemFactory,
    PatientAllergyFactory,
    diagnosed,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(doctor_user):
    client = bearer_client(doctor_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def orders_url(visit) -> str:
    return reverse("api:doctor-orders", kwargs={"id": visit.pk})


def order_url(visit, charge) -> str:
    return reverse("api:doctor-order", kwargs={"id": visit.pk, "order_id": charge.pk})


def test_ordering_a_drug_answers_the_charge_with_its_amount(api, visit, amoxicillin):
    response = api.post(
        orders_url(visit),
        {"fee_item": amoxicillin.pk, "dose": "2", "frequency": "tid", "days": 7},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["code"], body["quantity"], body["unit_price"], body["amount"]) == (
        "YP001",
        "2.000",
        "12.50",
        "25.00",
    )
    assert (body["kind"], body["allergy_warning"], body["allergy_matches"]) == ("order", "", [])
    assert body["dose_unit"] == "粒"


def test_the_list_has_the_registration_fee_and_the_orders(api, visit):
    ChargeFactory(
        visit=visit,
        kind=ChargeKind.REGISTRATION,
        fee_item=FeeItemFactory(category=FeeCategory.REGISTRATION, unit_price="50.00"),
    )
    ChargeFactory(visit=visit, quantity=2)
    ChargeFactory()  # another visit's
    response = api.get(orders_url(visit))
    assert response.status_code == 200
    results = response.json()["results"]
    assert [(row["kind"], row["amount"]) for row in results] == [
        ("registration", "50.00"),
        ("order", "50.00"),
    ]


def test_an_allergy_match_is_the_unified_409_then_a_reason_goes_through(api, visit, amoxicillin):
    PatientAllergyFactory(patient=visit.patient, substance="青霉素")
    body = {"fee_item": amoxicillin.pk, "quantity": 1}
    response = api.post(orders_url(visit), body, format="json")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "allergy_warning"
    assert error["details"]["allergy_matches"] == ["青霉素 → 青霉素类"]
    assert not Charge.objects.exists()
    response = api.post(
        orders_url(visit), {**body, "allergy_override_reason": "皮试阴性"}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["allergy_warning"] == "青霉素 → 青霉素类"
    assert response.json()["allergy_matches"] == ["青霉素 → 青霉素类"]
    assert response.json()["allergy_override_reason"] == "皮试阴性"


@pytest.mark.parametrize(
    "body,field",
    [
        ({"quantity": 1}, "fee_item"),
        ({"fee_item": "x", "quantity": 1}, "fee_item"),
        ({"fee_item": 999999, "quantity": 1}, "fee_item"),
        ({"fee_item": "ITEM", "quantity": "abc"}, "quantity"),
        ({"fee_item": "ITEM", "quantity": 0}, "quantity"),
        ({"fee_item": "ITEM", "quantity": 1.5}, "quantity"),
        ({"fee_item": "ITEM", "quantity": "1e400"}, "quantity"),
        ({"fee_item": "ITEM", "quantity": 1, "days": 500}, "days"),
        ({"fee_item": "ITEM", "quantity": 1, "days": "many"}, "days"),
        ({"fee_item": "ITEM", "quantity": 1, "frequency": "hourly"}, "frequency"),
        ({"fee_item": "ITEM", "quantity": 1, "note": 5}, "note"),
        ({"fee_item": "ITEM", "quantity": 1, "usage": "x" * 500}, "usage"),
        ({"fee_item": "ITEM"}, "quantity"),
    ],
)
def test_bad_bodies_are_field_errors(api, visit, amoxicillin, body, field):
    body = {key: amoxicillin.pk if value == "ITEM" else value for key, value in body.items()}
    response = api.post(orders_url(visit), body, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"]
    assert not Charge.objects.exists()


def test_patch_changes_only_what_is_sent(api, visit, amoxicillin):
    created = api.post(
        orders_url(visit),
        {"fee_item": amoxicillin.pk, "dose": 2, "frequency": "tid", "days": 4, "note": "n"},
        format="json",
    ).json()
    charge = Charge.objects.get(pk=created["id"])
    response = api.patch(order_url(visit, charge), {"days": 7}, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["days"], response.json()["quantity"], response.json()["note"]) == (
        7,
        "2.000",
        "n",
    )


def test_after_the_finish_orders_are_frozen(api, visit, doctor_user, amoxicillin):
    charge = ChargeFactory(visit=visit)
    diagnosed(visit)
    visit.finish_consultation(by=doctor_user)
    for response in (
        api.post(orders_url(visit), {"fee_item": amoxicillin.pk, "quantity": 1}, format="json"),
        api.patch(order_url(visit, charge), {"quantity": 3}, format="json"),
        api.delete(order_url(visit, charge)),
    ):
        assert response.status_code == 409
        assert response.json()["error"]["code"] == "orders_frozen"
    charge.refresh_from_db()
    assert charge.quantity == Decimal(1)
    assert api.get(orders_url(visit)).status_code == 200  # still readable


def test_another_visits_order_is_a_404(api, visit):
    other = ChargeFactory()
    assert api.delete(order_url(visit, other)).status_code == 404
    assert Charge.objects.filter(pk=other.pk).exists()


def test_the_schema_describes_the_routes(admin_user):
    client = bearer_client(admin_user)
    schema = client.get(reverse("api:schema"), {"format": "json"}).json()
    paths = schema["paths"]
    orders = paths["/api/doctor/visits/{id}/orders"]
    assert set(orders) >= {"get", "post"}
    assert set(paths["/api/doctor/visits/{id}/orders/{order_id}"]) >= {"patch", "delete"}
    components = schema["components"]["schemas"]
    assert "allergy_matches" in components["OrderResult"]["properties"]
    assert "amount" in components["Charge"]["properties"]
    assert "fee_item" in components["OrderInputRequest"]["required"]
