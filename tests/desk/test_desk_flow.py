"""The desk without friction (issue 19): check-in from the search box without retyping what
was searched, the last 4 characters of the ID number, results that lead to the next action,
the search box on every desk page, and the cursor where the hand goes next."""

from __future__ import annotations

import datetime as dt
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from appointments.models import AppointmentStatus
from appointments.tests.factories import AppointmentFactory
from billing.tests.factories import BillFactory
from clinic.models import AuditEvent
from clinic.tests.factories import PatientFactory, ReceptionistFactory
from scheduling.tests.factories import ScheduleFactory
from visits import arrival
from visits.models import Visit, VisitStatus
from visits.tests.factories import VisitFactory

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}
SEARCH = reverse("visits:search")


@pytest.fixture
def desk_client(client, receptionist):
    client.force_login(receptionist)
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


@pytest.fixture
def today(settings):
    """A schedule of today whose check-in is open whenever the suite runs."""
    settings.CLINIC_MORNING_HOURS = (dt.time(0, 0), dt.time(11, 59))
    settings.CLINIC_AFTERNOON_HOURS = (dt.time(12, 0), dt.time(23, 59))
    settings.CLINIC_CHECK_IN_EARLY_MINUTES = 24 * 60
    return ScheduleFactory(
        work_date=timezone.localdate(), time_slot="full_day", max_patients=50, current_patients=1
    )


@pytest.fixture
def id_booking(today):
    patient = PatientFactory(phone="13812345678")
    return AppointmentFactory(schedule=today, patient=patient, id_card=patient.id_card)


def results_html(client, query: str) -> str:
    response = client.get(SEARCH, {"q": query}, headers=HTMX)
    assert response.status_code == 200
    return response.content.decode()


def check_in_link(html: str, appointment) -> str:
    """The href of the search result that checks this booking in."""
    path = reverse("visits:check-in", args=[appointment.pk])
    (href,) = re.findall(rf'href="({re.escape(path)}[^"]*)"', html)
    return href.replace("&amp;", "&")


def proof_of(href: str) -> str:
    return parse_qs(urlsplit(href).query).get("proof", [""])[0]


def field_tag(html: str, name: str) -> str:
    (tag,) = re.findall(rf'<input[^>]*name="{name}"[^>]*>', html)
    return tag


def written(appointment) -> tuple:
    """What a check-in writes."""
    appointment.refresh_from_db()
    appointment.schedule.refresh_from_db()
    return (
        appointment.status,
        appointment.schedule.current_patients,
        Visit.objects.count(),
        AuditEvent.objects.count(),
    )


class TestCheckInFromTheSearch:
    def test_a_search_by_the_whole_phone_carries_a_proof_and_a_prefix_does_not(
        self, desk_client, id_booking
    ):
        assert proof_of(check_in_link(results_html(desk_client, "13812345678"), id_booking))
        assert not proof_of(check_in_link(results_html(desk_client, "1381234"), id_booking))
        name = id_booking.patient_name[:1]
        assert not proof_of(check_in_link(results_html(desk_client, name), id_booking))

    def test_the_phone_is_not_asked_again_and_the_id_check_is_the_last_4(
        self, desk_client, id_booking
    ):
        href = check_in_link(results_html(desk_client, id_booking.phone), id_booking)
        html = desk_client.get(href).content.decode()
        assert 'name="phone"' not in html
        id_field = field_tag(html, "id_card")
        assert "autofocus" in id_field
        assert "Last 4 characters of the ID number" in html
        assert "checked by your search" in html
        response = desk_client.post(
            href.split("?")[0], {"proof": proof_of(href), "id_card": id_booking.id_card[-4:]}
        )
        visit = Visit.objects.get()
        assert response["Location"] == reverse("visits:slip", args=[visit.pk])
        assert written(id_booking)[:3] == (AppointmentStatus.COMPLETED, 1, 1)
        event = AuditEvent.objects.get(action="visit.checked_in")
        assert event.new_values["verified"] == {"phone": "search", "id_card": "last_4"}

    def test_a_wrong_last_4_keeps_the_cursor_there_and_changes_nothing(
        self, desk_client, id_booking
    ):
        href = check_in_link(results_html(desk_client, id_booking.phone), id_booking)
        before = written(id_booking)
        wrong = "0000" if not id_booking.id_card.endswith("0000") else "1111"
        response = desk_client.post(href.split("?")[0], {"proof": proof_of(href), "id_card": wrong})
        assert response.status_code == 400
        assert response.context["form"].errors["id_card"] == [
            "This ID number does not match the booking."
        ]
        html = response.content.decode()
        id_field = field_tag(html, "id_card")
        assert "autofocus" in id_field and 'aria-invalid="true"' in id_field
        # Still the proof: the phone is not asked for after a wrong ID check.
        assert 'name="phone"' not in html
        assert written(id_booking) == before

    def test_too_few_characters_are_a_field_error(self, desk_client, id_booking):
        href = check_in_link(results_html(desk_client, id_booking.phone), id_booking)
        response = desk_client.post(href.split("?")[0], {"proof": proof_of(href), "id_card": "12"})
        assert response.status_code == 400
        assert "last 4 characters" in response.context["form"].errors["id_card"][0]
        assert not Visit.objects.exists()

    def test_a_scan_of_the_whole_number_is_accepted_too(self, desk_client, id_booking):
        href = check_in_link(results_html(desk_client, id_booking.phone), id_booking)
        desk_client.post(
            href.split("?")[0], {"proof": proof_of(href), "id_card": id_booking.id_card.lower()}
        )
        assert Visit.objects.get().appointment == id_booking

    def test_a_search_by_the_whole_id_number_asks_nothing_more(self, desk_client, id_booking):
        href = check_in_link(results_html(desk_client, id_booking.id_card.lower()), id_booking)
        html = desk_client.get(href).content.decode()
        assert 'name="phone"' not in html and 'name="id_card"' not in html
        assert re.search(r'<button type="submit" class="button-primary" autofocus>', html)
        desk_client.post(href.split("?")[0], {"proof": proof_of(href)})
        assert Visit.objects.get().appointment == id_booking

    def test_a_typed_address_asks_for_the_phone_as_before(self, desk_client, id_booking):
        url = reverse("visits:check-in", args=[id_booking.pk])
        html = desk_client.get(url).content.decode()
        assert "autofocus" in field_tag(html, "phone")
        response = desk_client.post(url, {"id_card": id_booking.id_card[-4:]})
        assert response.status_code == 400
        assert "phone" in response.context["form"].errors
        assert not Visit.objects.exists()
        desk_client.post(url, {"phone": id_booking.phone, "id_card": id_booking.id_card[-4:]})
        assert Visit.objects.get().appointment == id_booking

    @pytest.mark.parametrize("proof", ["phone", "1", "x:y:z"])
    def test_a_proof_made_up_in_the_browser_is_ignored(self, desk_client, id_booking, proof):
        url = reverse("visits:check-in", args=[id_booking.pk])
        before = written(id_booking)
        response = desk_client.post(url, {"proof": proof, "id_card": id_booking.id_card[-4:]})
        assert response.status_code == 400
        assert "phone" in response.context["form"].errors
        assert written(id_booking) == before

    def test_another_desk_users_link_asks_for_the_phone(self, client, desk_client, id_booking):
        href = check_in_link(results_html(desk_client, id_booking.phone), id_booking)
        client.force_login(ReceptionistFactory())
        client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
        html = client.get(href).content.decode()
        assert 'name="phone"' in html
        assert "too long ago or by someone else" in html

    def test_an_expired_proof_asks_for_the_phone(self, desk_client, id_booking, monkeypatch):
        href = check_in_link(results_html(desk_client, id_booking.phone), id_booking)
        monkeypatch.setattr(arrival, "MAX_AGE_SECONDS", -1)
        response = desk_client.post(
            href.split("?")[0], {"proof": proof_of(href), "id_card": id_booking.id_card[-4:]}
        )
        assert response.status_code == 400
        assert "phone" in response.context["form"].errors
        assert not Visit.objects.exists()


class TestResultsLeadToTheNextAction:
    def test_each_result_offers_what_the_desk_does_next(self, desk_client, today):
        family = "13911112222"
        booked = AppointmentFactory(schedule=today, patient=PatientFactory(phone=family))
        waiting = VisitFactory(schedule=today, patient=PatientFactory(phone=family))
        in_room = VisitFactory(
            schedule=today, patient=PatientFactory(phone=family), status=VisitStatus.IN_CONSULTATION
        )
        to_pay = VisitFactory(
            schedule=today,
            patient=PatientFactory(phone=family),
            status=VisitStatus.AWAITING_PAYMENT,
        )
        paid = BillFactory(visit__schedule=today, visit__patient=PatientFactory(phone=family))
        unseen = VisitFactory(
            schedule=today, patient=PatientFactory(phone=family), status=VisitStatus.CANCELLED
        )
        html = results_html(desk_client, family)
        links = dict(re.findall(r'<a href="([^"?]*)[^"]*"\s+data-action="([^"]+)"', html))
        assert links[reverse("visits:check-in", args=[booked.pk])] == "check-in"
        assert links[reverse("visits:slip", args=[waiting.pk])] == "slip"
        assert links[reverse("visits:slip", args=[in_room.pk])] == "slip"
        assert links[reverse("billing:pay", args=[to_pay.pk])] == "pay"
        assert links[reverse("billing:receipt", args=[paid.pk])] == "receipt"
        assert reverse("visits:slip", args=[unseen.pk]) not in html
        for hint in ("Check in", "Queue slip", "Pay", "Receipt", "Walk-in"):
            assert f"{hint} →" in html

    def test_yesterdays_visits_are_not_offered(self, desk_client, today):
        yesterday = ScheduleFactory(work_date=timezone.localdate() - dt.timedelta(days=1))
        old = VisitFactory(schedule=yesterday, patient=PatientFactory(phone="13911113333"))
        html = results_html(desk_client, "13911113333")
        assert reverse("visits:slip", args=[old.pk]) not in html

    @pytest.mark.parametrize("rows", [1, 8])
    def test_the_box_answers_with_a_fixed_number_of_queries(
        self, desk_client, today, django_assert_num_queries, rows
    ):
        for _ in range(rows):
            patient = PatientFactory(phone="13922220000")
            AppointmentFactory(schedule=today, patient=patient)
            VisitFactory(schedule=today, patient=patient, status=VisitStatus.AWAITING_PAYMENT)
        # Session and user; patients; bookings with their departments, schedules and windows
        # (three prefetches); today's visits of the patients found.
        with django_assert_num_queries(8):
            html = results_html(desk_client, "13922220000")
        assert html.count('data-action="pay"') == rows
        assert html.count('data-action="check-in"') == rows


class TestSearchBoxOnEveryDeskPage:
    def test_check_in_payment_slip_and_receipt_have_the_search_box(self, desk_client, today):
        booking = AppointmentFactory(schedule=today)
        waiting = VisitFactory(schedule=today)
        to_pay = VisitFactory(schedule=today, status=VisitStatus.AWAITING_PAYMENT)
        bill = BillFactory(visit__schedule=today)
        for url in (
            reverse("visits:check-in", args=[booking.pk]),
            reverse("billing:pay", args=[to_pay.pk]),
            reverse("visits:slip", args=[waiting.pk]),
            reverse("billing:receipt", args=[bill.pk]),
            reverse("visits:walk-in"),
            reverse("visits:board"),
            reverse("visits:patients"),
            reverse("appointments:desk"),
        ):
            html = desk_client.get(url).content.decode()
            assert html.count('id="desk-search"') == 1, url

    def test_after_printing_the_slip_and_the_receipt_the_search_box_has_the_focus(
        self, desk_client, today
    ):
        waiting = VisitFactory(schedule=today)
        bill = BillFactory(visit__schedule=today)
        for url in (
            reverse("visits:slip", args=[waiting.pk]),
            reverse("billing:receipt", args=[bill.pk]),
        ):
            html = desk_client.get(url).content.decode()
            assert re.search(r"data-print data-autofocus data-then-focus=\"#desk-search\"", html)


class TestFocus:
    def test_the_walk_in_page_starts_in_the_phone_field(self, desk_client):
        html = desk_client.get(reverse("visits:walk-in")).content.decode()
        assert "autofocus" in field_tag(html, "phone")

    def test_a_patient_chosen_from_the_search_starts_at_the_department(self, desk_client):
        patient = PatientFactory()
        html = desk_client.get(reverse("visits:walk-in"), {"patient": patient.pk}).content.decode()
        (department,) = re.findall(r'<select[^>]*name="department"[^>]*>', html)
        assert "autofocus" in department
        assert "autofocus" not in field_tag(html, "phone")

    def test_the_payment_page_starts_in_its_first_field(self, desk_client):
        visit = VisitFactory(status=VisitStatus.AWAITING_PAYMENT)
        html = desk_client.get(reverse("billing:pay", args=[visit.pk])).content.decode()
        assert "autofocus" in field_tag(html, "total_amount")
        assert "autofocus" not in field_tag(html, "insurance_amount")


@pytest.mark.mariadb
# ANALYZE TABLE commits on MariaDB: the rows are flushed afterwards, not rolled back.
@pytest.mark.django_db(transaction=True)
def test_todays_visits_of_the_patients_found_read_a_range_of_their_index(desk_client):
    """The visits the results offer are read on (patient, visit date), never by scanning the
    day's visits or the patient's history."""
    days = [timezone.localdate() - dt.timedelta(days=n) for n in range(20)]
    schedules = [ScheduleFactory(work_date=day, max_patients=500) for day in days]
    people = [PatientFactory(phone=f"139{n:08d}") for n in range(40)]
    for patient in people:
        for schedule in schedules:
            VisitFactory(schedule=schedule, patient=patient, status=VisitStatus.LEFT)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE TABLE visits_visit, clinic_patient")
    with CaptureQueriesContext(connection) as queries:
        results_html(desk_client, people[7].phone)
    (sql,) = [q["sql"] for q in queries if "FROM `visits_visit`" in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql)
        columns = [column[0] for column in cursor.description]
        plan = {row["table"]: row for row in (dict(zip(columns, r, strict=True)) for r in cursor)}
    visits = plan["visits_visit"]
    assert visits["type"] in {"range", "ref"} and "visit_patient_day_idx" in visits["key"], visits
