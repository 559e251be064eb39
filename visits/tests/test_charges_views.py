"""The orders panel of the consultation page (with and without htmx) and the printed
prescription."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from clinic.models import AuditEvent, FeeCategory
from clinic.tests.factories import DoctorUserFactory
from visits.models import Charge, ChargeKind, VisitStatus
from visits.tests.factories import (
    AllergyClassFactory,
    ChargeFactory,
    FeeItemFactory,
    MedicalRecordFactory,
    PatientAllergyFactory,
    diagnosed,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


def page(visit) -> str:
    return reverse("visits:consultation", args=[visit.pk])


def panel(visit) -> str:
    return reverse("visits:orders", args=[visit.pk])


def add_url(visit) -> str:
    return reverse("visits:order-add", args=[visit.pk])


class TestPanel:
    def test_the_page_lists_the_charges_with_amounts_and_total(self, doctor_client, visit):
        ChargeFactory(
            visit=visit,
            kind=ChargeKind.REGISTRATION,
            fee_item=FeeItemFactory(category=FeeCategory.REGISTRATION, name="挂号费"),
            unit_price=Decimal("50.00"),
        )
        ChargeFactory(visit=visit, name="血常规", quantity=2, unit_price=Decimal("20.00"))
        html = doctor_client.get(page(visit)).content.decode()
        assert 'id="orders"' in html
        assert "挂号费" in html and "血常规" in html
        assert "¥40.00" in html and "¥90.00" in html  # the line and the total
        assert "At arrival" in html  # the registration fee is read-only
        assert html.count('id="remove-order-') == 1

    def test_a_search_lists_orderable_items_htmx_and_without(
        self, doctor_client, visit, amoxicillin, blood_test
    ):
        FeeItemFactory(code="JY002", is_active=False)
        FeeItemFactory(code="JYREG", category=FeeCategory.REGISTRATION)
        response = doctor_client.get(panel(visit), {"q": "jy"}, **HTMX)
        html = response.content.decode()
        assert response.status_code == 200
        assert "<html" not in html
        assert f'id="pick-item-{blood_test.pk}"' in html
        assert "JY002" not in html and "JYREG" not in html
        without = doctor_client.get(page(visit), {"q": "jy"}).content.decode()
        assert f'id="pick-item-{blood_test.pk}"' in without
        # The panel's URL without htmx: the page with the same query.
        redirect = doctor_client.get(panel(visit), {"q": "jy"})
        assert redirect.status_code == 302 and "q=jy" in redirect["Location"]

    def test_suggestions_are_options_of_the_catalogue(self, doctor_client, amoxicillin):
        response = doctor_client.get(reverse("visits:order-suggestions"), {"q": "阿莫"})
        html = response.content.decode()
        assert '<option value="YP001">' in html and "0.25 g × 24 粒" in html
        empty = doctor_client.get(reverse("visits:order-suggestions"), {"q": ""})
        assert "<option" not in empty.content.decode()

    def test_the_exact_code_opens_the_drug_form_with_the_default_usage(
        self, doctor_client, visit, amoxicillin
    ):
        html = doctor_client.get(panel(visit), {"q": "yp001"}, **HTMX).content.decode()
        assert 'id="order-form"' in html
        assert 'name="dose"' in html and 'name="frequency"' in html
        assert 'value="口服"' in html
        assert "Dose (粒)" in html

    def test_an_examination_form_has_no_dosage(self, doctor_client, visit, blood_test):
        html = doctor_client.get(panel(visit), {"item": blood_test.pk}, **HTMX).content.decode()
        assert 'name="quantity"' in html and 'name="dose"' not in html

    def test_the_live_quantity(self, doctor_client, visit, amoxicillin):
        url = reverse("visits:order-quantity", args=[visit.pk])
        data = {"fee_item": amoxicillin.pk, "dose": "2", "frequency": "tid", "days": "7"}
        assert "Computed: 2 盒" in doctor_client.get(url, data).content.decode()
        for bad in ({"dose": "x"}, {"days": "999"}, {"frequency": "prn"}, {"fee_item": "x"}):
            response = doctor_client.get(url, {**data, **bad})
            assert response.status_code == 200
            assert "Computed" not in response.content.decode()


class TestWriting:
    def test_adding_a_drug_with_htmx(self, doctor_client, visit, amoxicillin):
        response = doctor_client.post(
            add_url(visit),
            {
                "fee_item": amoxicillin.pk,
                "dose": "2",
                "frequency": "tid",
                "days": "7",
                "usage": "口服",
                "quantity": "",
            },
            **HTMX,
        )
        assert response.status_code == 200
        charge = Charge.objects.get()
        assert (charge.quantity, charge.days) == (Decimal(2), 7)
        html = response.content.decode()
        assert "阿莫西林胶囊" in html and "¥25.00" in html

    def test_adding_without_javascript_redirects_to_the_page(
        self, doctor_client, visit, blood_test
    ):
        response = doctor_client.post(add_url(visit), {"fee_item": blood_test.pk, "quantity": "1"})
        assert response.status_code == 302
        assert response["Location"].endswith(page(visit) + "#orders")
        assert Charge.objects.count() == 1

    @pytest.mark.parametrize("htmx", [True, False])
    def test_a_bad_quantity_is_a_field_error_never_a_500(
        self, doctor_client, visit, amoxicillin, htmx
    ):
        response = doctor_client.post(
            add_url(visit),
            {"fee_item": amoxicillin.pk, "quantity": "1.5", "dose": "abc"},
            **(HTMX if htmx else {}),
        )
        assert response.status_code == 400
        html = response.content.decode()
        assert "Enter a number." in html
        assert 'id="order-form"' in html
        assert not Charge.objects.exists()

    def test_an_unknown_item_is_refused(self, doctor_client, visit):
        response = doctor_client.post(add_url(visit), {"fee_item": "999", "quantity": "1"}, **HTMX)
        assert response.status_code == 400
        assert "Choose an item" in response.content.decode()

    def test_an_allergy_warns_then_a_reason_goes_through(self, doctor_client, visit, amoxicillin):
        PatientAllergyFactory(patient=visit.patient, substance="青霉素")
        data = {"fee_item": amoxicillin.pk, "quantity": "1"}
        response = doctor_client.post(add_url(visit), data, **HTMX)
        assert response.status_code == 409
        html = response.content.decode()
        assert 'id="allergy-warning"' in html and "青霉素 → 青霉素类" in html
        assert (
            'name="allergy_override_reason"' in html
            and 'type="hidden"'
            not in html.split('name="allergy_override_reason"')[0].rsplit("<input", 1)[1]
        )
        assert not Charge.objects.exists()
        response = doctor_client.post(
            add_url(visit), {**data, "allergy_override_reason": "皮试阴性"}, **HTMX
        )
        assert response.status_code == 200
        charge = Charge.objects.get()
        assert charge.allergy_override_reason == "皮试阴性"
        assert "皮试阴性" in response.content.decode()

    def test_edit_and_remove(self, doctor_client, visit, blood_test):
        charge = ChargeFactory(visit=visit, fee_item=blood_test, quantity=1)
        form = doctor_client.get(panel(visit), {"edit": charge.pk}, **HTMX).content.decode()
        assert reverse("visits:order-update", args=[visit.pk, charge.pk]) in form
        response = doctor_client.post(
            reverse("visits:order-update", args=[visit.pk, charge.pk]),
            {"quantity": "3", "note": "复查"},
            **HTMX,
        )
        assert response.status_code == 200
        charge.refresh_from_db()
        assert (charge.quantity, charge.note) == (Decimal(3), "复查")
        response = doctor_client.post(
            reverse("visits:order-remove", args=[visit.pk, charge.pk]), **HTMX
        )
        assert response.status_code == 200
        assert not Charge.objects.exists()
        assert AuditEvent.objects.filter(action="charge.removed").count() == 1

    def test_another_doctor_gets_a_404(self, client, visit, blood_test):
        client.force_login(DoctorUserFactory())
        response = client.post(add_url(visit), {"fee_item": blood_test.pk, "quantity": "1"})
        assert response.status_code == 404
        assert not Charge.objects.exists()

    def test_get_on_a_post_url_is_refused(self, doctor_client, visit):
        assert doctor_client.get(add_url(visit)).status_code == 405

    def test_after_the_finish_the_panel_is_read_only_and_posts_are_refused(
        self, doctor_client, doctor_user, visit, blood_test
    ):
        charge = ChargeFactory(visit=visit, fee_item=blood_test)
        diagnosed(visit)
        visit.finish_consultation(by=doctor_user)
        html = doctor_client.get(page(visit)).content.decode()
        assert 'id="orders-closed"' in html
        assert 'id="order-search"' not in html and 'id="remove-order-' not in html
        response = doctor_client.post(
            add_url(visit), {"fee_item": blood_test.pk, "quantity": "1"}, **HTMX
        )
        assert response.status_code == 409
        assert "closed" in response.content.decode()
        response = doctor_client.post(
            reverse("visits:order-remove", args=[visit.pk, charge.pk]), **HTMX
        )
        assert response.status_code == 409
        assert Charge.objects.count() == 1


class TestPrescription:
    def test_the_prescription_lists_the_drug_lines_only(
        self, doctor_client, visit, amoxicillin, blood_test
    ):
        record = MedicalRecordFactory(visit=visit, diagnosis="急性扁桃体炎")
        ChargeFactory(
            visit=visit,
            fee_item=amoxicillin,
            quantity=2,
            dose=Decimal(2),
            dose_unit="粒",
            frequency="tid",
            days=7,
            usage="口服",
        )
        ChargeFactory(visit=visit, fee_item=blood_test)
        response = doctor_client.get(reverse("visits:prescription-print", args=[record.pk]))
        html = response.content.decode()
        assert response.status_code == 200
        assert "急性扁桃体炎" in html
        assert "阿莫西林胶囊" in html and "0.25 g × 24 粒" in html
        assert "2 粒" in html and "tid" in html and "口服" in html and "2 盒" in html
        assert "血常规" not in html
        # The masked ID number, never the whole of it.
        assert visit.patient.id_card not in html
        assert visit.patient.id_card[-4:] in html

    def test_another_doctor_cannot_print_it(self, client, visit):
        record = MedicalRecordFactory(visit=visit)
        client.force_login(DoctorUserFactory())
        response = client.get(reverse("visits:prescription-print", args=[record.pk]))
        assert response.status_code == 404


class TestAdmin:
    @pytest.fixture
    def awaiting(self, visit, doctor_user, blood_test):
        charge = ChargeFactory(visit=visit, fee_item=blood_test, quantity=1)
        diagnosed(visit)
        visit.finish_consultation(by=doctor_user)
        return charge

    def test_the_visit_shows_its_charges_read_only(self, client, admin_user, awaiting):
        client.force_login(admin_user)
        response = client.get(reverse("admin:visits_visit_change", args=[awaiting.visit_id]))
        html = response.content.decode()
        assert response.status_code == 200
        assert "血常规" in html and "20.00" in html

    def test_a_correction_needs_a_reason_and_is_audited(self, client, admin_user, awaiting):
        client.force_login(admin_user)
        url = reverse("admin:visits_charge_change", args=[awaiting.pk])
        assert client.get(url).status_code == 200
        response = client.post(url, {"quantity": "2"})
        assert response.status_code == 200  # the form again, the reason missing
        awaiting.refresh_from_db()
        assert awaiting.quantity == Decimal(1)
        response = client.post(url, {"quantity": "2", "correction_reason": "录入错误"})
        assert response.status_code == 302
        awaiting.refresh_from_db()
        assert awaiting.quantity == Decimal(2)
        event = AuditEvent.objects.get(action="charge.corrected")
        assert event.new_values["reason"] == "录入错误"

    def test_a_correction_after_settlement_is_refused_on_the_page(
        self, client, admin_user, awaiting
    ):
        Visit = type(awaiting.visit)
        Visit.objects.filter(pk=awaiting.visit_id).update(status=VisitStatus.LEFT)
        client.force_login(admin_user)
        url = reverse("admin:visits_charge_change", args=[awaiting.pk])
        response = client.post(
            url, {"quantity": "2", "correction_reason": "r"}, follow=True, HTTP_ACCEPT_LANGUAGE="en"
        )
        assert response.status_code == 200
        assert "awaits payment" in response.content.decode()
        awaiting.refresh_from_db()
        assert awaiting.quantity == Decimal(1)

    def test_the_list_and_its_filters(self, client, admin_user, awaiting):
        client.force_login(admin_user)
        url = reverse("admin:visits_charge_changelist")
        assert client.get(url, {"kind": "order", "q": "JY"}).status_code == 200


class TestAllergyClass:
    def test_the_doctors_form_takes_a_drug_class(self, doctor_client, visit):
        penicillins = AllergyClassFactory()
        response = doctor_client.post(
            reverse("visits:allergy-add", args=[visit.pk]),
            {"substance": "某抗生素", "severity": "severe", "allergy_class": penicillins.pk},
            **HTMX,
        )
        assert response.status_code == 200
        allergy = visit.patient.allergies.get()
        assert allergy.allergy_class == penicillins
        event = AuditEvent.objects.get(action="allergy.added")
        assert event.new_values["allergy_class"] == "PEN"

    def test_an_unknown_class_is_a_field_error(self, doctor_client, visit):
        response = doctor_client.post(
            reverse("visits:allergy-add", args=[visit.pk]),
            {"substance": "x", "severity": "mild", "allergy_class": "999"},
            **HTMX,
        )
        assert response.status_code == 400
        assert not visit.patient.allergies.exists()

    def test_the_api_takes_and_answers_the_class(self, visit, doctor_user):
        from tests.api.conftest import bearer_client

        penicillins = AllergyClassFactory()
        api = bearer_client(doctor_user)
        url = reverse("api:doctor-allergies", kwargs={"id": visit.pk})
        response = api.post(
            url, {"substance": "青霉素", "allergy_class": penicillins.pk}, format="json"
        )
        assert response.status_code == 201, response.json()
        assert response.json()["allergy_class"] == "PEN"
        bad = api.post(url, {"substance": "x", "allergy_class": 999999}, format="json")
        assert bad.status_code == 400
        assert "allergy_class" in bad.json()["error"]["details"]
        assert api.get(url).json()["results"][0]["allergy_class"] == "PEN"


@pytest.mark.parametrize("rows", [1, 8])
def test_the_panel_answers_with_a_fixed_number_of_queries(
    doctor_client, visit, blood_test, django_assert_num_queries, rows
):
    for _ in range(rows):
        ChargeFactory(visit=visit, fee_item=blood_test)
    doctor_client.get(panel(visit), **HTMX)  # the session warmed up
    # Session, user, the visit (with patient, schedule, record), its charges.
    with django_assert_num_queries(4):
        response = doctor_client.get(panel(visit), **HTMX)
    assert response.content.decode().count('id="remove-order-') == rows


def test_without_javascript_the_picked_item_form_has_the_focus(doctor_client, visit, blood_test):
    html = doctor_client.get(page(visit), {"item": blood_test.pk}).content.decode()
    assert html.count("autofocus") == 1
    assert 'name="quantity" inputmode="decimal" size="6" maxlength="20" autofocus' in html
