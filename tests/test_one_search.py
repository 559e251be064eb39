"""One search: the same texts typed into every search surface find the same records.

Patients through the desk's search box, its patients page, the walk-in lookup, Django Admin and
the API (desk and administrators); bookings through the desk's box, Django Admin and the
appointment desk's API; visits and medical records through Django Admin and the API; bills
through Django Admin (bills and income records), the API (desk and administrators), and the
desk's takings report with its CSV export. Each is also checked against what the rule says
it should find, so that surfaces wrong alike still fail.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from typing import Any

import factory
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.models import Appointment
from appointments.tests.factories import AppointmentFactory
from billing.models import Bill, IncomeRecord
from billing.tests.factories import BillFactory, IncomeRecordFactory
from clinic.models import Patient
from clinic.tests.factories import PatientFactory, make_resident_id
from scheduling.tests.factories import ScheduleFactory
from tests.api.conftest import bearer_client
from visits.models import VisitStatus
from visits.tests.factories import MedicalRecordFactory, VisitFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _resident_id_ending_in_x() -> str:
    # Born on a day the factories' numbers never use (they start on 1960-01-01).
    for seed in range(1000):
        number = make_resident_id(dt.date(1959, 12, 31), seed=seed)
        if number.endswith("X"):
            return number
    raise AssertionError("no seed below 1000 gives a check character X")


ID_X = _resident_id_ending_in_x()
PASSPORT = "E12345678"

PEOPLE = {
    # key: (name, phone, ID number)
    "ming": ("王小明", "13912345678", ID_X),
    "hong": ("王小红", "13912345678", None),  # the same phone: one family
    "wei": ("王大伟", "13987654321", None),
    "fang": ("Wang Fang", "13700001111", None),
    "li": ("wang li", "13700002222", None),  # a name in another case
    "passport": ("李四", "13600003333", PASSPORT),
}
CALLER = "caller"  # a booking taken on the phone: no patient record


@dataclass
class Case:
    """A typed text, the same search in the API's fields, and who it finds."""

    typed: str
    fields: dict[str, str]
    patients: set[str]
    # The phone booking's snapshot is found by name and phone too.
    finds_the_caller: bool = False

    @property
    def bookings(self) -> set[str]:
        return self.patients | ({CALLER} if self.finds_the_caller else set())


CASES = [
    Case("王", {"name": "王"}, {"ming", "hong", "wei"}, finds_the_caller=True),
    Case("王小", {"name": "王小"}, {"ming", "hong"}),
    Case("小明", {"name": "小明"}, set()),  # a name's beginning, not any part of it
    # Latin letters are pinyin (clinic.search, rule 5): the beginning of a full pinyin or
    # initials key, and a name in Latin letters is its own key.
    Case("wang", {"name": "wang"}, {"fang", "li", "ming", "hong", "wei"}),
    Case("WANG F", {"name": "WANG F"}, {"fang"}),
    Case("wangxiao", {"name": "wangxiao"}, {"ming", "hong"}),
    Case("wang xiao ming", {"name": "wang xiao ming"}, {"ming"}),
    Case("wxm", {"name": "wxm"}, {"ming"}),
    Case("WX", {"name": "WX"}, {"ming", "hong"}),
    Case("lisi", {"name": "lisi"}, {"passport"}),
    # With a phone fragment: both (the API's fields: name and phone).
    Case("wx 139", {"name": "wx", "phone": "139"}, {"ming", "hong"}),
    Case("wdw1398", {"name": "wdw", "phone": "1398"}, {"wei"}),
    Case("139 w", {"name": "w", "phone": "139"}, {"ming", "hong", "wei"}),
    Case("wx 137", {"name": "wx", "phone": "137"}, set()),
    Case("139", {"phone": "139"}, {"ming", "hong", "wei"}, finds_the_caller=True),
    Case("1391234", {"phone": "1391234"}, {"ming", "hong"}, finds_the_caller=True),
    Case("139 1234 5678", {"phone": "139 1234 5678"}, {"ming", "hong"}),
    Case("+86 139-1234-5678", {"phone": "+86 139-1234-5678"}, {"ming", "hong"}),
    Case("１３９１２３４５６７８", {"phone": "１３９１２３４５６７８"}, {"ming", "hong"}),
    Case("9123", {"phone": "9123"}, set()),  # a phone's beginning, never its middle
    Case(ID_X.lower(), {"id_card": ID_X.lower()}, {"ming"}),
    Case(PASSPORT.lower(), {"id_card": PASSPORT.lower()}, {"passport"}),
]


@dataclass
class Clinic:
    patients: dict[str, Patient]
    bookings: dict[str, Appointment]
    bills: dict[str, Bill]
    income: dict[str, IncomeRecord]
    clients: dict[str, Any]

    def key_of(self, records: dict[str, Any], found: Any) -> set[str]:
        by_pk = {record.pk: key for key, record in records.items()}
        return {by_pk[pk] for pk in found}


@pytest.fixture
def clinic(client, receptionist, admin_user) -> Clinic:
    tomorrow = ScheduleFactory(work_date=timezone.localdate() + dt.timedelta(days=1))
    today = ScheduleFactory(max_patients=50)
    patients, bookings, bills, income = {}, {}, {}, {}
    for key, (name, phone, id_card) in PEOPLE.items():
        patients[key] = PatientFactory(
            name=name,
            phone=phone,
            id_card=id_card,
            id_type="passport" if id_card == PASSPORT else "resident_id",
        )
        bookings[key] = AppointmentFactory(schedule=tomorrow, patient=patients[key])
        visit = VisitFactory(schedule=today, patient=patients[key], status=VisitStatus.LEFT)
        MedicalRecordFactory(visit=visit)
        bills[key] = BillFactory(visit=visit)
        income[key] = IncomeRecordFactory(bill=bills[key])
    bookings[CALLER] = AppointmentFactory(
        schedule=tomorrow, patient=None, patient_name="王五", phone="13912340000"
    )
    client.force_login(receptionist)
    admin_client = type(client)()
    admin_client.force_login(admin_user)
    clients = {
        "desk": client,
        "admin": admin_client,
        "desk api": bearer_client(receptionist),
        "admin api": bearer_client(admin_user),
    }
    return Clinic(patients=patients, bookings=bookings, bills=bills, income=income, clients=clients)


def _admin(clinic: Clinic, label: str, typed: str) -> list[int]:
    response = clinic.clients["admin"].get(reverse(f"admin:{label}_changelist"), {"q": typed})
    assert response.status_code == 200
    return [row.pk for row in response.context["cl"].result_list]


def _api(clinic: Clinic, persona: str, url: str, params: dict[str, str]) -> list[dict]:
    response = clinic.clients[persona].get(url, params)
    assert response.status_code == 200, response.content
    return response.json()["results"]


def _page(clinic: Clinic, url: str, params: dict[str, str], name: str = "page") -> list[Any]:
    response = clinic.clients["desk"].get(url, params, headers=HTMX)
    assert response.status_code == 200
    return response.context[name]


def _walk_in_matches(clinic: Clinic, *, phone: str = "", id_card: str = "") -> list[int]:
    """The patients the walk-in form offers ("use this record" links), as the desk sees them."""
    params = {"part": "matches", "phone": phone, "id_card": id_card}
    response = clinic.clients["desk"].get(reverse("visits:walk-in"), params, headers=HTMX)
    assert response.status_code == 200
    return [int(pk) for pk in re.findall(r"\?patient=(\d+)", response.content.decode())]


def patients_found(clinic: Clinic, case: Case) -> dict[str, set[str]]:
    desk_box = _page(clinic, reverse("visits:search"), {"q": case.typed}, "results")
    patients_page = _page(clinic, reverse("visits:patients"), {"q": case.typed}).object_list
    found = {
        "desk box": [p.pk for p in desk_box.patients],
        "desk patients page": [p.pk for p in patients_page],
        "admin": _admin(clinic, "clinic_patient", case.typed),
    }
    for persona, url in (
        ("desk api", "/api/receptionist/patients"),
        ("admin api", "/api/admin/patients/search"),
    ):
        found[persona] = [row["id"] for row in _api(clinic, persona, url, case.fields)]
    if "name" not in case.fields:
        # The walk-in form looks people up by its phone and ID number fields.
        found["walk-in lookup"] = _walk_in_matches(clinic, **case.fields)
    return {surface: clinic.key_of(clinic.patients, pks) for surface, pks in found.items()}


def bookings_found(clinic: Clinic, typed: str) -> dict[str, set[str]]:
    desk_box = _page(clinic, reverse("visits:search"), {"q": typed}, "results")
    api = _api(clinic, "desk api", "/api/receptionist/appointments", {"q": typed})
    found = {
        "desk box": [a.pk for a in desk_box.appointments],
        "admin": _admin(clinic, "appointments_appointment", typed),
        "desk api": [row["id"] for row in api],
    }
    return {surface: clinic.key_of(clinic.bookings, pks) for surface, pks in found.items()}


def visits_found(clinic: Clinic, case: Case) -> dict[str, set[str]]:
    """As patient keys: each patient has one visit (with its medical record)."""
    api = _api(clinic, "admin api", "/api/admin/visits/search", case.fields)
    visits = {key: bill.visit for key, bill in clinic.bills.items()}
    records = {key: visit.medical_record for key, visit in visits.items()}
    return {
        "admin visits": clinic.key_of(visits, _admin(clinic, "visits_visit", case.typed)),
        "admin records": clinic.key_of(records, _admin(clinic, "visits_medicalrecord", case.typed)),
        "admin api": clinic.key_of(visits, [row["id"] for row in api]),
    }


def bills_found(clinic: Clinic, case: Case) -> dict[str, set[str]]:
    bills = clinic.bills
    report = _page(clinic, reverse("billing:reports"), {"kind": "bills", **case.fields})
    export = clinic.clients["desk"].get(
        reverse("billing:reports-export"), {"kind": "bills", **case.fields}
    )
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8").lstrip("\ufeff"))))[1:]
    by_number = {bill.number: bill.pk for bill in bills.values()}
    found = {
        "admin bills": _admin(clinic, "billing_bill", case.typed),
        "takings report": [bill.pk for bill in report.object_list],
        "takings CSV": [by_number[row[0]] for row in rows],
    }
    for persona, url in (
        ("desk api", "/api/receptionist/bills"),
        ("admin api", "/api/admin/bills"),
    ):
        found[persona] = [row["id"] for row in _api(clinic, persona, url, case.fields)]
    keyed = {surface: clinic.key_of(bills, pks) for surface, pks in found.items()}
    keyed["admin income"] = clinic.key_of(
        clinic.income, _admin(clinic, "billing_incomerecord", case.typed)
    )
    return keyed


def _all(expected: set[str], found: dict[str, set[str]]) -> dict[str, set[str]]:
    return {surface: expected for surface in found}


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.typed)
def test_every_surface_finds_the_same_patients(clinic, case):
    found = patients_found(clinic, case)
    assert found == _all(case.patients, found)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.typed)
def test_every_surface_finds_the_same_bookings(clinic, case):
    found = bookings_found(clinic, case.typed)
    assert found == _all(case.bookings, found)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.typed)
def test_every_surface_finds_the_same_visits(clinic, case):
    found = visits_found(clinic, case)
    assert found == _all(case.patients, found)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.typed)
def test_every_surface_finds_the_same_bills(clinic, case):
    found = bills_found(clinic, case)
    assert found == _all(case.patients, found)


def test_a_booking_reference_in_any_case_finds_that_booking(clinic):
    reference = clinic.bookings["wei"].reference.lower()
    found = bookings_found(clinic, reference)
    assert found == _all({"wei"}, found)


def test_a_bill_number_in_any_case_finds_that_bill(clinic):
    number = clinic.bills["fang"].number.lower()
    found = {
        "admin bills": clinic.key_of(clinic.bills, _admin(clinic, "billing_bill", number)),
        "admin income": clinic.key_of(
            clinic.income, _admin(clinic, "billing_incomerecord", number)
        ),
    }
    assert found == _all({"fang"}, found)
    # Nothing else has a bill number: the desk's box finds no patient and no booking by one.
    results = _page(clinic, reverse("visits:search"), {"q": number}, "results")
    assert not results


class TestTooFewDigits:
    """One or two digits are too short to be a phone's beginning: every surface finds
    nothing, and those with a field of their own say why."""

    def test_the_boxes_find_nothing(self, clinic):
        for label in (
            "clinic_patient",
            "appointments_appointment",
            "visits_visit",
            "visits_medicalrecord",
            "billing_bill",
            "billing_incomerecord",
        ):
            assert _admin(clinic, label, "13") == [], label
        results = _page(clinic, reverse("visits:search"), {"q": "13"}, "results")
        assert not results and results.too_short
        html = clinic.clients["desk"].get(
            reverse("visits:search"), {"q": "13"}, headers={**HTMX, "accept-language": "en"}
        )
        assert "3 digits" in html.content.decode()
        assert list(_page(clinic, reverse("visits:patients"), {"q": "13"}).object_list) == []
        assert _walk_in_matches(clinic, phone="13") == []

    @pytest.mark.parametrize(
        ("persona", "url", "field"),
        [
            ("desk api", "/api/receptionist/patients", "phone"),
            ("admin api", "/api/admin/patients/search", "phone"),
            ("admin api", "/api/admin/visits/search", "phone"),
            ("desk api", "/api/receptionist/bills", "phone"),
            ("admin api", "/api/admin/bills", "phone"),
            ("desk api", "/api/receptionist/appointments", "q"),
        ],
    )
    def test_the_api_refuses_them_with_a_clear_error(self, clinic, persona, url, field):
        response = clinic.clients[persona].get(
            url, {field: "1 3"}, headers={"accept-language": "en"}
        )
        assert response.status_code == 400
        error = response.json()["error"]
        assert list(error["details"]) == [field]
        assert "3 digits" in error["details"][field][0]

    def test_the_takings_report_says_so_and_lists_nothing(self, clinic):
        response = clinic.clients["desk"].get(reverse("billing:reports"), {"phone": "13"})
        assert "phone" in response.context["form"].errors
        assert list(response.context["page"].object_list) == []

    def test_the_api_schema_says_the_rule(self, clinic):
        schema = (
            clinic.clients["admin api"]
            .get("/api/schema/", {"format": "json"}, headers={"accept-language": "en"})
            .json()
        )
        parameters = {
            parameter["name"]: parameter.get("description", "")
            for parameter in schema["paths"]["/api/receptionist/patients"]["get"]["parameters"]
        }
        assert "first 3 digits" in parameters["phone"]
        assert "Fewer than 3 digits is refused" in parameters["phone"]
        assert "beginning of the name" in parameters["name"]


SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"


def _plans(statements: list[str]) -> list[dict]:
    plans = []
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute("EXPLAIN " + sql)
            columns = [column[0] for column in cursor.description]
            rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
            plans.extend(row for row in rows if row["table"] == "clinic_patient")
    return plans


@pytest.mark.mariadb
# ANALYZE TABLE commits on MariaDB: the rows are flushed afterwards, not rolled back.
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("fields", "typed", "patient_index"),
    [
        ({"name": "王"}, "王", "patient_name_idx"),
        ({"phone": "1390"}, "1390", "clinic_patient_phone"),
    ],
    ids=["name prefix", "phone prefix"],
)
def test_the_api_and_the_admin_read_a_range_of_the_patient_index(
    client, receptionist, admin_user, fields, typed, patient_index
):
    """`LIKE 'x%'` on the patient's own index, counted and paged along it, through the API's
    patient lists and Django Admin as through the desk's box (tests/desk: the same check)."""
    PatientFactory.create_batch(
        400,
        name=factory.Sequence(lambda n: f"{SURNAMES[n % len(SURNAMES)]}{n}"),
        # One phone in a hundred starts with any 4 given digits, as selective as a typed prefix.
        phone=factory.Sequence(lambda n: f"13{n * 37 % 100:02d}{n:07d}"),
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE TABLE clinic_patient")
        cursor.fetchall()
    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as captured:
        for persona, url in (
            (receptionist, "/api/receptionist/patients"),
            (admin_user, "/api/admin/patients/search"),
        ):
            assert bearer_client(persona).get(url, fields).status_code == 200
        changelist = reverse("admin:clinic_patient_changelist")
        assert client.get(changelist, {"q": typed}).status_code == 200
    searches = [
        query["sql"]
        for query in captured
        if "FROM `clinic_patient`" in query["sql"] and " LIKE " in query["sql"]
    ]
    # Each surface counts its matches and reads a page of them.
    assert len(searches) >= 6, searches
    assert not [sql for sql in searches if "BINARY" in sql]
    for plan in _plans(searches):
        assert plan["type"] == "range" and patient_index in plan["key"], plan
