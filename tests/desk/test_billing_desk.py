"""Payment with a receipt, and the takings reports with their CSV."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from billing.models import Bill, IncomeRecord
from billing.tests.factories import IncomeRecordFactory
from scheduling.tests.factories import ScheduleFactory
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
REPORTS = reverse("billing:reports")


@pytest.fixture
def desk_client(client, receptionist):
    client.force_login(receptionist)
    return client


@pytest.fixture
def visit():
    return VisitFactory(status=VisitStatus.AWAITING_PAYMENT)


class TestPayment:
    def test_self_pay_preview_is_computed_by_the_settlement_rules(self, desk_client, visit):
        url = reverse("billing:pay", args=[visit.pk])
        html = desk_client.get(
            url, {"total_amount": "86.5", "insurance_amount": "50"}, headers=HTMX
        ).content.decode()
        assert "¥36.50" in html
        html = desk_client.get(
            url, {"total_amount": "10", "insurance_amount": "20"}, headers=HTMX
        ).content.decode()
        assert "errorlist" in html

    def test_settles_and_shows_the_receipt(self, desk_client, visit, receptionist):
        response = desk_client.post(
            reverse("billing:pay", args=[visit.pk]),
            {"total_amount": "86.50", "insurance_amount": "50.00"},
        )
        bill = Bill.objects.get()
        assert response["Location"] == reverse("billing:receipt", args=[bill.pk])
        visit.refresh_from_db()
        assert visit.status == VisitStatus.LEFT
        receipt = desk_client.get(response["Location"]).content.decode()
        for expected in (bill.number, "¥86.50", "¥50.00", "¥36.50", visit.patient.name):
            assert expected in receipt

    @pytest.mark.parametrize(
        ("total", "insurance", "field"),
        [
            ("10", "20", "insurance_amount"),
            ("-1", "0", "total_amount"),
            ("abc", "0", "total_amount"),
        ],
    )
    def test_inconsistent_amounts_are_refused_and_nothing_written(
        self, desk_client, visit, total, insurance, field
    ):
        response = desk_client.post(
            reverse("billing:pay", args=[visit.pk]),
            {"total_amount": total, "insurance_amount": insurance},
        )
        assert response.status_code == 400
        assert field in response.context["form"].errors
        visit.refresh_from_db()
        assert visit.status == VisitStatus.AWAITING_PAYMENT
        assert not Bill.objects.exists() and not IncomeRecord.objects.exists()

    def test_a_visit_not_awaiting_payment_is_refused(self, desk_client):
        waiting = VisitFactory(status=VisitStatus.WAITING)
        response = desk_client.post(
            reverse("billing:pay", args=[waiting.pk]),
            {"total_amount": "10", "insurance_amount": "0"},
        )
        assert response.status_code == 409
        assert not Bill.objects.exists()

    @pytest.mark.parametrize("persona", ["patient", "doctor"])
    def test_refused_to_other_roles(self, client, personas, persona, visit):
        client.force_login(personas[persona])
        response = client.post(
            reverse("billing:pay", args=[visit.pk]), {"total_amount": "1", "insurance_amount": "0"}
        )
        assert response.status_code == 403
        assert not Bill.objects.exists()


class TestReports:
    def test_todays_takings_by_department_and_doctor(self, desk_client):
        first = IncomeRecordFactory(
            bill__total_amount=Decimal("100.00"), bill__insurance_amount=Decimal("60.00")
        )
        IncomeRecordFactory(
            bill__total_amount=Decimal("50.00"),
            bill__insurance_amount=Decimal("0.00"),
            department=first.department,
            doctor=first.doctor,
        )
        response = desk_client.get(REPORTS)
        assert response.context["totals"] == {
            "payments": 2,
            "refunds": 0,
            "total": Decimal("150.00"),
            "insurance": Decimal("60.00"),
            "self_pay": Decimal("90.00"),
        }
        assert response.context["by_department"] == [
            {
                "department_id": first.department_id,
                "department_name": first.department.name,
                "payments": 2,
                "refunds": 0,
                "total": Decimal("150.00"),
                "insurance": Decimal("60.00"),
                "self_pay": Decimal("90.00"),
            }
        ]

    def test_two_departments_of_one_english_name_stay_two_rows(self, desk_client):
        first, second = IncomeRecordFactory(), IncomeRecordFactory()
        for record in (first, second):
            record.department.name_en = "General practice"
            record.department.save(update_fields=["name_en"])
        response = desk_client.get(REPORTS, headers={"accept-language": "en"})
        rows = response.context["by_department"]
        assert [row["department_id"] for row in rows] == sorted(
            [first.department_id, second.department_id]
        )
        assert {row["department_name"] for row in rows} == {"General practice"}
        assert [row["payments"] for row in rows] == [1, 1]

    def test_filters_narrow_the_bills(self, desk_client):
        kept = IncomeRecordFactory()
        other = IncomeRecordFactory()
        response = desk_client.get(REPORTS, {"doctor": kept.doctor.pk})
        numbers = [bill.number for bill in response.context["page"]]
        assert numbers == [kept.bill.number]
        assert other.bill.number not in response.content.decode()

    @pytest.mark.parametrize("kind", ["bills", "income"])
    def test_csv_holds_exactly_the_filtered_rows_with_a_bom(self, desk_client, kind):
        schedule = ScheduleFactory()
        kept = IncomeRecordFactory.create_batch(3, bill__visit__schedule=schedule)
        IncomeRecordFactory()
        params = {"doctor": schedule.doctor.pk, "kind": kind}
        response = desk_client.get(reverse("billing:reports-export"), params)
        body = response.content.decode("utf-8")
        assert body.startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(body.lstrip("\ufeff"))))
        page = desk_client.get(REPORTS, params).context["page"]
        expected = [record.bill.number for record in kept]
        number_column = 0 if kind == "bills" else 1
        assert sorted(row[number_column] for row in rows[1:]) == sorted(expected)
        assert len(rows) - 1 == len(page.object_list)

    def test_an_inverted_range_is_a_field_error(self, desk_client):
        today = timezone.localdate()
        response = desk_client.get(
            REPORTS, {"start_date": today.isoformat(), "end_date": "2000-01-01"}
        )
        assert "end_date" in response.context["form"].errors

    def test_query_count_does_not_grow_with_rows(self, desk_client):
        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                assert desk_client.get(REPORTS).status_code == 200
            return len(queries)

        IncomeRecordFactory.create_batch(10)
        with_10 = count()
        IncomeRecordFactory.create_batch(40)
        assert count() == with_10

    def test_refused_to_patients_and_doctors(self, client, patient_user, doctor_user):
        for user in (patient_user, doctor_user):
            client.force_login(user)
            assert client.get(REPORTS).status_code == 403
            assert client.get(reverse("billing:reports-export")).status_code == 403
