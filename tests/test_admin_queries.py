"""Clinic-wide queries in Django Admin: the desk's filters and search on patients, visits,
bills and income, read-only, with a fixed number of queries whatever the rows."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from billing.tests.factories import BillFactory, IncomeRecordFactory
from clinic.tests.factories import (
    DoctorFactory,
    PatientFactory,
    PatientUserFactory,
    RoomFactory,
    make_resident_id,
)
from scheduling.tests.factories import ScheduleFactory
from tests.support import WORK_DAY, clinic_time
from visits.models import VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

NEXT_DAY = WORK_DAY + dt.timedelta(days=1)


def changelist(label: str) -> str:
    return reverse(f"admin:{label}_changelist")


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def listed(client, label: str, **params) -> list:
    response = client.get(changelist(label), params)
    assert response.status_code == 200, response.content.decode()[:500]
    return list(response.context["cl"].result_list)


@pytest.fixture
def zhang():
    return PatientFactory(
        name="张三丰", phone="13912345678", id_card=make_resident_id(dt.date(1985, 3, 14), seed=1)
    )


@pytest.fixture
def two_visits(zhang):
    """Zhang with doctor A in room A on the work day; someone else with doctor B a day later."""
    first = VisitFactory(
        patient=zhang,
        schedule=ScheduleFactory(work_date=WORK_DAY),
        status=VisitStatus.LEFT,
    )
    second = VisitFactory(schedule=ScheduleFactory(work_date=NEXT_DAY))
    return first, second


class TestVisits:
    @pytest.mark.parametrize(
        "search", ["张三", "139123", "13912345678", "zhang-id", "room"], ids=str
    )
    def test_the_search_box_finds_by_name_phone_id_number_or_room(
        self, admin_client, two_visits, zhang, search
    ):
        first, _second = two_visits
        term = {
            "zhang-id": zhang.id_card.lower(),
            "room": first.schedule.room.room_number,
        }.get(search, search)
        assert listed(admin_client, "visits_visit", q=term) == [first]

    def test_a_too_short_phone_finds_nothing(self, admin_client, two_visits):
        assert listed(admin_client, "visits_visit", q="13") == []

    def test_filters_by_department_doctor_room_and_status(self, admin_client, two_visits):
        first, second = two_visits
        schedule = first.schedule
        assert listed(
            admin_client, "visits_visit", department__id__exact=schedule.department_id
        ) == [first]
        assert listed(admin_client, "visits_visit", doctor=schedule.doctor_id) == [first]
        assert listed(admin_client, "visits_visit", room=schedule.room_id) == [first]
        assert listed(admin_client, "visits_visit", status__exact=VisitStatus.WAITING) == [second]

    def test_the_date_range_is_inclusive(self, admin_client, two_visits):
        first, second = two_visits
        day = WORK_DAY.isoformat()
        assert listed(admin_client, "visits_visit", visit_date__gte=day, visit_date__lte=day) == [
            first
        ]
        assert set(
            listed(
                admin_client,
                "visits_visit",
                visit_date__gte=day,
                visit_date__lte=NEXT_DAY.isoformat(),
            )
        ) == {first, second}
        assert listed(admin_client, "visits_visit", visit_date__gte=NEXT_DAY.isoformat()) == [
            second
        ]

    def test_the_range_form_keeps_the_other_filters(self, admin_client, two_visits):
        html = admin_client.get(
            changelist("visits_visit"), {"status__exact": "left", "visit_date__gte": "2030-03-01"}
        ).content.decode()
        assert 'type="date" name="visit_date__gte" value="2030-03-01"' in html
        assert '<input type="hidden" name="status__exact" value="left">' in html

    def test_a_malformed_date_is_not_a_server_error(self, admin_client, two_visits):
        response = admin_client.get(changelist("visits_visit"), {"visit_date__gte": "yesterday"})
        assert response.status_code == 302
        assert "e=1" in response["Location"]

    @pytest.mark.parametrize("doctor", ["x", "1; drop"])
    def test_a_malformed_choice_is_not_a_server_error(self, admin_client, two_visits, doctor):
        assert admin_client.get(changelist("visits_visit"), {"doctor": doctor}).status_code == 302


class TestBills:
    @pytest.fixture
    def bills(self, zhang):
        late = BillFactory(
            visit__patient=zhang, visit__schedule__work_date=WORK_DAY, pay_time=clinic_time(23, 30)
        )
        after_midnight = BillFactory(pay_time=clinic_time(0, 10, day=NEXT_DAY))
        return late, after_midnight

    def test_paid_between_clinic_local_days(self, admin_client, bills):
        late, after_midnight = bills
        day = WORK_DAY.isoformat()
        # 23:30 and 00:10 clinic time are the same UTC day, but not the same clinic day.
        assert listed(admin_client, "billing_bill", pay_time__gte=day, pay_time__lte=day) == [late]
        assert listed(admin_client, "billing_bill", pay_time__gte=NEXT_DAY.isoformat()) == [
            after_midnight
        ]

    def test_search_by_bill_number_patient_or_room(self, admin_client, bills, zhang):
        late, after_midnight = bills
        assert listed(admin_client, "billing_bill", q=after_midnight.number.lower()) == [
            after_midnight
        ]
        assert listed(admin_client, "billing_bill", q=zhang.phone[:5]) == [late]
        room = after_midnight.visit.schedule.room.room_number
        assert listed(admin_client, "billing_bill", q=room) == [after_midnight]

    def test_filters_by_doctor_and_room(self, admin_client, bills):
        late, _ = bills
        schedule = late.visit.schedule
        assert listed(admin_client, "billing_bill", doctor=schedule.doctor_id) == [late]
        assert listed(admin_client, "billing_bill", room=schedule.room_id) == [late]

    def test_newest_payments_come_first(self, admin_client, bills):
        late, after_midnight = bills
        assert listed(admin_client, "billing_bill") == [after_midnight, late]


class TestIncome:
    def test_record_date_range_doctor_and_room(self, admin_client):
        doctor = DoctorFactory()
        mine = IncomeRecordFactory(
            record_date=WORK_DAY,
            bill__visit__schedule=ScheduleFactory(doctor=doctor, department=doctor.department),
        )
        other = IncomeRecordFactory(record_date=NEXT_DAY)
        day = WORK_DAY.isoformat()
        assert listed(
            admin_client, "billing_incomerecord", record_date__gte=day, record_date__lte=day
        ) == [mine]
        assert listed(admin_client, "billing_incomerecord", doctor=doctor.pk) == [mine]
        room = other.bill.visit.schedule.room
        assert listed(admin_client, "billing_incomerecord", room=room.pk) == [other]
        assert listed(admin_client, "billing_incomerecord", q=other.bill.number) == [other]


class TestPatients:
    def test_search_by_id_number_phone_or_name_prefix(self, admin_client, zhang):
        PatientFactory(name="李四", phone="13700000000")
        assert listed(admin_client, "clinic_patient", q=zhang.id_card.lower()) == [zhang]
        assert listed(admin_client, "clinic_patient", q="139 1234") == [zhang]
        assert listed(admin_client, "clinic_patient", q="张") == [zhang]
        assert listed(admin_client, "clinic_patient", q="三丰") == []  # a prefix, not a substring

    def test_another_document_number_is_found_exactly(self, admin_client):
        passport = PatientFactory(id_type="passport", id_card="E12345678")
        assert listed(admin_client, "clinic_patient", q="e12345678") == [passport]

    def test_with_or_without_an_account(self, admin_client, zhang):
        account_holder = PatientUserFactory().patient
        assert listed(admin_client, "clinic_patient", account="yes") == [account_holder]
        assert listed(admin_client, "clinic_patient", account="no") == [zhang]


FILTERED_LISTS = {
    "visits_visit": (
        lambda schedule: VisitFactory(schedule=schedule, status=VisitStatus.LEFT),
        {"status__exact": "left", "visit_date__gte": "2000-01-01", "q": "Patient"},
    ),
    "billing_bill": (
        lambda schedule: BillFactory(visit__schedule=schedule, total_amount=Decimal("100.00")),
        {"pay_status__exact": "paid", "pay_time__gte": "2000-01-01", "q": "Patient"},
    ),
    "billing_incomerecord": (
        lambda schedule: IncomeRecordFactory(bill__visit__schedule=schedule),
        {"record_date__gte": "2000-01-01", "q": "Patient"},
    ),
}


@pytest.mark.parametrize("label", sorted(FILTERED_LISTS))
def test_filtered_and_searched_lists_run_a_fixed_number_of_queries(admin_client, label):
    make, params = FILTERED_LISTS[label]
    schedule = ScheduleFactory(max_patients=100)
    RoomFactory()  # rooms and doctors listed in the filters do not change the count either
    params = {**params, "doctor": schedule.doctor_id, "room": schedule.room_id}

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as queries:
            response = admin_client.get(changelist(label), params)
            assert response.status_code == 200
        return len(queries), len(response.context["cl"].result_list)

    for _ in range(5):
        make(schedule)
    queries_5, rows_5 = count()
    for _ in range(45):
        make(schedule)
    queries_50, rows_50 = count()
    assert (rows_5, rows_50) == (5, 50)
    assert queries_50 == queries_5
