"""The fee catalogue and the charges' reference data: services (validation, the fixed code,
the audit trail that is the price history), the CSV import and export, and Django Admin."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from clinic.catalogue import (
    HEADER,
    delete_fee_item,
    fee_catalogue_csv_rows,
    import_fee_catalogue,
    price_history,
    save_allergy_class,
    save_fee_item,
    save_insurance_plan,
    save_registration_fee,
)
from clinic.exceptions import InvalidInput, PermissionDenied
from clinic.models import (
    AllergyClass,
    AuditEvent,
    DoctorRank,
    FeeCategory,
    FeeItem,
    InsurancePlan,
    RegistrationFee,
)
from clinic.tests.factories import (
    AllergyClassFactory,
    DoctorFactory,
    DoctorUserFactory,
    FeeItemFactory,
    InsurancePlanFactory,
    ManagerUserFactory,
    ReceptionistFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def new_item(**fields) -> FeeItem:
    values = {
        "code": "X001",
        "name": "Chest X-ray",
        "category": FeeCategory.EXAMINATION,
        "unit": "time",
        "unit_price": Decimal("60.00"),
        "insurance_class": "A",
    }
    values.update(fields)
    return FeeItem(**values)


# Services.


def test_creating_and_changing_an_item_is_its_price_history(admin_user):
    item = save_fee_item(item=new_item(), by=admin_user)
    item.unit_price = Decimal("65.5")
    save_fee_item(item=item, by=admin_user)
    item.refresh_from_db()
    assert item.unit_price == Decimal("65.50")
    history = list(price_history(item))
    assert [event.action for event in history] == ["fee_item.changed", "fee_item.created"]
    assert history[0].old_values == {"unit_price": "60.00"}
    assert history[0].new_values == {"unit_price": "65.50"}
    assert history[0].actor == admin_user
    assert history[1].new_values["code"] == "X001"


def test_saving_an_unchanged_item_writes_no_event(admin_user):
    item = save_fee_item(item=new_item(), by=admin_user)
    item = FeeItem.objects.get(pk=item.pk)
    item.unit_price = Decimal("60")  # the same price, written otherwise
    save_fee_item(item=item, by=admin_user)
    assert price_history(item).count() == 1


def test_an_items_code_is_fixed_once_made(admin_user):
    item = save_fee_item(item=new_item(), by=admin_user)
    item.code = "X002"
    with pytest.raises(InvalidInput) as error:
        save_fee_item(item=item, by=admin_user)
    assert "code" in error.value.details
    assert FeeItem.objects.get(pk=item.pk).code == "X001"


def test_a_code_taken_in_another_case_is_refused(admin_user):
    save_fee_item(item=new_item(code="abc"), by=admin_user)
    with pytest.raises(InvalidInput) as error:
        save_fee_item(item=new_item(code="ABC"), by=admin_user)
    assert "code" in error.value.details


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"unit_price": Decimal("-1")}, "unit_price"),
        ({"unit_price": Decimal("1.005")}, "unit_price"),
        ({"category": "snacks"}, "category"),
        ({"insurance_class": "D"}, "insurance_class"),
        ({"name": "  "}, "name"),
        ({"doses_per_unit": Decimal("0")}, "doses_per_unit"),
    ],
)
def test_bad_items_are_field_errors_and_write_nothing(admin_user, fields, field):
    with pytest.raises(InvalidInput) as error:
        save_fee_item(item=new_item(**fields), by=admin_user)
    assert field in error.value.details
    assert not FeeItem.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="fee_item.").exists()


def test_allergy_classes_are_part_of_the_event(admin_user):
    penicillins = AllergyClassFactory(code="penicillins")
    item = save_fee_item(
        item=new_item(category=FeeCategory.DRUG), by=admin_user, allergy_classes=[penicillins]
    )
    assert list(item.allergy_classes.all()) == [penicillins]
    save_fee_item(item=item, by=admin_user, allergy_classes=[])
    assert not item.allergy_classes.exists()
    changed = price_history(item).first()
    assert changed.old_values == {"allergy_classes": ["penicillins"]}
    assert changed.new_values == {"allergy_classes": []}


@pytest.mark.parametrize(
    "make_user", [ReceptionistFactory, DoctorUserFactory, UserFactory, ManagerUserFactory]
)
def test_only_administrators_write_the_catalogue(make_user):
    user = make_user()
    with pytest.raises(PermissionDenied):
        save_fee_item(item=new_item(), by=user)
    assert not FeeItem.objects.exists()


def test_a_charged_item_cannot_be_deleted(admin_user):
    from visits.models import Charge
    from visits.tests.factories import VisitFactory

    item = save_fee_item(item=new_item(), by=admin_user)
    visit = VisitFactory()
    visit.charges.create(
        kind="order",
        **Charge.copied_from(item),
        quantity=1,
        ordered_by=admin_user,
    )
    from clinic.exceptions import RecordInUse

    with pytest.raises(RecordInUse):
        delete_fee_item(item=item, by=admin_user)
    assert FeeItem.objects.filter(pk=item.pk).exists()
    assert not AuditEvent.objects.filter(action="fee_item.deleted").exists()


def test_insurance_plans_are_validated_and_audited(admin_user):
    plan = InsurancePlan(name="城镇职工", coverage_a=90, coverage_b=70, coverage_c=0)
    save_insurance_plan(plan=plan, by=admin_user)
    plan.coverage_b = Decimal("75")
    save_insurance_plan(plan=plan, by=admin_user)
    event = AuditEvent.objects.filter(action="insurance_plan.changed").get()
    assert event.old_values == {"coverage_b": "70.00"}
    plan.coverage_a = Decimal("101")
    with pytest.raises(InvalidInput) as error:
        save_insurance_plan(plan=plan, by=admin_user)
    assert "coverage_a" in error.value.details


def test_a_registration_fee_is_a_registration_item(admin_user):
    exam = FeeItemFactory(category=FeeCategory.EXAMINATION)
    with pytest.raises(InvalidInput) as error:
        save_registration_fee(
            fee=RegistrationFee(rank=DoctorRank.CHIEF, fee_item=exam), by=admin_user
        )
    assert "fee_item" in error.value.details
    registration = FeeItemFactory(category=FeeCategory.REGISTRATION, unit_price=Decimal(25))
    save_registration_fee(
        fee=RegistrationFee(rank=DoctorRank.CHIEF, fee_item=registration), by=admin_user
    )
    assert AuditEvent.objects.filter(action="registration_fee.created").count() == 1


def test_an_allergy_class_keeps_its_code(admin_user):
    allergy = save_allergy_class(
        allergy_class=AllergyClass(code="sulfonamides", name="磺胺类"), by=admin_user
    )
    allergy.code = "sulfa"
    with pytest.raises(InvalidInput):
        save_allergy_class(allergy_class=allergy, by=admin_user)
    assert AuditEvent.objects.filter(action="allergy_class.created").count() == 1


# CSV import and export.


def csv_bytes(*lines: str, header: bool = True) -> bytes:
    rows = ([",".join(HEADER)] if header else []) + list(lines)
    return ("\n".join(rows) + "\n").encode()


AMOXICILLIN = "D001,阿莫西林胶囊,drug,盒,18.50,A,0.25g×24粒,胶囊,口服,粒,24,0,penicillins,1"
BLOOD = "L001,血常规,laboratory,次,20,A,,,,,,0,,1"


def test_import_adds_and_updates_items_each_audited(admin_user):
    AllergyClassFactory(code="penicillins")
    FeeItemFactory(code="L001", name="Old name", unit_price=Decimal("15.00"))
    result = import_fee_catalogue(data=csv_bytes(AMOXICILLIN, BLOOD), by=admin_user)
    assert result.errors == []
    assert result.added == ["D001"] and result.changed == ["L001"]
    drug = FeeItem.objects.get(code="D001")
    assert drug.doses_per_unit == Decimal("24.000")
    assert [c.code for c in drug.allergy_classes.all()] == ["penicillins"]
    blood = FeeItem.objects.get(code="L001")
    assert (blood.name, blood.unit_price) == ("血常规", Decimal("20.00"))
    changed = price_history(blood).first()
    assert changed.action == "fee_item.changed"
    assert changed.old_values["unit_price"] == "15.00"
    assert AuditEvent.objects.filter(action="fee_catalogue.imported").count() == 1


def test_import_finds_an_items_code_in_any_case(admin_user):
    """The file's l001 is the item L001 (codes are one item whatever their case), on SQLite
    as on MariaDB."""
    FeeItemFactory(code="L001", name="Old name")
    result = import_fee_catalogue(data=csv_bytes(BLOOD.replace("L001", "l001")), by=admin_user)
    assert result.errors == [] and result.changed == ["L001"]
    assert FeeItem.objects.get(code="L001").name == "血常规"


def test_import_reports_errors_by_line_and_writes_nothing(admin_user):
    AllergyClassFactory(code="penicillins")
    FeeItemFactory(code="L001", unit_price=Decimal("15.00"))
    data = csv_bytes(
        AMOXICILLIN,
        "L001,血常规,laboratory,次,-2,A,,,,,,0,,1",  # line 3: negative price
        "X1,胸片,snacks,次,20,A,,,,,,0,,1",  # line 4: unknown category
        "X2,胸片,examination,次,20.001,A,,,,,,0,,1",  # line 5: three decimals
        "X3,胸片,examination,次,20,A,,,,,,0,unknown,1",  # line 6: unknown allergy class
        "X4,胸片,examination,次",  # line 7: columns
        AMOXICILLIN,  # line 8: twice
    )
    result = import_fee_catalogue(data=data, by=admin_user)
    # Every wrong line at once, whether it could not be read or does not validate.
    assert [line for line, _message in result.errors] == [3, 4, 5, 6, 7, 8]
    assert not FeeItem.objects.filter(code="D001").exists()
    assert FeeItem.objects.get(code="L001").unit_price == Decimal("15.00")
    assert not AuditEvent.objects.filter(action__startswith="fee_").exists()


def test_import_names_the_line_of_a_model_error(admin_user):
    data = csv_bytes(BLOOD, "X2,胸片,examination,次,20.001,A,,,,,,0,,1")
    result = import_fee_catalogue(data=data, by=admin_user)
    assert [line for line, _message in result.errors] == [3]
    assert not FeeItem.objects.exists()


def test_export_imports_back_unchanged(admin_user):
    penicillins = AllergyClassFactory(code="penicillins")
    FeeItemFactory(
        code="D001",
        name="=HYPERLINK(x)",
        category=FeeCategory.DRUG,
        doses_per_unit=Decimal("24"),
        allergy_classes=[penicillins],
    )
    FeeItemFactory(code="L001", is_active=False, unit_price=Decimal("0.50"))
    client_rows = list(fee_catalogue_csv_rows(FeeItem.objects.order_by("code")))
    import csv
    import io

    from clinic.exports import safe_cell

    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in client_rows:
        writer.writerow([safe_cell(cell) for cell in row])
    result = import_fee_catalogue(data=buffer.getvalue().encode("utf-8-sig"), by=admin_user)
    assert result.errors == []
    assert result.added == [] and result.changed == []
    assert FeeItem.objects.get(code="D001").name == "=HYPERLINK(x)"


def test_import_reads_gb18030(admin_user):
    result = import_fee_catalogue(data=csv_bytes(BLOOD).decode().encode("gb18030"), by=admin_user)
    assert result.errors == []
    assert FeeItem.objects.get(code="L001").name == "血常规"


# Django Admin.


def test_admin_changelist_searches_with_the_catalogue_search(client, admin_user):
    FeeItemFactory(code="D001", name="阿莫西林胶囊", unit_price=Decimal("1234.5"))
    FeeItemFactory(code="L001", name="血常规")
    client.force_login(admin_user)
    url = reverse("admin:clinic_feeitem_changelist")
    page = client.get(url, {"q": "阿莫"}).content.decode()
    assert "D001" in page and "L001" not in page
    assert "1,234.50" in page
    assert "L001" in client.get(url, {"q": "l0"}).content.decode()


def test_admin_change_page_saves_through_the_service_and_shows_the_history(client, admin_user):
    item = FeeItemFactory(code="D001", unit_price=Decimal("10.00"))
    client.force_login(admin_user)
    url = reverse("admin:clinic_feeitem_change", args=[item.pk])
    response = client.post(
        url,
        {
            "code": "CHANGED",
            "name": item.name,
            "category": item.category,
            "unit": item.unit,
            "unit_price": "12.00",
            "insurance_class": "B",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert (item.code, item.unit_price, item.insurance_class) == ("D001", Decimal("12.00"), "B")
    event = price_history(item).get()
    assert event.old_values == {"unit_price": "10.00", "insurance_class": "A"}
    page = client.get(url).content.decode()
    assert 'id="price-history"' in page and "10.00 → 12.00" in page


def test_admin_import_and_export(client, admin_user):
    client.force_login(admin_user)
    url = reverse("admin:clinic_feeitem_import")
    assert client.get(url).status_code == 200
    bad = SimpleUploadedFile("c.csv", csv_bytes("X4,胸片,examination,次"))
    response = client.post(url, {"file": bad}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    page = response.content.decode()
    assert 'id="import-errors"' in page and "Line 2" in page
    good = SimpleUploadedFile("c.csv", csv_bytes(BLOOD))
    assert client.post(url, {"file": good}).status_code == 302
    export = client.get(reverse("admin:clinic_feeitem_export"))
    assert export.status_code == 200
    assert "L001" in export.content.decode("utf-8-sig")


def test_a_manager_reads_the_catalogue_but_does_not_change_it(client):
    item = FeeItemFactory()
    client.force_login(ManagerUserFactory())
    assert client.get(reverse("admin:clinic_feeitem_changelist")).status_code == 200
    assert client.get(reverse("admin:clinic_feeitem_export")).status_code == 200
    assert client.get(reverse("admin:clinic_feeitem_add")).status_code == 403
    assert client.get(reverse("admin:clinic_feeitem_import")).status_code == 403
    response = client.post(
        reverse("admin:clinic_feeitem_change", args=[item.pk]),
        {"code": item.code, "name": "x", "category": "drug", "unit": "box", "unit_price": "1"},
    )
    assert response.status_code == 403
    assert client.get(reverse("admin:clinic_insuranceplan_add")).status_code == 403


@pytest.mark.parametrize("make_user", [ReceptionistFactory, UserFactory])
def test_desk_and_patients_have_no_catalogue_admin(client, make_user):
    client.force_login(make_user())
    response = client.get(reverse("admin:clinic_feeitem_changelist"))
    assert response.status_code == 302  # to the admin's login
    assert client.get(reverse("admin:clinic_feeitem_export")).status_code == 302


def test_admin_pages_of_the_reference_data(client, admin_user):
    client.force_login(admin_user)
    registration = FeeItemFactory(category=FeeCategory.REGISTRATION)
    for name in ("insuranceplan", "registrationfee", "allergyclass"):
        assert client.get(reverse(f"admin:clinic_{name}_add")).status_code == 200
    response = client.post(
        reverse("admin:clinic_registrationfee_add"),
        {"rank": DoctorRank.ATTENDING, "fee_item": registration.pk},
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="registration_fee.created").exists()
    plan = InsurancePlanFactory()
    response = client.post(
        reverse("admin:clinic_insuranceplan_change", args=[plan.pk]),
        {
            "name": plan.name,
            "name_en": "",
            "coverage_a": "80",
            "coverage_b": "60",
            "coverage_c": "0",
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action="insurance_plan.changed").exists()


def test_employee_admin_edits_the_rank_audited(client, admin_user):
    doctor = DoctorFactory()
    client.force_login(admin_user)
    page = client.get(reverse("admin:clinic_employee_change", args=[doctor.pk]))
    assert 'name="rank"' in page.content.decode()
    from clinic.staff import save_employee

    doctor.rank = DoctorRank.CHIEF
    save_employee(employee=doctor, by=admin_user)
    event = AuditEvent.objects.filter(action="employee.updated").get()
    assert event.new_values == {"rank": "chief"}
