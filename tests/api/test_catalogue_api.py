"""The fee catalogue's API: the staff read it (the catalogue's one search), administrators
write it through the service (audited, the code fixed), and every bad input is the unified
400 naming its field."""

from __future__ import annotations

from decimal import Decimal

import pytest

from clinic.models import AuditEvent, FeeItem
from clinic.tests.factories import (
    AllergyClassFactory,
    DoctorUserFactory,
    FeeItemFactory,
    InsurancePlanFactory,
    ManagerUserFactory,
    PatientUserFactory,
)
from tests.api.conftest import bearer_client

pytestmark = pytest.mark.django_db

ITEMS = "/api/catalogue/fee-items"


def item_url(item: FeeItem) -> str:
    return f"{ITEMS}/{item.pk}"


NEW = {
    "code": "D001",
    "name": "阿莫西林胶囊",
    "category": "drug",
    "unit": "盒",
    "unit_price": "18.50",
    "insurance_class": "A",
    "specification": "0.25g×24粒",
    "dose_unit": "粒",
    "doses_per_unit": "24",
}


def test_staff_search_the_catalogue_by_code_or_name():
    FeeItemFactory(code="D001", name="阿莫西林胶囊", category="drug")
    FeeItemFactory(code="L001", name="血常规", category="laboratory")
    FeeItemFactory(code="L002", name="尿常规", category="laboratory", is_active=False)
    api = bearer_client(DoctorUserFactory())
    found = api.get(ITEMS, {"search": "阿莫"}).json()
    assert [row["code"] for row in found["results"]] == ["D001"]
    assert [row["code"] for row in api.get(ITEMS, {"search": "l0"}).json()["results"]] == [
        "L001",
        "L002",
    ]
    by_category = api.get(ITEMS, {"category": "laboratory", "active": "true"}).json()
    assert [row["code"] for row in by_category["results"]] == ["L001"]
    inactive = api.get(ITEMS, {"active": "false"}).json()
    assert [row["code"] for row in inactive["results"]] == ["L002"]
    assert found["count"] == 1
    row = found["results"][0]
    assert row["unit_price"] == "25.00" and row["category_label"]


def test_an_administrator_creates_and_changes_an_item_audited(admin_user):
    AllergyClassFactory(code="penicillins")
    api = bearer_client(admin_user)
    response = api.post(ITEMS, {**NEW, "allergy_classes": ["penicillins"]}, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["allergy_classes"] == ["penicillins"]
    item = FeeItem.objects.get(code="D001")
    response = api.patch(item_url(item), {"unit_price": "19.00"}, format="json")
    assert response.status_code == 200
    assert response.json()["unit_price"] == "19.00"
    changed = AuditEvent.objects.get(action="fee_item.changed")
    assert changed.old_values == {"unit_price": "18.50"}
    assert changed.actor == admin_user


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category": "snacks"}, "category"),
        ({"unit_price": "-1"}, "unit_price"),
        ({"unit_price": "1.005"}, "unit_price"),
        ({"unit_price": "NaN"}, "unit_price"),
        ({"insurance_class": "D"}, "insurance_class"),
        ({"allergy_classes": ["unknown"]}, "allergy_classes"),
        ({"allergy_classes": {}}, "allergy_classes"),
        ({"allergy_classes": "PEN"}, "allergy_classes"),
        ({"is_active": "yes"}, "is_active"),
        ({"name": 12}, "name"),
        ({"doses_per_unit": "0"}, "doses_per_unit"),
    ],
)
def test_bad_input_is_a_unified_400_naming_the_field(admin_user, body, field):
    response = bearer_client(admin_user).post(ITEMS, {**NEW, **body}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"}
    assert field in error["details"]
    assert not FeeItem.objects.exists()


def test_an_object_for_the_allergy_classes_does_not_clear_them(admin_user):
    item = FeeItemFactory(code="X001")
    item.allergy_classes.add(AllergyClassFactory(code="PEN"))
    body = {**NEW, "code": "X001", "allergy_classes": {}}
    response = bearer_client(admin_user).put(item_url(item), body, format="json")
    assert response.status_code == 400
    assert "allergy_classes" in response.json()["error"]["details"]
    assert list(item.allergy_classes.values_list("code", flat=True)) == ["PEN"]


def test_the_code_cannot_change(admin_user):
    item = FeeItemFactory(code="X001")
    api = bearer_client(admin_user)
    response = api.patch(item_url(item), {"code": "X002"}, format="json")
    assert response.status_code == 400
    assert "code" in response.json()["error"]["details"]
    assert FeeItem.objects.get(pk=item.pk).code == "X001"
    response = api.post(ITEMS, {**NEW, "code": "x001"}, format="json")
    assert response.status_code == 400
    assert "code" in response.json()["error"]["details"]


def test_a_manager_reads_but_does_not_write(db):
    item = FeeItemFactory()
    api = bearer_client(ManagerUserFactory())
    assert api.get(ITEMS).status_code == 200
    response = api.patch(item_url(item), {"unit_price": "1.00"}, format="json")
    assert response.status_code == 403
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_patients_and_anonymous_are_refused():
    FeeItemFactory()
    response = bearer_client(PatientUserFactory()).get(ITEMS)
    assert response.status_code == 403
    assert response.json()["error"]["code"]
    assert bearer_client(None).get(ITEMS).status_code == 401
    assert bearer_client(None).get("/api/catalogue/insurance-plans").status_code == 401


def test_plans_and_allergy_classes_for_the_staff():
    InsurancePlanFactory(name="城镇职工", name_en="Urban employees", coverage_a=Decimal(90))
    AllergyClassFactory(code="penicillins", name="青霉素类")
    api = bearer_client(DoctorUserFactory())
    plans = api.get("/api/catalogue/insurance-plans").json()["results"]
    assert plans[0]["coverage_a"] == "90.00"
    classes = api.get("/api/catalogue/allergy-classes").json()["results"]
    assert classes[0]["code"] == "penicillins"


@pytest.mark.parametrize("query", [{"category": "x"}, {"active": "maybe"}, {"search": ""}])
def test_bad_filters_are_400(query):
    response = bearer_client(DoctorUserFactory()).get(ITEMS, query)
    assert response.status_code == 400
    assert set(response.json()["error"]) == {"code", "message", "details"}


def test_an_administrator_sets_a_doctors_rank_audited(admin_user):
    doctor = DoctorUserFactory().employee
    api = bearer_client(admin_user)
    url = f"/api/admin/employees/{doctor.emp_id}"
    response = api.patch(url, {"rank": "chief"}, format="json")
    assert response.status_code == 200 and response.json()["rank"] == "chief"
    assert AuditEvent.objects.get(action="employee.updated").new_values == {"rank": "chief"}
    assert api.patch(url, {"rank": "professor"}, format="json").status_code == 400
